/**
 * Every section's content list — runs of consecutive direct lines and child sections, in order —
 * for the fold model, which lays out the lists of the sections on screen (`view`).
 *
 * While the log nests — every line and every new section lands in the subtree of the last section
 * that took one (legacy escapes, `@nix` phases, CI markers always do) — the lists are implied: a
 * section's children are its own chain of siblings, each child covers the lines from its first to
 * its last, and the lines between them are the section's own. Only the sibling chain is kept,
 * 4 bytes a section. The first line or section that breaks the pattern (interleaved builds,
 * concurrent activities) turns the store explicit: each list is then kept as a linked list of
 * segments in columns (column.ts), rebuilt once from the line table, and extended from then on.
 */

import { ColumnGroup, int32Column, uint8Column } from './column.js'
import { TreeSlot } from './native-tree.js'
import type { LineTable } from './lines.js'
import type { SectionTable } from './section-table.js'

/**
 * A section's segments, contiguous: start ≥ 0 is a run of `length` lines from line `start`; start
 * < 0 is child section −start; the key is the first line index of each segment (a run's start, a
 * child's first line), sorted. Stored as (start, length, key) triples in one typed array: a chain
 * of thousands of nests makes a view for each level, and typed arrays are costly to make.
 */
export interface SegmentView {
  count: number
  seg: Int32Array
}

export function startOf(view: SegmentView, i: number): number {
  return view.seg[3 * i]!
}

export function lengthOf(view: SegmentView, i: number): number {
  return view.seg[3 * i + 1]!
}

export function keyOf(view: SegmentView, i: number): number {
  return view.seg[3 * i + 2]!
}

function setSegment(view: SegmentView, i: number, start: number, length: number, key: number): void {
  const seg = view.seg
  seg[3 * i] = start
  seg[3 * i + 1] = length
  seg[3 * i + 2] = key
}

const NONE = -1

/** The lists as linked segments (after the log stopped nesting). */
class ExplicitLists {
  // per segment
  readonly segStart = int32Column()
  readonly segLength = int32Column()
  readonly segNext = int32Column(NONE)
  private segCount = 0
  // per section
  readonly first = int32Column(NONE)
  readonly last = int32Column(NONE)
  readonly counts = int32Column()
  /** The key of a section's own segment in its parent: its first line when it opened, or its head line. */
  readonly childKey = int32Column()
  private readonly segmentColumns = new ColumnGroup([this.segStart, this.segLength, this.segNext])
  /** For the byte count: the store grows these with its own per-section columns. */
  private readonly sectionColumns = new ColumnGroup([this.first, this.last, this.counts, this.childKey])

  /** Appends a segment to `s`'s list. */
  append(s: number, start: number, length: number): void {
    const g = this.segCount++
    this.segmentColumns.reserve(g + 1)
    this.segStart.set(g, start)
    this.segLength.set(g, length)
    const tail = this.last.get(s)
    if (tail === NONE) this.first.set(s, g)
    else this.segNext.set(tail, g)
    this.last.set(s, g)
    this.counts.add(s, 1)
  }

  /** Adds `count` lines from line `i` to `s`: extends its last run when `i` continues it. */
  addLines(s: number, i: number, count: number): void {
    const tail = this.last.get(s)
    if (tail !== NONE && this.segStart.get(tail) >= 0 && this.segStart.get(tail) + this.segLength.get(tail) === i) this.segLength.add(tail, count)
    else this.append(s, i, count)
  }

  get byteSize(): number {
    return this.segmentColumns.byteSize + this.sectionColumns.byteSize
  }
}

export class SegmentStore {
  /** The next sibling of each section, while the log nests (then null: the lists are explicit). */
  private nextSibling: ReturnType<typeof int32Column> | null = int32Column(NONE)
  private explicit: ExplicitLists | null = null
  /** The view of a section is out of date. */
  private readonly stale = uint8Column()
  private sectionColumns = new ColumnGroup([this.stale, this.nextSibling!])
  private sectionCount = 0
  private readonly views: Array<SegmentView | undefined> = []
  /** While nesting: the section of the latest line or the latest new section … */
  private latest = 0
  /** … and the latest new section. */
  private newest = 0

  constructor(
    private readonly sections: SectionTable,
    private readonly lines: LineTable,
    /** False: explicit lists from the start (tests compare both). */
    nested = true,
    /**
     * While nesting, section `from` and its ancestors below `above` (−1: all of them) take no line
     * from line `end` on: the latest line or new section went above them, or the log stopped
     * nesting. (LogTree's line counts are implied by the nesting too, and written down then.)
     */
    private readonly leave: (from: number, above: number, end: number) => void = () => {},
  ) {
    if (!nested) this.makeExplicit(0, 0)
  }

