/**
 * The section tree of one log and its fold state. Lines live in a LineTable (13 bytes each);
 * sections in plain arrays (one entry per section). Each section's content is a list of segments:
 * runs of consecutive direct lines and child sections, in order (segments.ts). The visible-row mapping keeps a
 * prefix array per section over its segments' visible sizes, recomputed lazily for sections marked
 * dirty, so a toggle costs O(depth · segments of the ancestors) and zR/zM cost O(sections).
 */

import type { LogEvent, SectionKind } from '../events.js'
import { looksLikeError, looksLikeWarning } from './severity.js'
import { LINE_DIM, LINE_ERROR, LINE_HEAD, LINE_WARNING, LineTable } from './lines.js'
import { lastAtMost } from './bisect.js'
import { SegmentStore } from './segments.js'

export type SectionStatus = 'open' | 'ok' | 'failed' | 'running' | 'interrupted' | 'unclosed'

export interface Section {
  id: number
  kind: SectionKind | 'root'
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
  attrs?: Record<string, string | number | boolean>
}

/**
 * Decoder section id → tree section. Decoders number their sections 1, 2, 3 …, so a dense array
 * serves them (a Map of 400,000 entries cost more than the rest of the tree); any other id goes
 * to a Map.
 */
class IdMap {
  private dense = new Int32Array(1024).fill(-1)
  private readonly sparse = new Map<number, number>()
  get(id: number): number | undefined {
    if (id >= 0 && id < DENSE_IDS && Number.isInteger(id)) {
      const v = id < this.dense.length ? this.dense[id]! : -1
      return v < 0 ? undefined : v
    }
    return this.sparse.get(id)
  }
  set(id: number, s: number): void {
    if (id >= 0 && id < DENSE_IDS && Number.isInteger(id)) {
      if (id >= this.dense.length) {
        const grown = new Int32Array(Math.min(DENSE_IDS, Math.max(id + 1, this.dense.length * 2))).fill(-1)
        grown.set(this.dense)
        this.dense = grown
      }
      this.dense[id] = s
    } else this.sparse.set(id, s)
  }
}

const DENSE_IDS = 1 << 26

/** A visible row: a header (section id) or a line (line index). */
export type Row = { header: number; line?: undefined } | { line: number; header?: undefined }

export class LogTree {
  readonly lines = new LineTable()
  readonly sections: Section[] = []
  private readonly segments = new SegmentStore()
  // Per section, in typed arrays that double as sections are added (a push onto each of ten large
  // JS arrays cost more than the rest of a section). Fold commands read these for every section.
  private capacity = 1024
  private segIdx = new Float64Array(this.capacity) // index of a section's segment in its parent
  private readonly pref: Array<number[] | undefined> = [] // allocated when first needed
  private dirty = new Uint8Array(this.capacity) // 1: pref is stale
  // visible rows of each open section (header included), valid where sizeOk; closed sections are 1 row
  private size = new Float64Array(this.capacity)
  private sizeOk = new Uint8Array(this.capacity)
  private direct = new Float64Array(this.capacity) // content lines directly in a section (its runs)
  private parentOf = new Int32Array(this.capacity)
  private bad = new Uint8Array(this.capacity) // 1: errors > 0 or failedBelow (the failure-aware default opens it)
  private manualFlag = new Uint8Array(this.capacity) // 1: the user toggled it; automatic folding leaves it alone
  readonly open: boolean[] = []
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
  now: (() => number) | undefined

  constructor() {
    this.addSection('root', '', -1, 0)
    this.open[0] = true
  }

  private addSection(kind: Section['kind'], title: string, parent: number, offsetLine: number): number {
    const id = this.sections.length
    this.sections.push({
      id, kind, title, parent, depth: parent < 0 ? 0 : this.sections[parent]!.depth + 1, head: -1,
      firstLine: offsetLine, lastLine: offsetLine - 1, lines: 0, errors: 0, warnings: 0, firstError: -1,
      status: 'open', hits: 0, failedBelow: false,
    })
    this.segments.addSection(offsetLine)
    if (id === this.capacity) this.growColumns()
    this.dirty[id] = 1
    this.size[id] = 1
    this.parentOf[id] = parent
    this.open.push(false)
    this.segIdx[id] = -1
    if (parent >= 0) {
      this.segIdx[id] = this.segments.appendChild(parent, id)
      this.markDirty(parent)
    }
    return id
  }

