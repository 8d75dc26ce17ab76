/*
 * What the addon's C files share (native/build/pass-through.node is built from all of them): the
 * Node-API glue, and byte strings packed as the JavaScript side packs them (packPrefixes in
 * lib/dialects/native-pass-through.ts).
 */
#ifndef BUILDLOG_ADDON_H
#define BUILDLOG_ADDON_H

#define _GNU_SOURCE
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
/*
 * The AVX2 scans (target("avx2") functions, used where __builtin_cpu_supports("avx2") says so at
 * run time): the addon is built for any x86-64.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2 1
#endif

/* A call the JavaScript side got wrong: a TypeError there, never a crash here. */
#define CHECK(ok) \
  do { \
    if (!(ok)) { \
      napi_throw_type_error(env, NULL, "buildlog addon: bad arguments"); \
      return NULL; \
    } \
  } while (0)

static inline int bytes_of(napi_env env, napi_value value, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  if (type == napi_int32_array) *length *= 4;
  else if (type != napi_uint8_array) return 0;
  return 1;
}

/* A typed array of element type `want`: its data and its length in elements. */
static inline int typed_array_of(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  return napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) == napi_ok && type == want;
}

/*
 * Chunks [from, to) of a column (lib/tree/column.ts: a JavaScript array of typed arrays of one
 * type, `per` entries each) as C pointers into out[from, to); 0 on a chunk of another type or size.
 */
static inline int chunk_pointers(napi_env env, napi_value array, napi_typedarray_type want, size_t per, void **out, uint32_t from, uint32_t to) {
  for (uint32_t c = from; c < to; c++) {
    napi_value chunk;
    size_t n;
    if (napi_get_element(env, array, c, &chunk) != napi_ok || !typed_array_of(env, chunk, want, &out[c], &n) || n != per) return 0;
  }
  return 1;
}

/* Byte strings (line-start prefixes, needles) packed as a length byte and the bytes each; their first bytes and the longest length. */
typedef struct {
  const uint8_t *bytes;
  size_t length;
  uint8_t first[256];
  int32_t longest;
} prefix_list;

static inline void index_prefixes(prefix_list *prefixes) {
  memset(prefixes->first, 0, sizeof prefixes->first);
  prefixes->longest = 0;
  for (size_t k = 0; k + 1 < prefixes->length; k += 1 + (size_t)prefixes->bytes[k]) {
    if (prefixes->bytes[k] > 0) prefixes->first[prefixes->bytes[k + 1]] = 1;
    if (prefixes->bytes[k] > prefixes->longest) prefixes->longest = prefixes->bytes[k];
  }
}

/* One of the strings starts at buf[at] and ends by buf[n]. */
static inline int starts_with_prefix(const prefix_list *prefixes, const uint8_t *buf, int32_t n, int32_t at) {
  if (at >= n || !prefixes->first[buf[at]]) return 0;
  for (size_t k = 0; k + 1 <= prefixes->length; k += 1 + (size_t)prefixes->bytes[k]) {
    size_t len = prefixes->bytes[k];
    if (k + 1 + len <= prefixes->length && (size_t)(n - at) >= len && memcmp(buf + at, prefixes->bytes + k + 1, len) == 0) return 1;
  }
  return 0;
}

/* find_needles() in scanners.c: where the needles occur in buf[from, n), up to cap of them; also the index conversion's (pass-through.c). */
int32_t find_needles(const uint8_t *buf, int32_t n, int32_t from, const prefix_list *needles, int32_t *found, int32_t cap);

/* Entry points in scanners.c, fold-passes.c and tree-writer.c, registered with pass-through.c's. */
napi_value napi_find_needles(napi_env env, napi_callback_info info);
napi_value napi_scan_result_lines(napi_env env, napi_callback_info info);
napi_value napi_fold_sizes(napi_env env, napi_callback_info info);
napi_value napi_fold_failures(napi_env env, napi_callback_info info);
napi_value napi_fold_levels(napi_env env, napi_callback_info info);
napi_value napi_tree_writer(napi_env env, napi_callback_info info);
napi_value napi_play_tree(napi_env env, napi_callback_info info);

#endif
