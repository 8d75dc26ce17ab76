/**
 * Every section's content list — runs of consecutive direct lines and child sections, in order —
 * kept in one set of columns (column.ts) as linked lists, so that a section costs no JS array of its own
 * (three arrays per section were most of the tree's heap and of its garbage-collection time on
 * logs with a section every few lines). A section's list is laid out contiguously only when it is
 * looked at (`view`), which the fold model does for the sections on screen.
 */

import { ColumnGroup, int32Column, uint8Column } from './column.js'

/** A section's segments, contiguous: start ≥ 0 is a run of `length` lines from line `start`; start < 0 is child section −start. */
export interface SegmentView {
  count: number
  start: Int32Array
  length: Int32Array
  /** The first line index of each segment (a run's start, a child's first line): sorted. */
  key: Int32Array
}

const NONE = -1

export class SegmentStore {
  // per segment
  private readonly segStart = int32Column()
  private readonly segLength = int32Column()
  private readonly segNext = int32Column(NONE)
  private segCount = 0
  // per section
  private readonly first = int32Column(NONE)
  private readonly last = int32Column(NONE)
  private readonly counts = int32Column()
  /** The key of a section's own segment in its parent: its first line. */
  private readonly childKey = int32Column()
  private readonly views: Array<SegmentView | undefined> = []
  /** The view of a section is out of date (bit per section, as bytes). */
  private readonly stale = uint8Column()
  private readonly segmentColumns = new ColumnGroup([this.segStart, this.segLength, this.segNext])
  private readonly sectionColumns = new ColumnGroup([this.first, this.last, this.counts, this.childKey, this.stale])
  private sectionCount = 0

  /** Registers the next section (ids are dense, from 0), whose first line will be `firstLine`. */
  addSection(firstLine: number): number {
    const s = this.sectionCount++
    this.sectionColumns.reserve(s + 1)
    this.childKey.set(s, firstLine)
    this.stale.set(s, 1)
    return s
  }

  /** Appends child section `child` to `s`'s list; returns its position in the list. */
  appendChild(s: number, child: number): number {
    return this.append(s, -child, 0)
  }

  /** Adds `count` lines from line `i` to `s`: extends its last run when `i` continues it. */
  addLines(s: number, i: number, count: number): void {
    const tail = this.last.get(s)
    this.stale.set(s, 1)
    if (tail !== NONE && this.segStart.get(tail) >= 0 && this.segStart.get(tail) + this.segLength.get(tail) === i) this.segLength.add(tail, count)
    else this.append(s, i, count)
  }

  /** A child's first line changed (its head line arrived): its parent's keys move with it. */
  setFirstLine(child: number, parent: number, line: number): void {
    this.childKey.set(child, line)
    this.stale.set(parent, 1)
  }

  /** Number of segments of `s`. */
  count(s: number): number {
    return this.counts.get(s)
  }

  /** The child sections of `s`, in order. */
  children(s: number): number[] {
    const out: number[] = []
    for (let g = this.first.get(s); g !== NONE; g = this.segNext.get(g)) if (this.segStart.get(g) < 0) out.push(-this.segStart.get(g))
    return out
  }

  hasChildren(s: number): boolean {
    for (let g = this.first.get(s); g !== NONE; g = this.segNext.get(g)) if (this.segStart.get(g) < 0) return true
    return false
  }

  /** `s`'s segments laid out contiguously (rebuilt when they changed since the last call). */
  view(s: number): SegmentView {
    let v = this.views[s]
    if (v !== undefined && this.stale.get(s) === 0) return v
    const count = this.counts.get(s)
    if (v === undefined || v.start.length < count) {
      const room = Math.max(4, count + (count >> 1))
      v = { count, start: new Int32Array(room), length: new Int32Array(room), key: new Int32Array(room) }
      this.views[s] = v
    }
    v.count = count
    let k = 0
    for (let g = this.first.get(s); g !== NONE; g = this.segNext.get(g), k++) {
      const start = this.segStart.get(g)
      v.start[k] = start
      v.length[k] = this.segLength.get(g)
      v.key[k] = start >= 0 ? start : this.childKey.get(-start)
    }
    this.stale.set(s, 0)
    return v
  }

  /** Bytes held (allocated columns; views of sections looked at not counted). */
  get byteSize(): number {
    return this.segmentColumns.byteSize + this.sectionColumns.byteSize
  }

  private append(s: number, start: number, length: number): number {
    const g = this.segCount++
    this.segmentColumns.reserve(g + 1)
    this.segStart.set(g, start)
    this.segLength.set(g, length)
    const tail = this.last.get(s)
    if (tail === NONE) this.first.set(s, g)
    else this.segNext.set(tail, g)
    this.last.set(s, g)
    this.stale.set(s, 1)
    const position = this.counts.get(s)
    this.counts.set(s, position + 1)
    return position
  }
}
