/*
 * The build-log framer's pass-through path in C: a Node-API addon (lib/dialects/native-pass-through.ts).
 *
 * Why native: nixlog-clean on a legacy log meets an escape every ~80 bytes. In JavaScript each one
 * cost a Buffer#indexOf call and a trip through the loop (~300 ns); here a 16-byte SSE2 scan for
 * the next ESC, LF or CR and a table walk cost a few nanoseconds, which is what lets the filter
 * run at several hundred MiB/s.
 *
 * What an escape is stays the tokenizer's decision: init() receives its transition table and the
 * numbers of its states and actions, and scan_csi() below walks that table exactly as scanCsi() in
 * lib/tokenizer/tokenizer.ts does. Only whole CSIs are handled here; anything else ends the run and
 * the framer's ordinary path takes over at the last line boundary.
 *
 * pass_through() mirrors the framer's contract for its fast path (see BuildLogFramer.runNatively):
 * from a fresh line it runs over whole lines and the escapes in them, records what the sink gets
 * (kept byte ranges, section opens and closes) as a list of operations, and returns the last line
 * boundary, with the framer's state at that boundary. Nothing is called back: the JavaScript side
 * replays the operations afterwards, so a run costs one call.
 */
#include "addon.h"

#define ESC 0x1b
#define LF 0x0a
#define CR 0x0d
/* The smallest UTF-8 lead byte of a multi-byte character: a character split by an escape is for the ordinary path. */
#define UTF8_LEAD_MIN 0xc2

/* Cuts and kept SGR ranges since the last boundary, as [start, end) pairs; a line with more goes the ordinary path. */
#define RANGE_CAP 512

/*
 * Operation codes (lib/dialects/native-pass-through.ts has the same list). Span, open and close are
 * three int32 each: kind, a, b. In line mode a span is whole plain lines, and their LFs follow:
 * kind, start, end, the line count n, then the n LF positions (4 + n int32), so that the sink's
 * span() need not search for them again. A line (line mode only) is kind, raw end, text start, text end,
 * priority, line bits, the mark count n, then n [start, end) pairs (kept SGR; with L_CUTS also
 * removed CSIs, their end stored as -(end + 1), and with L_DISCARDS bytes a bare CR discarded,
 * their start stored as -(start + 1)): 7 + 2n int32.
 */
enum { OP_SPAN = 0, OP_OPEN = 1, OP_CLOSE = 2, OP_LINE = 3 };

/* Bits of a line op. */
enum { L_HEAD = 1, L_ERROR = 2, L_WARNING = 4, L_AT_LINE_START = 8, L_ENDED_ESCAPE = 16, L_GROUP_LF = 32, L_CUTS = 64, L_DISCARDS = 128 };

/* State slots shared with JavaScript (same list there). */
enum {
  S_IGNORE_LF, S_ERROR, S_WARNING, S_ESCAPE_SINCE, S_IN_HEADER, S_PRIORITY, S_LEVEL,
  S_LINE_START, S_AFTER_LF, S_OP_COUNT, S_SLOTS
};
/* In line mode S_AFTER_LF and S_LINE_START are also read: whether the line at `from` began after an LF, and where (-1: before buf). */

/* Flags of a call. F_LINES: line mode (see pass_through); F_STYLED_PREFIX: with it, see styled_prefix_line. */
enum { F_KEEP_SGR = 1, F_COMPACT = 2, F_NO_STRUCTURE = 4, F_LINES = 8, F_STYLED_PREFIX = 16 };

/* From init(): the tokenizer's table and the numbers it uses. */
static uint8_t table[7 * 256];
static int st_escape, st_csi_param, act_enter_csi, act_collect_param, act_collect_intermediate, act_dispatch_csi;
static int max_params, max_intermediates;

typedef struct {
  int32_t param_start, param_length, intermediate_length;
  uint8_t final;
} csi;

/* scanCsi(): a whole CSI at buf[at] within the caps, read by the table; the index after it, or -1. */
static int32_t scan_csi(const uint8_t *buf, int32_t n, int32_t at, csi *seq) {
  if (at + 1 >= n || table[(st_escape << 8) | buf[at + 1]] >> 4 != act_enter_csi) return -1;
  int state = st_csi_param;
  int32_t params = 0, intermediates = 0;
  for (int32_t i = at + 2; i < n; i++) {
    uint8_t cell = table[(state << 8) | buf[i]];
    int action = cell >> 4;
    if (action == act_collect_param) {
      /* Parameter bytes come before intermediates, so they are contiguous in buf. */
      if (params == max_params) return -1;
      params++;
    } else if (action == act_collect_intermediate) {
      if (intermediates == max_intermediates) return -1;
      intermediates++;
    } else if (action == act_dispatch_csi) {
      seq->param_start = at + 2;
      seq->param_length = params;
      seq->intermediate_length = intermediates;
      seq->final = buf[i];
      return i + 1;
    } else {
      return -1;
    }
    state = cell & 0x0f;
  }
  return -1;
}

static int private_marker(const uint8_t *buf, const csi *seq) {
  uint8_t b = seq->param_length > 0 ? buf[seq->param_start] : 0;
  return b >= 0x3c && b <= 0x3f;
}

static int is_sgr(const uint8_t *buf, const csi *seq) {
  return seq->final == 'm' && seq->intermediate_length == 0 && !private_marker(buf, seq);
}

/* legacyCode(): the final byte of a p q s a b e w code, 0 for any other CSI. */
static int legacy_code(const uint8_t *buf, const csi *seq) {
  switch (seq->final) {
    case 'p': case 'q': case 's': case 'a': case 'b': case 'e': case 'w':
      return seq->intermediate_length == 0 && !private_marker(buf, seq) ? seq->final : 0;
    default:
      return 0;
  }
}

/* legacyArgument(): the first parameter's digits, 1 when absent or not a number; saturates at 2^31 − 1. */
static int32_t legacy_argument(const uint8_t *buf, const csi *seq) {
  int64_t value = 0;
  int digits = 0;
  for (int32_t i = 0; i < seq->param_length; i++) {
    uint8_t b = buf[seq->param_start + i];
    if (b == ';' || b == ':') break;
    if (b < '0' || b > '9') return 1;
    value = value * 10 + (b - '0');
    if (value > 0x7fffffff) value = 0x7fffffff;
    digits++;
  }
  return digits > 0 ? (int32_t)value : 1;
}

static int is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

/*
 * The length of the line timestamp at buf[at] (a downloaded GitHub Actions log's
 * `2024-05-01T00:00:00.0230000Z `: a fraction of 1 to 9 digits, optional), or 0; the same rule as
 * timestampLength() in lib/dialects/ci-markers.ts. −1 when an escape comes before it is decided:
 * the text without escapes may hold one.
 */
static int32_t timestamp_length(const uint8_t *buf, int32_t n, int32_t at) {
  static const char shape[] = "0000-00-00T00:00:00";
  int32_t p = at;
  for (size_t k = 0; k + 1 < sizeof shape; k++, p++) {
    if (p >= n) return 0;
    if (buf[p] == ESC) return -1;
    if (shape[k] == '0' ? !is_digit(buf[p]) : buf[p] != (uint8_t)shape[k]) return 0;
  }
  if (p < n && buf[p] == '.') {
    int32_t digits = ++p;
    while (p < n && p - digits < 9 && is_digit(buf[p])) p++;
    if (p < n && buf[p] == ESC) return -1;
    if (p == digits) return 0;
  }
  if (p < n && buf[p] == ESC) return -1;
  if (p + 1 < n && buf[p] == 'Z' && buf[p + 1] == ESC) return -1;
  return p + 1 < n && buf[p] == 'Z' && buf[p + 1] == ' ' ? p + 2 - at : 0;
}

