/**
 * Finds the next occurrence of a byte (or a short byte sequence) in a chunk, remembering the answer so that each byte of a
 * chunk is scanned once however many times the question is asked (as long as the questions move
 * forward; one that goes back searches again). `base` (the chunk's absolute
 * offset) tells chunks apart, so a caller reusing one Buffer for successive chunks is safe.
 */
export class ByteFinder {
  private base = -1
  private from = 0
  private found = -1

  /**
   * A byte, or a byte sequence (found with Buffer#indexOf, as fast as memmem); `accept`, when
   * given, turns down occurrences that are not the real thing (a lead byte without its follower).
   */
  constructor(
    private readonly needle: number | Buffer,
    private readonly accept?: (buf: Uint8Array, at: number) => boolean,
  ) {}

  /** Index of the next occurrence at or after `from` in `buf`, or buf.length when there is none. */
  next(buf: Uint8Array, from: number, base: number): number {
    // The answer holds for any `from` between the last search's start and what it found.
    if (base !== this.base || this.found < from || from < this.from) {
      this.base = base
      this.from = from
      let at = this.search(buf, from)
      if (this.accept) while (at !== -1 && !this.accept(buf, at)) at = this.search(buf, at + 1)
      this.found = at === -1 ? buf.length : at
    }
    return this.found
  }

  private search(buf: Uint8Array, from: number): number {
    return typeof this.needle === 'number' ? buf.indexOf(this.needle, from) : (Buffer.prototype.indexOf.call(buf, this.needle, from) as number)
  }
}
