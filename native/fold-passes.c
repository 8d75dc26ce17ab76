/*
 * The fold model's passes over every section, in C (lib/tree/fold-passes.ts has them in
 * JavaScript too, for small trees and where the addon is not built):
 *
 * - foldSizes, every section's visible rows from the fold state (zR, zx, the fold levels): on the
 *   200 MiB legacy corpus (388,098 sections) 1.4 ms where optimised JavaScript takes 4.7, and the
 *   first press, before V8 has compiled the loop, 20; on the 1 GiB file's two million sections
 *   9.5 ms against 30;
 * - foldFailures, the failure-aware default's open flags (zx, and at the end of the index): two
 *   million sections in 6 ms against 14 (the 8 MB of slots it reads is most of that);
 * - foldLevels, the open flags of zr and zm by depth.
 *
 * The columns are the tree's own (lib/tree/column.ts): arrays of fixed-size typed-array chunks.
 */

#include "addon.h"
#include <stdbool.h>
#include <stdlib.h>

/* The chunks of one column as C pointers: JavaScript's array of `chunks` typed arrays of one type, each `per` entries. */
static int column_chunks(napi_env env, napi_value array, napi_typedarray_type want, size_t per, void **out, uint32_t chunks) {
  uint32_t length;
  return napi_get_array_length(env, array, &length) == napi_ok && length >= chunks && chunk_pointers(env, array, want, per, out, 0, chunks);
}

/* A column argument: which argument, its element type, and how many of its chunks the call reads. */
typedef struct {
  size_t arg;
  napi_typedarray_type type;
  uint32_t chunks;
} column_arg;

/* The chunks of `n` columns, a pointer array each into out[k]; returns their one allocation (for free()), or NULL. */
static void **columns_of(napi_env env, const napi_value *argv, const column_arg *columns, size_t n, size_t per, void ***out) {
  size_t total = 0;
  for (size_t k = 0; k < n; k++) total += columns[k].chunks;
  void **ptrs = calloc(total ? total : 1, sizeof *ptrs);
  if (ptrs == NULL) return NULL;
  size_t at = 0;
  for (size_t k = 0; k < n; k++) {
    out[k] = ptrs + at;
    if (!column_chunks(env, argv[columns[k].arg], columns[k].type, per, out[k], columns[k].chunks)) {
      free(ptrs);
      return NULL;
    }
    at += columns[k].chunks;
  }
  return ptrs;
}

/*
 * foldSizes(parent, lines, meta, open, size, sizeOk: chunk arrays, count, shift, headFlag):
 * sections 0 … count − 1, chunks of 2^shift entries. A section's rows are 1 (its header) + its
 * lines (heads of sections below included) + what its children add beyond the lines they hold:
 * a closed child 1 row for all it holds, an open one its rows. A closed section's size is left
 * holding that sum, unread (sizeOk 0: the model says 1 row); the root has no header.
 */
napi_value napi_fold_sizes(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  int32_t count, shift, head_flag;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 9);
  CHECK(napi_get_value_int32(env, argv[6], &count) == napi_ok && count >= 0);
  CHECK(napi_get_value_int32(env, argv[7], &shift) == napi_ok && shift >= 4 && shift <= 20);
  CHECK(napi_get_value_int32(env, argv[8], &head_flag) == napi_ok);
  if (count == 0) return NULL;
  const size_t per = (size_t)1 << shift;
  const uint32_t chunks = (uint32_t)(((size_t)count + per - 1) >> shift);
  const column_arg args[6] = {
    { 0, napi_int32_array, chunks }, { 1, napi_int32_array, chunks }, { 2, napi_uint8_array, chunks },
    { 3, napi_uint8_array, chunks }, { 4, napi_int32_array, chunks }, { 5, napi_uint8_array, chunks },
  };
  void **col[6];
  void **ptrs = columns_of(env, argv, args, 6, per, col);
  CHECK(ptrs != NULL);
  void **parent = col[0], **lines = col[1], **meta = col[2], **open = col[3], **size = col[4], **size_ok = col[5];
  for (uint32_t c = 0; c < chunks; c++) memset(size[c], 0, per * sizeof(int32_t));
  /* chunk by chunk, last first, each chunk's columns as plain pointers */
  for (uint32_t c = chunks; c-- > 0;) {
    const int32_t base = (int32_t)((size_t)c << shift);
    const int32_t *parent_c = parent[c], *lines_c = lines[c];
    const uint8_t *meta_c = meta[c], *open_c = open[c];
    int32_t *size_c = size[c];
    uint8_t *size_ok_c = size_ok[c];
    const int32_t last = count - 1 - base < (int32_t)per - 1 ? count - 1 - base : (int32_t)per - 1;
    for (int32_t k = last; k >= (c == 0 ? 1 : 0); k--) {
      const int32_t held = lines_c[k] + ((meta_c[k] & head_flag) != 0);
      int32_t add;
      if (open_c[k] == 1) {
        const int32_t rows = 1 + lines_c[k] + size_c[k];
        size_c[k] = rows;
        size_ok_c[k] = 1;
        add = rows - held;
      } else {
        size_ok_c[k] = 0;
        add = 1 - held;
      }
      /* a parent's id is below its child's; anything else is no parent to add to */
      const int32_t p = parent_c[k];
      if (p >= base && p < base + k) size_c[p - base] += add;
      else if (p >= 0 && p < base) ((int32_t *)size[(size_t)p >> shift])[(size_t)p & (per - 1)] += add;
    }
  }
  ((int32_t *)size[0])[0] += ((const int32_t *)lines[0])[0];
  ((uint8_t *)size_ok[0])[0] = 1;
  free(ptrs);
  return NULL;
}

