/**
 * Counters shared by every dialect decoder working on one input, so that section ids and line
 * numbers stay unique and in stream order even when several decoders (one per internal-json build
 * activity) feed the same event stream.
 */
export class DecodeContext {
  private sectionCounter = 0
  private lineCounter = 0

  nextSectionId(): number {
    return ++this.sectionCounter
  }

  /** Ids up to `last` are taken: sections opened without a decoder (the index's direct path). */
  takeSectionIdsUpTo(last: number): void {
    if (last > this.sectionCounter) this.sectionCounter = last
  }

  nextLineIndex(): number {
    return ++this.lineCounter
  }
}
