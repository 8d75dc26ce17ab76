/*
 * Scans that answer one question over a whole chunk per call, for JavaScript that would otherwise
 * ask it byte by byte or with a Buffer#indexOf pass per needle. Each mirrors a JavaScript function
 * exactly (named at each); the JavaScript remains the path where the addon is not built.
 */
#include "addon.h"

/* How many needles find_needles() tests sixteen positions at a time; with more it goes byte by byte. */
#define MAX_PAIRED_NEEDLES 8

/*
 * Where the needles (packed as line-start prefixes are) occur wholly inside buf[0, n), from
 * `from` on: their start positions in increasing order into found[0, cap), stopping when it is
 * full; returns the count. The severity pre-filter's question (lib/tree/severity-filter.ts). One
 * pass tests each needle's first two bytes at sixteen positions a step; Buffer#indexOf took a
 * memchr pass per needle, and the one for `rror` stopped at every `r`. Several answers a call,
 * because a call costs about what scanning 2 KiB does.
 */
static int32_t find_needles(const uint8_t *buf, int32_t n, int32_t from, const prefix_list *needles, int32_t *found, int32_t cap) {
  int32_t at = from, count = 0;
#ifdef __SSE2__
  __m128i first[MAX_PAIRED_NEEDLES], second[MAX_PAIRED_NEEDLES];
  int pairs = 0, paired = 1;
  for (size_t k = 0; k < needles->length; k += 1 + (size_t)needles->bytes[k]) {
    if (needles->bytes[k] < 2 || pairs == MAX_PAIRED_NEEDLES || k + 2 >= needles->length) {
      paired = 0;
      break;
    }
    first[pairs] = _mm_set1_epi8((char)needles->bytes[k + 1]);
    second[pairs++] = _mm_set1_epi8((char)needles->bytes[k + 2]);
  }
  if (paired && pairs > 0) {
    for (; at + 17 <= n; at += 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(buf + at)), w = _mm_loadu_si128((const __m128i *)(buf + at + 1));
      __m128i hits = _mm_setzero_si128();
      for (int k = 0; k < pairs; k++) hits = _mm_or_si128(hits, _mm_and_si128(_mm_cmpeq_epi8(v, first[k]), _mm_cmpeq_epi8(w, second[k])));
      for (unsigned mask = (unsigned)_mm_movemask_epi8(hits); mask != 0; mask &= mask - 1) {
        int32_t i = at + __builtin_ctz(mask);
        if (starts_with_prefix(needles, buf, n, i)) {
          found[count++] = i;
          if (count == cap) return count;
        }
      }
    }
  }
#endif
  for (; at < n; at++)
    if (starts_with_prefix(needles, buf, n, at)) {
      found[count++] = at;
      if (count == cap) return count;
    }
  return count;
}

/* findNeedles(buf: Uint8Array, from, needles: Uint8Array, found: Int32Array): count (see find_needles) */
napi_value napi_find_needles(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void *buf, *needle_bytes, *found;
  size_t n, needle_length, found_length;
  int32_t from;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 4);
  CHECK(bytes_of(env, argv[0], &buf, &n) && n <= INT32_MAX);
  CHECK(napi_get_value_int32(env, argv[1], &from) == napi_ok);
  CHECK(bytes_of(env, argv[2], &needle_bytes, &needle_length));
  CHECK(bytes_of(env, argv[3], &found, &found_length) && found_length >= 4 && found_length / 4 <= INT32_MAX);
  CHECK(from >= 0 && (size_t)from <= n);
  prefix_list needles = { needle_bytes, needle_length, { 0 }, 0 };
  index_prefixes(&needles);
  napi_value result;
  CHECK(napi_create_int32(env, find_needles(buf, (int32_t)n, from, &needles, found, (int32_t)(found_length / 4)), &result) == napi_ok);
  return result;
}