/*
 * foldFailures(meta, slots, values, open: chunk arrays, count, valueCount, shift, failedBelow):
 * the failure-aware default's open flags of sections 1 … count − 1 (SectionTable.holdsFailure):
 * 1 where the section or one below it failed (`failedBelow` in its flag byte) or its subtree
 * holds an error line (the error count, values[slot], above 0; slot −1: no error or warning
 * below it), else 0. values holds valueCount entries.
 */
napi_value napi_fold_failures(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  int32_t count, value_count, shift, failed_below;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 8);
  CHECK(napi_get_value_int32(env, argv[4], &count) == napi_ok && count >= 0);
  CHECK(napi_get_value_int32(env, argv[5], &value_count) == napi_ok && value_count >= 0);
  CHECK(napi_get_value_int32(env, argv[6], &shift) == napi_ok && shift >= 4 && shift <= 20);
  CHECK(napi_get_value_int32(env, argv[7], &failed_below) == napi_ok);
  if (count <= 1) return NULL;
  const size_t per = (size_t)1 << shift;
  const uint32_t chunks = (uint32_t)(((size_t)count + per - 1) >> shift);
  const uint32_t value_chunks = (uint32_t)(((size_t)value_count + per - 1) >> shift);
  const column_arg args[4] = {
    { 0, napi_uint8_array, chunks }, { 1, napi_int32_array, chunks }, { 2, napi_int32_array, value_chunks }, { 3, napi_uint8_array, chunks },
  };
  void **col[4];
  void **ptrs = columns_of(env, argv, args, 4, per, col);
  CHECK(ptrs != NULL);
  void **meta = col[0], **slots = col[1], **values = col[2], **open = col[3];
  for (uint32_t c = 0; c < chunks; c++) {
    const int32_t base = (int32_t)((size_t)c << shift);
    const uint8_t *meta_c = meta[c];
    const int32_t *slots_c = slots[c];
    uint8_t *open_c = open[c];
    const int32_t end = count - base < (int32_t)per ? count - base : (int32_t)per;
    for (int32_t k = c == 0 ? 1 : 0; k < end; k++) {
      const int32_t at = slots_c[k];
      open_c[k] = (meta_c[k] & failed_below) != 0 ||
                  (at >= 0 && at < value_count && ((const int32_t *)values[(size_t)at >> shift])[(size_t)at & (per - 1)] > 0);
    }
  }
  free(ptrs);
  return NULL;
}

/*
 * foldLevels(parent, open: chunk arrays, count, shift, level, opening): the fold levels (zr, zm).
 * With `opening`, every section at depth ≤ level opens; without, every one deeper closes; the
 * others keep their flag. The root's depth is 0, its sections' 1 (a section whose parent is not
 * below it, which no tree has, counts as 0: foldLevelsInJs in lib/tree/fold-passes.ts the same).
 */
napi_value napi_fold_levels(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t count, shift, level;
  bool opening;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 6);
  CHECK(napi_get_value_int32(env, argv[2], &count) == napi_ok && count >= 0);
  CHECK(napi_get_value_int32(env, argv[3], &shift) == napi_ok && shift >= 4 && shift <= 20);
  CHECK(napi_get_value_int32(env, argv[4], &level) == napi_ok);
  CHECK(napi_get_value_bool(env, argv[5], &opening) == napi_ok);
  if (count <= 1) return NULL;
  const size_t per = (size_t)1 << shift;
  const uint32_t chunks = (uint32_t)(((size_t)count + per - 1) >> shift);
  const column_arg args[2] = { { 0, napi_int32_array, chunks }, { 1, napi_uint8_array, chunks } };
  void **col[2];
  void **ptrs = columns_of(env, argv, args, 2, per, col);
  CHECK(ptrs != NULL);
  int32_t *depth = malloc((size_t)count * sizeof *depth);
  if (depth == NULL) free(ptrs);
  CHECK(depth != NULL);
  depth[0] = 0;
  for (uint32_t c = 0; c < chunks; c++) {
    const int32_t base = (int32_t)((size_t)c << shift);
    const int32_t *parent_c = col[0][c];
    uint8_t *open_c = col[1][c];
    const int32_t end = count - base < (int32_t)per ? count - base : (int32_t)per;
    for (int32_t k = c == 0 ? 1 : 0; k < end; k++) {
      const int32_t s = base + k, p = parent_c[k];
      const int32_t d = p >= 0 && p < s ? depth[p] + 1 : 0;
      depth[s] = d;
      if (opening && d <= level) open_c[k] = 1;
      else if (!opening && d > level) open_c[k] = 0;
    }
  }
  free(depth);
  free(ptrs);
  return NULL;
}