/*
 * The line at buf[at] begins like one of the prefixes up to an escape (`:` ESC[1m `:group::`): the
 * sink matches markers on the text without its escapes, so it sees such a line too.
 */
static int prefix_cut_by_escape(const prefix_list *prefixes, const uint8_t *buf, int32_t n, int32_t at) {
  int32_t stop = n - at < prefixes->longest ? n : at + prefixes->longest;
  const uint8_t *esc = memchr(buf + at, ESC, (size_t)(stop - at));
  if (esc == NULL) return 0;
  size_t before = (size_t)(esc - (buf + at));
  for (size_t k = 0; k + 1 <= prefixes->length; k += 1 + (size_t)prefixes->bytes[k]) {
    size_t len = prefixes->bytes[k];
    if (len > before && k + 1 + len <= prefixes->length && memcmp(buf + at, prefixes->bytes + k + 1, before) == 0) return 1;
  }
  return 0;
}

/*
 * Where text resumes after the CSI sequences at buf[at], which the line's text leaves out (kept SGR
 * as marks, the others removed): the sink reads markers on that text, so `… Z ESC[36;1m##[group]`
 * is a marker and `… Z ESC[36;1mshell:` is not. −1 when an escape there is not one the text just
 * loses — a legacy code, another kind of escape, one cut off by the end of the bytes.
 */
static int32_t text_after_csi(const uint8_t *buf, int32_t n, int32_t at) {
  csi seq;
  while (at < n && buf[at] == ESC) {
    int32_t after = scan_csi(buf, n, at, &seq);
    if (after < 0 || legacy_code(buf, &seq) != 0) return -1;
    at = after;
  }
  return at;
}

/*
 * A digit-led line: it begins with one of the prefixes after a timestamp and any CSI sequences
 * (or may: an escape before the stamp is decided, one the text does not simply lose, or one
 * inside the prefix, see above).
 */
static int must_see_stamped(const prefix_list *prefixes, const uint8_t *buf, int32_t n, int32_t at) {
  int32_t stamp = timestamp_length(buf, n, at);
  if (stamp <= 0) return stamp < 0;
  int32_t text = text_after_csi(buf, n, at + stamp);
  if (text < 0) return 1;
  return starts_with_prefix(prefixes, buf, n, text) || prefix_cut_by_escape(prefixes, buf, n, text);
}

/* The line starting at buf[at] begins with one of the prefixes (or may, see above), after a timestamp or not. */
static inline int must_see(const prefix_list *prefixes, const uint8_t *buf, int32_t n, int32_t at) {
  if (at >= n) return 0;
  if (prefixes->first[buf[at]]) return starts_with_prefix(prefixes, buf, n, at) || prefix_cut_by_escape(prefixes, buf, n, at);
  return is_digit(buf[at]) && prefixes->length > 0 && must_see_stamped(prefixes, buf, n, at);
}

#ifdef HAVE_AVX2
/*
 * next_special() thirty-two bytes a step: a line of a build log averages ~100 bytes, and the
 * search for its end was two fifths of pass_through()'s time sixteen bytes a step.
 */
__attribute__((target("avx2"), noinline)) static int32_t next_special_avx2(const uint8_t *buf, int32_t at, int32_t end) {
  const __m256i esc = _mm256_set1_epi8(ESC), lf = _mm256_set1_epi8(LF), cr = _mm256_set1_epi8(CR);
  for (; at + 32 <= end; at += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(buf + at));
    unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, esc), _mm256_cmpeq_epi8(v, lf)), _mm256_cmpeq_epi8(v, cr)));
    if (mask != 0) return at + __builtin_ctz(mask);
  }
  return at;
}
#endif

/* The first ESC, LF or CR in buf[at, end), or end: sixteen bytes a step where SSE2 is there, thirty-two with AVX2. */
static int32_t next_special(const uint8_t *buf, int32_t at, int32_t end) {
#ifdef HAVE_AVX2
  if (__builtin_cpu_supports("avx2")) {
    at = next_special_avx2(buf, at, end);
    if (at + 32 <= end) return at;
  }
#endif
#ifdef __SSE2__
  const __m128i esc = _mm_set1_epi8(ESC), lf = _mm_set1_epi8(LF), cr = _mm_set1_epi8(CR);
  for (; at + 16 <= end; at += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(buf + at));
    int mask = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, esc), _mm_cmpeq_epi8(v, lf)), _mm_cmpeq_epi8(v, cr)));
    if (mask != 0) return at + __builtin_ctz((unsigned)mask);
  }
#endif
  while (at < end && buf[at] != ESC && buf[at] != LF && buf[at] != CR) at++;
  return at;
}

typedef struct {
  uint8_t *buf;
  int compact;
  int structure; /* record opens and closes (not for a sink that ignores them) */
  int32_t write; /* compact mode: where the next kept byte goes */
  int32_t *ops;
  int32_t count, cap;
  /* Line mode: where the last span op starts (-1: none), which the next plain line may extend. */
  int32_t last_span;
} output;

static void emit(output *out, int32_t kind, int32_t a, int32_t b) {
  out->ops[out->count++] = kind;
  out->ops[out->count++] = a;
  out->ops[out->count++] = b;
}

/* Kept bytes buf[start, end): a span op, merged with the previous one when they touch. */
static void keep(output *out, int32_t start, int32_t end) {
  if (out->compact) {
    int32_t length = end - start;
    if (out->write != start) memmove(out->buf + out->write, out->buf + start, (size_t)length);
    start = out->write;
    end = out->write = start + length;
  }
  if (out->count > 0 && out->ops[out->count - 3] == OP_SPAN && out->ops[out->count - 1] == start) {
    out->ops[out->count - 1] = end;
    return;
  }
  emit(out, OP_SPAN, start, end);
}

/* commitCuts(): keeps what lies between the cuts from run_start on; returns where the kept run now starts. */
static int32_t commit_cuts(output *out, int32_t run_start, const int32_t *cuts, int count) {
  for (int k = 0; k < count; k += 2) {
    if (cuts[k] > run_start) keep(out, run_start, cuts[k]);
    run_start = cuts[k + 1];
  }
  return run_start;
}

/* Room for committing a line with `cuts` cut entries: a span per cut, one more, a structure op, and the last span. */
static int has_room(const output *out, int cuts) {
  return out->count + 3 * (cuts / 2 + 3) <= out->cap;
}

/* Room for a line op with `sgr_count` SGR entries and a structure op after it. */
static int has_line_room(const output *out, int sgr_count) {
  return out->count + 7 + sgr_count + 3 <= out->cap;
}

static int line_bits(int head, int error, int warning, int at_line_start, int group_lf, int cuts, int discards) {
  return (head ? L_HEAD : 0) | (error ? L_ERROR : 0) | (warning ? L_WARNING : 0) | (at_line_start ? L_AT_LINE_START : 0) | (group_lf ? L_GROUP_LF : 0) | (cuts ? L_CUTS : 0) | (discards ? L_DISCARDS : 0);
}

/* A line op: the line's text is buf[text_start, text_end), its kept SGR sequences in place. */
static void emit_line(output *out, int32_t raw_end, int32_t text_start, int32_t text_end, int32_t priority, int bits, const int32_t *sgrs, int sgr_count) {
  int32_t *op = out->ops + out->count;
  op[0] = OP_LINE, op[1] = raw_end, op[2] = text_start, op[3] = text_end, op[4] = priority, op[5] = bits, op[6] = sgr_count / 2;
  memcpy(op + 7, sgrs, (size_t)sgr_count * sizeof *sgrs);
  out->count += 7 + sgr_count;
}