  /** Whether the lists are still implied by the nesting. */
  get nesting(): boolean {
    return this.explicit === null
  }

  /** Registers the next section (ids are dense, from 0; its first line in the table already). */
  addSection(): void {
    const s = this.sectionCount++
    this.sectionColumns.reserve(s + 1)
    this.stale.set(s, 1)
  }

  /** Appends child section `child` to `s`'s list. */
  appendChild(s: number, child: number): void {
    this.stale.set(s, 1)
    if (this.explicit === null && !this.sections.within(this.latest, s)) this.stopNesting(this.lines.length, child)
    const explicit = this.explicit
    if (explicit !== null) {
      explicit.childKey.set(child, this.sections.firstLine.get(child))
      explicit.append(s, -child, 0)
      return
    }
    // the previous child is the newest section's ancestor (or itself) under s: nothing came after it
    let previous = this.newest
    while (previous !== s && this.sections.parent.get(previous) !== s) previous = this.sections.parent.get(previous)
    if (previous !== s) this.nextSibling!.set(previous, child)
    this.leave(this.latest, s, this.lines.length)
    this.latest = this.newest = child
  }

  /** Adds `count` lines from line `i` to `s`: extends its last run when `i` continues it. */
  addLines(s: number, i: number, count: number): void {
    this.stale.set(s, 1)
    // while nesting, every line since a section opened is in its subtree: its first own line does not move its key
    if (this.explicit === null && !this.sections.within(this.latest, s)) this.stopNesting(i, this.sectionCount)
    if (this.explicit !== null) this.explicit.addLines(s, i, count)
    else {
      if (s !== this.latest) this.leave(this.latest, s, i)
      this.latest = s
    }
  }

  /**
   * A child's head line arrived, at line `line`. While nesting it is the first line since the child
   * opened (the tree takes a head only then), so the child's key, its first line, stays.
   */
  setFirstLine(child: number, parent: number, line: number): void {
    this.stale.set(parent, 1)
    this.explicit?.childKey.set(child, line)
  }

  /** The child sections of `s`, in order. */
  children(s: number): number[] {
    const out: number[] = []
    if (this.explicit !== null) {
      const e = this.explicit
      for (let g = e.first.get(s); g !== NONE; g = e.segNext.get(g)) if (e.segStart.get(g) < 0) out.push(-e.segStart.get(g))
    } else for (let c = this.firstChild(s); c !== NONE; c = this.nextSibling!.get(c)) out.push(c)
    return out
  }

  hasChildren(s: number): boolean {
    if (this.explicit === null) return this.firstChild(s) !== NONE
    const e = this.explicit
    for (let g = e.first.get(s); g !== NONE; g = e.segNext.get(g)) if (e.segStart.get(g) < 0) return true
    return false
  }

