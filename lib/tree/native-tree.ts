/**
 * The index's tree writes in C (native/tree-writer.c): the words of an index record
 * (index-record.ts) played into the LogTree's columns in place, as TreeOutput's direct mode and
 * the tree do it in JavaScript, while the log nests. Playing the 1 GiB legacy corpus's words took
 * JavaScript ~0.5 s, about half of the main thread's share of the index; the writer stops at any
 * word it cannot play in place (a new chunk of lines, sections past the columns' room, counts the
 * tree defers), JavaScript plays that one, and the writer goes on (TreeOutput.addWords).
 *
 * The state crosses in one Float64Array (offsets are above 2^31); each part of the tree writes its
 * own slots before a call and takes them back after it (writerState, afterWriter).
 */

import type { NativePassThrough } from '../dialects/native-pass-through.js'

/** The writer's state slots (native/tree-writer.c, T_WORD …). */
export const enum TreeSlot {
  /** In: the first word to play; out: the first it did not. */
  Word,
  Count,
  /** Where the next line starts if it follows the last (the words' offsets count from it). */
  Cursor,
  Lines,
  LineBase,
  LastEnd,
  LastSection,
  LastCode,
  DictSize,
  Largest,
  /** Out: the OR of the flags of the lines pushed. */
  ChunkFlags,
  Sections,
  /** Sections every column has room for. */
  SectionRoom,
  Latest,
  Newest,
  PendingHead,
  /** Running sections (the tree's stack, the root first). */
  Depth,
  Run,
  RunErrors,
  RunWarnings,
  RunFirstError,
  Slots,
  ValueRoom,
  /** Ancestors a line's errors and warnings reach at once (LogTree's eagerLevels). */
  Eager,
  /** Column.chunk's entries per chunk, as a power of two. */
  Shift,
  Length,
}

type ChunkList = readonly Int32Array[] | readonly Uint8Array[]

/** The line table's last chunk, as LineTable.lastChunk gives it. */
export interface LineChunk {
  offsets: Uint32Array
  flags: Uint8Array
  codes: Uint16Array
  dict: Int32Array
}

export class NativeTreeWriter {
  readonly state = new Float64Array(TreeSlot.Length)
  /** The running sections, with room to open more before JavaScript must grow it. */
  private stack = new Int32Array(64)
  /** The chunk pointers the addon has taken (new chunks are taken at each call). */
  private readonly handle: object
  /** Words played in C so far (for tests and the bench). */
  played = 0

  constructor(
    private readonly addon: NativePassThrough,
    /** The columns in native/tree-writer.c's order: the section table's, the fold state's dirty and sizeOk, the segment store's. */
    private readonly columns: readonly ChunkList[],
  ) {
    this.handle = addon.treeWriter()
  }

  /** Plays the words as the state says, with the tree's running sections `stack`, which it updates. */
  play(words: Int32Array, stack: number[], lines: LineChunk): void {
    if (this.stack.length < 2 * stack.length) this.stack = new Int32Array(2 * stack.length)
    const buf = this.stack
    for (let d = 0; d < stack.length; d++) buf[d] = stack[d]!
    const c = this.columns
    const from = this.state[TreeSlot.Word]!
    this.addon.playTree(this.handle, words, this.state, buf, lines.offsets, lines.flags, lines.codes, lines.dict, c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!)
    this.played += this.state[TreeSlot.Word]! - from
    const depth = this.state[TreeSlot.Depth]!
    stack.length = depth
    for (let d = 0; d < depth; d++) stack[d] = buf[d]!
  }
}
