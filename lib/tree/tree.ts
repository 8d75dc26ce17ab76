/**
 * The section tree of one log and its fold state. Lines live in a LineTable (about 7 bytes each),
 * sections in a SectionTable, and the fold state in columns beside it (column.ts): no JS object
 * per section. Each section's content is a list of segments: runs of consecutive direct lines and
 * child sections, in order (segments.ts: implied by the nesting while the log nests). The
 * visible-row mapping keeps each section's visible size and, for sections of more than a few
 * segments, a prefix array over its segments' sizes, recomputed lazily for sections marked
 * dirty, so a toggle costs O(depth · segments of the ancestors) and zR/zM cost O(sections).
 */

import type { LogEvent } from '../events.js'
import { lineSeverity } from './severity.js'
import { LINE_DIM, LINE_ERROR, LINE_HEAD, LINE_WARNING, LineTable, severityBits } from './lines.js'
import { lastAtMost } from './bisect.js'
import { SegmentStore, keyOf, lengthOf, startOf, type SegmentView } from './segments.js'
import { COLUMN_CHUNK_SHIFT, ColumnGroup, chunksFor, entriesInChunk, int32Column, uint8Column } from './column.js'
import { foldLevels, foldSizes, type FoldColumns } from './fold-passes.js'
import { SectionTable, type SectionKindOrRoot, type SectionStatus } from './section-table.js'
import { DeferredCounts, EAGER_LEVELS } from './deferred-counts.js'
import { NativeTreeWriter, TreeSlot } from './native-tree.js'
import { loadNativePassThrough } from '../dialects/native-pass-through.js'

/**
 * Decoder section id → tree section. Decoders number their sections 1, 2, 3 … and the tree numbers
 * them the same way, so the map starts as the identity and holds nothing (at a section every few
 * lines, even a dense array cost 1 byte a line). The first id that breaks the pattern turns it into a
 * dense array, and any id beyond that array's reach goes to a Map.
 */
export class IdMap {
  /** Ids 1 … identical map to themselves; null once an id broke the pattern. */
  private identical: number | null = 0
  private dense = new Int32Array(0)
  private readonly sparse = new Map<number, number>()

  get(id: number): number | undefined {
    if (this.identical !== null) return Number.isInteger(id) && id >= 1 && id <= this.identical ? id : undefined
    if (id >= 0 && id < DENSE_IDS && Number.isInteger(id)) {
      const v = id < this.dense.length ? this.dense[id]! : -1
      return v < 0 ? undefined : v
    }
    return this.sparse.get(id)
  }

  set(id: number, s: number): void {
    if (this.identical !== null) {
      if (id === s && id === this.identical + 1) {
        this.identical = id
        return
      }
      this.toDense()
    }
    if (id >= 0 && id < DENSE_IDS && Number.isInteger(id)) {
      if (id >= this.dense.length) {
        const grown = new Int32Array(Math.min(DENSE_IDS, Math.max(id + 1, 1024, this.dense.length * 2))).fill(-1)
        grown.set(this.dense)
        this.dense = grown
      }
      this.dense[id] = s
    } else this.sparse.set(id, s)
  }

  private toDense(): void {
    const n = this.identical!
    this.identical = null
    const dense = Math.min(n, DENSE_IDS - 1)
    this.dense = new Int32Array(Math.max(1024, dense + 1)).fill(-1)
    for (let id = 1; id <= dense; id++) this.dense[id] = id
    for (let id = dense + 1; id <= n; id++) this.sparse.set(id, id)
  }

  /** Bytes held: the dense array (sparse ids, which no decoder makes, are not counted). */
  get byteSize(): number {
    return this.dense.byteLength
  }
}

const DENSE_IDS = 1 << 26

/** The tree writer's int32 for "every ancestor at once" (eagerLevels Infinity). */
const MAX_EAGER = 2 ** 31 - 1

/**
 * Sections of at most this many segments keep no prefix sums over them: their rows are summed
 * where asked (a few additions), and a chain of thousands of nests, one or two segments each, is
 * not rebuilt array by array at every fold change.
 */
const SCAN_SEGMENTS = 16

/** A visible row: a header (section id) or a line (line index). */
export type Row = { header: number; line?: undefined } | { line: number; header?: undefined }

/**
 * Sections, each with a row number, in typed arrays that keep their room: a walk up or down a
 * chain of thousands of nests fills one without growing a JS array each time.
 */
class SectionRows {
  sections = new Int32Array(64)
  rows = new Float64Array(64)
  length = 0

  push(s: number, row: number): void {
    if (this.length === this.sections.length) {
      const sections = new Int32Array(2 * this.length)
      const rows = new Float64Array(2 * this.length)
      sections.set(this.sections)
      rows.set(this.rows)
      this.sections = sections
      this.rows = rows
    }
    this.sections[this.length] = s
    this.rows[this.length++] = row
  }
}

