/**
 * Finds the next occurrence of one byte in a chunk, remembering the answer so that each byte of a
 * chunk is scanned once however many times the question is asked. `base` (the chunk's absolute
 * offset) tells chunks apart, so a caller reusing one Buffer for successive chunks is safe.
 */
export class ByteFinder {
  private base = -1
  private found = -1

  constructor(private readonly byte: number) {}

  /** Index of the next `byte` at or after `from` in `buf`, or buf.length when there is none. */
  next(buf: Uint8Array, from: number, base: number): number {
    if (base !== this.base || this.found < from) {
      this.base = base
      const at = buf.indexOf(this.byte, from)
      this.found = at === -1 ? buf.length : at
    }
    return this.found
  }
}