  private growColumns(): void {
    const n = this.capacity * 2
    const grow = <T extends Uint8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n)
      b.set(a)
      return b
    }
    this.segIdx = grow(this.segIdx, (k) => new Float64Array(k))
    this.dirty = grow(this.dirty, (k) => new Uint8Array(k))
    this.size = grow(this.size, (k) => new Float64Array(k))
    this.sizeOk = grow(this.sizeOk, (k) => new Uint8Array(k))
    this.direct = grow(this.direct, (k) => new Float64Array(k))
    this.parentOf = grow(this.parentOf, (k) => new Int32Array(k))
    this.bad = grow(this.bad, (k) => new Uint8Array(k))
    this.manualFlag = grow(this.manualFlag, (k) => new Uint8Array(k))
    this.capacity = n
  }

  get current(): number {
    return this.stack[this.stack.length - 1]!
  }

  /** Feeds one decoder event. Sections are found by id (concurrent sections close in any order). */
  add(e: LogEvent): void {
    switch (e.type) {
      case 'open': {
        const parent = (e.parent !== undefined ? this.byDecoderId.get(e.parent) : undefined) ?? (e.parent === 0 ? 0 : this.current)
        const s = this.addSection(e.kind, e.title ?? '', parent, this.lines.length)
        if (e.attrs) this.sections[s]!.attrs = { ...e.attrs }
        if (this.now) this.sections[s]!.startedAt = this.now()
        this.byDecoderId.set(e.id, s)
        this.stack.push(s)
        this.pendingHead = s
        this.onOpen?.(s)
        break
      }
      case 'line': {
        const s = (e.section !== undefined ? (e.section === 0 ? 0 : this.byDecoderId.get(e.section)) : undefined) ?? this.current
        const text = e.text.toString('utf8')
        let flags = 0
        const err = e.error || e.level === 0 || looksLikeError(text)
        const warn = !err && (e.warning || e.level === 1 || looksLikeWarning(text))
        if (err) flags |= LINE_ERROR
        if (warn) flags |= LINE_WARNING
        if (e.priority >= 3) flags |= LINE_DIM
        this.addLine(s, e.offset, e.end, flags, e.head, text)
        break
      }
      case 'close': {
        const s = this.byDecoderId.get(e.id)
        if (s === undefined) break
        const at = this.stack.lastIndexOf(s)
        if (at === this.stack.length - 1 && at > 0) this.stack.pop()
        else if (at > 0) this.stack.splice(at, 1)
        const sec = this.sections[s]!
        sec.status = e.status ?? 'ok'
        if (this.now) sec.endedAt = this.now()
        if (sec.status === 'failed') this.markFailed(s)
        this.onClose?.(s)
        break
      }
      case 'status': {
        const s = this.byDecoderId.get(e.id)
        if (s === undefined) break
        Object.assign((this.sections[s]!.attrs ??= {}), e.attrs)
        const st = e.attrs.status
        if (st === 'failed') {
          this.sections[s]!.status = 'failed'
          this.markFailed(s)
        }
        break
      }
      default:
        break
    }
  }

  /** Whether a head line added to `s` now would become its title (so the caller need not copy the text otherwise). */
  wantsTitle(s: number): boolean {
    const sec = this.sections[s]!
    return s !== 0 && sec.head < 0 && sec.lines === 0 && this.pendingHead === s && !sec.title
  }

  /**
   * Appends one line to section `s` (the index fast path calls this without an event). `flags`
   * holds LINE_ERROR / LINE_WARNING / LINE_DIM; `head` says the framer saw it as a nest's head.
   * `title` is the line's text (a string or its bytes), read only when the line becomes a title.
   */
  addLine(s: number, offset: number, end: number, flags: number, head: boolean, title: string | Buffer | null): number {
    const err = (flags & LINE_ERROR) !== 0
    const warn = (flags & LINE_WARNING) !== 0
    const sec = this.sections[s]!
    const isHead = head && s !== 0 && sec.head < 0 && sec.lines === 0 && this.pendingHead === s
    if (isHead) flags |= LINE_HEAD
    const i = this.lines.push(offset, s, flags, end)
    this.pendingHead = -1
    if (isHead) {
      sec.head = i
      if (!sec.title && title !== null) {
        const text = typeof title === 'string' ? title : title.toString('utf8')
        sec.title = text.length > 300 ? text.slice(0, 300) : text
      }
      sec.firstLine = i
      this.segments.setFirstLine(s, sec.parent, i)
    } else {
      this.extendRun(s, i, 1)
    }
    for (let p = s; p >= 0; p = this.sections[p]!.parent) {
      const ps = this.sections[p]!
      if (!isHead || p !== s) ps.lines++
      ps.lastLine = i
      if (err) { ps.errors++; this.bad[p] = 1; if (ps.firstError < 0) ps.firstError = i }
      if (warn) ps.warnings++
    }
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
    for (let p = s; p >= 0; p = this.sections[p]!.parent) {
      const ps = this.sections[p]!
      ps.lines += count
      ps.lastLine = last
      if (errors > 0) { ps.errors += errors; this.bad[p] = 1; if (ps.firstError < 0) ps.firstError = firstError }
      ps.warnings += warnings
    }
  }

  private extendRun(s: number, i: number, count: number): void {
    const sec = this.sections[s]!
    this.segments.addLines(s, i, count)
    this.direct[s]! += count
    if (sec.lastLine < sec.firstLine) sec.firstLine = i
    this.markDirty(s)
  }

  private markFailed(s: number): void {
    // a failed section opens its ancestors even without error lines
    for (let p = s; p >= 0; p = this.sections[p]!.parent) {
      this.sections[p]!.failedBelow = true
      this.bad[p] = 1
    }
  }

  /** Input ended: sections still open are unclosed. */
  finish(): void {
    for (const t of this.stack.slice(1)) this.sections[t]!.status = 'unclosed'
    this.stack.length = 1
    this.done = true
  }

  /** The chain of open (still running) sections, innermost last. */
  get running(): readonly number[] {
    return this.stack.slice(1)
  }

  // ---- fold model -------------------------------------------------------------------------

  /**
   * Content of `s` changed: its prefix sums and size, and its ancestors', are stale. Stops at a
   * section whose size is already stale: its ancestors are too (a size is only computed after
   * those of its open children), or it is closed and its parent does not depend on its content.
   */
  private markDirty(s: number): void {
    for (let p = s; p >= 0 && (this.sizeOk[p] === 1 || this.dirty[p] === 0); p = this.parentOf[p]!) {
      this.dirty[p] = 1
      this.sizeOk[p] = 0
    }
  }

  private markDirtyAll(s: number): void {
    for (let p = s; p >= 0; p = this.parentOf[p]!) {
      this.dirty[p] = 1
      this.sizeOk[p] = 0
    }
  }

  private ensure(s: number): void {
    if (this.dirty[s] === 0) return
    const { count, start, length } = this.segments.view(s)
    const pref = (this.pref[s] ??= [])
    pref.length = count + 1
    let sum = 0
    pref[0] = 0
    for (let i = 0; i < count; i++) {
      const v = start[i]!
      sum += v >= 0 ? length[i]! : this.sizeOf(-v)
      pref[i + 1] = sum
    }
    this.dirty[s] = 0
    this.size[s] = (s === 0 ? 0 : 1) + sum
    this.sizeOk[s] = 1
  }

  /** Visible rows of a section, its header included (root has none). */
  sizeOf(s: number): number {
    if (s !== 0 && !this.open[s]) return 1
    if (this.sizeOk[s] !== 1) this.ensure(s)
    return this.size[s]!
  }

  /**
   * Every section's size from the fold state, bottom-up in one pass (a section's id is above its
   * parent's); prefix sums are left stale, to be rebuilt only for the sections a frame visits.
   */
  private recomputeSizes(): void {
    const count = this.sections.length
    const below = new Float64Array(count) // rows of the children, summed into the parent
    const open = this.open
    for (let s = count - 1; s >= 0; s--) {
      this.dirty[s] = 1
      const p = this.parentOf[s]!
      if (s !== 0 && !open[s]) {
        this.sizeOk[s] = 0
        below[p]! += 1
        continue
      }
      const size = (s === 0 ? 0 : 1) + this.direct[s]! + below[s]!
      this.size[s] = size
      this.sizeOk[s] = 1
      if (p >= 0) below[p]! += size
    }
  }

  get rowCount(): number {
    return this.sizeOf(0)
  }

  setOpen(s: number, open: boolean, manual = false): void {
    if (s === 0) return
    if (manual) this.manualFlag[s] = 1
    if (this.open[s] === open) return
    this.open[s] = open
    this.markDirtyAll(this.parentOf[s]!)
  }

  /** The user toggled the section: automatic folding (follow) leaves it alone. */
  isManual(s: number): boolean {
    return this.manualFlag[s] === 1
  }

  /** Sets every section's fold state from a predicate: O(sections). */
  setAll(pred: (s: Section) => boolean, clearManual = true): void {
    for (let s = 1; s < this.sections.length; s++) {
      this.open[s] = pred(this.sections[s]!)
    }
    if (clearManual) this.manualFlag.fill(0)
    this.recomputeSizes()
  }

  /** Failure-aware default: a section is open iff its subtree holds an error or it failed. */
  foldDefault(): void {
    const open = this.open
    const bad = this.bad
    for (let s = 1; s < this.sections.length; s++) open[s] = bad[s] === 1
    this.manualFlag.fill(0)
    this.recomputeSizes()
    if (this.done && this.sections[0]!.errors > 0) {
      // the innermost unclosed section at EOF of a failed build is expanded too
      for (let s = this.sections.length - 1; s > 0; s--) {
        if (this.sections[s]!.status === 'unclosed') {
          this.reveal(s)
          this.setOpen(s, true)
          break
        }
      }
    }
    for (const s of this.running) this.setOpen(s, true)
  }

  /** Opens every ancestor of a section (not the section itself). */
  reveal(s: number): void {
    for (let p = this.sections[s]!.parent; p > 0; p = this.sections[p]!.parent) this.setOpen(p, true)
  }

  /** Opens the path to a line (its own section included, unless the line is that section's head). */
  revealLine(line: number): void {
    const s = this.lines.section(line)
    if (this.sections[s]!.head === line) this.reveal(s)
    else {
      this.reveal(s)
      this.setOpen(s, true)
    }
  }

  isVisibleLine(line: number): boolean {
    const s = this.lines.section(line)
    const sec = this.sections[s]!
    let p = sec.head === line ? sec.parent : s
    for (; p > 0; p = this.sections[p]!.parent) if (!this.open[p]) return false
    return true
  }

  /** The row at visible position r. */
  rowAt(r: number): Row | undefined {
    if (r < 0 || r >= this.rowCount) return undefined
    let s = 0
    for (;;) {
      this.ensure(s)
      const pref = this.pref[s]!
      const lo = lastAtMost(pref.length - 1, (i) => pref[i]!, r)
      const v = this.segments.view(s).start[lo]!
      const rr = r - pref[lo]!
      if (v >= 0) return { line: v + rr }
      if (rr === 0) return { header: -v }
      s = -v
      r = rr - 1
    }
  }

  /** Row of a section's header (its ancestors must be open). */
  rowOfHeader(s: number): number {
    if (s === 0) return -1
    const p = this.sections[s]!.parent
    this.ensure(p)
    return this.contentStart(p) + this.pref[p]![this.segIdx[s]!]!
  }

  private contentStart(s: number): number {
    return s === 0 ? 0 : this.rowOfHeader(s) + 1
  }

  /** Row of a line, or of the header of the nearest closed ancestor when it is folded away. */
  rowOfLine(line: number): number {
    const s0 = this.lines.section(line)
    const sec = this.sections[s0]!
    // nearest visible container
    let visibleHeader = -1
    for (let p = sec.head === line ? sec.parent : s0; p > 0; p = this.sections[p]!.parent) if (!this.open[p]) visibleHeader = p
    if (visibleHeader > 0) return this.rowOfHeader(visibleHeader)
    if (sec.head === line) return this.rowOfHeader(s0)
    const { count, key, start: a, length: n } = this.segments.view(s0)
    let i = lastAtMost(count, (k) => key[k]!, line)
    while (i > 0 && !(a[i]! >= 0 && a[i]! <= line && line < a[i]! + n[i]!)) i--
    this.ensure(s0)
    return this.contentStart(s0) + this.pref[s0]![i]! + (line - a[i]!)
  }

  /** The innermost section that contains a visible row (for the breadcrumb). */
  sectionOfRow(row: Row): number {
    if (row.header !== undefined) return row.header
    return this.lines.section(row.line)
  }

  ancestors(s: number): number[] {
    const out: number[] = []
    for (let p = s; p > 0; p = this.sections[p]!.parent) out.unshift(p)
    return out
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
    return this.lines.byteSize + this.sections.length * 200 + this.segments.byteSize
  }
}
