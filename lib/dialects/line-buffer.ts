import { copyBytes, copyWithout, NO_BYTES } from '../bytes.js'
import type { CsiSequence } from '../tokenizer/tokenizer.js'

/**
 * The most bytes one line may hold. A longer line is cut into pieces of this size (ended `split`),
 * so a 1 GB line without a newline costs 1 MiB, not 1 GB.
 */
export const MAX_LINE_BYTES = 1 << 20

/** Flat pairs [start, end) of inline SGR sequences in a line's bytes, in a reused typed array. */
export class SgrMarks {
  data = new Int32Array(16)
  /** Numbers used (twice the number of sequences). */
  length = 0

  push(start: number, end: number): void {
    if (this.length + 2 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2)
      grown.set(this.data)
      this.data = grown
    }
    this.data[this.length++] = start
    this.data[this.length++] = end
  }
}

export const NO_SGR = new SgrMarks()

/** A line's text bytes with its inline SGR sequences left out. */
export function textWithoutSgr(buf: Uint8Array, start: number, end: number, sgr: SgrMarks, textLength: number): Buffer {
  const text = Buffer.allocUnsafe(textLength)
  copyWithout(buf, start, end, sgr.data, sgr.length, 0, text, 0)
  return text
}

/** Where a line's text starts: after the SGR sequences (kept inline, `sgr`) that open it at `start`. */
export function textStart(start: number, sgr: SgrMarks): number {
  let at = start
  for (let k = 0; k < sgr.length && sgr.data[k] === at; k += 2) at = sgr.data[k + 1]!
  return at
}

/**
 * Copies the first text bytes of buf[start, end) — inline SGR sequences skipped — into `out`, as
 * many as fit; returns their count. Enough to look at how a line's text starts without copying it.
 */
export function textHead(buf: Uint8Array, start: number, end: number, sgr: SgrMarks, out: Uint8Array): number {
  const marks = sgr.data
  let n = 0
  let at = start
  for (let k = 0; k <= sgr.length && n < out.length; k += 2) {
    const stop = k < sgr.length ? marks[k]! : end
    while (at < stop && n < out.length) out[n++] = buf[at++]!
    if (k < sgr.length) at = marks[k + 1]!
  }
  return n
}

const INITIAL_BYTES = 4096

/**
 * The pending line: its text bytes with the SGR sequences that are kept as styles stored inline,
 * exactly as they will be written by the clean filter. `sgr` records where those sequences sit so
 * that text-only consumers can skip them.
 */
export class LineBuffer {
  /**
   * Empty until the first line that must be copied: a decoder whose lines all come straight from
   * its input (internal-json makes one per build) never needs it.
   */
  bytes: Buffer = NO_BYTES
  length = 0
  /** Bytes of text, excluding the inline SGR sequences. */
  textLength = 0
  /** Flat pairs [start, end) of inline SGR sequences, in order. */
  readonly sgr = new SgrMarks()
  /** Where escapes were removed: byte positions in `bytes` (each stored as a pair [at, at]). */
  readonly removed = new SgrMarks()

  private reserve(extra: number): void {
    const need = this.length + extra
    if (need <= this.bytes.length) return
    let size = Math.max(INITIAL_BYTES, this.bytes.length * 2)
    while (size < need) size *= 2
    const grown = Buffer.allocUnsafe(size)
    copyBytes(this.bytes, 0, this.length, grown, 0)
    this.bytes = grown
  }

  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start
    this.reserve(n)
    copyBytes(src, start, end, this.bytes, this.length)
    this.length += n
    this.textLength += n
  }

  /**
   * Copies src[start, end), a line whose kept SGR sequences `sgr` already marks by their positions
   * in `src` (`sgrBytes` in all), into the empty buffer, and moves the marks with it.
   */
  adopt(src: Uint8Array, start: number, end: number, sgrBytes: number): void {
    this.append(src, start, end)
    this.textLength -= sgrBytes
    const marks = this.sgr.data
    for (let k = 0; k < this.sgr.length; k++) marks[k]! -= start
  }

  appendSgr(seq: CsiSequence): void {
    this.reserve(seq.byteLength)
    const start = this.length
    this.length = seq.writeTo(this.bytes, start)
    this.sgr.push(start, this.length)
  }

  /** A kept SGR sequence whose bytes src[start, end) are its kept form (nothing executed inside it). */
  appendSgrBytes(src: Uint8Array, start: number, end: number): void {
    this.append(src, start, end)
    this.textLength -= end - start
    this.sgr.push(this.length - (end - start), this.length)
  }

  markRemoved(): void {
    this.removed.push(this.length, this.length)
  }

  /**
   * A carriage return: drop the text after `at`, but keep the SGR sequences found there, moved to
   * `at`, so the colour state a terminal would be in survives the overwrite (D-11).
   */
  truncate(at: number): void {
    let write = at
    let kept = 0
    let text = 0
    let cursor = 0
    const sgr = this.sgr.data
    // Text bytes before `at` survive; count them, skipping SGR spans.
    for (let k = 0; k < this.sgr.length; k += 2) {
      const s = sgr[k]!
      const e = sgr[k + 1]!
      if (s < at) {
        text += s - cursor
        cursor = e
        sgr[kept++] = s
        sgr[kept++] = e
      } else {
        this.bytes.copyWithin(write, s, e)
        sgr[kept++] = write
        sgr[kept++] = write + (e - s)
        write += e - s
      }
    }
    if (cursor < at) text += at - cursor
    // Marks of removed escapes in the discarded text go with it.
    let keptRemoved = 0
    for (let k = 0; k < this.removed.length; k += 2) if (this.removed.data[k]! <= at) keptRemoved += 2
    this.removed.length = keptRemoved
    this.sgr.length = kept
    this.length = write
    this.textLength = text
  }

  /** The text (SGR removed) if it is short and starts like a CI marker (`s…`, `t…`), else null. */
  markerCandidate(max: number): Buffer | null {
    if (this.textLength === 0 || this.textLength > max) return null
    const text = textWithoutSgr(this.bytes, 0, this.length, this.sgr, this.textLength)
    return text[0] === 0x73 || text[0] === 0x74 ? text : null
  }

  clear(): void {
    this.length = 0
    this.textLength = 0
    this.sgr.length = 0
    this.removed.length = 0
  }

  /** Gives the buffer back to the allocator after an unusually long line. */
  shrink(): void {
    if (this.bytes.length > 65536) this.bytes = Buffer.allocUnsafe(INITIAL_BYTES)
  }
}
