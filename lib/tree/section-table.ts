/**
 * The sections of a LogTree as columns (column.ts), with their own titles in a byte arena: a
 * section costs 55 bytes plus its title's UTF-8 bytes (a legacy nest has none: its head line names
 * it, read from the file when shown) and 16 more when it has timing, and nothing on the JS
 * heap. Line indices and counts are Int32: the index holds at most ROW_LIMIT lines and sections
 * together (LogSource stops there). Readers that want a whole section (the painter, tests) take a
 * snapshot with `get`; the tree updates the columns in place.
 */

import type { SectionKind } from '../events.js'
import { Column, ColumnGroup, float64Column, int32Column, uint8Column } from './column.js'

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
const kindCode = new Map(KINDS.map((k, i) => [k, i]))
const statusCode = new Map(STATUSES.map((k, i) => [k, i]))

/** Shown titles are cut at this many UTF-16 units. */
export const TITLE_CHARS = 300
/**
 * Title bytes kept: any 1,024 bytes of UTF-8 (valid or not) decode to at least 341 UTF-16 units, so
 * a character cut at the end never reaches the shown 300.
 */
const TITLE_BYTES = 1024
const ARENA_CHUNK = 1 << 18

/** Titles as UTF-8 bytes appended to chunks that never move (a title is set once, when known). */
class TitleArena {
  private readonly chunks: Buffer[] = []
  private chunk = Buffer.alloc(0)
  private used = 0
  /** Chunk number × ARENA_CHUNK + offset of each title; −1 when it has none. */
  readonly start = float64Column(-1)
  readonly length = int32Column()

  private room(s: number, n: number): number {
    if (this.used + n > this.chunk.length) {
      this.chunk = Buffer.allocUnsafe(ARENA_CHUNK)
      this.chunks.push(this.chunk)
      this.used = 0
    }
    const at = this.used
    this.used += n
    this.start.set(s, (this.chunks.length - 1) * ARENA_CHUNK + at)
    return at
  }

  setBytes(s: number, buf: Uint8Array, start: number, end: number): void {
    const n = Math.min(end - start, TITLE_BYTES)
    const at = this.room(s, n)
    // a byte loop: titles are short, and copyBytes's view would make its callers' calls polymorphic
    const chunk = this.chunk
    for (let k = 0; k < n; k++) chunk[at + k] = buf[start + k]!
    this.length.set(s, n)
  }

  setText(s: number, text: string): void {
    // TITLE_BYTES of UTF-8 hold at most TITLE_BYTES units of text
    const head = text.length > TITLE_BYTES ? text.slice(0, TITLE_BYTES) : text
    const n = Math.min(Buffer.byteLength(head), TITLE_BYTES)
    const at = this.room(s, n)
    this.length.set(s, this.chunk.write(head, at, n, 'utf8'))
  }

  has(s: number): boolean {
    return this.start.get(s) >= 0 && this.length.get(s) > 0
  }

  get(s: number): string {
    const start = this.start.get(s)
    if (start < 0) return ''
    const at = start % ARENA_CHUNK
    const text = this.chunks[Math.floor(start / ARENA_CHUNK)]!.toString('utf8', at, at + this.length.get(s))
    return text.length > TITLE_CHARS ? text.slice(0, TITLE_CHARS) : text
  }

  /** The text's bytes (the two columns are the table's to count). */
  get byteSize(): number {
    return this.chunks.length * ARENA_CHUNK
  }
}

export class SectionTable {
  length = 0
  readonly parent = int32Column()
  readonly depth = int32Column()
  readonly head = int32Column(-1)
  readonly firstLine = int32Column()
  readonly lastLine = int32Column()
  readonly lines = int32Column()
  readonly errors = int32Column()
  readonly warnings = int32Column()
  readonly firstError = int32Column(-1)
  readonly hits = int32Column()
  private readonly kinds = uint8Column()
  private readonly statuses = uint8Column()
  private readonly failed = uint8Column()
  private readonly titles = new TitleArena()
  private readonly columns = new ColumnGroup([this.parent, this.depth, this.head, this.firstLine, this.lastLine, this.lines, this.errors, this.warnings, this.firstError, this.hits, this.kinds, this.statuses, this.failed, this.titles.start, this.titles.length])
  /**
   * Start and end in ms (NaN when unknown), and whether they come from the log: made at the first
   * section with timing, since only CI markers with timestamps and follow mode have any.
   */
  private timing: { startedAt: Column<Float64Array>; endedAt: Column<Float64Array>; byLog: Column<Uint8Array>; group: ColumnGroup } | undefined

  /** Appends a section whose lines will start at line `firstLine`; returns its id. */
  add(kind: SectionKindOrRoot, parent: number, firstLine: number): number {
    const s = this.length++
    this.columns.reserve(s + 1)
    this.timing?.group.reserve(s + 1)
    this.parent.set(s, parent)
    this.depth.set(s, parent < 0 ? 0 : this.depth.get(parent) + 1)
    this.firstLine.set(s, firstLine)
    this.lastLine.set(s, firstLine - 1)
    this.kinds.set(s, kindCode.get(kind) ?? 0)
    return s
  }

  /** The line a section's header stands for: its head line, else its first line. */
  headerLine(s: number): number {
    const head = this.head.get(s)
    return head >= 0 ? head : this.firstLine.get(s)
  }

  kind(s: number): SectionKindOrRoot {
    return KINDS[this.kinds.get(s)]!
  }

  status(s: number): SectionStatus {
    return STATUSES[this.statuses.get(s)]!
  }

  setStatus(s: number, status: SectionStatus): void {
    this.statuses.set(s, statusCode.get(status) ?? 0)
  }

  failedBelow(s: number): boolean {
    return this.failed.get(s) === 1
  }

  setFailedBelow(s: number): void {
    this.failed.set(s, 1)
  }

  /** An error line or a failed section in the subtree: what the failure-aware folding opens. */
  holdsFailure(s: number): boolean {
    return this.errors.get(s) > 0 || this.failed.get(s) === 1
  }

  title(s: number): string {
    return this.titles.get(s)
  }

  hasTitle(s: number): boolean {
    return this.titles.has(s)
  }

  /** Sets a title from text, or from the UTF-8 bytes `buf[start, end)` (no string made now). */
  setTitle(s: number, text: string | Uint8Array, start = 0, end = text.length): void {
    if (typeof text === 'string') this.titles.setText(s, text)
    else this.titles.setBytes(s, text, start, end)
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
      id: s, kind: this.kind(s), title: this.title(s), parent: this.parent.get(s), depth: this.depth.get(s), head: this.head.get(s),
      firstLine: this.firstLine.get(s), lastLine: this.lastLine.get(s), lines: this.lines.get(s), errors: this.errors.get(s),
      warnings: this.warnings.get(s), firstError: this.firstError.get(s), status: this.status(s), hits: this.hits.get(s),
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

  /** The first section after the root with status `status`, or -1. */
  findStatus(status: SectionStatus): number {
    const code = statusCode.get(status)
    for (let s = 1; s < this.length; s++) if (this.statuses.get(s) === code) return s
    return -1
  }

  get byteSize(): number {
    return this.titles.byteSize + this.columns.byteSize + (this.timing?.group.byteSize ?? 0)
  }
}
