/*
 * The index's tree writes in C (lib/tree/native-tree.ts): a record's words (lib/tree/index-record.ts)
 * played into the LogTree's own columns, as TreeOutput and LogTree do it in JavaScript, while the
 * log nests and the tree takes its nests straight from the index (TreeOutput's direct mode: a
 * legacy log's opens, closes, head lines and plain lines). Playing the 1 GiB legacy corpus's words
 * took JavaScript ~0.5 s, most of the main thread's share of the index.
 *
 * It stops at the first word it cannot play in place — a new chunk for the line table, a section
 * past the room the columns have, a section code the chunk's dictionary has no room for, an
 * error more than `eager` levels below the root (the tree defers those counts), a line or
 * section that would stop the nesting — before changing anything for it, and JavaScript plays
 * that word, makes room, and calls again. So the tree is the one JavaScript writes
 * (test/native-tree.test.ts compares them word for word).
 *
 * The columns are the tree's (lib/tree/column.ts): arrays of fixed-size typed-array chunks that
 * only grow. A writer keeps the chunk pointers it has seen, and each call takes only the new ones.
 */

#include "addon.h"
#include <stdlib.h>

/* The section columns a writer reads and writes, in the order playTree() takes them. */
enum { C_PARENT, C_FIRST, C_LAST, C_LINES, C_META, C_SLOT, C_VALUES, C_DIRTY, C_SIZE_OK, C_STALE, C_NEXT, COLUMNS };
static const napi_typedarray_type COLUMN_TYPES[COLUMNS] = {
  napi_int32_array, napi_int32_array, napi_int32_array, napi_int32_array, napi_uint8_array, napi_int32_array,
  napi_int32_array, napi_uint8_array, napi_uint8_array, napi_uint8_array, napi_int32_array,
};

/* The state slots (TreeSlot in lib/tree/native-tree.ts). */
enum {
  T_WORD, T_COUNT, T_CURSOR, T_LINES, T_LINE_BASE, T_LAST_END, T_LAST_SECTION, T_LAST_CODE, T_DICT_SIZE, T_LARGEST,
  T_CHUNK_FLAGS, T_SECTIONS, T_SECTION_ROOM, T_LATEST, T_NEWEST, T_PENDING_HEAD, T_DEPTH, T_RUN, T_RUN_ERRORS,
  T_RUN_WARNINGS, T_RUN_FIRST_ERROR, T_SLOTS, T_VALUE_ROOM, T_EAGER, T_SHIFT, T_SLOTS_USED
};

/* Index words (index-record.ts) and line flags (lines.ts). */
enum { W_LINE = -1, W_HEAD = -2, W_OPEN = -3, W_CLOSE = -4, W_CLOSE_HERE = -5 };
#define W_FLAG_MASK 7
#define W_HEAD_BIT 8
#define W_LENGTH_SHIFT 4
enum { L_ERROR = 1, L_WARNING = 2, L_HEAD = 8 };
/* Section flag bytes (section-table.ts): kind in the low bits, status from bit 3, has-head. */
#define KIND_NEST 1
#define STATUS_MASK 0x38
#define STATUS_OK (1 << 3)
#define HAS_HEAD 0x80
/* The line table's chunks (lines.ts): 2^16 lines, offsets from the chunk's first as Uint32. */
#define LINE_MASK 0xffff
#define RECENT_CODES 8

typedef struct {
  void **ptrs;
  uint32_t count, cap;
} chunk_cache;

typedef struct {
  chunk_cache column[COLUMNS];
} writer;

static void writer_free(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  writer *w = data;
  for (int k = 0; k < COLUMNS; k++) free(w->column[k].ptrs);
  free(w);
}

/* treeWriter(): a writer's chunk cache, freed with the object. */
napi_value napi_tree_writer(napi_env env, napi_callback_info info) {
  (void)info;
  writer *w = calloc(1, sizeof *w);
  napi_value result;
  CHECK(w != NULL);
  if (napi_create_external(env, w, writer_free, NULL, &result) != napi_ok) {
    free(w);
    CHECK(0);
  }
  return result;
}

