import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Action, State, TRANSITIONS } from '../tokenizer/table.js'
import { MAX_CSI_INTERMEDIATES, MAX_CSI_PARAM_BYTES } from '../tokenizer/tokenizer.js'

/**
 * The framer's pass-through path in C (native/pass-through.c), built by scripts/build-native.mjs
 * into native/build/pass-through.node. Where it could not be built (no C compiler, no Node-API
 * headers) or BUILDLOG_NATIVE=0 is set, `loadNativePassThrough()` answers null and the framer
 * frames those lines on its ordinary path: the same output, more slowly.
 */

/** This module lives in lib/dialects/ (sources), dist/dialects/ or dist/bin/ (the bundle): two levels below the package. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const NATIVE_PASS_THROUGH = join(PACKAGE_ROOT, 'native', 'build', 'pass-through.node')

/**
 * What the C side records for the framer to replay. Span, Open and Close are three int32: kind, a,
 * b; in line mode a Span is whole plain lines and their LFs follow it: kind, a, b, the line count
 * n, then the n LF positions (4 + n int32). A Line (line mode) is kind, raw end, text start,
 * text end, priority, LineBit bits, the mark count n, then n [start, end) pairs (kept SGR; with
 * LineBit.Cuts also removed CSIs, their end stored as -(end + 1); with LineBit.Discards what a
 * bare CR discarded, its start stored as -(start + 1)): 7 + 2n int32.
 */
export const enum Op {
  /** The sink gets buf[a, b). */
  Span = 0,
  /** A section opens with priority a at the ESC at b. */
  Open = 1,
  /** A close code spans buf[a, b): the innermost section closes, or none is open. */
  Close = 2,
  /** Line mode: a finished line, its text one range of the chunk with its kept SGR in place. */
  Line = 3,
}

/** What a Line op says about its line. */
export const enum LineBit {
  Head = 1,
  Error = 2,
  Warning = 4,
  AtLineStart = 8,
  /** Ended by p, q or s (else by an LF). */
  EndedEscape = 16,
  /** The text holds a newline group's LFs. */
  GroupLf = 32,
  /** Some of the marks are not kept SGR: removed CSIs (end stored as -(end + 1)), or what Discards says. */
  Cuts = 64,
  /** Some of the marks are bytes a bare CR discarded (start stored as -(start + 1)). */
  Discards = 128,
}

/** The framer's per-line state, in and out, and what the run produced (slots of `state`). */
export const enum Slot {
  IgnoreLf = 0,
  Error = 1,
  Warning = 2,
  EscapeSince = 3,
  InHeader = 4,
  Priority = 5,
  Level = 6,
  /**
   * Out: where the last line the run started begins, or -1 when it started none. In line mode
   * also in: where the line at `from` began (its escapes included), -1 when before the chunk.
   */
  LineStart = 7,
  /**
   * Out: whether that line began after an LF (not after an escape that ended a line). In line
   * mode also in: whether the line at `from` did.
   */
  AfterLf = 8,
  /** Out: how many int32 of `ops` the run filled. */
  OpCount = 9,
}
export const STATE_SLOTS = 10

export const enum Flag {
  KeepSgr = 1,
  /** Kept bytes may be moved down inside the caller's buffer (the sink takes scratch input). */
  Compact = 2,
  /** Opens and closes are not recorded (the sink ignores them); the level is still kept. */
  NoStructure = 4,
  /** Line mode: every finished line as a Line op, for sinks that take lines (not kept bytes). */
  Lines = 8,
  /** Line mode: `-L` lines styled only in their prefix go into spans too (FramerSink.styledPrefixSpans). */
  StyledPrefix = 16,
}

/** Room for operations: a run stops at a line boundary when the next line might not fit. */
export const OPS_LENGTH = 3 * 4096

/**
 * The io slots of indexOps (native/pass-through.c, index_ops). In: the ops to take, from `From`
 * to `Count`; `Cursor`, where the next line starts (the framer's line offset, relative to the
 * chunk); `Level`, the nests open. Out: `Stop`, the first op not taken; the words and asks
 * written; the lines taken (`Lines`, a span's each), whether the last line taken ended with an LF,
 * how many LFs the lines held and the last one (-1: none); `Cursor` and `Level` after them; the
 * nests opened less those closed, and the lowest that count reached; whether the last op taken
 * was a line (no open or close after it).
 */