export class LogTree {
  readonly lines = new LineTable()
  /** The sections, their ancestors' counts owed (`deferred`) paid when they are read (`sections`). */
  private readonly table = new SectionTable()
  private readonly deferred = new DeferredCounts()
  private readonly segments: SegmentStore
  // Fold state per section: fold commands read these for every section.
  private readonly pref: Array<number[] | undefined> = [] // allocated when first needed
  private readonly dirty = uint8Column() // 1: pref is stale
  // visible rows of each open section (header included), valid where sizeOk; closed sections are 1 row
  private readonly size = int32Column(1)
  private readonly sizeOk = uint8Column()
  private readonly manualFlag = uint8Column() // 1: the user toggled it; automatic folding leaves it alone
  private readonly openFlag = uint8Column() // 1: unfolded (the root always is)
  private readonly stack: number[] = [0]
  private readonly byDecoderId = new IdMap()
  private pendingHead = -1
  /** Bytes of input consumed so far (the decoder's view). */
  indexedBytes = 0
  done = false
  /** Called for sections closing (follow mode folds finished clean sections). */
  onClose: ((section: number) => void) | undefined
  /** Called for each new section (follow mode keeps running sections open). */
  onOpen: ((section: number) => void) | undefined
  /** The clock of arrival (ms), once the input is live (LogSource): sections opened from then on are timed by it. */
  now: (() => number) | undefined

  /** Ancestors a line's counts reach at once (see DeferredCounts). */
  private readonly eagerLevels: number

  /** Whether the index's records may be played in C (native-tree.ts): tests compare both. */
  private readonly nativeWrites: boolean

  constructor(
    options: {
      nestedSegments?: boolean
      /** Tests set it low, or to Infinity (no deferral). */
      eagerLevels?: number
      /** False: the index's records are played in JavaScript, even where the addon could. */
      nativeWrites?: boolean
    } = {},
  ) {
    this.eagerLevels = options.eagerLevels ?? EAGER_LEVELS
    this.nativeWrites = options.nativeWrites ?? true
    this.segments = new SegmentStore(this.table, this.lines, options.nestedSegments ?? true, (from, above, end) => this.writeImplied(from, above, end))
    this.addSection('root', '', -1, 0)
    this.openFlag.set(0, 1)
    this.path.push(0, 0)
  }

  private addSection(kind: SectionKindOrRoot, title: string, parent: number, offsetLine: number): number {
    const id = this.table.add(kind, parent, offsetLine)
    if (title) this.table.setTitle(id, title)
    this.segments.addSection()
    this.foldColumns.reserve(id + 1)
    this.dirty.set(id, 1)
    if (parent >= 0) {
      this.segments.appendChild(parent, id)
      this.markDirty(parent)
    }
    return id
  }

  private readonly foldColumns = new ColumnGroup([this.dirty, this.size, this.sizeOk, this.manualFlag, this.openFlag])

  /**
   * The sections, with every count up to date: the counts owed to ancestors more than EAGER_LEVELS
   * above a line's section (deferred-counts.ts) are paid first. The tree's own readers settle too.
   */
  get sections(): SectionTable {
    this.settle()
    return this.table
  }

  /**
   * Pays the counts owed (those of sections `from` and above: see DeferredCounts.settle); with
   * `from` 0, also writes down those of the sections still taking lines while the log nests.
   */
  private settle(from = 0): void {
    if (from === 0 && this.segments.nesting) this.writeRunningImplied()
    if (this.deferred.largest < from) return
    const table = this.table
    this.deferred.settle(
      (s) => table.parent.get(s),
      (s, debt) => {
        table.lines.add(s, debt.count)
        if (debt.lastLine > table.lastLine.get(s)) table.lastLine.set(s, debt.lastLine)
        if (debt.errors > 0) {
          table.errors.add(s, debt.errors)
          const first = table.firstError.get(s)
          if (first < 0 || debt.firstError < first) table.firstError.set(s, debt.firstError)
        }
        if (debt.warnings > 0) table.warnings.add(s, debt.warnings)
      },
      from,
    )
  }

  /**
   * Whether section `s`'s subtree holds an error line or a failed section (SectionTable.holdsFailure),
   * paying first only what is owed inside it: follow mode asks at every close, and a chain closing
   * one level a line would otherwise settle the whole chain each time.
   */
  holdsFailure(s: number): boolean {
    this.settle(s)
    return this.table.holdsFailure(s)
  }

  get current(): number {
    return this.stack[this.stack.length - 1]!
  }

