/**
 * The index fast path's output written down (IndexRecorder) and played back into another output
 * (replayIndex): how a worker thread indexes a later part of a file for the main thread's tree.
 *
 * A record is a run of int32 words. Most lines start where the last one ended and fit in one
 * word, their length, whether they are a nest's head, and their flags (`length << 4 | head << 3 |
 * flags`, never negative); everything else is a negative tag and its arguments, offsets given from
 * the end of the last line (the cursor):
 *   LINE  flags, offset − cursor, length    a plain line elsewhere or longer than one word holds
 *   HEAD  flags, offset − cursor, length    the same for a nest's head line
 *   OPEN  priority, offset − cursor
 *   CLOSE offset − cursor
 *   CLOSE_HERE                              a close right at the cursor (after a line's LF)
 * A legacy log's section is then five words (its close, its open, its head line) and its other
 * lines one each: about 7 bytes a line in transit on the legacy corpus, against the tree's 14.
 */

import type { LineView } from '../dialects/build-log-framer.js'
import type { IndexOutput } from './index-output.js'

const enum Tag {
  Line = -1,
  Head = -2,
  Open = -3,
  Close = -4,
  CloseHere = -5,
}

/** A packed line's flags (LINE_ERROR, LINE_WARNING, LINE_DIM), then its head bit, then its length. */
const FLAG_BITS = 3
const FLAG_MASK = (1 << FLAG_BITS) - 1
const HEAD_BIT = 1 << FLAG_BITS
const LENGTH_SHIFT = FLAG_BITS + 1
/** The longest line one word holds. */
const PACKED_LENGTH = 2 ** (31 - LENGTH_SHIFT) - 1
const INT32_MAX = 2 ** 31 - 1

/** One stretch of input written down, from `from` (a line start) to `to` (the end of its last line). */
export interface IndexRecord {
  from: number
  to: number
  words: Int32Array
  count: number
  /** Legacy nests opened less those closed, over the record. */
  depth: number
  /** The lowest that count reached: a record closing nests opened before it reaches below 0. */
  minDepth: number
}

/**
 * An IndexOutput that writes down what it is given. What it cannot carry — a line for the
 * dialect's decoder or a diagnostic (what they do depends on the receiving side's state), an
 * offset too far for a word — leaves a gap: `broken` says so, the words since the last take() are
 * of no use, and writing starts again at restartAt(), where the receiving side can take over.
 */
export class IndexRecorder implements IndexOutput {
  private words = new Int32Array(4096)
  private count = 0
  private from: number
  private cursor: number
  private depth = 0
  private minDepth = 0
  broken = false

  constructor(start: number) {
    this.from = this.cursor = start
  }

  /** Words written since the last take(). */
  get size(): number {
    return this.count
  }

  /** Where the words since the last take() start. */
  get start(): number {
    return this.from
  }

  /** What was written since the last take(), up to `to` (where the last line ended); starts afresh. */
  take(to: number): IndexRecord {
    const record: IndexRecord = { from: this.from, to, words: this.words.slice(0, this.count), count: this.count, depth: this.depth, minDepth: this.minDepth }
    this.count = this.depth = this.minDepth = 0
    this.from = to
    return record
  }

  private room(words: number): boolean {
    if (this.broken) return false
    if (this.count + words > this.words.length) {
      const grown = new Int32Array(2 * (this.count + words))
      grown.set(this.words.subarray(0, this.count))
      this.words = grown
    }
    return true
  }

  private line(tag: Tag, offset: number, end: number, flags: number): void {
    const gap = offset - this.cursor
    const length = end - offset
    if (gap > INT32_MAX || length > INT32_MAX) return this.break()
    if (!this.room(4)) return
    const words = this.words
    if (gap === 0 && length <= PACKED_LENGTH && flags <= FLAG_MASK) words[this.count++] = (length << LENGTH_SHIFT) | (tag === Tag.Head ? HEAD_BIT : 0) | flags
    else {
      words[this.count++] = tag
      words[this.count++] = flags
      words[this.count++] = gap
      words[this.count++] = length
    }
    this.cursor = end
  }