/* Appends the discard mark [start, end) to marks[0, *count), merged with a discard mark it continues. */
static void add_discard(int32_t *marks, int *count, int32_t start, int32_t end) {
  if (*count > 0 && marks[*count - 2] < 0 && marks[*count - 1] == start) marks[*count - 1] = end;
  else marks[(*count)++] = -start - 1, marks[(*count)++] = end;
}

/*
 * A bare CR in line mode (variant C, D-11): the line's bytes from `from` up to the CR and the CR
 * go, except its kept SGR and a removed CSI that came before any kept byte (the ordinary path
 * keeps that one's mark at position 0). Rewrites the marks in place, the bytes that go as discard
 * marks (start stored as -(start + 1)), a removed CSI kept with its end still stored as
 * -(end + 1); returns their count, or -1 when they would not fit.
 */
static int reset_marks(int32_t from, int32_t cr, int32_t *marks, int count) {
  int32_t out[RANGE_CAP];
  int k = 0;
  int at_zero = 1; /* nothing kept so far: a removed CSI here keeps its mark */
  int32_t cursor = from;
  for (int m = 0;; m += 2) {
    const int32_t start = m < count ? (marks[m] < 0 ? -marks[m] - 1 : marks[m]) : cr + 1;
    if (k + 4 > RANGE_CAP) return -1;
    if (start > cursor) {
      /* text since the last reset */
      add_discard(out, &k, cursor, start);
      at_zero = 0;
    }
    if (m == count) break;
    const int removed = marks[m + 1] < 0;
    const int32_t end = removed ? -marks[m + 1] - 1 : marks[m + 1];
    if (marks[m] < 0) add_discard(out, &k, start, end);
    else if (!removed) out[k++] = start, out[k++] = end, at_zero = 0;
    else if (at_zero) out[k++] = start, out[k++] = marks[m + 1];
    else add_discard(out, &k, start, end);
    cursor = end;
  }
  memcpy(marks, out, (size_t)k * sizeof *out);
  return k;
}

/* A byte of a derivation name as `nix build -L` prefixes show it: [A-Za-z0-9+._?=-] (build-log.ts NAME_BYTE). */
static inline int name_byte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '_' || c == '?' || c == '=' || c == '-';
}

/*
 * The LF ending a line at buf[at] that is `nix build -L` output as Nix writes it, `ESC[2m` NAME
 * `> ` `ESC[0m` (or `ESC[m`) and then text without ESC or CR; -1 for any other line, or one that
 * does not end before `limit`. NAME is what prefixNameLength (build-log.ts) takes: a name byte
 * other than `.` and `-` first, at most 255 bytes. Such a line's text is one range after the
 * prefix and no style carries into it (the prefix ends with a reset), so line mode hands it over
 * with the plain lines, as a span, and the sink takes the prefix apart.
 */
static int32_t styled_prefix_line(const uint8_t *buf, int32_t limit, int32_t at) {
  const int32_t name = at + 4;
  if (limit - at < 4 + 1 + 2 + 3 + 1 || memcmp(buf + at, "\x1b[2m", 4) != 0) return -1;
  if (!name_byte(buf[name]) || buf[name] == '.' || buf[name] == '-') return -1;
  const int32_t max = limit - 1 < name + 256 ? limit - 1 : name + 256;
  int32_t i = name + 1;
  while (i < max && name_byte(buf[i])) i++;
  if (i >= max || buf[i] != '>' || buf[i + 1] != ' ') return -1;
  int32_t text = i + 2;
  if (limit - text >= 3 && memcmp(buf + text, "\x1b[m", 3) == 0) text += 3;
  else if (limit - text >= 4 && memcmp(buf + text, "\x1b[0m", 4) == 0) text += 4;
  else return -1;
  const int32_t stop = next_special(buf, text, limit);
  return stop < limit && buf[stop] == LF ? stop : -1;
}

/*
 * Line mode (F_LINES, for sinks that take every line as a line: the event decoder)
 * records each finished line as a line op instead of kept spans: its text is one range of the
 * chunk with its kept SGR sequences in place, which the framer hands over as a direct line.
 * So a line may hold text and kept SGR only, after leading a/b/e/w codes. A removed CSI (gcc's
 * `ESC[K` after each colour) is one of the line's marks too (L_CUTS), marked by its end: a sink
 * that takes such lines in place (the event decoder) leaves it out as it copies the text, for
 * others the framer copies the line as the ordinary path would have built it. So it does where
 * a bare CR discarded bytes (a progress redraw: see reset_marks; L_DISCARDS). Anything else
 * that would make its text more than one range or need a mark — an escape other than a whole
 * CSI, a or e/w after text, b after text not right before the LF, a bare CR inside a newline
 * group or after text that may be a CI marker — ends the run before the line.
 * The CR of a CRLF, or before p/q/s, and a b right before the LF are left out at the line's end.
 * A newline group's LFs are text (the line op says it holds some: the framer counts them for
 * positions), which is how patched make writes a command that spans lines: `ESC[a` cmd `\` LF …
 * `ESC[b` LF.
 * Plain lines — no escape, no CR, after an LF, in a fresh line's state — are recorded as spans
 * instead (consecutive ones as one), which the framer hands to its span path; with
 * F_STYLED_PREFIX so are `nix build -L` lines that only their prefix styles (styled_prefix_line).
 */