  /** Feeds one decoder event. Sections are found by id (concurrent sections close in any order). */
  add(e: LogEvent): void {
    const sections = this.table
    switch (e.type) {
      case 'open': {
        const parent = (e.parent !== undefined ? this.byDecoderId.get(e.parent) : undefined) ?? (e.parent === 0 ? 0 : this.current)
        // the log's own clock when it has one (GitLab's stamps, timestamped lines), else arrival
        // time; the pager shows no other attribute, so the tree keeps none
        this.openSection(e.id, e.kind, e.title ?? '', parent, e.attrs?.startTime)
        break
      }
      case 'line': {
        const s = (e.section !== undefined ? (e.section === 0 ? 0 : this.byDecoderId.get(e.section)) : undefined) ?? this.current
        let flags = severityBits(lineSeverity(e))
        if (e.priority >= 3) flags |= LINE_DIM
        this.addLine(s, e.offset, e.end, flags, e.head)
        break
      }
      case 'close': {
        const s = this.byDecoderId.get(e.id)
        if (s === undefined) break
        const at = this.stack.lastIndexOf(s)
        if (at === this.stack.length - 1 && at > 0) this.stack.pop()
        else if (at > 0) this.stack.splice(at, 1)
        this.closed(s, e.status ?? 'ok')
        break
      }
      case 'status': {
        const s = this.byDecoderId.get(e.id)
        if (s === undefined) break
        const end = e.attrs.endTime
        if (typeof end === 'number' && sections.timedByLog(s)) sections.setTiming(s, 'endedAt', end * 1000)
        // as the dialects say it: `failed: true` (a progress status's `failed` is a count)
        if (e.attrs['failed'] === true) {
          sections.setStatus(s, 'failed')
          this.markFailed(s)
        }
        break
      }
      default:
        break
    }
  }

  /** Decoder section `id` opens in `parent` and becomes the running section, waiting for its head line. */
  private openSection(id: number, kind: SectionKindOrRoot, title: string, parent: number, logStart: unknown): void {
    const s = this.addSection(kind, title, parent, this.lines.length)
    if (typeof logStart === 'number') this.table.setTiming(s, 'startedAt', logStart * 1000, true)
    else if (this.now) this.table.setTiming(s, 'startedAt', this.now())
    this.byDecoderId.set(id, s)
    this.stack.push(s)
    this.pendingHead = s
    this.onOpen?.(s)
  }

  /** Section `s`, off the running chain now, ended with `status`. */
  private closed(s: number, status: SectionStatus): void {
    const sections = this.table
    sections.setStatus(s, status)
    if (this.now && !sections.timedByLog(s)) sections.setTiming(s, 'endedAt', this.now())
    if (status === 'failed') this.markFailed(s)
    this.onClose?.(s)
  }

  /**
   * A legacy nest opens in the running section, as add() takes the decoder's open event for it
   * where the decoder has seen nothing but nests (the index's direct path, index-output.ts): the
   * decoder's ids are the tree's there.
   */
  openNest(): void {
    this.openSection(this.table.length, 'nest', '', this.current, undefined)
  }

  /** The running section closes, as add() takes the decoder's close event for the innermost nest. */
  closeNest(): void {
    if (this.stack.length > 1) this.closed(this.stack.pop()!, 'ok')
  }

  /** A head line added to `s` now is its head: the first line since it opened. */
  private takesHead(s: number): boolean {
    const sections = this.table
    return s !== 0 && this.pendingHead === s && sections.head(s) < 0 && sections.lines.get(s) === 0
  }

  /**
   * Appends one line to section `s` (the index fast path calls this without an event). `flags`
   * holds LINE_ERROR / LINE_WARNING / LINE_DIM; `head` says the framer saw it as a nest's head.
   * A head line names a section without a title of its own: it is read from the file when shown
   * (LogSource.title), not kept.
   */
  addLine(s: number, offset: number, end: number, flags: number, head: boolean): number {
    const sections = this.table
    const err = (flags & LINE_ERROR) !== 0
    const warn = (flags & LINE_WARNING) !== 0
    const isHead = head && this.takesHead(s)
    if (isHead) flags |= LINE_HEAD
    const i = this.lines.push(offset, s, flags, end)
    this.pendingHead = -1
    if (isHead) {
      sections.setHead(s, i)
      this.segments.setFirstLine(s, sections.parent.get(s), i)
    } else {
      this.extendRun(s, i, 1)
    }
    // a head line is its section's header, not its content: it counts in the ancestors only
    this.countUp(s, isHead ? 0 : 1, 1, err ? 1 : 0, warn ? 1 : 0, err ? i : -1, i)
    return i
  }

  /**
   * Accounts for `count` plain lines (no head) that the caller has just pushed to `lines`, all in
   * the current section: one segment update and one walk up the ancestors for the whole run.
   */
  addPlainRun(count: number, errors: number, warnings: number, firstError: number): void {
    if (count === 0) return
    const s = this.current
    const last = this.lines.length - 1
    const first = last - count + 1
    this.pendingHead = -1
    this.extendRun(s, first, count)
    this.countUp(s, count, count, errors, warnings, firstError, last)
  }