/* Takes the chunks of `array` the cache has not seen; 0 on a chunk of the wrong type or size. */
static int sync_chunks(napi_env env, chunk_cache *cache, napi_value array, napi_typedarray_type want, size_t per) {
  uint32_t length;
  if (napi_get_array_length(env, array, &length) != napi_ok || length < cache->count) return 0;
  if (length > cache->cap) {
    uint32_t cap = length + length / 2 + 16;
    void **ptrs = realloc(cache->ptrs, cap * sizeof *ptrs);
    if (ptrs == NULL) return 0;
    cache->ptrs = ptrs, cache->cap = cap;
  }
  if (!chunk_pointers(env, array, want, per, cache->ptrs, cache->count, length)) return 0;
  cache->count = length;
  return 1;
}

typedef struct {
  writer *w;
  int shift;
  int32_t mask;
  const int32_t *words;
  double cursor;
  /* the line table's last chunk */
  int32_t lines, last_section, last_code, dict_size, largest, dict_cap, chunk_flags;
  double base, last_end;
  uint32_t *offsets;
  uint8_t *flags;
  uint16_t *codes;
  int32_t *dict;
  /* the sections */
  int32_t sections, room, latest, newest, pending_head, depth, stack_cap, slots, value_room, eager;
  int32_t *stack;
  /* TreeOutput's run: plain lines pushed, not yet counted */
  int32_t run, run_errors, run_warnings, run_first_error;
} play;

static inline int32_t *i32(play *p, int col, int32_t i) {
  return (int32_t *)p->w->column[col].ptrs[i >> p->shift] + (i & p->mask);
}

static inline uint8_t *u8(play *p, int col, int32_t i) {
  return (uint8_t *)p->w->column[col].ptrs[i >> p->shift] + (i & p->mask);
}

static inline int32_t parent_of(play *p, int32_t s) {
  return *i32(p, C_PARENT, s);
}

/* SectionTable.within: `x` is `s` or inside it (a parent's id is below its children's). */
static int within(play *p, int32_t x, int32_t s) {
  while (x > s) x = parent_of(p, x);
  return x == s;
}

/* The section code SectionCodes.codeOf gives, or -1 (nothing changed) when its dictionary is full. */
static int32_t code_of(play *p, int32_t section) {
  int32_t size = p->dict_size;
  if (section <= p->largest) {
    int32_t stop = size > RECENT_CODES ? size - RECENT_CODES : 0;
    for (int32_t c = size - 1; c >= stop; c--)
      if (p->dict[c] == section) return c;
  }
  if (size == p->dict_cap) return -1;
  if (section > p->largest) p->largest = section;
  p->dict[size] = section;
  p->dict_size = size + 1;
  return size;
}

/* Whether LineTable.push could take a line at `offset` in this chunk. */
static int can_push(const play *p, double offset) {
  double delta = offset - p->base;
  return (p->lines & LINE_MASK) != 0 && p->offsets != NULL && delta >= 0 && delta <= 4294967295.0;
}

/* LineTable.push, where can_push() said so; 0 (nothing changed) when the section needs a code there is no room for. */
static int push_line(play *p, double offset, int32_t section, int flags, double end) {
  if (section != p->last_section) {
    int32_t code = code_of(p, section);
    if (code < 0) return 0;
    p->last_code = code;
    p->last_section = section;
  }
  int32_t k = p->lines & LINE_MASK;
  p->offsets[k] = (uint32_t)(offset - p->base);
  p->codes[k] = (uint16_t)p->last_code;
  p->flags[k] = (uint8_t)flags;
  p->chunk_flags |= flags;
  p->lines++;
  p->last_end = end;
  return 1;
}

/* LogTree.writeImplied. */
static void write_implied(play *p, int32_t from, int32_t above, int32_t end) {
  for (int32_t s = from; s != above && s >= 0; s = parent_of(p, s)) {
    *i32(p, C_LAST, s) = end - 1;
    *i32(p, C_LINES, s) = end - *i32(p, C_FIRST, s) - ((*u8(p, C_META, s) & HAS_HEAD) ? 1 : 0);
  }
}

/* LogTree.markDirty. */
static void mark_dirty(play *p, int32_t s) {
  for (; s >= 0 && (*u8(p, C_SIZE_OK, s) == 1 || *u8(p, C_DIRTY, s) == 0); s = parent_of(p, s)) {
    *u8(p, C_DIRTY, s) = 1;
    *u8(p, C_SIZE_OK, s) = 0;
  }
}

