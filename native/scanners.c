/*
 * Scans that answer one question over a whole chunk per call, for JavaScript that would otherwise
 * ask it byte by byte or with a Buffer#indexOf pass per needle. Each mirrors a JavaScript function
 * exactly (named at each); the JavaScript remains the path where the addon is not built.
 */
#include "addon.h"

/* How many needles find_needles() tests sixteen positions at a time; with more it goes byte by byte. */
#define MAX_PAIRED_NEEDLES 8

#ifdef HAVE_AVX2

/*
 * find_needles()' paired test at 32 positions a step, on CPUs with AVX2 (see addon.h), in the
 * manner of Hyperscan's Teddy: each needle owns a bit, and four 16-entry tables say which
 * needles' first and second bytes have a given low or high nibble, so that two table lookups a
 * byte and three ANDs test every needle's pair at once (the test is exact: a bit's bucket holds
 * one byte a position) — 17 instructions a step against 31 for a compare per needle and byte. A
 * hit is checked against the needles its bits name. From *at while a whole step and the byte
 * after it fit; leaves *at where it stopped and returns the count, as the SSE2 loop does.
 */
__attribute__((target("avx2"))) static int32_t paired_scan_avx2(const uint8_t *buf, int32_t n, int32_t *at_io, const uint8_t *firsts, const uint8_t *seconds, int pairs,
                                                                const uint8_t *const *needle_bytes, const uint8_t *needle_lengths, int32_t *found, int32_t count, int32_t cap) {
  uint8_t tables[4][16] = { { 0 } };
  for (int k = 0; k < pairs; k++) {
    tables[0][firsts[k] & 15] |= (uint8_t)(1 << k);
    tables[1][firsts[k] >> 4] |= (uint8_t)(1 << k);
    tables[2][seconds[k] & 15] |= (uint8_t)(1 << k);
    tables[3][seconds[k] >> 4] |= (uint8_t)(1 << k);
  }
  const __m256i first_low = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)tables[0]));
  const __m256i first_high = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)tables[1]));
  const __m256i second_low = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)tables[2]));
  const __m256i second_high = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)tables[3]));
  const __m256i nibble = _mm256_set1_epi8(15), zero = _mm256_setzero_si256();
  int32_t at = *at_io;
  for (; at + 33 <= n; at += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(buf + at)), w = _mm256_loadu_si256((const __m256i *)(buf + at + 1));
    __m256i first = _mm256_and_si256(_mm256_shuffle_epi8(first_low, _mm256_and_si256(v, nibble)), _mm256_shuffle_epi8(first_high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)));
    __m256i second = _mm256_and_si256(_mm256_shuffle_epi8(second_low, _mm256_and_si256(w, nibble)), _mm256_shuffle_epi8(second_high, _mm256_and_si256(_mm256_srli_epi16(w, 4), nibble)));
    __m256i bits = _mm256_and_si256(first, second);
    unsigned mask = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(bits, zero));
    if (mask == 0) continue;
    uint8_t lanes[32];
    _mm256_storeu_si256((__m256i *)lanes, bits);
    for (; mask != 0; mask &= mask - 1) {
      int32_t i = at + __builtin_ctz(mask);
      for (unsigned b = lanes[i - at]; b != 0; b &= b - 1) {
        int k = __builtin_ctz(b);
        if ((size_t)(n - i) >= needle_lengths[k] && memcmp(buf + i, needle_bytes[k], needle_lengths[k]) == 0) {
          found[count++] = i;
          if (count == cap) {
            *at_io = at;
            return count;
          }
          break;
        }
      }
    }
  }
  *at_io = at;
  return count;
}
#endif

/*
 * Where the needles (packed as line-start prefixes are) occur wholly inside buf[0, n), from
 * `from` on: their start positions in increasing order into found[0, cap), stopping when it is
 * full; returns the count. The severity pre-filter's question (lib/tree/severity-filter.ts). One
 * pass tests each needle's first two bytes at sixteen positions a step (thirty-two with AVX2);
 * Buffer#indexOf took a memchr pass per needle, and the one for `rror` stopped at every `r`.
 * Several answers a call, because a call costs about what scanning 2 KiB does.
 */