  /**
   * Counts `count` lines just added to `s`'s subtree (`own` of them in `s` itself), `errors` and
   * `warnings` among them, in `s` and its nearest ancestors; those above are owed them (deferred).
   * While the log nests, line counts and last lines are implied (writeImplied): only errors and
   * warnings are counted — a legacy log's two walks up the ancestors a section (its head line,
   * its lines) were a quarter of the time its index took to write the tree.
   */
  private countUp(s: number, own: number, count: number, errors: number, warnings: number, firstError: number, last: number): void {
    const sections = this.table
    const implied = this.segments.nesting
    if (implied && errors === 0 && warnings === 0) return
    let p = s
    for (let level = 0; p >= 0 && level < this.eagerLevels; p = sections.parent.get(p), level++) {
      if (!implied) {
        sections.lines.add(p, p === s ? own : count)
        sections.lastLine.set(p, last)
      }
      if (errors > 0) this.addErrors(p, errors, firstError)
      if (warnings > 0) sections.warnings.add(p, warnings)
    }
    if (p < 0) return
    if (implied) this.deferred.owe(p, 0, errors, warnings, firstError)
    else {
      this.deferred.owe(p, count, errors, warnings, firstError, last)
      this.touch(p, last)
    }
  }

  /**
   * While the log nests, every line since a section opened is in its subtree until the log goes
   * above it (segments.ts): its line count and last line follow from its first line and where
   * that happened, `end`. Written down for `from` and its ancestors below `above` (−1: all) when
   * they stop taking lines, and for those still taking them when the tree is read (settle).
   */
  private writeImplied(from: number, above: number, end: number): void {
    const sections = this.table
    for (let p = from; p !== above && p >= 0; p = sections.parent.get(p)) {
      sections.lastLine.set(p, end - 1)
      sections.lines.set(p, end - sections.firstLine.get(p) - (sections.hasHead(p) ? 1 : 0))
    }
  }

  /** Where writeRunningImplied() last wrote (-1: never): reading again without a change writes nothing. */
  private impliedSection = -1
  private impliedEnd = -1

  private writeRunningImplied(): void {
    const from = this.segments.latestSection
    const end = this.lines.length
    if (from === this.impliedSection && end === this.impliedEnd) return
    this.writeImplied(from, -1, end)
    this.impliedSection = from
    this.impliedEnd = end
  }

  /**
   * Line `i` reached `s`'s subtree, its counts owed: `s` and its ancestors that had no line yet
   * take it as their last at once, since a section's first own line asks whether its subtree has
   * one (extendRun). Each section is touched so once; above one that was, all were.
   */
  private touch(s: number, i: number): void {
    const sections = this.table
    for (let p = s; p >= 0 && sections.lastLine.get(p) < sections.firstLine.get(p); p = sections.parent.get(p)) sections.lastLine.set(p, i)
  }

  private addErrors(s: number, count: number, firstError: number): void {
    const sections = this.table
    sections.errors.add(s, count)
    if (sections.firstError.get(s) < 0) sections.firstError.set(s, firstError)
  }

  private extendRun(s: number, i: number, count: number): void {
    const sections = this.table
    this.segments.addLines(s, i, count)
    // (while nesting, a section's first line is where it opened: the first of its subtree)
    if (!this.segments.nesting && sections.lastLine.get(s) < sections.firstLine.get(s)) sections.firstLine.set(s, i)
    this.markDirty(s)
  }

  private markFailed(s: number): void {
    // a failed section opens its ancestors even without error lines (those above one marked
    // before are marked: a chain of failures is walked once)
    for (let p = s; p >= 0 && !this.table.failedBelow(p); p = this.table.parent.get(p)) this.table.setFailedBelow(p)
  }

  /** The addon's tree writer, made at its first use (null: no addon). */
  private writer: NativeTreeWriter | null | undefined

  /**
   * The writer, where it may play the index's records into this tree now: while the log nests,
   * and no one wants to hear of each section (follow mode) or to time it.
   */
  nativeWriter(): NativeTreeWriter | null {
    if (!this.nativeWrites || !this.segments.nesting || this.onOpen !== undefined || this.onClose !== undefined || this.now !== undefined) return null
    if (this.writer === undefined) {
      const addon = loadNativePassThrough()
      this.writer = addon === null ? null : new NativeTreeWriter(addon, [...this.table.writerColumns(), this.dirty.chunkList, this.sizeOk.chunkList, ...this.segments.writerColumns()])
    }
    return this.writer
  }