export const enum IndexSlot {
  From = 0,
  Count = 1,
  Cursor = 2,
  Level = 3,
  Stop = 4,
  Words = 5,
  Asks = 6,
  Lines = 7,
  EndedLf = 8,
  Lfs = 9,
  LastLf = 10,
  Depth = 11,
  MinDepth = 12,
  LineLast = 13,
}
export const INDEX_SLOTS = 14
/** int32 per ask of indexOps: the word holding the line's flags, its Line op (-1: a span's line), the span line's start and end. */
export const ASK_INTS = 4

export interface NativePassThrough {
  passThrough(buf: Uint8Array, from: number, limit: number, flags: number, prefixes: Uint8Array, state: Int32Array, ops: Int32Array): number
  /**
   * Where the needles (packed by packPrefixes, each at least two bytes) occur wholly inside buf
   * from `from` on: their start positions in increasing order into `found`, stopping when it is
   * full. Returns the count.
   */
  findNeedles(buf: Uint8Array, from: number, needles: Uint8Array, found: Int32Array): number
  /**
   * Records for the LF-ended lines of buf[from, limit), RESULT_RECORD int32 each (see ResultLine),
   * until `records` is full; returns the int32 filled. Which lines ActivityTree.batchLine takes on
   * their bytes alone, and where their parts are.
   */
  scanResultLines(buf: Uint8Array, from: number, limit: number, records: Int32Array): number
  /**
   * PlainLineWalk's walk (lib/tree/plain-lines.ts) over the lines of buf[from, stop) (text
   * without escapes or CR): each line's LF into lfs, stopping before a line starting with `@`,
   * `Running phase: ` or one of `prefixes` (CI markers, after a timestamp or not; read up to
   * `end`), at `stop`, or when only lfs's last slot is left. Returns the count k; lfs[k] holds
   * where the walk stopped.
   */
  plainLineEnds(buf: Uint8Array, from: number, stop: number, end: number, prefixes: Uint8Array, lfs: Int32Array): number
  /**
   * The line-mode ops[io.From, io.Count) of a run over `buf` as index words (lib/tree/index-record.ts)
   * into `words`, up to the first op the index's JavaScript path must take (see IndexSlot): a line
   * the dialect must read (`@`, `Running phase: `, one of `markers` after a timestamp or not), a
   * close with no nest open. A line whose text starts with one of `ruleStarts`, whose bytes hold
   * one of `needles`, or whose marks left out join two bytes `pairs` (65,536 flags) lists gets an
   * ask (ASK_INTS int32 in `asks`) instead of its severity. Returns the op where it stopped.
   */
  indexOps(buf: Uint8Array, ops: Int32Array, needles: Uint8Array, ruleStarts: Uint8Array, markers: Uint8Array, pairs: Uint8Array, io: Int32Array, words: Int32Array, asks: Int32Array): number
  /**
   * The fold model's sizes of sections 0 … count − 1 from its columns' chunks (2^shift entries
   * each), in place: lib/tree/fold-passes.ts says what they are. Throws a TypeError on chunks of
   * the wrong type or length.
   */
  foldSizes(
    parent: readonly Int32Array[], lines: readonly Int32Array[], meta: readonly Uint8Array[], open: readonly Uint8Array[],
    size: readonly Int32Array[], sizeOk: readonly Uint8Array[], count: number, shift: number, headFlag: number,
  ): void
  /**
   * SectionTable.holdsFailureAll: open[s] = 1 where meta[s] has `failedBelow` or the error count
   * values[slots[s]] is above 0 (slot −1: none), else 0, for sections 1 … count − 1; values holds
   * valueCount entries. Throws a TypeError on chunks of the wrong type or length.
   */
  foldFailures(
    meta: readonly Uint8Array[], slots: readonly Int32Array[], values: readonly Int32Array[], open: readonly Uint8Array[],
    count: number, valueCount: number, shift: number, failedBelow: number,
  ): void
  /** foldLevels() of lib/tree/fold-passes.ts over the chunks of its columns. Throws a TypeError on chunks of the wrong type or length. */
  foldLevels(parent: readonly Int32Array[], open: readonly Uint8Array[], count: number, shift: number, level: number, opening: boolean): void
  /** A tree writer's chunk cache (lib/tree/native-tree.ts), freed with the object. */
  treeWriter(): object
  /**
   * Plays index words into a tree's columns as NativeTreeWriter.play says (native/tree-writer.c).
   * Throws a TypeError on arguments out of place: a state that does not fit the columns, chunks of
   * the wrong type or length.
   */
  playTree(
    writer: object, words: Int32Array, state: Float64Array, stack: Int32Array, offsets: Uint32Array, flags: Uint8Array, codes: Uint16Array, dict: Int32Array,
    ...columns: ReadonlyArray<readonly Int32Array[] | readonly Uint8Array[]>
  ): void
}

