/**
 * The sections of a LogTree as columns (column.ts), with their own titles in a byte arena. A
 * section costs 25 bytes; 12 more once it has an error or a warning below it; 8 more and its
 * title's UTF-8 bytes once any section has a title (a legacy nest has none: its head line names
 * it, read from the file when shown); 17 more once any section has timing, and 4 once a search
 * ran; nothing on the JS heap. Line indices and counts are Int32: the index holds at most
 * ROW_LIMIT lines and sections together (LogSource stops there). Depths are walked, not kept.
 * Readers that want a whole section (the painter, tests) take a snapshot with `get`; the tree
 * updates the columns in place.
 */

import type { SectionKind } from '../events.js'
import { loadNativePassThrough } from '../dialects/native-pass-through.js'
import { COLUMN_CHUNK_SHIFT, Column, ColumnGroup, chunksFor, entriesInChunk, float64Column, int32Column, uint8Column } from './column.js'
import { NATIVE_FOLD_SECTIONS } from './fold-passes.js'
import { TreeSlot } from './native-tree.js'

export type SectionStatus = 'open' | 'ok' | 'failed' | 'running' | 'interrupted' | 'unclosed'
export type SectionKindOrRoot = SectionKind | 'root'

/** One section, as a snapshot of its columns. */
export interface Section {
  id: number
  kind: SectionKindOrRoot
  /** Its own title: '' when its head line names it (LogSource.title reads that). */
  title: string
  parent: number
  depth: number
  /** Line index of the head line (the title line of legacy nests), or -1. */
  head: number
  firstLine: number
  lastLine: number
  /** Content lines, descendants included (head lines excluded). */
  lines: number
  errors: number
  warnings: number
  /** First error line in the subtree, or -1. */
  firstError: number
  status: SectionStatus
  /** Milliseconds, when known (dialect timing, or arrival while following). */
  startedAt?: number
  endedAt?: number
  hits: number
  /** The section or a descendant failed (status), whether or not it has error lines. */
  failedBelow: boolean
}

/**
 * Lines and sections the index holds at most, together: its line indices, counts and visible-row
 * sizes are Int32. The line table alone would take 18 GiB there.
 */
export const ROW_LIMIT = 2 ** 31 - 1

const KINDS: readonly SectionKindOrRoot[] = ['root', 'nest', 'build', 'phase', 'preamble', 'activity', 'ci']
const STATUSES: readonly SectionStatus[] = ['open', 'ok', 'failed', 'running', 'interrupted', 'unclosed']
// (objects, not Maps: a close's status was a hash lookup, 2 % of the index's replay of records)
const kindCode = Object.fromEntries(KINDS.map((k, i) => [k, i])) as Record<SectionKindOrRoot, number>
const statusCode = Object.fromEntries(STATUSES.map((k, i) => [k, i])) as Record<SectionStatus, number>

/** Shown titles are cut at this many UTF-16 units. */
export const TITLE_CHARS = 300
/**
 * Title bytes kept: any 1,024 bytes of UTF-8 (valid or not) decode to at least 341 UTF-16 units, so
 * a character cut at the end never reaches the shown 300.
 */
const TITLE_BYTES = 1024
const ARENA_CHUNK = 1 << 18

/** A title's byte length fits below this in its reference (TITLE_BYTES ≤ it). */
const LENGTH_SPAN = 2048

/** Titles as UTF-8 bytes appended to chunks that never move (a title is set once, when known). */
class TitleArena {
  private readonly chunks: Buffer[] = []
  private chunk = Buffer.alloc(0)
  private used = 0
  /**
   * Each title's place and length in one number: (chunk number × ARENA_CHUNK + offset) ×
   * LENGTH_SPAN + byte length, exact in a Float64 up to 2^42 bytes of titles; −1 when it has none.
   * Made at the first title, since a legacy log's nests have none (their head lines name them).
   */
  private refs: { column: Column<Float64Array>; group: ColumnGroup } | undefined

