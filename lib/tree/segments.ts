/**
 * Every section's content list — runs of consecutive direct lines and child sections, in order —
 * kept in one set of typed arrays as linked lists, so that a section costs no JS array of its own
 * (three arrays per section were most of the tree's heap and of its garbage-collection time on
 * logs with a section every few lines). A section's list is laid out contiguously only when it is
 * looked at (`view`), which the fold model does for the sections on screen.
 */

/** A section's segments, contiguous: start ≥ 0 is a run of `length` lines from line `start`; start < 0 is child section −start. */
export interface SegmentView {
  count: number
  start: Float64Array
  length: Float64Array
  /** The first line index of each segment (a run's start, a child's first line): sorted. */
  key: Float64Array
}

const NONE = -1

function grownFloat64(a: Float64Array, min: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(min, a.length * 2))
  b.set(a)
  return b
}

function grownInt32(a: Int32Array, min: number, fill = 0): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(min, a.length * 2))
  b.set(a)
  if (fill !== 0) b.fill(fill, a.length)
  return b
}

export class SegmentStore {
  // per segment
  private segStart = new Float64Array(1024)
  private segLength = new Float64Array(1024)
  private segNext = new Int32Array(1024)
  private segCount = 0
  // per section
  private first = new Int32Array(256).fill(NONE)
  private last = new Int32Array(256).fill(NONE)
  private counts = new Int32Array(256)
  /** The key of a section's own segment in its parent: its first line. */
  private childKey = new Float64Array(256)
  private readonly views: Array<SegmentView | undefined> = []
  /** The view of a section is out of date (bit per section, as bytes). */
  private stale = new Uint8Array(256)
  private sectionCount = 0

  /** Registers the next section (ids are dense, from 0), whose first line will be `firstLine`. */
  addSection(firstLine: number): number {
    const s = this.sectionCount++
    if (s === this.first.length) {
      const n = s * 2
      this.first = grownInt32(this.first, n, NONE)
      this.last = grownInt32(this.last, n, NONE)
      this.counts = grownInt32(this.counts, n)
      this.childKey = grownFloat64(this.childKey, n)
      const stale = new Uint8Array(n)
      stale.set(this.stale)
      this.stale = stale
    }
    this.childKey[s] = firstLine
    this.stale[s] = 1
    return s
  }

  /** Appends child section `child` to `s`'s list; returns its position in the list. */
  appendChild(s: number, child: number): number {
    return this.append(s, -child, 0)
  }

  /** Adds `count` lines from line `i` to `s`: extends its last run when `i` continues it. */
  addLines(s: number, i: number, count: number): void {
    const tail = this.last[s]!
    this.stale[s] = 1
    if (tail !== NONE && this.segStart[tail]! >= 0 && this.segStart[tail]! + this.segLength[tail]! === i) this.segLength[tail]! += count
    else this.append(s, i, count)
  }

  /** A child's first line changed (its head line arrived): its parent's keys move with it. */
  setFirstLine(child: number, parent: number, line: number): void {
    this.childKey[child] = line
    this.stale[parent] = 1
  }

  /** Number of segments of `s`. */
  count(s: number): number {
    return this.counts[s]!
  }

  /** The child sections of `s`, in order. */
  children(s: number): number[] {
    const out: number[] = []
    for (let g = this.first[s]!; g !== NONE; g = this.segNext[g]!) if (this.segStart[g]! < 0) out.push(-this.segStart[g]!)
    return out
  }

  hasChildren(s: number): boolean {
    for (let g = this.first[s]!; g !== NONE; g = this.segNext[g]!) if (this.segStart[g]! < 0) return true
    return false
  }

  /** `s`'s segments laid out contiguously (rebuilt when they changed since the last call). */
  view(s: number): SegmentView {
    let v = this.views[s]
    if (v !== undefined && this.stale[s] === 0) return v
    const count = this.counts[s]!
    if (v === undefined || v.start.length < count) {
      const room = Math.max(4, count + (count >> 1))
      v = { count, start: new Float64Array(room), length: new Float64Array(room), key: new Float64Array(room) }
      this.views[s] = v
    }
    v.count = count
    let k = 0
    for (let g = this.first[s]!; g !== NONE; g = this.segNext[g]!, k++) {
      const start = this.segStart[g]!
      v.start[k] = start
      v.length[k] = this.segLength[g]!
      v.key[k] = start >= 0 ? start : this.childKey[-start]!
    }
    this.stale[s] = 0
    return v
  }

  /** Bytes held (allocated arrays; views of sections looked at not counted). */
  get byteSize(): number {
    return this.segStart.length * 20 + this.first.length * 21
  }

  private append(s: number, start: number, length: number): number {
    const g = this.segCount++
    if (g === this.segStart.length) {
      this.segStart = grownFloat64(this.segStart, g + 1)
      this.segLength = grownFloat64(this.segLength, g + 1)
      this.segNext = grownInt32(this.segNext, g + 1)
    }
    this.segStart[g] = start
    this.segLength[g] = length
    this.segNext[g] = NONE
    const tail = this.last[s]!
    if (tail === NONE) this.first[s] = g
    else this.segNext[tail] = g
    this.last[s] = g
    this.stale[s] = 1
    return this.counts[s]!++
  }
}
