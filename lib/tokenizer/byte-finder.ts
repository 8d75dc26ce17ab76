/**
 * Finds the next occurrence of a byte (or a short byte sequence) in a chunk, remembering the answer so that each byte of a
 * chunk is scanned once however many times the question is asked. `base` (the chunk's absolute
 * offset) tells chunks apart, so a caller reusing one Buffer for successive chunks is safe.
 */
export class ByteFinder {
  private base = -1
  private found = -1

  /** A byte, or a byte sequence (found with Buffer#indexOf, as fast as memmem). */
  constructor(private readonly needle: number | Buffer) {}

  /** Index of the next occurrence at or after `from` in `buf`, or buf.length when there is none. */
  next(buf: Uint8Array, from: number, base: number): number {
    if (base !== this.base || this.found < from) {
      this.base = base
      const at = typeof this.needle === 'number' ? buf.indexOf(this.needle, from) : (Buffer.prototype.indexOf.call(buf, this.needle, from) as number)
      this.found = at === -1 ? buf.length : at
    }
    return this.found
  }
}