  /** Makes room for sections 0 … n − 1 (once there is a column). */
  reserve(n: number): void {
    this.refs?.group.reserve(n)
  }

  /** The references' columns, once there is one. */
  get group(): ColumnGroup | undefined {
    return this.refs?.group
  }

  private ref(s: number): number {
    return this.refs === undefined ? -1 : this.refs.column.get(s)
  }

  set(s: number, count: number, text: string): void {
    if (this.refs === undefined) {
      const column = float64Column(-1)
      const group = new ColumnGroup([column])
      group.reserve(count)
      this.refs = { column, group }
    }
    // TITLE_BYTES of UTF-8 hold at most TITLE_BYTES units of text
    const head = text.length > TITLE_BYTES ? text.slice(0, TITLE_BYTES) : text
    const n = Math.min(Buffer.byteLength(head), TITLE_BYTES)
    if (this.used + n > this.chunk.length) {
      this.chunk = Buffer.allocUnsafe(ARENA_CHUNK)
      this.chunks.push(this.chunk)
      this.used = 0
    }
    const at = this.used
    const written = this.chunk.write(head, at, n, 'utf8')
    this.used += written
    this.refs.column.set(s, ((this.chunks.length - 1) * ARENA_CHUNK + at) * LENGTH_SPAN + written)
  }

  has(s: number): boolean {
    return this.ref(s) % LENGTH_SPAN > 0
  }

  get(s: number): string {
    const ref = this.ref(s)
    if (ref < 0) return ''
    const start = Math.floor(ref / LENGTH_SPAN)
    const at = start % ARENA_CHUNK
    const text = this.chunks[Math.floor(start / ARENA_CHUNK)]!.toString('utf8', at, at + (ref % LENGTH_SPAN))
    return text.length > TITLE_CHARS ? text.slice(0, TITLE_CHARS) : text
  }

  /** The text's bytes and their references. */
  get byteSize(): number {
    return this.chunks.length * ARENA_CHUNK + (this.refs?.group.byteSize ?? 0)
  }
}

/** A per-section Int32 field, as the table's readers use it. */
export interface Field {
  get(s: number): number
  set(s: number, v: number): void
  add(s: number, v: number): void
}

/**
 * Error count, warning count and first error line, kept only for sections that have an error or
 * a warning below them (one in seven on the legacy corpus): a slot per section (−1: none) and three
 * Int32 per slot, instead of three Int32 per section.
 */
class SeverityFields {
  private readonly slot = int32Column(-1)
  private readonly values = int32Column()
  private readonly valueColumns = new ColumnGroup([this.values])
  private slots = 0
  readonly errors = this.field(0, 0)
  readonly warnings = this.field(1, 0)
  readonly firstError = this.field(2, -1)
  /** The per-section column, for the table's group. */
  readonly column = this.slot

  private field(k: number, initial: number): Field {
    return {
      get: (s) => {
        const at = this.slot.get(s)
        return at < 0 ? initial : this.values.get(at + k)
      },
      set: (s, v) => this.values.set(this.slotOf(s) + k, v),
      add: (s, v) => this.values.add(this.slotOf(s) + k, v),
    }
  }

  private slotOf(s: number): number {
    let at = this.slot.get(s)
    if (at < 0) {
      at = 3 * this.slots++
      this.valueColumns.reserve(at + 3)
      this.values.set(at + 2, -1) // no first error yet
      this.slot.set(s, at)
    }
    return at
  }

  /** Chunk c of the slots (Column.chunk): −1 for a section without errors or warnings. */
  slotChunk(c: number): Int32Array {
    return this.slot.chunk(c)
  }

  /** Slots given so far, and the values' room, for the addon's tree writer (native-tree.ts), which gives more in place. */
  writerState(st: Float64Array): void {
    st[TreeSlot.Slots] = this.slots
    st[TreeSlot.ValueRoom] = this.valueColumns.room
  }

  afterWriter(st: Float64Array): void {
    this.slots = st[TreeSlot.Slots]!
  }