static int32_t pass_through(uint8_t *buf, int32_t n, int32_t from, int32_t limit, int flags, const prefix_list *prefixes, int32_t *s, output *out) {
  const int keep_sgr = flags & F_KEEP_SGR;
  const int lines = flags & F_LINES;
  const int styled_prefix = lines && (flags & F_STYLED_PREFIX);
  /* Line mode: where the line's kept bytes start (-1: none yet) and end when a CR or b before its LF is left out, whether it began after an LF. */
  int32_t text_start = -1, text_stop = -1;
  int line_after_lf = s[S_AFTER_LF];
  /* Line mode: where the current line began in the input (its escapes included), from S_LINE_START. */
  int32_t line_raw_start = s[S_LINE_START];
  /* The framer's state at the last boundary (b_*) and what happened since (locals). */
  int b_ignore_lf = s[S_IGNORE_LF], b_error = s[S_ERROR], b_warning = s[S_WARNING], b_escape_since = s[S_ESCAPE_SINCE];
  int b_in_header = s[S_IN_HEADER];
  int32_t b_priority = s[S_PRIORITY], b_level = s[S_LEVEL], b_line_start = -1;
  int b_after_lf = 0;
  int ignore_lf = b_ignore_lf, error = b_error, warning = b_warning, escape_since = b_escape_since;
  int text = 0;     /* text since the boundary (what makes p/q/s end a line) */
  int group_lf = 0; /* an LF inside a newline group since the boundary (a CR goes back only to it) */
  int cut_marks = 0; /* line mode: a removed CSI or a discard among the marks since the boundary */
  int kept_sgr = 0;  /* line mode: kept SGR among the marks since the boundary */
  int line_cr = 0;   /* line mode: a bare CR since the boundary */
  uint8_t first_text = 0; /* line mode: the first text byte since the boundary, before any bare CR */
  /* Ranges to cut from the output; the pending line's marks (kept SGR, and in line mode removed CSIs and discards). */
  int32_t cuts[RANGE_CAP], sgrs[RANGE_CAP];
  int cut_count = 0, sgr_count = 0;
  int32_t boundary = from, run_start = from, p = from;
  csi seq;
  out->write = from;
  /* Inside a newline group an LF is text: line mode leaves that to the ordinary path. */
  if (must_see(prefixes, buf, n, from) || (lines && ignore_lf)) limit = from;

  for (;;) {
    /*
     * A styled `-L` line where a plain line could start (the state the LF branch asks of one) is
     * taken as plain: its LF is the next special byte.
     */
    if (styled_prefix && p == boundary && boundary == line_raw_start && line_after_lf && !text && text_start < 0 && sgr_count == 0 && cut_count == 0 && !group_lf && !ignore_lf && !error && !warning && buf[p] == ESC) {
      int32_t lf = styled_prefix_line(buf, limit, p);
      if (lf >= 0) {
        text = 1;
        text_start = p;
        p = lf;
      }
    }
    int32_t at = next_special(buf, p, limit);
    if (at > p) {
      if (!text && !line_cr) first_text = buf[p];
      text = 1;
      if (text_start < 0) text_start = p;
    }
    /* (an escape may have run past the limit: a line that goes beyond it is not this run's) */
    if (at >= limit) break;
    if (buf[at] == LF) {
      p = at + 1;
      if (ignore_lf) {
        /* Inside a newline group an LF is text. */
        text = 1;
        group_lf = 1;
        if (text_start < 0) text_start = at;
        continue;
      }
      /* A line ended: commit it (as a line op, or its cuts leave the output), and a fresh line starts. */
      if (lines) {
        if (!has_line_room(out, sgr_count)) break;
        int32_t text_end = text_stop >= 0 ? text_stop : at;
        /*
         * Plain: after an LF, text from where the line began to a bare LF. No escape came before
         * its text, so its state is a fresh line's (p, s and SGR would all lie before it) — but
         * a/b/e/w (cuts) before an empty text, and e/w carried over a p/q/s.
         */
        int plain = boundary == line_raw_start && (text_start < 0 || text_start == boundary) && sgr_count == 0 && text_stop < 0 && cut_count == 0 && !group_lf && line_after_lf && !error && !warning;
        /* A plain line extends the span op just before it, when it ends where this line starts. */
        if (plain && out->last_span >= 0 && out->last_span + 4 + out->ops[out->last_span + 3] == out->count && out->ops[out->last_span + 2] == boundary) {
          out->ops[out->last_span + 2] = p;
          out->ops[out->last_span + 3]++;
          out->ops[out->count++] = at;
        } else if (plain) {
          out->last_span = out->count;
          emit(out, OP_SPAN, boundary, p);
          out->ops[out->count++] = 1;
          out->ops[out->count++] = at;
        } else {
          emit_line(out, p, text_start >= 0 ? text_start : text_end, text_end, b_priority, line_bits(b_in_header, error, warning, line_after_lf && !escape_since && kept_sgr == 0, group_lf, cut_marks, line_cr), sgrs, sgr_count);
        }
        text_start = text_stop = -1;
        line_after_lf = 1;
        line_raw_start = p;
      } else {
        if (!has_room(out, cut_count)) break;
        run_start = commit_cuts(out, run_start, cuts, cut_count);
      }
      cut_count = 0;
      boundary = p;
      b_ignore_lf = ignore_lf;
      b_in_header = 0, b_priority = 1, b_error = b_warning = b_escape_since = 0;
      b_line_start = boundary, b_after_lf = 1;
      error = warning = escape_since = 0;
      text = 0;
      sgr_count = 0;
      group_lf = 0;
      cut_marks = kept_sgr = line_cr = 0;
      /* A line the sink must see ends the run where it starts. */
      if (must_see(prefixes, buf, n, p)) break;
      continue;
    }
    if (buf[at] == ESC) {
      const int32_t esc = at;
      if (esc > boundary && buf[esc - 1] >= UTF8_LEAD_MIN) break;
      int32_t after = scan_csi(buf, n, esc, &seq);
      if (after < 0) break;
      int code = legacy_code(buf, &seq);
      if (code == 0) {
        escape_since = 1;
        /* Kept SGR stays in place as a mark; in line mode a removed CSI is one as well (L_CUTS). */
        const int sgr = keep_sgr && is_sgr(buf, &seq);
        if (sgr || lines) {
          if (sgr_count >= RANGE_CAP - 2) break;
          if (sgr) kept_sgr = 1;
          else cut_marks = 1;
          sgrs[sgr_count++] = esc;
          sgrs[sgr_count++] = sgr ? after : -after - 1;
          if (text_start < 0) text_start = esc;
        } else {
          if (cut_count == RANGE_CAP) break;
          cuts[cut_count++] = esc;
          cuts[cut_count++] = after;
        }
        p = after;
        /* Text after leading escapes is where a sink looks for a line it must see (markers). */
        if (!text && after < n && must_see(prefixes, buf, n, after)) break;
        continue;
      }
      if (code == 'p' || code == 'q' || code == 's') {
        /* An SGR-only pending line would be carried into the next one: the ordinary path does that. */
        if (sgr_count > 0 && !text) break;
        if (lines) {
          if (!has_line_room(out, sgr_count)) break;
          if (text) {
            int32_t text_end = text_stop >= 0 ? text_stop : esc;
            int bits = L_ENDED_ESCAPE | line_bits(b_in_header, error, warning, line_after_lf && !escape_since && kept_sgr == 0, group_lf, cut_marks, line_cr);
            emit_line(out, after, text_start, text_end, b_priority, bits, sgrs, sgr_count);
            line_after_lf = 0;
            line_raw_start = after;
          }
          text_start = text_stop = -1;
          cut_count = 0;
        } else {
          if (!has_room(out, cut_count)) break;
          run_start = commit_cuts(out, run_start, cuts, cut_count);
          cut_count = 0;
          if (esc > run_start) keep(out, run_start, esc);
          run_start = after;
        }
        b_ignore_lf = ignore_lf;
        if (text) {
          /* finishLine('escape') as the ordinary path does it. */
          b_in_header = 0, b_priority = 1, b_error = b_warning = b_escape_since = 0;
          b_line_start = after, b_after_lf = 0;
          error = warning = escape_since = 0;
        } else {
          b_error = error, b_warning = warning, b_escape_since = escape_since;
        }
        /* legacyStructure() */
        if (code == 'p') {
          int32_t priority = legacy_argument(buf, &seq);
          b_level++;
          if (out->structure) emit(out, OP_OPEN, priority, esc);
          b_in_header = 1;
          b_priority = priority;
        } else if (code == 'q') {
          /* With no section open the framer reports it; the head state stays. */
          if (b_level > 0) {
            b_level--;
            b_in_header = 0;
            b_priority = 1;
          }
          if (out->structure) emit(out, OP_CLOSE, esc, after);
        } else {
          b_priority = legacy_argument(buf, &seq);
        }
        boundary = after;
        text = 0;
        sgr_count = 0;
        group_lf = 0;
        cut_marks = kept_sgr = line_cr = 0;
        p = after;
        /* A line the sink must see may start right after the escape, not only after an LF. */
        if (after < n && must_see(prefixes, buf, n, after)) break;
        continue;
      }
      if (cut_count == RANGE_CAP) break;
      /* In line mode a/b/e/w before the line's first kept byte cost the text nothing; a b right before the LF ends it. */
      if (lines && text_start >= 0) {
        if (code != 'b' || after >= limit || buf[after] != LF) break;
        text_stop = esc;
      }
      switch (code) {
        case 'a': ignore_lf = 1; break;
        case 'b': ignore_lf = 0; break;
        case 'e': error = 1; break;
        case 'w': warning = 1; break;
      }
      cuts[cut_count++] = esc;
      cuts[cut_count++] = after;
      p = after;
      if (!text && after < n && must_see(prefixes, buf, n, after)) break;
      continue;
    }
    /* A CR. */
    const int32_t cr = at;
    if (cr + 1 < n && !ignore_lf && !group_lf && !(cr > boundary && buf[cr - 1] >= UTF8_LEAD_MIN)) {
      uint8_t next = buf[cr + 1];
      /* CRLF ends a line like LF, and before p/q/s a CR is dropped: the CR alone is cut. */
      int resets = next != LF;
      if (next == ESC) {
        int32_t after = scan_csi(buf, n, cr + 1, &seq);
        if (after < 0) break;
        int code = legacy_code(buf, &seq);
        if (code == 'p' || code == 'q' || code == 's') resets = 0;
        else if (code != 0) break; /* a/b/e/w leave the CR pending: the ordinary path */
      }
      if (lines) {
        if (!resets) {
          text_stop = cr;
          p = cr + 1;
          continue;
        }
        /* The text a line's first bare CR discards may be a CI marker (`section_start:…`, `travis_fold:…`): the sink sees it on the ordinary path. */
        if (!line_cr && text && (first_text == 's' || first_text == 't')) break;
        if (text_start < 0) text_start = cr;
        int count = reset_marks(text_start, cr, sgrs, sgr_count);
        if (count < 0) break;
        sgr_count = count;
        cut_marks = line_cr = 1;
        text = 0;
        escape_since = 0;
        p = cr + 1;
        continue;
      }
      if (resets) {
        /* A bare CR: the line restarts; its text since the boundary goes, its kept SGR stays. */
        cut_count = 0;
        int32_t text_from = boundary;
        for (int k = 0; k < sgr_count; k += 2) {
          if (sgrs[k] > text_from) {
            cuts[cut_count++] = text_from;
            cuts[cut_count++] = sgrs[k];
          }
          text_from = sgrs[k + 1];
        }
        cuts[cut_count++] = text_from;
        cuts[cut_count++] = cr + 1;
        text = 0;
        escape_since = 0;
        p = cr + 1;
        /* What follows is the line's start now: `@nix` or a marker there is the sink's to see. */
        if (next != ESC && must_see(prefixes, buf, n, p)) break;
        continue;
      }
      if (cut_count == RANGE_CAP) break;
      cuts[cut_count++] = cr;
      cuts[cut_count++] = cr + 1;
      p = cr + 1;
      continue;
    }
    break;
  }
  if (!lines && boundary > run_start) keep(out, run_start, boundary);
  s[S_IGNORE_LF] = b_ignore_lf, s[S_ERROR] = b_error, s[S_WARNING] = b_warning, s[S_ESCAPE_SINCE] = b_escape_since;
  s[S_IN_HEADER] = b_in_header, s[S_PRIORITY] = b_priority, s[S_LEVEL] = b_level;
  s[S_LINE_START] = b_line_start, s[S_AFTER_LF] = b_after_lf, s[S_OP_COUNT] = out->count;
  return boundary;
}