  /**
   * Plays the words the writer's state says into the tree as TreeOutput's direct mode would (its
   * pending run and the cursor in the state too), up to the first the writer leaves to JavaScript.
   */
  playNative(writer: NativeTreeWriter, words: Int32Array): void {
    const st = writer.state
    const sections = this.table.length
    const from = st[TreeSlot.Word]!
    this.lines.writerState(st)
    this.table.writerState(st)
    this.segments.writerState(st)
    st[TreeSlot.SectionRoom] = Math.min(st[TreeSlot.SectionRoom]!, this.foldColumns.room)
    st[TreeSlot.PendingHead] = this.pendingHead
    st[TreeSlot.Depth] = this.stack.length
    st[TreeSlot.Eager] = Math.min(this.eagerLevels, MAX_EAGER)
    st[TreeSlot.Shift] = COLUMN_CHUNK_SHIFT
    writer.play(words, this.stack, this.lines.lastChunk)
    this.lines.afterWriter(st)
    this.table.afterWriter(st)
    this.segments.afterWriter(st)
    this.pendingHead = st[TreeSlot.PendingHead]!
    // (what markDirty does for each change: the fold model's cached descent is of no more use)
    if (st[TreeSlot.Word]! > from) this.foldVersion++
    // a nest's decoder id is its section's (openNest)
    for (let s = sections; s < this.table.length; s++) this.byDecoderId.set(s, s)
  }

  /** Input ended: sections still open are unclosed. */
  finish(): void {
    for (const t of this.stack.slice(1)) {
      this.table.setStatus(t, 'unclosed')
      this.noteUnclosed(t)
    }
    this.stack.length = 1
    this.done = true
  }

  /** The newest section finish() marked unclosed: a log of millions of sections need not be searched for it. */
  private lastUnclosed = -1

  private noteUnclosed(s: number): void {
    if (s > this.lastUnclosed) this.lastUnclosed = s
  }

  /** The newest section whose status is `unclosed`, or -1. */
  private innermostUnclosed(): number {
    const s = this.lastUnclosed
    if (s < 0 || this.table.status(s) === 'unclosed') return s
    // its status changed since (a close or status event after the end): look for the one before it
    for (let x = s - 1; x > 0; x--) if (this.table.status(x) === 'unclosed') return x
    return -1
  }

  /** The chain of open (still running) sections, innermost last. */
  get running(): readonly number[] {
    return this.stack.slice(1)
  }

  /** Whether section `s` is in the running chain (without copying it: a log may nest deep). */
  isRunning(s: number): boolean {
    return s > 0 && this.stack.lastIndexOf(s) > 0
  }

  // ---- fold model -------------------------------------------------------------------------

  /**
   * Content of `s` changed: its prefix sums and size, and its ancestors', are stale. Stops at a
   * section whose size is already stale: its ancestors are too (a size is only computed after
   * those of its open children), or it is closed and its parent does not depend on its content.
   */
  private markDirty(s: number): void {
    this.foldVersion++
    for (let p = s; p >= 0 && (this.sizeOk.get(p) === 1 || this.dirty.get(p) === 0); p = this.table.parent.get(p)) {
      this.dirty.set(p, 1)
      this.sizeOk.set(p, 0)
    }
  }

  private markDirtyAll(s: number): void {
    this.foldVersion++
    for (let p = s; p >= 0; p = this.table.parent.get(p)) {
      this.dirty.set(p, 1)
      this.sizeOk.set(p, 0)
    }
  }

  /**
   * Brings `s`'s prefix sums and size up to date, after the sizes of its open children that are
   * stale (see refresh).
   */
  private ensure(s: number): void {
    if (this.dirty.get(s) === 1) this.refresh(s, true)
  }

  /** Visible rows of a section, its header included (root has none). */
  sizeOf(s: number): number {
    if (s !== 0 && !this.isOpen(s)) return 1
    this.settle()
    if (this.sizeOk.get(s) !== 1) this.refresh(s, false)
    return this.size.get(s)
  }

  /**
   * Brings `s`'s size up to date (and its prefix sums, with `prefix`), after those of its open
   * children whose size is stale: depth first with a stack of its own, since a log may nest
   * deeper than the call stack. Below `s` only sizes are needed: a section of at most
   * SCAN_SEGMENTS segments is summed on the way, without prefix sums (they stay stale; rowsBefore
   * and segmentAtRow scan its few segments instead), so a chain of thousands of nests costs one
   * pass down and back, not an array per level.
   */
  private refresh(s: number, prefix: boolean): void {
    // per section being summed: its id, the segment to look at next, its rows so far
    const stack = this.refreshStack
    const bottom = stack.length // (a size asked for while summing starts a walk of its own above)
    stack.push(s, 0, 0)
    while (stack.length > bottom) {
      const top = stack.length - 3
      const x = stack[top]!
      const view = this.segments.view(x)
      const count = view.count
      let i = stack[top + 1]!
      let sum = stack[top + 2]!
      for (; i < count; i++) {
        const v = startOf(view, i)
        if (v >= 0) sum += lengthOf(view, i)
        else if (!this.isOpen(-v)) sum += 1
        else if (this.sizeOk.get(-v) === 1) sum += this.size.get(-v)
        else break
      }
      if (i < count) {
        // the child's size first: this segment is looked at again, and counted, on the way back
        stack[top + 1] = i
        stack[top + 2] = sum
        stack.push(-startOf(view, i), 0, 0)
        continue
      }
      stack.pop()
      stack.pop()
      stack.pop()
      if (count > SCAN_SEGMENTS || (prefix && x === s)) this.sumSegments(x)
      else {
        this.size.set(x, (x === 0 ? 0 : 1) + sum)
        this.sizeOk.set(x, 1)
      }
    }
  }
  private readonly refreshStack: number[] = []