  /** The slots and their values (a slot is the index of its error count, the warnings and first error after it), for the addon. */
  get errorColumns(): { slots: Column<Int32Array>; values: Column<Int32Array>; valueCount: number } {
    return { slots: this.slot, values: this.values, valueCount: 3 * this.slots }
  }

  /** The error count in slot `at`. */
  errorsAt(at: number): number {
    return this.values.get(at)
  }

  get byteSize(): number {
    return this.valueColumns.byteSize
  }
}

/** How far apart depth() leaves the depths it walked past, and how many it keeps at most. */
const DEPTH_STRIDE = 64
const MAX_KNOWN_DEPTHS = 1 << 16

// A section's kind, status, failed-below and has-head flags share one byte.
const KIND_MASK = 0x07
const STATUS_SHIFT = 3
const STATUS_MASK = 0x38
const FAILED_BELOW = 0x40
/** The section's first line is its head line. */
const HAS_HEAD = 0x80

export class SectionTable {
  length = 0
  readonly parent = int32Column()
  readonly firstLine = int32Column()
  readonly lastLine = int32Column()
  readonly lines = int32Column()
  private readonly severity = new SeverityFields()
  readonly errors = this.severity.errors
  readonly warnings = this.severity.warnings
  /** First error line in the subtree, or -1. */
  readonly firstError = this.severity.firstError
  /** Kind, status, failed-below and has-head, packed (KIND_MASK, STATUS_MASK, FAILED_BELOW, HAS_HEAD). */
  private readonly meta = uint8Column()
  private readonly titles = new TitleArena()
  private readonly columns = new ColumnGroup([this.parent, this.firstLine, this.lastLine, this.lines, this.severity.column, this.meta])
  /** Search hits in each section's subtree: made by the first search. */
  private hitCounts: { column: Column<Int32Array>; group: ColumnGroup } | undefined
  /**
   * Start and end in ms (NaN when unknown), and whether they come from the log: made at the first
   * section with timing, since only CI markers with timestamps and follow mode have any.
   */
  private timing: { startedAt: Column<Float64Array>; endedAt: Column<Float64Array>; byLog: Column<Uint8Array>; group: ColumnGroup } | undefined

  /** Sections every column has room for (the addon's tree writer adds sections up to there: native-tree.ts). */
  get room(): number {
    let room = this.columns.room
    if (this.titles.group !== undefined) room = Math.min(room, this.titles.group.room)
    if (this.timing !== undefined) room = Math.min(room, this.timing.group.room)
    if (this.hitCounts !== undefined) room = Math.min(room, this.hitCounts.group.room)
    return room
  }

  /** The columns the addon's tree writer reads and writes, in native/tree-writer.c's order (C_PARENT …). */
  writerColumns(): Array<readonly Int32Array[] | readonly Uint8Array[]> {
    const { slots, values } = this.severity.errorColumns
    return [this.parent.chunkList, this.firstLine.chunkList, this.lastLine.chunkList, this.lines.chunkList, this.meta.chunkList, slots.chunkList, values.chunkList]
  }

  /** The table's part of the writer's state (native-tree.ts): its sections, their room, the severity slots. */
  writerState(st: Float64Array): void {
    st[TreeSlot.Sections] = this.length
    st[TreeSlot.SectionRoom] = this.room
    this.severity.writerState(st)
  }

  /** The sections the writer added, and the slots it gave. */
  afterWriter(st: Float64Array): void {
    this.length = st[TreeSlot.Sections]!
    this.severity.afterWriter(st)
  }

  /** Appends a section whose lines will start at line `firstLine`; returns its id. */
  add(kind: SectionKindOrRoot, parent: number, firstLine: number): number {
    const s = this.length++
    this.columns.reserve(s + 1)
    this.titles.reserve(s + 1)
    this.timing?.group.reserve(s + 1)
    this.hitCounts?.group.reserve(s + 1)
    this.parent.set(s, parent)
    this.firstLine.set(s, firstLine)
    this.lastLine.set(s, firstLine - 1)
    this.meta.set(s, kindCode[kind] ?? 0)
    return s
  }