static const uint8_t RUNNING_PHASE[] = "Running phase: ";

/* The line at buf[at] (read up to n) is one the dialect must see: `@`, `Running phase: `, or one of the prefixes (CI markers), after a timestamp or not. */
static int dialect_line_at(const prefix_list *prefixes, const uint8_t *buf, int32_t n, int32_t at) {
  const int32_t running = (int32_t)sizeof RUNNING_PHASE - 1;
  uint8_t c = at < n ? buf[at] : 0;
  return c == '@' || (c == 'R' && n - at >= running && memcmp(buf + at, RUNNING_PHASE, (size_t)running) == 0) || must_see(prefixes, buf, n, at);
}

/*
 * PlainLineWalk.walk() in lib/tree/plain-lines.ts, the same walk: over the whole lines of
 * buf[from, stop) (text without escapes, and without CR: the caller stops at the first), each
 * line's LF into lfs, stopping before a line the dialect must see — one starting with `@` or
 * `Running phase: `, or with a CI marker prefix (`prefixes`), after a timestamp or not, read up
 * to `end` — at `stop`, or when lfs is full but its last slot. Returns their count k; lfs[k] is
 * then where the walk stopped: that line's start, or `stop` when no LF came before it.
 */
static int32_t plain_line_ends(const uint8_t *buf, int32_t from, int32_t stop, int32_t end, const prefix_list *prefixes, int32_t *lfs, int32_t cap) {
  int32_t at = from, k = 0;
  while (at < stop && k < cap - 1) {
    if (dialect_line_at(prefixes, buf, end, at)) break;
    const uint8_t *lf = memchr(buf + at, LF, (size_t)(stop - at));
    if (lf == NULL) {
      at = stop;
      break;
    }
    lfs[k++] = (int32_t)(lf - buf);
    at = lfs[k - 1] + 1;
  }
  lfs[k] = at;
  return k;
}

/* ---- Line-mode operations as index words (IndexDecoder.takeOps in lib/tree/index-decoder.ts) ---- */

/*
 * What the index makes of a run's ops, decided here rather than op by op in JavaScript: a legacy
 * log's lines arrive as ops at ~10 million a GiB, and handing each to the index's sink cost more
 * than the C run that found them. index_ops() writes them as the words of an index record
 * (lib/tree/index-record.ts): a line's length, head bit and flags in one word (its offset is
 * where the last one ended), opens and closes as tags. It decides a line's flags as
 * IndexDecoder.line() and .span() do: e/w first, else the severity pre-filter on the text (the
 * line without its marks): a line that starts like a rule or may hold a scan needle gets the
 * rules (text_severity), unless its text between marks is longer than TEXT_CAP: that line is an
 * "ask" — JavaScript runs the rules on it and sets its flag bits in the word given. It stops before an op
 * only the JavaScript path can take: a line the dialect's decoder must read (`@…`,
 * `Running phase: `, a CI marker, after a timestamp or not), a close with no section open (a
 * diagnostic), or full words or asks.
 */

/* Index record tags and the packed word's layout (index-record.ts has the same). */
enum { W_LINE = -1, W_HEAD = -2, W_OPEN = -3, W_CLOSE = -4, W_CLOSE_HERE = -5 };
#define W_HEAD_BIT 8
#define W_LENGTH_SHIFT 4
#define W_PACKED_LENGTH ((1 << (31 - W_LENGTH_SHIFT)) - 1)
/* Line flags (LINE_ERROR, LINE_WARNING, LINE_DIM in lib/tree/lines.ts). */
enum { X_ERROR = 1, X_WARNING = 2, X_DIM = 4 };

/* The io slots of indexOps (IndexSlot in lib/dialects/native-pass-through.ts). */
enum {
  IO_FROM, IO_COUNT, IO_CURSOR, IO_LEVEL,
  IO_STOP, IO_WORDS, IO_ASKS, IO_LINES, IO_ENDED_LF, IO_LFS, IO_LAST_LF, IO_DEPTH, IO_MIN_DEPTH, IO_LINE_LAST, IO_SLOTS
};
/* int32 per ask: the word holding its flags, the Line op (-1 for a span's line), the text's start and end (a span's line). */
#define ASK_INTS 4
/* A marked line's first text bytes, copied to be read as a line start (a marker after a timestamp needs 45). */
#define HEAD_CAP 64
/* A marked line's text up to this long is read for its severity here; a longer one is an ask. */
#define TEXT_CAP 1024
/* Needle positions found ahead, a few at a time (a call costs about what scanning 2 KiB does). */
#define NEEDLES_AHEAD 32
/* How far past the line asked about a scan for needles goes (then on to an LF). */
#define NEEDLE_WINDOW (16 * 1024)

typedef struct {
  int32_t *words, word_count, word_cap;
  int32_t *asks, ask_count, ask_cap;
  int32_t cursor, level, lines, ended_lf, lfs, last_lf, depth, min_depth;
  /* The last op taken was a line (no open or close after it). */
  int line_last;
} index_out;