  /** `s`'s prefix sums and size, its open children's sizes being up to date. */
  private sumSegments(s: number): void {
    const view = this.segments.view(s)
    const count = view.count
    const pref = (this.pref[s] ??= [])
    // (setting an array's length costs even when it does not change it)
    if (pref.length !== count + 1) pref.length = count + 1
    let sum = 0
    pref[0] = 0
    for (let i = 0; i < count; i++) {
      const v = startOf(view, i)
      sum += v >= 0 ? lengthOf(view, i) : this.sizeOf(-v)
      pref[i + 1] = sum
    }
    this.dirty.set(s, 0)
    this.size.set(s, (s === 0 ? 0 : 1) + sum)
    this.sizeOk.set(s, 1)
  }

  /** Rows of `s`'s content (below its header) before its segment i; `view` is s's. */
  private rowsBefore(s: number, view: SegmentView, i: number): number {
    if (view.count > SCAN_SEGMENTS) {
      this.ensure(s)
      return this.pref[s]![i]!
    }
    let sum = 0
    for (let k = 0; k < i; k++) {
      const v = startOf(view, k)
      sum += v >= 0 ? lengthOf(view, k) : this.sizeOf(-v)
    }
    return sum
  }

  /**
   * The segment of `s` (`view` is s's) that holds row `rr` of its content (or its last, as a
   * search of the prefix sums answers past the end); segmentRow is set to the row where that
   * segment starts.
   */
  private segmentAtRow(s: number, view: SegmentView, rr: number): number {
    if (view.count > SCAN_SEGMENTS) {
      this.ensure(s)
      const pref = this.pref[s]!
      const i = lastAtMost(pref.length - 1, (k) => pref[k]!, rr)
      this.segmentRow = pref[i]!
      return i
    }
    let sum = 0
    let i = 0
    for (; i < view.count - 1; i++) {
      const v = startOf(view, i)
      const rows = v >= 0 ? lengthOf(view, i) : this.sizeOf(-v)
      if (rr < sum + rows) break
      sum += rows
    }
    this.segmentRow = sum
    return i
  }
  private segmentRow = 0

  /**
   * Every section's size from the fold state (fold-passes.ts); prefix sums are left stale, to be
   * rebuilt only for the sections a frame visits.
   */
  private recomputeSizes(): void {
    this.foldVersion++
    const sections = this.table
    this.dirty.fill(1)
    foldSizes(this.foldSizeColumns, sections.length, SectionTable.HEAD_FLAG)
  }

  private readonly foldSizeColumns: FoldColumns = {
    parent: this.table.parent, lines: this.table.lines, flags: this.table.flagColumn,
    open: this.openFlag, size: this.size, sizeOk: this.sizeOk,
  }

  get rowCount(): number {
    return this.sizeOf(0)
  }

  setOpen(s: number, open: boolean, manual = false): void {
    if (s === 0) return
    if (manual) this.manualFlag.set(s, 1)
    if (this.isOpen(s) === open) return
    this.openFlag.set(s, open ? 1 : 0)
    // its parent's content changed (a header and its rows, or the header alone): as markDirty
    // says, the walk up may stop at a size already stale (follow mode opens and closes every
    // section of a chain 30,000 deep as it arrives: a walk to the root each time was quadratic)
    this.markDirty(this.table.parent.get(s))
  }

  /**
   * Sets the open flag of a section and its ancestors, up to one already in `walked` (whose
   * ancestors are open too), and returns the lowest it changed, or -1. Sizes are left for the
   * caller to mark stale once: a log may nest tens of thousands deep.
   */
  private openFlags(s: number, walked?: Set<number>): number {
    let lowest = -1
    for (let p = s; p > 0 && !(walked?.has(p) ?? false); p = this.table.parent.get(p)) {
      walked?.add(p)
      if (this.isOpen(p)) continue
      this.openFlag.set(p, 1)
      if (lowest < 0) lowest = p
    }
    return lowest
  }

