import type { CsiSequence } from '../tokenizer/tokenizer.js'

/**
 * The most bytes one line may hold. A longer line is cut into pieces of this size (ended `split`),
 * so a 1 GB line without a newline costs 1 MiB, not 1 GB.
 */
export const MAX_LINE_BYTES = 1 << 20

/**
 * The pending line: its text bytes with the SGR sequences that are kept as styles stored inline,
 * exactly as they will be written by the clean filter. `sgr` records where those sequences sit so
 * that text-only consumers can skip them.
 */
export class LineBuffer {
  bytes: Buffer = Buffer.allocUnsafe(4096)
  length = 0
  /** Bytes of text, excluding the inline SGR sequences. */
  textLength = 0
  /** Flat pairs [start, end) of inline SGR sequences, in order. */
  readonly sgr: number[] = []

  private reserve(extra: number): void {
    const need = this.length + extra
    if (need <= this.bytes.length) return
    let size = this.bytes.length * 2
    while (size < need) size *= 2
    const grown = Buffer.allocUnsafe(size)
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
  }

  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start
    this.reserve(n)
    this.bytes.set(src.subarray(start, end), this.length)
    this.length += n
    this.textLength += n
  }

  appendSgr(seq: CsiSequence): void {
    this.reserve(seq.byteLength)
    const start = this.length
    this.length = seq.writeTo(this.bytes, start)
    this.sgr.push(start, this.length)
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
    const sgr = this.sgr
    // Text bytes before `at` survive; count them, skipping SGR spans.
    for (let k = 0; k < sgr.length; k += 2) {
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
    sgr.length = kept
    this.length = write
    this.textLength = text
  }

  clear(): void {
    this.length = 0
    this.textLength = 0
    this.sgr.length = 0
  }

  /** Gives the buffer back to the allocator after an unusually long line. */
  shrink(): void {
    if (this.bytes.length > 65536) this.bytes = Buffer.allocUnsafe(4096)
  }
}