typedef struct {
  const prefix_list *needles, *rule_starts, *markers;
  /* Byte pairs that occur inside a needle or rule literal (NEEDLE_PAIRS in lib/tree/severity-filter.ts). */
  const uint8_t *pairs;
} index_rules;

/*
 * The needles of the whole chunk, found ahead as the questions move forward through it (ops come
 * in the chunk's order): a scan per line cost more than the rest of the line's work.
 */
typedef struct {
  const uint8_t *buf;
  int32_t n;
  const prefix_list *needles;
  int32_t found[NEEDLES_AHEAD], count, next, scanned;
} needle_scan;

/* Whether a needle starts in buf[start, end) (one that does lies inside: no needle holds an LF, CR or ESC). */
static int needle_in(needle_scan *scan, int32_t start, int32_t end) {
  for (;;) {
    while (scan->next < scan->count && scan->found[scan->next] < start) scan->next++;
    if (scan->next < scan->count) return scan->found[scan->next] < end;
    if (scan->scanned >= scan->n || scan->scanned >= end) return 0;
    int32_t from = start > scan->scanned ? start : scan->scanned;
    /*
     * No further than a window past the line, to the end of a line there (every needle before an
     * LF lies wholly before it): a run that ends a few lines on — a CI log's, at each marker —
     * scanned to the end of the chunk, and the next run again.
     */
    int32_t limit = scan->n;
    if (end < scan->n - NEEDLE_WINDOW) {
      const uint8_t *lf = memchr(scan->buf + end + NEEDLE_WINDOW, LF, (size_t)(scan->n - end - NEEDLE_WINDOW));
      if (lf != NULL) limit = (int32_t)(lf - scan->buf) + 1;
    }
    scan->count = find_needles(scan->buf, limit, from, scan->needles, scan->found, NEEDLES_AHEAD);
    scan->next = 0;
    scan->scanned = scan->count == NEEDLES_AHEAD ? scan->found[NEEDLES_AHEAD - 1] + 1 : limit;
  }
}

/*
 * The text rules of lib/tree/severity.ts (textSeverity: looksLikeError, then looksLikeWarning) on
 * a line's text read as latin1, as its regular expressions match: X_ERROR, X_WARNING or 0. The
 * index asked JavaScript for every line the pre-filter let through (~150,000 a GiB of the legacy
 * corpus), each a string and four regular expressions; here they cost a pass over the line.
 * test/tree-index-fuzz.test.ts holds the two to the same answers on the rules' near misses.
 */