  /** Whether section `s` is unfolded (the root always is). */
  isOpen(s: number): boolean {
    return this.openFlag.get(s) === 1
  }

  /** The user toggled the section: automatic folding (follow) leaves it alone. */
  isManual(s: number): boolean {
    return this.manualFlag.get(s) === 1
  }

  /** Sets every section's fold state from a predicate, or to `open` (zR, zM): O(sections). */
  setAll(pred: ((s: number) => boolean) | boolean, clearManual = true): void {
    this.settle()
    const count = this.table.length
    if (typeof pred === 'boolean') {
      // sections 1 … count − 1 only: those made later start closed, as ever
      for (let c = 0; c < chunksFor(count); c++) this.openFlag.chunk(c).fill(pred ? 1 : 0, c === 0 ? 1 : 0, entriesInChunk(c, count))
    } else for (let s = 1; s < count; s++) this.openFlag.set(s, pred(s) ? 1 : 0)
    if (clearManual) this.manualFlag.fill(0)
    if (pred === false) {
      // all closed: the frame's sizes come from the root's list alone, computed when asked
      this.foldVersion++
      this.dirty.fill(1)
      this.sizeOk.fill(0)
    } else this.recomputeSizes()
  }

  /**
   * Fold levels (zr, zm): with `open`, every section at depth ≤ `level` opens (the root's
   * sections are at depth 1); without, every one deeper closes; the others keep their state, and
   * the user's toggles stay theirs. O(sections).
   */
  setLevel(level: number, open: boolean): void {
    this.settle()
    foldLevels(this.table.parent, this.openFlag, this.table.length, level, open)
    this.recomputeSizes()
  }

  /** Failure-aware default: a section is open iff its subtree holds an error or it failed. */
  foldDefault(): void {
    this.settle()
    // (sections 1 … count − 1: the root is always open)
    this.table.holdsFailureAll(this.openFlag)
    this.manualFlag.fill(0)
    if (this.done && this.table.errors.get(0) > 0) {
      // the innermost unclosed section at EOF of a failed build is expanded too
      const s = this.innermostUnclosed()
      if (s > 0) this.openFlags(s)
    }
    // running sections and their ancestors, innermost first: each chain is walked once
    const walked = new Set<number>()
    for (let k = this.stack.length - 1; k > 0; k--) this.openFlags(this.stack[k]!, walked)
    this.recomputeSizes()
  }

  /** Opens every ancestor of a section (not the section itself). */
  reveal(s: number): void {
    const lowest = this.openFlags(this.table.parent.get(s))
    if (lowest > 0) this.markDirtyAll(this.table.parent.get(lowest))
  }

  /** Opens the path to a line (its own section included, unless the line is that section's head). */
  revealLine(line: number): void {
    const s = this.lines.section(line)
    if (this.table.head(s) === line) this.reveal(s)
    else {
      this.reveal(s)
      this.setOpen(s, true)
    }
  }

  isVisibleLine(line: number): boolean {
    const s = this.lines.section(line)
    return this.outermostClosed(this.table.head(s) === line ? this.table.parent.get(s) : s) < 0
  }

  /** Bumped by every change to sizes or content lists: rowAt's last descent is then out of date. */
  private foldVersion = 0
  /**
   * rowAt's last descent: the open sections it went through, root first, and the row where each
   * one's content starts. A frame asks for consecutive rows, and a log may nest thousands deep:
   * the next row starts from the deepest of them that holds it.
   */
  private readonly path = new SectionRows()
  private pathVersion = -1

  /**
   * Whether section `s`, `depth` deep, is on rowAt's last descent (at place `depth`) while that
   * descent is up to date. Such a section is open, and so are its ancestors; its content starts at
   * path.rows[depth]: walks up the ancestors stop at one.
   */
  private onPath(s: number, depth: number): boolean {
    return this.pathVersion === this.foldVersion && depth < this.path.length && this.path.sections[depth] === s
  }

  /** The descent, up to date: as it was, or only the root (content from row 0) after a change. */
  private currentPath(): SectionRows {
    if (this.pathVersion !== this.foldVersion) {
      this.path.length = 1
      this.pathVersion = this.foldVersion
    }
    return this.path
  }

  /** The row at visible position r. */
  rowAt(r: number): Row | undefined {
    this.settle()
    if (r < 0 || r >= this.rowCount) return undefined
    const path = this.currentPath()
    // the open sections on the path have their sizes (they had when it was walked, and nothing changed since)
    let k = path.length - 1
    for (; k > 0; k--) if (r >= path.rows[k]! && r < path.rows[k]! + this.sizeOf(path.sections[k]!) - 1) break
    path.length = k + 1
    let s = path.sections[k]!
    let rr = r - path.rows[k]!
    for (;;) {
      const view = this.segments.view(s)
      const i = this.segmentAtRow(s, view, rr)
      const v = startOf(view, i)
      const offset = rr - this.segmentRow
      if (v >= 0) return { line: v + offset }
      if (offset === 0) return { header: -v }
      // an open child: its content starts on the row below its header
      s = -v
      rr = offset - 1
      path.push(s, r - rr)
    }
  }