/* Whether countUp() can count errors and warnings in `s` and its ancestors here: none deferred, slots for all. */
static int can_count(play *p, int32_t s, int32_t errors, int32_t warnings) {
  if (errors == 0 && warnings == 0) return 1;
  int32_t needed = 0, level = 0;
  for (; s >= 0 && level < p->eager; s = parent_of(p, s), level++)
    if (*i32(p, C_SLOT, s) < 0) needed++;
  return s < 0 && 3 * (p->slots + needed) <= p->value_room;
}

/* SeverityFields.slotOf. */
static int32_t slot_of(play *p, int32_t s) {
  int32_t *slot = i32(p, C_SLOT, s);
  if (*slot < 0) {
    *slot = 3 * p->slots++;
    *i32(p, C_VALUES, *slot + 2) = -1;
  }
  return *slot;
}

/* countUp() while nesting: errors and warnings only (the line counts are implied), where can_count() said so. */
static void count_up(play *p, int32_t s, int32_t errors, int32_t warnings, int32_t first_error) {
  if (errors == 0 && warnings == 0) return;
  for (; s >= 0; s = parent_of(p, s)) {
    int32_t at = slot_of(p, s);
    if (errors > 0) {
      *i32(p, C_VALUES, at) += errors;
      if (*i32(p, C_VALUES, at + 2) < 0) *i32(p, C_VALUES, at + 2) = first_error;
    }
    if (warnings > 0) *i32(p, C_VALUES, at + 1) += warnings;
  }
}

/* SegmentStore.addLines and the rest of LogTree.extendRun, where within(latest, s) holds. */
static void extend_run(play *p, int32_t s, int32_t i) {
  *u8(p, C_STALE, s) = 1;
  if (s != p->latest) write_implied(p, p->latest, s, i);
  p->latest = s;
  mark_dirty(p, s);
}

/* TreeOutput.flush: the run's counts; 0 (nothing changed) where JavaScript must count it. */
static int flush(play *p) {
  if (p->run == 0) return 1;
  int32_t s = p->stack[p->depth - 1];
  if (!within(p, p->latest, s) || !can_count(p, s, p->run_errors, p->run_warnings)) return 0;
  p->pending_head = -1;
  extend_run(p, s, p->lines - p->run);
  count_up(p, s, p->run_errors, p->run_warnings, p->run_first_error);
  p->run = p->run_errors = p->run_warnings = 0;
  p->run_first_error = -1;
  return 1;
}

/* TreeOutput.plainLine. */
static int plain_line(play *p, double offset, double end, int flags) {
  if (!can_push(p, offset)) return 0;
  int32_t i = p->lines;
  if (!push_line(p, offset, p->stack[p->depth - 1], flags, end)) return 0;
  if (flags & L_ERROR) {
    if (p->run_errors++ == 0) p->run_first_error = i;
  } else if (flags & L_WARNING)
    p->run_warnings++;
  p->run++;
  return 1;
}

/* TreeOutput.headLine: LogTree.addLine with head set. */
static int head_line(play *p, double offset, double end, int flags) {
  if (!flush(p)) return 0;
  int32_t s = p->stack[p->depth - 1];
  int err = (flags & L_ERROR) != 0, warn = (flags & L_WARNING) != 0;
  int is_head = s != 0 && p->pending_head == s && !(*u8(p, C_META, s) & HAS_HEAD) && *i32(p, C_LINES, s) == 0;
  if (!can_push(p, offset) || (!is_head && !within(p, p->latest, s)) || !can_count(p, s, err, warn)) return 0;
  int32_t i = p->lines;
  if (!push_line(p, offset, s, is_head ? flags | L_HEAD : flags, end)) return 0;
  p->pending_head = -1;
  if (is_head) {
    *u8(p, C_META, s) |= HAS_HEAD;
    *i32(p, C_FIRST, s) = i;
    *u8(p, C_STALE, parent_of(p, s)) = 1;
  } else
    extend_run(p, s, i);
  count_up(p, s, err, warn, err ? i : -1);
  return 1;
}