  /**
   * Ancestors above the section (the root's depth is 0). Only the rows on screen ask, so depths
   * are walked, not stored per section; but a log may nest tens of thousands deep, and a frame asks
   * for every row: the walk stops at a depth it already knows, and leaves one behind every
   * DEPTH_STRIDE sections it passes (a depth never changes: a section keeps its parent).
   */
  depth(s: number): number {
    const known = this.knownDepths
    let d = 0
    let c = s
    // a parent's id is below its child's: the walk ends even on a table built wrong
    for (let p = this.parent.get(c); p >= 0 && p < c; c = p, p = this.parent.get(p)) {
      const k = known.get(c)
      if (k !== undefined) {
        d += k
        break
      }
      d++
    }
    if (d >= DEPTH_STRIDE) {
      if (known.size >= MAX_KNOWN_DEPTHS) known.clear()
      // from s up, every DEPTH_STRIDE-th section (s itself among them)
      for (let x = s, at = d; at > 0 && c !== x; x = this.parent.get(x), at--) if ((d - at) % DEPTH_STRIDE === 0) known.set(x, at)
    }
    return d
  }

  private readonly knownDepths = new Map<number, number>()

  /** Whether section `x` is `s` or inside it (a parent's id is below its children's). */
  within(x: number, s: number): boolean {
    while (x > s) x = this.parent.get(x)
    return x === s
  }

  /** Search hits in the section's subtree (0 before any search). */
  hits(s: number): number {
    return this.hitCounts === undefined ? 0 : this.hitCounts.column.get(s)
  }

  /** The hit counts, made on first use, for a search to update. */
  hitColumn(): Column<Int32Array> {
    if (this.hitCounts === undefined) {
      const column = int32Column()
      const group = new ColumnGroup([column])
      group.reserve(this.length)
      this.hitCounts = { column, group }
    }
    return this.hitCounts.column
  }

  /** The line a section's header stands for: its first line (its head line, when it has one). */
  headerLine(s: number): number {
    return this.firstLine.get(s)
  }

  /** Line index of the section's head line (the title line of a legacy nest), or -1. */
  head(s: number): number {
    return this.hasHead(s) ? this.firstLine.get(s) : -1
  }

  hasHead(s: number): boolean {
    return (this.meta.get(s) & HAS_HEAD) !== 0
  }

  /** The sections' flag bytes as a column, and the bit in them that says hasHead() (the fold model's sizes read it). */
  get flagColumn(): Column<Uint8Array> {
    return this.meta
  }

  static readonly HEAD_FLAG = HAS_HEAD

  /** Line `line` is the section's head, and so its first line. */
  setHead(s: number, line: number): void {
    this.meta.set(s, this.meta.get(s) | HAS_HEAD)
    this.firstLine.set(s, line)
  }

  kind(s: number): SectionKindOrRoot {
    return KINDS[this.meta.get(s) & KIND_MASK]!
  }

  status(s: number): SectionStatus {
    return STATUSES[(this.meta.get(s) & STATUS_MASK) >> STATUS_SHIFT]!
  }

  setStatus(s: number, status: SectionStatus): void {
    this.meta.set(s, (this.meta.get(s) & ~STATUS_MASK) | ((statusCode[status] ?? 0) << STATUS_SHIFT))
  }

  failedBelow(s: number): boolean {
    return (this.meta.get(s) & FAILED_BELOW) !== 0
  }

  setFailedBelow(s: number): void {
    this.meta.set(s, this.meta.get(s) | FAILED_BELOW)
  }

  /** An error line or a failed section in the subtree: what the failure-aware folding opens. */
  holdsFailure(s: number): boolean {
    return this.errors.get(s) > 0 || this.failedBelow(s)
  }