  /**
   * Row of a section's header (its ancestors must be open). A loop up the ancestors, not
   * recursion: a log may nest deeper than the call stack goes. It stops at one on rowAt's descent,
   * whose content row is known, and the ancestors it walked become the descent's lower part: the
   * frame that shows the section asks for the rows around it next.
   */
  rowOfHeader(s: number): number {
    this.settle()
    if (s === 0) return -1
    const walked = this.walkedAncestors
    walked.length = 0
    let row = 0
    let depth = this.table.depth(s)
    for (let x = s; x !== 0; depth--) {
      if (this.onPath(x, depth)) {
        row += this.path.rows[depth]! - 1
        break
      }
      const p = this.table.parent.get(x)
      const view = this.segments.view(p)
      const rows = this.rowsBefore(p, view, this.segments.positionIn(view, x)) + (p === 0 ? 0 : 1)
      // each ancestor with the rows from its content's start (its header's, for the root: the first row) to s's header
      walked.push(p, rows)
      row += rows
      x = p
    }
    if (walked.length > 1) this.extendPath(walked, row, depth)
    return row
  }

  /** rowOfHeader's walk: the ancestors of a section, lowest first, each with the rows it adds. */
  private readonly walkedAncestors = new SectionRows()

  /**
   * Makes the ancestors rowOfHeader walked the descent's lower part, below the last of them — the
   * root, or one on the descent, `depth` deep: each one's content starts on the row below its
   * header, which lies the rows it and those below it add above `row`.
   */
  private extendPath(walked: SectionRows, row: number, depth: number): void {
    const path = this.currentPath()
    // the walk ended at place `depth` (the last one walked): the others follow it, the top one first
    path.length = depth + 1
    let below = 0 // the rows the ancestors from the one being placed down to the lowest add
    for (let k = 0; k < walked.length - 1; k++) below += walked.rows[k]!
    for (let k = walked.length - 2; k >= 0; k--) {
      path.push(walked.sections[k]!, row - below + 1)
      below -= walked.rows[k]!
    }
  }

  /**
   * The outermost closed section among `s` and its ancestors, whose header stands in for what
   * they fold away; -1 when all are open.
   */
  outermostClosed(s: number): number {
    const parent = this.table.parent
    let closed = -1
    // an ancestor on rowAt's descent is open, and so are all above it
    for (let p = s, depth = this.table.depth(s); p > 0 && !this.onPath(p, depth); p = parent.get(p), depth--) if (!this.isOpen(p)) closed = p
    return closed
  }

  /** Row of a line, or of the header of the nearest closed ancestor when it is folded away. */
  rowOfLine(line: number): number {
    this.settle()
    const s0 = this.lines.section(line)
    const isHead = this.table.head(s0) === line
    // nearest visible container
    const visibleHeader = this.outermostClosed(isHead ? this.table.parent.get(s0) : s0)
    if (visibleHeader > 0) return this.rowOfHeader(visibleHeader)
    if (isHead) return this.rowOfHeader(s0)
    const view = this.segments.view(s0)
    let i = lastAtMost(view.count, (k) => keyOf(view, k), line)
    for (; i > 0; i--) {
      const a = startOf(view, i)
      if (a >= 0 && a <= line && line < a + lengthOf(view, i)) break
    }
    return (s0 === 0 ? 0 : this.rowOfHeader(s0) + 1) + this.rowsBefore(s0, view, i) + (line - startOf(view, i))
  }

  /** The row that shows line `line`: its section's header when it is the head line. */
  rowForLine(line: number): Row {
    const s = this.lines.section(line)
    return this.table.head(s) === line ? { header: s } : { line }
  }

  /** The innermost section that contains a visible row (for the breadcrumb). */
  sectionOfRow(row: Row): number {
    if (row.header !== undefined) return row.header
    return this.lines.section(row.line)
  }

  ancestors(s: number): number[] {
    const out: number[] = []
    for (let p = s; p > 0; p = this.table.parent.get(p)) out.push(p)
    return out.reverse()
  }

  /** Whether a section has child sections. */
  hasChildren(s: number): boolean {
    return this.segments.hasChildren(s)
  }

  /** Direct child sections, in order. */
  children(s: number): number[] {
    return this.segments.children(s)
  }

  /** Approximate bytes held by the index. */
  get byteSize(): number {
    return this.lines.byteSize + this.table.byteSize + this.segments.byteSize + this.foldColumns.byteSize + this.byDecoderId.byteSize
  }
}