/* TreeOutput.open: LogTree.openNest. */
static int open_nest(play *p) {
  if (!flush(p)) return 0;
  int32_t parent = p->stack[p->depth - 1], s = p->sections;
  if (s >= p->room || p->depth >= p->stack_cap || !within(p, p->latest, parent)) return 0;
  p->sections++;
  /* SectionTable.add */
  *i32(p, C_PARENT, s) = parent;
  *i32(p, C_FIRST, s) = p->lines;
  *i32(p, C_LAST, s) = p->lines - 1;
  *u8(p, C_META, s) = KIND_NEST;
  /* SegmentStore.addSection, the fold state's */
  *u8(p, C_STALE, s) = 1;
  *u8(p, C_DIRTY, s) = 1;
  /* SegmentStore.appendChild: the previous child is the newest section's ancestor (or itself) under the parent */
  *u8(p, C_STALE, parent) = 1;
  int32_t previous = p->newest;
  while (previous != parent && previous >= 0 && parent_of(p, previous) != parent) previous = parent_of(p, previous);
  if (previous != parent && previous >= 0) *i32(p, C_NEXT, previous) = s;
  write_implied(p, p->latest, parent, p->lines);
  p->latest = p->newest = s;
  mark_dirty(p, parent);
  p->stack[p->depth++] = s;
  p->pending_head = s;
  return 1;
}

/* TreeOutput.close: LogTree.closeNest. */
static int close_nest(play *p) {
  if (!flush(p)) return 0;
  if (p->depth > 1) {
    uint8_t *meta = u8(p, C_META, p->stack[--p->depth]);
    *meta = (uint8_t)((*meta & ~STATUS_MASK) | STATUS_OK);
  }
  return 1;
}

/* Plays words[k, count) until one it cannot; returns where it stopped. */
static int32_t play_words(play *p, int32_t k, int32_t count) {
  const int32_t *words = p->words;
  while (k < count) {
    int32_t word = words[k];
    if (word >= 0) {
      double end = p->cursor + (word >> W_LENGTH_SHIFT);
      int ok = (word & W_HEAD_BIT) ? head_line(p, p->cursor, end, word & W_FLAG_MASK) : plain_line(p, p->cursor, end, word & W_FLAG_MASK);
      if (!ok) return k;
      p->cursor = end;
      k++;
      continue;
    }
    switch (word) {
      case W_LINE:
      case W_HEAD: {
        if (k + 4 > count) return k;
        double offset = p->cursor + words[k + 2], end = offset + words[k + 3];
        int ok = word == W_HEAD ? head_line(p, offset, end, words[k + 1]) : plain_line(p, offset, end, words[k + 1]);
        if (!ok) return k;
        p->cursor = end;
        k += 4;
        break;
      }
      case W_OPEN:
        if (k + 3 > count || !open_nest(p)) return k;
        k += 3;
        break;
      case W_CLOSE:
        if (k + 2 > count || !close_nest(p)) return k;
        k += 2;
        break;
      case W_CLOSE_HERE:
        if (!close_nest(p)) return k;
        k += 1;
        break;
      default:
        return k;
    }
  }
  return k;
}

/*
 * playTree(writer, words: Int32Array, state: Float64Array, stack: Int32Array, offsets: Uint32Array,
 * flags: Uint8Array, codes: Uint16Array, dict: Int32Array, columns: the COLUMNS chunk arrays):
 * plays words[state[T_WORD], state[T_COUNT]) and writes back where it stopped and the state.
 * `offsets` is empty where the line table's last chunk holds absolute offsets (or there is none):
 * no line is pushed then.
 */
