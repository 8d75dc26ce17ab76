/*
 * The fold model's sizes in C: every section's visible rows from the fold state, bottom-up
 * (foldSizesInJs in lib/tree/fold-sizes.ts is the same pass in JavaScript, for small trees and
 * where the addon is not built). zR, zx and the fold levels run it over every section. On the
 * 200 MiB legacy corpus (388,098 sections) it takes 1.4 ms where optimised JavaScript takes 4.7
 * and the first press, before V8 has compiled the loop, 20; on the 1 GiB file's two million
 * sections 9.5 ms against 30.
 *
 * The columns are the tree's own (lib/tree/column.ts): arrays of fixed-size typed-array chunks.
 */

#include "addon.h"
#include <stdlib.h>

/* The chunks of one column as C pointers: JavaScript's array of `chunks` typed arrays of one type, each `per` entries. */
static int column_chunks(napi_env env, napi_value array, napi_typedarray_type want, size_t per, void **out, uint32_t chunks) {
  uint32_t length;
  if (napi_get_array_length(env, array, &length) != napi_ok || length < chunks) return 0;
  for (uint32_t c = 0; c < chunks; c++) {
    napi_value chunk, buffer;
    napi_typedarray_type type;
    size_t n, offset;
    if (napi_get_element(env, array, c, &chunk) != napi_ok) return 0;
    if (napi_get_typedarray_info(env, chunk, &type, &n, &out[c], &buffer, &offset) != napi_ok) return 0;
    if (type != want || n != per) return 0;
  }
  return 1;
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
  void **ptrs = calloc(6 * (size_t)chunks, sizeof *ptrs);
  CHECK(ptrs != NULL);
  void **parent = ptrs, **lines = ptrs + chunks, **meta = ptrs + 2 * chunks, **open = ptrs + 3 * chunks;
  void **size = ptrs + 4 * chunks, **size_ok = ptrs + 5 * chunks;
  int ok = column_chunks(env, argv[0], napi_int32_array, per, parent, chunks) &&
           column_chunks(env, argv[1], napi_int32_array, per, lines, chunks) &&
           column_chunks(env, argv[2], napi_uint8_array, per, meta, chunks) &&
           column_chunks(env, argv[3], napi_uint8_array, per, open, chunks) &&
           column_chunks(env, argv[4], napi_int32_array, per, size, chunks) &&
           column_chunks(env, argv[5], napi_uint8_array, per, size_ok, chunks);
  if (!ok) free(ptrs);
  CHECK(ok);
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