static inline int word_byte(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static inline int has_at(const uint8_t *text, int32_t length, int32_t at, const char *literal, int32_t literal_length) {
  return length - at >= literal_length && memcmp(text + at, literal, (size_t)literal_length) == 0;
}

#define HAS_AT(text, length, at, literal) has_at(text, length, at, literal, (int32_t)sizeof literal - 1)

/* `^(?:error|fatal error|ERROR)(?:\b|:)`: the word then a byte that is not a word's, or the end. */
static inline int starts_with_word(const uint8_t *text, int32_t length, const char *word, int32_t word_length) {
  return has_at(text, length, 0, word, word_length) && (length == word_length || !word_byte(text[word_length]));
}

static int text_severity(const uint8_t *text, int32_t length) {
  if (starts_with_word(text, length, "error", 5) || starts_with_word(text, length, "fatal error", 11) || starts_with_word(text, length, "ERROR", 5) || HAS_AT(text, length, 0, "FAIL:")) return X_ERROR;
  /* ` \*\*\* |LaTeX Error|BUILD FAILED|FAILURE|\[ERROR\]| error: ` and `: warning: |\[WARN(?:ING)?\]` in one pass */
  int warning = (HAS_AT(text, length, 0, "warning") || HAS_AT(text, length, 0, "WARNING")) && length > 7 && (text[7] == ':' || text[7] == ' ');
  for (int32_t at = 0; at < length; at++) {
    switch (text[at]) {
      case ' ':
        if (HAS_AT(text, length, at, " *** ") || HAS_AT(text, length, at, " error: ")) return X_ERROR;
        break;
      case 'L':
        if (HAS_AT(text, length, at, "LaTeX Error")) return X_ERROR;
        break;
      case 'B':
        if (HAS_AT(text, length, at, "BUILD FAILED")) return X_ERROR;
        break;
      case 'F':
        if (HAS_AT(text, length, at, "FAILURE")) return X_ERROR;
        break;
      case '[':
        if (HAS_AT(text, length, at, "[ERROR]")) return X_ERROR;
        if (HAS_AT(text, length, at, "[WARN]") || HAS_AT(text, length, at, "[WARNING]")) warning = 1;
        break;
      case ':':
        if (HAS_AT(text, length, at, ": warning: ")) warning = 1;
        break;
      default:
        break;
    }
  }
  return warning ? X_WARNING : 0;
}

/* A line from the cursor to raw_end with its flags, and an ask for its severity when `ask`. 0 when the words or asks are full. */
static int index_line(index_out *out, int32_t raw_end, int head, int flags, int ask, int32_t op, int32_t text_start, int32_t text_end) {
  if (out->word_count + 4 > out->word_cap || (ask && out->ask_count + ASK_INTS > out->ask_cap)) return 0;
  int32_t length = raw_end - out->cursor;
  int32_t *w = out->words + out->word_count;
  int32_t flag_word;
  if (length <= W_PACKED_LENGTH) {
    w[0] = (length << W_LENGTH_SHIFT) | (head ? W_HEAD_BIT : 0) | flags;
    flag_word = out->word_count;
    out->word_count += 1;
  } else {
    w[0] = head ? W_HEAD : W_LINE, w[1] = flags, w[2] = 0, w[3] = length;
    flag_word = out->word_count + 1;
    out->word_count += 4;
  }
  if (ask) {
    int32_t *a = out->asks + out->ask_count;
    a[0] = flag_word, a[1] = op, a[2] = text_start, a[3] = text_end;
    out->ask_count += ASK_INTS;
  }
  out->cursor = raw_end;
  out->line_last = 1;
  return 1;
}

/* A span op's plain lines (no escape, no CR: text and raw bytes are one), or 0 to leave the whole op to JavaScript. */
static int index_span(const uint8_t *buf, const int32_t *op, const index_rules *rules, needle_scan *scan, index_out *out) {
  int32_t at = op[1], count = op[3];
  for (int32_t k = 0; k < count; k++) {
    int32_t lf = op[4 + k];
    if (at < 0 || lf < at || lf >= scan->n || dialect_line_at(rules->markers, buf, lf, at)) return 0;
    int flags = needle_in(scan, at, lf) || starts_with_prefix(rules->rule_starts, buf, lf, at) ? text_severity(buf + at, lf - at) : 0;
    if (!index_line(out, lf + 1, 0, flags, 0, -1, at, lf)) return 0;
    out->lfs++;
    out->last_lf = lf;
    at = lf + 1;
  }
  out->lines += count;
  out->ended_lf = 1;
  return 1;
}

/* A mark's start or end as a Line op stores it: a discard's start and a removed CSI's end as -(position + 1). */
static inline int32_t mark_position(int32_t stored) {
  return stored < 0 ? -stored - 1 : stored;
}

/*
 * Whether leaving out the marks ops[at, at + 2 pairs) of the line buf[start, end) joins two text
 * bytes that are consecutive in some needle or rule literal (`err ESC[0m or`): its text may then
 * hold a needle its bytes do not (IndexDecoder.mayJoinNeedle).
 */
static int may_join_needle(const index_rules *rules, const uint8_t *buf, const int32_t *marks, int32_t pairs, int32_t start, int32_t end) {
  int before = -1;
  int32_t at = start;
  for (int32_t j = 0; j < pairs; j++) {
    int32_t mark_start = mark_position(marks[2 * j]), mark_end = mark_position(marks[2 * j + 1]);
    if (mark_start > at) before = buf[mark_start - 1];
    if (mark_end > at) at = mark_end;
    int32_t stop = j + 1 < pairs ? mark_position(marks[2 * j + 2]) : end;
    if (at < stop && before >= 0 && rules->pairs[(before << 8) | buf[at]]) return 1;
  }
  return 0;
}

/*
 * buf[at, at + length) to `to`, which has 16 bytes of room past them: sixteen bytes a store where
 * buf has them (memcpy made these copies of a line's first few bytes `rep movsb`, whose start-up
 * cost was a tenth of index_ops()).
 */
static inline void copy_short(uint8_t *to, const uint8_t *buf, int32_t n, int32_t at, int32_t length) {
#ifdef __SSE2__
  int32_t k = 0;
  for (; k < length && at + k + 16 <= n; k += 16) _mm_storeu_si128((__m128i *)(to + k), _mm_loadu_si128((const __m128i *)(buf + at + k)));
  for (; k < length; k++) to[k] = buf[at + k];
#else
  memcpy(to, buf + at, (size_t)length);
#endif
}

/*
 * The text of the line buf[start, end) whose marks are marks[0, 2 pairs) — the bytes between them
 * (kept SGR, removed CSIs, what a bare CR discarded), as lineOpText() in lib/tree/native-index.ts
 * reads it: its first `cap` bytes into `to` (which has 16 bytes of room past them); returns the
 * whole text's length.
 */
static int32_t marked_text(const uint8_t *buf, int32_t n, int32_t start, int32_t end, const int32_t *marks, int32_t pairs, uint8_t *to, int32_t cap) {
  int32_t length = 0, at = start;
  for (int32_t j = 0; j <= pairs; j++) {
    int32_t mark_start = j < pairs ? mark_position(marks[2 * j]) : end, mark_end = j < pairs ? mark_position(marks[2 * j + 1]) : end;
    if (mark_start > at) {
      if (length < cap) copy_short(to + length, buf, n, at, mark_start - at < cap - length ? mark_start - at : cap - length);
      length += mark_start - at;
    }
    if (mark_end > at) at = mark_end;
  }
  return length;
}

/* A Line op's line (see emit_line), or 0 to leave it to JavaScript. */
static int index_line_op(const uint8_t *buf, const int32_t *ops, int32_t k, const index_rules *rules, needle_scan *scan, index_out *out) {
  const int32_t *op = ops + k;
  int32_t raw_end = op[1], start = op[2], end = op[3], priority = op[4], bits = op[5], pairs = op[6];
  const int32_t *marks = op + 7;
  if (start < 0 || end < start || end > scan->n || raw_end < end || raw_end > scan->n) return 0;
  for (int32_t j = 0; j < 2 * pairs; j++)
    if (mark_position(marks[j]) < start || mark_position(marks[j]) > end) return 0;
  /* The text's first bytes: the line's, or those between its marks. */
  uint8_t copy[HEAD_CAP + 16];
  const uint8_t *head = buf + start;
  int32_t head_length = end - start;
  if (pairs > 0) {
    int32_t length = marked_text(buf, scan->n, start, end, marks, pairs, copy, HEAD_CAP);
    head_length = length < HEAD_CAP ? length : HEAD_CAP;
    head = copy;
  }
  if (dialect_line_at(rules->markers, head, head_length, 0)) return 0;
  int flags = (bits & L_ERROR) ? X_ERROR : (bits & L_WARNING) ? X_WARNING : 0;
  /* The needles of the bytes between the marks lie in the line's bytes, or are joined by leaving a mark out. */
  int ask = flags == 0 && (starts_with_prefix(rules->rule_starts, head, head_length, 0) || needle_in(scan, start, end) || (pairs > 0 && may_join_needle(rules, buf, marks, pairs, start, end)));
  if (ask && pairs == 0) {
    flags = text_severity(buf + start, end - start);
    ask = 0;
  } else if (ask) {
    /* a text longer than this stays an ask */
    uint8_t text[TEXT_CAP + 16];
    int32_t length = marked_text(buf, scan->n, start, end, marks, pairs, text, TEXT_CAP);
    if (length <= TEXT_CAP) {
      flags = text_severity(text, length);
      ask = 0;
    }
  }
  if (priority >= 3) flags |= X_DIM;
  if (!index_line(out, raw_end, bits & L_HEAD, flags, ask, k, start, end)) return 0;
  if (bits & L_GROUP_LF)
    for (const uint8_t *lf = memchr(buf + start, LF, (size_t)(end - start)); lf != NULL; lf = memchr(lf + 1, LF, (size_t)(buf + end - lf - 1))) {
      out->lfs++;
      out->last_lf = (int32_t)(lf - buf);
    }
  out->ended_lf = !(bits & L_ENDED_ESCAPE);
  if (out->ended_lf) out->lfs++, out->last_lf = raw_end - 1;
  out->lines++;
  return 1;
}

/* The ops from `k` on as index words, up to the first one JavaScript must take; returns its index (or `count`). */
static int32_t index_ops(const uint8_t *buf, int32_t n, const int32_t *ops, int32_t k, int32_t count, const index_rules *rules, index_out *out) {
  needle_scan scan = { buf, n, rules->needles, { 0 }, 0, 0, 0 };
  while (k < count) {
    const int32_t *op = ops + k;
    index_out before = *out;
    /* (the ops come from pass_through(); one that does not fit them is left to JavaScript, never read past) */
    int64_t next = op[0] == OP_SPAN ? (k + 4 > count ? -1 : (int64_t)k + 4 + op[3]) : op[0] == OP_LINE ? (k + 7 > count ? -1 : (int64_t)k + 7 + 2 * (int64_t)op[6]) : (int64_t)k + 3;
    if (next <= k || next > count) return k;
    switch (op[0]) {
      case OP_SPAN:
        if (!index_span(buf, op, rules, &scan, out)) {
          *out = before;
          return k;
        }
        break;
      case OP_LINE:
        if (!index_line_op(buf, ops, k, rules, &scan, out)) {
          *out = before;
          return k;
        }
        break;
      case OP_OPEN:
        if (op[2] < 0 || op[2] > n || out->word_count + 3 > out->word_cap) return k;
        out->words[out->word_count++] = W_OPEN;
        out->words[out->word_count++] = op[1];
        out->words[out->word_count++] = op[2] - out->cursor;
        out->level++;
        out->depth++;
        out->line_last = 0;
        break;
      case OP_CLOSE:
        /* With no section open the framer reports a diagnostic. */
        if (out->level == 0 || op[1] < 0 || op[1] > n || out->word_count + 2 > out->word_cap) return k;
        if (op[1] == out->cursor) out->words[out->word_count++] = W_CLOSE_HERE;
        else {
          out->words[out->word_count++] = W_CLOSE;
          out->words[out->word_count++] = op[1] - out->cursor;
        }
        out->level--;
        if (--out->depth < out->min_depth) out->min_depth = out->depth;
        out->line_last = 0;
        break;
      default:
        return k;
    }
    k = (int32_t)next;
  }
  return k;
}

/* ---- Node-API glue ---- */

/*
 * init(table: Uint8Array, numbers: Int32Array). Every thread that loads the addon calls it (the
 * index's worker, lib/tree/index-worker.ts), always with the same table: a thread that finds it
 * in place leaves it alone, so no thread ever writes what another may be reading.
 */
static napi_value init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data;
  size_t length;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 2);
  CHECK(bytes_of(env, argv[0], &data, &length) && length == sizeof table);
  void *numbers_data;
  CHECK(bytes_of(env, argv[1], &numbers_data, &length) && length == 8 * 4);
  const int32_t *numbers = numbers_data;
  if (max_params == numbers[6] && memcmp(table, data, sizeof table) == 0) return NULL;
  memcpy(table, data, sizeof table);
  st_escape = numbers[0], st_csi_param = numbers[1];
  act_enter_csi = numbers[2], act_collect_param = numbers[3], act_collect_intermediate = numbers[4], act_dispatch_csi = numbers[5];
  max_params = numbers[6], max_intermediates = numbers[7];
  return NULL;
}