napi_value napi_play_tree(napi_env env, napi_callback_info info) {
  size_t argc = 8 + COLUMNS;
  napi_value argv[8 + COLUMNS];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 8 + COLUMNS);
  writer *w;
  CHECK(napi_get_value_external(env, argv[0], (void **)&w) == napi_ok && w != NULL);
  void *words, *st, *stack, *offsets, *flags, *codes, *dict;
  size_t word_count, st_length, stack_length, offsets_length, flags_length, codes_length, dict_length;
  CHECK(typed_array_of(env, argv[1], napi_int32_array, &words, &word_count));
  CHECK(typed_array_of(env, argv[2], napi_float64_array, &st, &st_length) && st_length >= T_SLOTS_USED);
  CHECK(typed_array_of(env, argv[3], napi_int32_array, &stack, &stack_length));
  CHECK(typed_array_of(env, argv[4], napi_uint32_array, &offsets, &offsets_length));
  CHECK(typed_array_of(env, argv[5], napi_uint8_array, &flags, &flags_length));
  CHECK(typed_array_of(env, argv[6], napi_uint16_array, &codes, &codes_length));
  CHECK(typed_array_of(env, argv[7], napi_int32_array, &dict, &dict_length));
  double *s = st;
  int shift = (int)s[T_SHIFT];
  CHECK(shift >= 4 && shift <= 20);
  for (int k = 0; k < COLUMNS; k++) CHECK(sync_chunks(env, &w->column[k], argv[8 + k], COLUMN_TYPES[k], (size_t)1 << shift));
  play p = {
    .w = w, .shift = shift, .mask = (1 << shift) - 1, .words = words, .cursor = s[T_CURSOR],
    .lines = (int32_t)s[T_LINES], .last_section = (int32_t)s[T_LAST_SECTION], .last_code = (int32_t)s[T_LAST_CODE],
    .dict_size = (int32_t)s[T_DICT_SIZE], .largest = (int32_t)s[T_LARGEST], .dict_cap = (int32_t)dict_length, .chunk_flags = 0,
    .base = s[T_LINE_BASE], .last_end = s[T_LAST_END],
    .offsets = offsets_length == LINE_MASK + 1 && flags_length == LINE_MASK + 1 && codes_length == LINE_MASK + 1 ? offsets : NULL,
    .flags = flags, .codes = codes, .dict = dict,
    .sections = (int32_t)s[T_SECTIONS], .room = (int32_t)s[T_SECTION_ROOM], .latest = (int32_t)s[T_LATEST],
    .newest = (int32_t)s[T_NEWEST], .pending_head = (int32_t)s[T_PENDING_HEAD], .depth = (int32_t)s[T_DEPTH],
    .stack_cap = (int32_t)stack_length, .slots = (int32_t)s[T_SLOTS], .value_room = (int32_t)s[T_VALUE_ROOM],
    .eager = (int32_t)s[T_EAGER], .stack = stack,
    .run = (int32_t)s[T_RUN], .run_errors = (int32_t)s[T_RUN_ERRORS], .run_warnings = (int32_t)s[T_RUN_WARNINGS],
    .run_first_error = (int32_t)s[T_RUN_FIRST_ERROR],
  };
  int32_t from = (int32_t)s[T_WORD], count = (int32_t)s[T_COUNT];
  /* every section it may touch lies in the chunks it has; the line chunk's arrays are whole */
  uint64_t have = (uint64_t)w->column[C_PARENT].count << shift;
  for (int k = 1; k < COLUMNS; k++)
    if (k != C_VALUES && ((uint64_t)w->column[k].count << shift) < have) have = (uint64_t)w->column[k].count << shift;
  CHECK(from >= 0 && count >= from && (size_t)count <= word_count && p.depth >= 1 && p.depth <= p.stack_cap);
  CHECK(p.sections >= 1 && (uint64_t)p.sections <= have && p.room >= p.sections && (uint64_t)p.room <= have);
  CHECK(p.latest >= 0 && p.latest < p.sections && p.newest >= 0 && p.newest < p.sections && p.pending_head < p.sections);
  CHECK(p.value_room >= 0 && ((uint64_t)p.value_room <= ((uint64_t)w->column[C_VALUES].count << shift)) && 3 * (int64_t)p.slots <= p.value_room);
  CHECK(p.dict_size >= 0 && p.dict_size <= p.dict_cap && p.lines >= 0);
  for (int32_t d = 0; d < p.depth; d++) CHECK(p.stack[d] >= 0 && p.stack[d] < p.sections);
  s[T_WORD] = play_words(&p, from, count);
  s[T_CURSOR] = p.cursor;
  s[T_LINES] = p.lines, s[T_LAST_END] = p.last_end, s[T_LAST_SECTION] = p.last_section, s[T_LAST_CODE] = p.last_code;
  s[T_DICT_SIZE] = p.dict_size, s[T_LARGEST] = p.largest, s[T_CHUNK_FLAGS] = p.chunk_flags;
  s[T_SECTIONS] = p.sections, s[T_LATEST] = p.latest, s[T_NEWEST] = p.newest, s[T_PENDING_HEAD] = p.pending_head;
  s[T_DEPTH] = p.depth, s[T_SLOTS] = p.slots;
  s[T_RUN] = p.run, s[T_RUN_ERRORS] = p.run_errors, s[T_RUN_WARNINGS] = p.run_warnings, s[T_RUN_FIRST_ERROR] = p.run_first_error;
  return NULL;
}