/**
 * A scanResultLines record: kind (ResultLine), line start, its LF; then, for a line of the kinds
 * after Other, payload start, payload end (the closing quote), id end, and the id's low and high
 * 32 bits (meaningful for Raw and Escaped).
 */
export const RESULT_RECORD = 8

/** What a scanResultLines record says of its line. */
export const enum ResultLine {
  /** Not a line batchLine takes, whatever the activities. */
  Other = 0,
  /** `{"action":"result","fields":["…"],"id":N,"type":101}` (or 107) with no escape in the payload, N a number of at most 19 digits. */
  Raw = 1,
  /** The same with escapes in the payload (all well-formed, as is its UTF-8). */
  Escaped = 2,
  /** The same but for an id that is not such a number: batchLine decides. */
  Ask = 3,
}

/**
 * The smallest chunk worth loading the addon for (a page: pty reads come in 4 KiB): loading it
 * costs ~3 ms, which small input does not repay (the pager re-decodes single lines for its first
 * screen). Below it the JavaScript paths do the work until something has loaded the addon.
 */
export const NATIVE_MIN_CHUNK = 4096

let loaded: NativePassThrough | null | undefined

/** Whether loadNativePassThrough() has run in this process: asking again costs nothing. */
export function nativePassThroughTried(): boolean {
  return loaded !== undefined
}

/** The functions NativePassThrough names, and init. */
const ADDON_FUNCTIONS = ['init', 'passThrough', 'findNeedles', 'scanResultLines', 'plainLineEnds', 'indexOps', 'foldSizes', 'foldFailures', 'foldLevels', 'treeWriter', 'playTree'] as const

/** Whether a loaded addon has every function this code calls. */
export function hasEveryFunction(addon: object): boolean {
  return ADDON_FUNCTIONS.every((name) => typeof (addon as Record<string, unknown>)[name] === 'function')
}

/** The addon, initialised with the tokenizer's table; null where it is not available. */
export function loadNativePassThrough(): NativePassThrough | null {
  if (loaded !== undefined) return loaded
  loaded = null
  if (process.env['BUILDLOG_NATIVE'] === '0') return loaded
  let addon: NativePassThrough & { init(table: Uint8Array, numbers: Int32Array): void }
  try {
    addon = createRequire(import.meta.url)(NATIVE_PASS_THROUGH)
  } catch {
    return loaded
  }
  // a build older than this code (dist rebuilt, the addon not) lacks functions: none of it, then
  if (!hasEveryFunction(addon)) return loaded
  addon.init(
    TRANSITIONS,
    Int32Array.of(
      State.Escape,
      State.CsiParam,
      Action.EnterCsi,
      Action.CollectParam,
      Action.CollectIntermediate,
      Action.DispatchCsi,
      MAX_CSI_PARAM_BYTES,
      MAX_CSI_INTERMEDIATES,
    ),
  )
  return (loaded = addon)
}

/** Line-start prefixes as the C side reads them: each as a length byte and its bytes. */
export function packPrefixes(prefixes: readonly Uint8Array[]): Uint8Array {
  const parts: number[] = []
  for (const prefix of prefixes) {
    if (prefix.length > 255) throw new RangeError('line-start prefix longer than 255 bytes')
    parts.push(prefix.length, ...prefix)
  }
  return Uint8Array.from(parts)
}