  /**
   * holdsFailure() of sections 1 … length − 1 as 1 or 0 into `into` (the fold state's open
   * flags): what the failure-aware folding opens. In C from NATIVE_FOLD_SECTIONS sections, as
   * the fold sizes (fold-passes.ts): 2 million sections took 14 ms in JavaScript.
   */
  holdsFailureAll(into: Column<Uint8Array>): void {
    const count = this.length
    const native = count >= NATIVE_FOLD_SECTIONS ? loadNativePassThrough() : null
    if (native !== null) {
      const { slots, values, valueCount } = this.severity.errorColumns
      native.foldFailures(this.meta.chunkList, slots.chunkList, values.chunkList, into.chunkList, count, valueCount, COLUMN_CHUNK_SHIFT, FAILED_BELOW)
    } else for (let c = 0; c < chunksFor(count); c++) this.holdsFailureInto(c, c === 0 ? 1 : 0, entriesInChunk(c, count), into.chunk(c))
  }

  /**
   * holdsFailure() of sections c·2^COLUMN_CHUNK_SHIFT + [from, to) as 1 or 0 into the same
   * places of `into` (a chunk of a column of the fold state): one loop over two arrays where the
   * failure-aware folding of two million sections would call holdsFailure() for each.
   */
  private holdsFailureInto(c: number, from: number, to: number, into: Uint8Array): void {
    const flags = this.meta.chunk(c)
    const slots = this.severity.slotChunk(c)
    for (let k = from; k < to; k++) into[k] = (flags[k]! & FAILED_BELOW) !== 0 || (slots[k]! >= 0 && this.severity.errorsAt(slots[k]!) > 0) ? 1 : 0
  }

  title(s: number): string {
    return this.titles.get(s)
  }

  hasTitle(s: number): boolean {
    return this.titles.has(s)
  }

  setTitle(s: number, text: string): void {
    this.titles.set(s, this.length, text)
  }

  /** Sets a start or end time (ms); `byLog` says it is the log's own clock (a start, from then on). */
  setTiming(s: number, key: 'startedAt' | 'endedAt', ms: number, byLog = false): void {
    const timing = this.timed()
    timing[key].set(s, ms)
    if (byLog) timing.byLog.set(s, 1)
  }

  /** The section's times come from the log (a timestamped marker), not from its arrival. */
  timedByLog(s: number): boolean {
    return this.timing !== undefined && this.timing.byLog.get(s) === 1
  }

  private timed(): NonNullable<SectionTable['timing']> {
    if (this.timing === undefined) {
      const startedAt = float64Column(NaN)
      const endedAt = float64Column(NaN)
      const byLog = uint8Column()
      const group = new ColumnGroup([startedAt, endedAt, byLog])
      group.reserve(this.length)
      this.timing = { startedAt, endedAt, byLog, group }
    }
    return this.timing
  }

  /** A snapshot of section `s` (changes to it do not reach the table). */
  get(s: number): Section {
    const sec: Section = {
      id: s, kind: this.kind(s), title: this.title(s), parent: this.parent.get(s), depth: this.depth(s), head: this.head(s),
      firstLine: this.firstLine.get(s), lastLine: this.lastLine.get(s), lines: this.lines.get(s), errors: this.errors.get(s),
      warnings: this.warnings.get(s), firstError: this.firstError.get(s), status: this.status(s), hits: this.hits(s),
      failedBelow: this.failedBelow(s),
    }
    if (this.timing !== undefined) {
      const startedAt = this.timing.startedAt.get(s)
      const endedAt = this.timing.endedAt.get(s)
      if (!Number.isNaN(startedAt)) sec.startedAt = startedAt
      if (!Number.isNaN(endedAt)) sec.endedAt = endedAt
    }
    return sec
  }

  /** The first section from `from` on (after the root) with status `status`, or -1. */
  findStatus(status: SectionStatus, from = 1): number {
    const code = (statusCode[status] ?? 0) << STATUS_SHIFT
    for (let s = Math.max(1, from); s < this.length; s++) if ((this.meta.get(s) & STATUS_MASK) === code) return s
    return -1
  }

  get byteSize(): number {
    return this.titles.byteSize + this.columns.byteSize + this.severity.byteSize + (this.timing?.group.byteSize ?? 0) + (this.hitCounts?.group.byteSize ?? 0)
  }
}