int32_t find_needles(const uint8_t *buf, int32_t n, int32_t from, const prefix_list *needles, int32_t *found, int32_t cap) {
  int32_t at = from, count = 0;
#ifdef __SSE2__
  uint8_t firsts[MAX_PAIRED_NEEDLES], seconds[MAX_PAIRED_NEEDLES], lengths[MAX_PAIRED_NEEDLES];
  const uint8_t *bytes[MAX_PAIRED_NEEDLES];
  __m128i first[MAX_PAIRED_NEEDLES], second[MAX_PAIRED_NEEDLES];
  int pairs = 0, paired = 1;
  for (size_t k = 0; k < needles->length; k += 1 + (size_t)needles->bytes[k]) {
    if (needles->bytes[k] < 2 || pairs == MAX_PAIRED_NEEDLES || k + 1 + needles->bytes[k] > needles->length) {
      paired = 0;
      break;
    }
    lengths[pairs] = needles->bytes[k];
    bytes[pairs] = needles->bytes + k + 1;
    firsts[pairs] = needles->bytes[k + 1];
    seconds[pairs] = needles->bytes[k + 2];
    first[pairs] = _mm_set1_epi8((char)firsts[pairs]);
    second[pairs] = _mm_set1_epi8((char)seconds[pairs]);
    pairs++;
  }
  if (paired && pairs > 0) {
#ifdef HAVE_AVX2
    if (__builtin_cpu_supports("avx2")) {
      count = paired_scan_avx2(buf, n, &at, firsts, seconds, pairs, bytes, lengths, found, count, cap);
      if (count == cap) return count;
    }
#endif
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

/* ---- internal-json build-log lines (ActivityTree.batchLine in lib/dialects/internal-json.ts) ---- */

/* What scan_result_lines() says of a line: its record's first int32. */
enum { R_OTHER = 0, R_RAW = 1, R_ESCAPED = 2, R_ASK = 3 };
/* Int32 per record: kind, line start, LF, payload start, payload end (its closing quote), id end, id low and high 32 bits. */
#define RECORD_LENGTH 8

static const char RESULT_LINE[] = "{\"action\":\"result\",\"fields\":[\"";
static const char ID_AFTER_PAYLOAD[] = "\"],\"id\":";
static const char TYPE_KEY[] = ",\"type\":";

static int starts_with(const uint8_t *b, int32_t i, int32_t e, const char *text, int32_t n) {
  return e - i >= n && memcmp(b + i, text, (size_t)n) == 0;
}

/* plainRun(): the first `"`, `\` or byte below 0x20 in b[i, e), or e; *non_ascii is set when a byte ≥ 0x80 comes before it. */
static int32_t plain_run(const uint8_t *b, int32_t i, int32_t e, int *non_ascii) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1f);
  int high = 0;
  for (; i + 16 <= e; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(b + i));
    __m128i stops = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)), _mm_cmpeq_epi8(_mm_min_epu8(v, control), v));
    unsigned mask = (unsigned)_mm_movemask_epi8(stops);
    unsigned top = (unsigned)_mm_movemask_epi8(v);
    if (mask != 0) {
      int at = __builtin_ctz(mask);
      if (high || (top & ((1u << at) - 1)) != 0) *non_ascii = 1;
      return i + at;
    }
    high |= top != 0;
  }
  if (high) *non_ascii = 1;
#endif
  for (; i < e; i++) {
    uint8_t c = b[i];
    if (c == '"' || c == '\\' || c < 0x20) break;
    if (c >= 0x80) *non_ascii = 1;
  }
  return i;
}