/* passThrough(buf: Uint8Array, from, limit, flags, prefixes: Uint8Array, state: Int32Array, ops: Int32Array): boundary */
static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  void *buf, *state, *ops, *prefix_bytes;
  size_t n, state_length, ops_length, prefix_length;
  int32_t from, limit, flags;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 7);
  CHECK(bytes_of(env, argv[0], &buf, &n) && n <= INT32_MAX);
  CHECK(napi_get_value_int32(env, argv[1], &from) == napi_ok);
  CHECK(napi_get_value_int32(env, argv[2], &limit) == napi_ok);
  CHECK(napi_get_value_int32(env, argv[3], &flags) == napi_ok);
  CHECK(bytes_of(env, argv[4], &prefix_bytes, &prefix_length));
  CHECK(bytes_of(env, argv[5], &state, &state_length) && state_length == S_SLOTS * 4);
  CHECK(bytes_of(env, argv[6], &ops, &ops_length) && ops_length / 4 >= 3 * (RANGE_CAP / 2 + 3));
  CHECK(from >= 0 && limit >= from && (size_t)limit <= n);
  output out = { buf, flags & F_COMPACT, !(flags & F_NO_STRUCTURE), from, ops, 0, (int32_t)(ops_length / 4), -1 };
  prefix_list prefixes = { prefix_bytes, prefix_length, { 0 }, 0 };
  index_prefixes(&prefixes);
  napi_value result;
  CHECK(napi_create_int32(env, pass_through(buf, (int32_t)n, from, limit, flags, &prefixes, state, &out), &result) == napi_ok);
  return result;
}

/* plainLineEnds(buf: Uint8Array, from, stop, end, prefixes: Uint8Array, lfs: Int32Array): count (see plain_line_ends) */
static napi_value run_plain_line_ends(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  void *buf, *prefix_bytes, *lfs;
  size_t n, prefix_length, lfs_length;
  int32_t from, stop, end;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 6);
  CHECK(bytes_of(env, argv[0], &buf, &n) && n <= INT32_MAX);
  CHECK(napi_get_value_int32(env, argv[1], &from) == napi_ok);
  CHECK(napi_get_value_int32(env, argv[2], &stop) == napi_ok);
  CHECK(napi_get_value_int32(env, argv[3], &end) == napi_ok);
  CHECK(bytes_of(env, argv[4], &prefix_bytes, &prefix_length));
  CHECK(bytes_of(env, argv[5], &lfs, &lfs_length) && lfs_length >= 4 && lfs_length / 4 <= INT32_MAX);
  CHECK(from >= 0 && stop >= from && end >= stop && (size_t)end <= n);
  prefix_list prefixes = { prefix_bytes, prefix_length, { 0 }, 0 };
  index_prefixes(&prefixes);
  napi_value result;
  CHECK(napi_create_int32(env, plain_line_ends(buf, from, stop, end, &prefixes, lfs, (int32_t)(lfs_length / 4)), &result) == napi_ok);
  return result;
}

/*
 * indexOps(buf: Uint8Array, ops: Int32Array, needles, ruleStarts, markers, pairs: Uint8Array, io: Int32Array,
 * words: Int32Array, asks: Int32Array): the op where it stopped (see index_ops; io's slots in and out).
 */
static napi_value run_index_ops(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  void *buf, *ops, *needle_bytes, *start_bytes, *marker_bytes, *pairs, *io_data, *words, *asks;
  size_t n, ops_length, needle_length, start_length, marker_length, pairs_length, io_length, words_length, asks_length;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok);
  CHECK(argc == 9);
  CHECK(bytes_of(env, argv[0], &buf, &n) && n <= INT32_MAX);
  CHECK(bytes_of(env, argv[1], &ops, &ops_length) && ops_length / 4 <= INT32_MAX);
  CHECK(bytes_of(env, argv[2], &needle_bytes, &needle_length));
  CHECK(bytes_of(env, argv[3], &start_bytes, &start_length));
  CHECK(bytes_of(env, argv[4], &marker_bytes, &marker_length));
  CHECK(bytes_of(env, argv[5], &pairs, &pairs_length) && pairs_length == 65536);
  CHECK(bytes_of(env, argv[6], &io_data, &io_length) && io_length == IO_SLOTS * 4);
  CHECK(bytes_of(env, argv[7], &words, &words_length) && words_length / 4 <= INT32_MAX);
  CHECK(bytes_of(env, argv[8], &asks, &asks_length) && asks_length / 4 <= INT32_MAX);
  int32_t *io = io_data;
  CHECK(io[IO_FROM] >= 0 && io[IO_COUNT] >= io[IO_FROM] && (size_t)io[IO_COUNT] <= ops_length / 4);
  prefix_list needles = { needle_bytes, needle_length, { 0 }, 0 };
  prefix_list rule_starts = { start_bytes, start_length, { 0 }, 0 };
  prefix_list markers = { marker_bytes, marker_length, { 0 }, 0 };
  index_prefixes(&needles);
  index_prefixes(&rule_starts);
  index_prefixes(&markers);
  index_rules rules = { &needles, &rule_starts, &markers, pairs };
  index_out out = {
    words, 0, (int32_t)(words_length / 4), asks, 0, (int32_t)(asks_length / 4),
    io[IO_CURSOR], io[IO_LEVEL], 0, 0, 0, -1, 0, 0, 0,
  };
  int32_t stop = index_ops(buf, (int32_t)n, ops, io[IO_FROM], io[IO_COUNT], &rules, &out);
  io[IO_STOP] = stop, io[IO_WORDS] = out.word_count, io[IO_ASKS] = out.ask_count / ASK_INTS, io[IO_LINES] = out.lines;
  io[IO_ENDED_LF] = out.ended_lf, io[IO_LFS] = out.lfs, io[IO_LAST_LF] = out.last_lf;
  io[IO_CURSOR] = out.cursor, io[IO_LEVEL] = out.level, io[IO_DEPTH] = out.depth, io[IO_MIN_DEPTH] = out.min_depth;
  io[IO_LINE_LAST] = out.line_last;
  napi_value result;
  CHECK(napi_create_int32(env, stop, &result) == napi_ok);
  return result;
}

/* What the addon exports (lib/dialects/native-pass-through.ts lists them too, to refuse an older build). */
static const struct {
  const char *name;
  napi_callback fn;
} EXPORTS[] = {
  { "init", init },
  { "passThrough", run },
  { "findNeedles", napi_find_needles },
  { "scanResultLines", napi_scan_result_lines },
  { "plainLineEnds", run_plain_line_ends },
  { "indexOps", run_index_ops },
  { "foldSizes", napi_fold_sizes },
  { "foldFailures", napi_fold_failures },
  { "foldLevels", napi_fold_levels },
  { "treeWriter", napi_tree_writer },
  { "playTree", napi_play_tree },
};

NAPI_MODULE_INIT() {
  for (size_t k = 0; k < sizeof EXPORTS / sizeof *EXPORTS; k++) {
    napi_value fn;
    if (napi_create_function(env, EXPORTS[k].name, NAPI_AUTO_LENGTH, EXPORTS[k].fn, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, EXPORTS[k].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