  /**
   * Position of child section `c`'s segment in `view`, its parent's current view: a binary search
   * by key, and among equal keys by id (sections with the same key opened in id order, before any
   * run that starts there).
   */
  positionIn(view: SegmentView, c: number): number {
    const key = this.explicit === null ? this.sections.firstLine.get(c) : this.explicit.childKey.get(c)
    let lo = 0
    let hi = view.count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const k = keyOf(view, mid)
      const start = startOf(view, mid)
      // a run sorts after the children with its key
      const before = k < key || (k === key && start < 0 && -start < c)
      if (before) lo = mid + 1
      else if (k === key && start === -c) return mid
      else hi = mid - 1
    }
    return -1
  }

  /** `s`'s segments laid out contiguously (rebuilt when they changed since the last call). */
  view(s: number): SegmentView {
    const v = this.views[s]
    if (v !== undefined && this.stale.get(s) === 0) return v
    const out = this.explicit === null ? this.impliedView(s, v) : this.explicitView(s, v)
    this.views[s] = out
    this.stale.set(s, 0)
    return out
  }

  /** Bytes held (allocated columns; views of sections looked at not counted). */
  get byteSize(): number {
    return this.stale.byteSize + (this.nextSibling?.byteSize ?? 0) + (this.explicit?.byteSize ?? 0)
  }

  private explicitView(s: number, v: SegmentView | undefined): SegmentView {
    const e = this.explicit!
    const out = room(v, e.counts.get(s))
    let k = 0
    for (let g = e.first.get(s); g !== NONE; g = e.segNext.get(g), k++) {
      const start = e.segStart.get(g)
      setSegment(out, k, start, e.segLength.get(g), start >= 0 ? start : e.childKey.get(-start))
    }
    out.count = k
    return out
  }

  /** The runs between the children, each child covering its first line to its last. */
  private impliedView(s: number, v: SegmentView | undefined): SegmentView {
    const sections = this.sections
    const next = this.nextSibling!
    let children = 0
    for (let c = this.firstChild(s); c !== NONE; c = next.get(c)) children++
    const out = room(v, 2 * children + 1)
    let k = 0
    // the section's own head line is its header, not content
    let at = sections.firstLine.get(s) + (sections.head(s) >= 0 ? 1 : 0)
    for (let c = this.firstChild(s); c !== NONE; c = next.get(c)) {
      const first = sections.firstLine.get(c)
      if (first > at) setSegment(out, k++, at, first - at, at)
      setSegment(out, k++, -c, 0, first)
      at = sections.lastLine.get(c) + 1 // an empty child's last line is the one before its first
    }
    const end = sections.lastLine.get(s) + 1
    if (end > at) setSegment(out, k++, at, end - at, at)
    out.count = k
    return out
  }

  /** The first child of `s` while nesting: the next section, when it is one of s's. */
  private firstChild(s: number): number {
    const c = s + 1
    return c < this.sectionCount && this.sections.parent.get(c) === s ? c : NONE
  }

  /** The log stops nesting at line `lineLimit` and section `sectionLimit` (see makeExplicit). */
  private stopNesting(lineLimit: number, sectionLimit: number): void {
    this.leave(this.latest, -1, lineLimit)
    this.makeExplicit(lineLimit, sectionLimit)
  }

  /** The store's part of the addon's tree writer (native-tree.ts), while nesting: its columns in native/tree-writer.c's order (C_STALE, C_NEXT) … */
  writerColumns(): Array<readonly Int32Array[] | readonly Uint8Array[]> {
    return [this.stale.chunkList, this.nextSibling!.chunkList]
  }

  /** … the sections it has room for, the latest and the newest … */
  writerState(st: Float64Array): void {
    st[TreeSlot.SectionRoom] = Math.min(st[TreeSlot.SectionRoom]!, this.sectionColumns.room)
    st[TreeSlot.Latest] = this.latest
    st[TreeSlot.Newest] = this.newest
  }

  /** … and what the writer did: sections added (their lists implied), the latest and newest moved. */
  afterWriter(st: Float64Array): void {
    this.sectionCount = st[TreeSlot.Sections]!
    this.latest = st[TreeSlot.Latest]!
    this.newest = st[TreeSlot.Newest]!
  }

  /** While nesting, the section of the latest line or new section: it and its ancestors may take more lines. */
  get latestSection(): number {
    return this.latest
  }

  /**
   * The log stopped nesting: the lists become explicit, replayed from lines 0 … lineLimit − 1 and
   * sections 1 … sectionLimit − 1 (those the caller has already told of): each section joined its
   * parent's list when it opened (at its first line, after the sections before it), each line that
   * is not a head joined its section's list when it came.
   */
  private makeExplicit(lineLimit: number, sectionLimit: number): void {
    const explicit = new ExplicitLists()
    const sections = this.sections
    const lines = this.lines
    const count = this.sectionCount
    this.explicit = explicit
    this.nextSibling = null
    this.sectionColumns = new ColumnGroup([this.stale, explicit.first, explicit.last, explicit.counts, explicit.childKey])
    this.sectionColumns.reserve(count)
    let next = 1
    const open = (upTo: number): void => {
      for (; next < sectionLimit && sections.firstLine.get(next) <= upTo; next++) {
        explicit.childKey.set(next, sections.firstLine.get(next))
        explicit.append(sections.parent.get(next), -next, 0)
      }
    }
    for (let i = 0; i < lineLimit; i++) {
      open(i)
      const s = lines.section(i)
      if (sections.head(s) !== i) explicit.addLines(s, i, 1)
    }
    open(Infinity)
    this.stale.fill(1)
  }
}

/** A view with room for `count` segments: `v`'s arrays when they are long enough. */
function room(v: SegmentView | undefined, count: number): SegmentView {
  if (v !== undefined && v.seg.length >= 3 * count) return v
  const n = Math.max(4, count + (count >> 1))
  return { count: 0, seg: new Int32Array(3 * n) }
}