/* hex4At(): the value of four hex digits at b[i], or -1. */
static int32_t hex4(const uint8_t *b, int32_t i, int32_t e) {
  if (i + 4 > e) return -1;
  int32_t v = 0;
  for (int k = 0; k < 4; k++) {
    uint8_t c = b[i + k];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/* utf8Length(): the length of the well-formed UTF-8 sequence led by the non-ASCII byte b[i], or -1. */
static int utf8_length(const uint8_t *b, int32_t i, int32_t e) {
  uint8_t c = b[i], lo = 0x80, hi = 0xbf;
  int n;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
  } else return -1;
  if (i + n > e) return -1;
  if (b[i + 1] < lo || b[i + 1] > hi) return -1;
  for (int k = 2; k < n; k++)
    if (b[i + k] < 0x80 || b[i + k] > 0xbf) return -1;
  return n;
}

static int well_formed_utf8(const uint8_t *b, int32_t s, int32_t e) {
  for (int32_t k = s; k < e;) {
    if (b[k] < 0x80) k++;
    else {
      int m = utf8_length(b, k, e);
      if (m < 0) return 0;
      k += m;
    }
  }
  return 1;
}

/* escapedStringEnd(): the closing quote of the string whose contents start at s and whose first escape is at j, or -1. */
static int32_t escaped_string_end(const uint8_t *b, int32_t s, int32_t j, int32_t e, int non_ascii) {
  for (;;) {
    if (j >= e) return -1;
    uint8_t c = b[j];
    if (c == '"') break;
    if (c != '\\') return -1;
    if (j + 1 >= e) return -1;
    uint8_t x = b[j + 1];
    j += 2;
    if (x == 'u') {
      int32_t u = hex4(b, j, e);
      if (u < 0) return -1;
      j += 4;
      if (u >= 0xd800 && u <= 0xdfff) {
        if (u > 0xdbff || j + 6 > e || b[j] != '\\' || b[j + 1] != 'u') return -1;
        int32_t low = hex4(b, j + 2, e);
        if (low < 0xdc00 || low > 0xdfff) return -1;
        j += 6;
      }
    } else if (!(x == '"' || x == '\\' || x == '/' || x == 'n' || x == 't' || x == 'r' || x == 'b' || x == 'f')) {
      return -1;
    }
    j = plain_run(b, j, e, &non_ascii);
  }
  if (non_ascii && !well_formed_utf8(b, s, j)) return -1;
  return j;
}

/*
 * The line b[s, e) (e its LF): R_RAW or R_ESCAPED when it is a build-log line batchLine() takes
 * on its bytes — `@nix ` or not, `{"action":"result","fields":["…"],"id":N,"type":101}` (or
 * 107), blanks after — with the record's other fields filled in; R_ASK when it would be but for
 * an id that is not a plain number of at most 19 digits (batchLine itself decides those);
 * R_OTHER for any line batchLine() turns down whatever the activities.
 */
static int classify_result_line(const uint8_t *b, int32_t s, int32_t e, int32_t *record) {
  int32_t p = s;
  if (b[p] == '@') {
    if (!starts_with(b, p, e, "@nix ", 5)) return R_OTHER;
    p += 5;
  }
  int32_t literal = (int32_t)sizeof RESULT_LINE - 1;
  if (!starts_with(b, p, e, RESULT_LINE, literal)) return R_OTHER;
  int32_t ps = p + literal;
  int non_ascii = 0;
  int32_t q = plain_run(b, ps, e, &non_ascii);
  if (q >= e || b[q] < 0x20) return R_OTHER;
  int escaped = b[q] == '\\';
  if (escaped && (q = escaped_string_end(b, ps, q, e, non_ascii)) < 0) return R_OTHER;
  if (!starts_with(b, q, e, ID_AFTER_PAYLOAD, 8)) return R_OTHER;
  /* the id as idText() reads it: an integer literal of at most 21 characters */
  int32_t is = q + 8, i = is;
  if (i < e && b[i] == '-') i++;
  int32_t digits = i;
  uint64_t value = 0;
  while (i < e && b[i] >= '0' && b[i] <= '9') value = value * 10 + (uint64_t)(b[i++] - '0');
  if (i == digits || i - is > 21 || (b[digits] == '0' && i - digits > 1)) return R_OTHER;
  if (i < e && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) return R_OTHER;
  int32_t id_end = i;
  if (!starts_with(b, i, e, TYPE_KEY, 8)) return R_OTHER;
  i += 8;
  if (!starts_with(b, i, e, "101}", 4) && !starts_with(b, i, e, "107}", 4)) return R_OTHER;
  for (i += 4; i < e; i++)
    if (b[i] != ' ' && b[i] != '\r' && b[i] != '\t') return R_OTHER;
  record[3] = ps;
  record[4] = q;
  record[5] = id_end;
  record[6] = (int32_t)(uint32_t)value;
  record[7] = (int32_t)(uint32_t)(value >> 32);
  if (digits != is || id_end - digits > 19) return R_ASK;
  return escaped ? R_ESCAPED : R_RAW;
}

/*
 * Records for the whole lines of b[from, n) (each ended by an LF) into out, RECORD_LENGTH int32
 * each, until out is full or no LF is left before n; returns the int32 filled.
 */
static int32_t scan_result_lines(const uint8_t *b, int32_t n, int32_t from, int32_t *out, int32_t cap) {
  int32_t filled = 0;
  for (int32_t s = from; s < n && filled + RECORD_LENGTH <= cap;) {
    const uint8_t *lf = memchr(b + s, '\n', (size_t)(n - s));
    if (lf == NULL) break;
    int32_t e = (int32_t)(lf - b);
    int32_t *record = out + filled;
    record[0] = classify_result_line(b, s, e, record);
    record[1] = s;
    record[2] = e;
    filled += RECORD_LENGTH;
    s = e + 1;
  }
  return filled;
}

/* scanResultLines(buf: Uint8Array, from, limit, records: Int32Array): int32 filled (see scan_result_lines, with n = limit) */
napi_value napi_scan_result_lines(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void *buf, *out;
  size_t n, out_length;
  int32_t from, limit;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 4);
  CHECK(bytes_of(env, argv[0], &buf, &n) && n <= INT32_MAX);
  CHECK(napi_get_value_int32(env, argv[1], &from) == napi_ok);
  CHECK(napi_get_value_int32(env, argv[2], &limit) == napi_ok);
  CHECK(bytes_of(env, argv[3], &out, &out_length) && out_length / 4 >= RECORD_LENGTH && out_length / 4 <= INT32_MAX);
  CHECK(from >= 0 && limit >= from && (size_t)limit <= n);
  napi_value result;
  CHECK(napi_create_int32(env, scan_result_lines(buf, limit, from, out, (int32_t)(out_length / 4)), &result) == napi_ok);
  return result;
}