  plainLine(offset: number, end: number, flags: number): void {
    this.line(Tag.Line, offset, end, flags)
  }

  headLine(offset: number, end: number, flags: number): void {
    this.line(Tag.Head, offset, end, flags)
  }

  open(priority: number, offset: number): void {
    if (offset - this.cursor > INT32_MAX) return this.break()
    if (!this.room(3)) return
    this.words[this.count++] = Tag.Open
    this.words[this.count++] = priority
    this.words[this.count++] = offset - this.cursor
    this.depth++
  }

  close(offset: number): void {
    if (offset - this.cursor > INT32_MAX) return this.break()
    if (!this.room(2)) return
    if (offset === this.cursor) this.words[this.count++] = Tag.CloseHere
    else {
      this.words[this.count++] = Tag.Close
      this.words[this.count++] = offset - this.cursor
    }
    if (--this.depth < this.minDepth) this.minDepth = this.depth
  }

  diagnostic(): void {
    this.break()
  }

  dialectLine(_view: LineView): void {
    this.break()
  }

  addWords(words: Int32Array, count: number, from: number, to: number, depth: number, minDepth: number): void {
    // they count from the end of the last line written, as this record's do
    if (from !== this.cursor) return this.break()
    if (!this.room(count)) return
    this.words.set(words.subarray(0, count), this.count)
    this.count += count
    this.cursor = to
    if (this.depth + minDepth < this.minDepth) this.minDepth = this.depth + minDepth
    this.depth += depth
  }

  flush(): void {}

  end(): void {
    this.break()
  }

  private break(): void {
    this.broken = true
  }

  /** Drops what was written since the last take(): the next record starts at `offset`. */
  restartAt(offset: number): void {
    this.broken = false
    this.count = this.depth = this.minDepth = 0
    this.from = this.cursor = offset
  }
}

/** Plays a record into `out`, the calls IndexRecorder was given, in order (as its words: a tree's output may play them in C). */
export function replayIndex(record: IndexRecord, out: IndexOutput): void {
  out.addWords(record.words, record.count, record.from, record.to, record.depth, record.minDepth)
  out.flush()
}

/** How many words the call at words[k] takes. */
export function wordsAt(words: Int32Array, k: number): number {
  const word = words[k]!
  return word >= 0 || word === Tag.CloseHere ? 1 : word === Tag.Close ? 2 : word === Tag.Open ? 3 : 4
}

/**
 * Plays words[0, count) into `out` as the calls they stand for, the first line starting at
 * `cursor`; returns where a line after them would start (the end of the last).
 */
export function playWords(words: Int32Array, count: number, cursor: number, out: IndexOutput): number {
  for (let k = 0; k < count; ) {
    const word = words[k++]!
    if (word >= 0) {
      const end = cursor + (word >>> LENGTH_SHIFT)
      if ((word & HEAD_BIT) !== 0) out.headLine(cursor, end, word & FLAG_MASK)
      else out.plainLine(cursor, end, word & FLAG_MASK)
      cursor = end
      continue
    }
    switch (word as Tag) {
      case Tag.Line:
      case Tag.Head: {
        const offset = cursor + words[k + 1]!
        const end = offset + words[k + 2]!
        if (word === Tag.Head) out.headLine(offset, end, words[k]!)
        else out.plainLine(offset, end, words[k]!)
        cursor = end
        k += 3
        break
      }
      case Tag.Open:
        out.open(words[k]!, cursor + words[k + 1]!)
        k += 2
        break
      case Tag.Close:
        out.close(cursor + words[k]!)
        k += 1
        break
      case Tag.CloseHere:
        out.close(cursor)
        break
    }
  }
  return cursor
}
