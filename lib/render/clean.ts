import type { FramerSink, LineView } from '../dialects/build-log-framer.js'
import { CI_MARKER_PREFIXES, hasCiMarkerPrefix, MARKER_HEAD_BYTES, matchCiMarker, timestampLength } from '../dialects/ci-markers.js'
import { textHead, textWithoutSgr } from '../dialects/line-buffer.js'
import { classifyNixLine, isNixCandidate } from '../dialects/nix-line.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'
import { BEL, LF } from '../tokenizer/table.js'
import { OutputBuffer } from './output-buffer.js'
import { C1_LEAD, mayBeC1At } from './terminal-safe.js'


export interface CleanOptions {
  /** Keep handled `@nix` lines instead of dropping them (D-13). */
  keepNixLines?: boolean
  /**
   * The caller hands its input chunks over: the writer may overwrite a chunk with its own output
   * (kept bytes moved down over removed escapes), and output pieces then point into it. Saves a
   * copy per removed escape; for callers whose chunks are scratch space (the CLI's read buffer).
   */
  scratchInput?: boolean
}

/**
 * The `nixlog-clean` face: the log as a terminal shows it, minus the protocol. The framer has
 * already removed every escape but kept SGR (colour mode, or none in plain mode); this writer drops
 * handled `@nix` lines, re-emits LF only where the input had one, and removes BEL and C1 controls
 * (U+0080–U+009F, encoded C2 80–C2 9F), which terminals obey. Every other byte passes unchanged.
 *
 * Plain lines that are still slices of the input are not copied: runs of them are handed out as
 * subarrays of the input chunk, which is what makes the filter about as fast as `cat`.
 */
export class CleanWriter implements FramerSink {
  private readonly out: OutputBuffer
  private readonly belFinder = new ByteFinder(BEL)
  private readonly c1Finder = new ByteFinder(C1_LEAD, mayBeC1At)
  // Line starts the filter must look at: `@nix ` lines and CI markers that need no CR.
  private readonly nixFinder = new ByteFinder(Buffer.from('\n@nix '))
  private readonly colonsFinder = new ByteFinder(Buffer.from('\n::'))
  private readonly hashesFinder = new ByteFinder(Buffer.from('\n##'))
  private readonly travisFinder = new ByteFinder(Buffer.from('\ntravis_fold:'))
  private readonly lineStartFinders = [this.nixFinder, this.colonsFinder, this.hashesFinder, this.travisFinder]
  // The same markers after a line's timestamp (a downloaded GitHub Actions log): the needle starts
  // with the stamp's `Z `, and only a stamp from the line's start counts.
  private readonly stampedFinders = ['Z ::', 'Z ##', 'Z travis_fold:'].map((needle) => new ByteFinder(Buffer.from(needle), endsLineStamp))
  /** Absolute end of the last input chunk that held a BEL or a C1 lead byte: lines before it need sanitizing. */
  private controlsUntil = 0
  /**
   * A line cut off by an escape (p, q, s) ended in a C1 lead byte. Written as is, it would meet
   * the next line's first byte and could form a C1 control across the removed escape, so it waits
   * to see what comes next.
   */
  private heldLead = false

  constructor(private readonly options: CleanOptions = {}) {
    this.out = new OutputBuffer(options.scratchInput === true)
  }

  line(view: LineView): void {
    if (!this.options.keepNixLines && view.atLineStart && isNixCandidate(view.buf, view.start, view.end) && classifyNixLine(view.buf, view.start, view.end) !== null) return
    if (this.mayBeMarker(view) && this.isHiddenMarker(view)) return
    const withLf = view.ended === 'lf'
    const buf = view.buf as Buffer
    const start = this.releaseLead(buf, view.start, view.end)
    let end = view.end
    if (view.direct && withLf && buf[end] === LF && this.isSafe(buf, start, end + 1, view.chunkBase)) {
      this.out.run(buf, start, end + 1)
      return
    }
    if (view.ended === 'escape' && end > start && buf[end - 1] === C1_LEAD) {
      end--
      this.heldLead = true
    }
    if (view.offset < this.controlsUntil) this.out.copySafe(buf, start, end)
    else this.out.copy(buf, start, end)
    if (withLf) this.out.copy(NEWLINE, 0, 1)
  }

  /**
   * Settles a held C1 lead before output that starts at buf[start]: dropped together with a
   * follower that would make it a C1 control, written otherwise. Returns where the output starts.
   */
  private releaseLead(buf: Uint8Array, start: number, end: number): number {
    if (!this.heldLead) return start
    this.heldLead = false
    if (start < end && buf[start]! >= 0x80 && buf[start]! <= 0x9f) return start + 1
    this.out.copy(C1_LEAD_BYTE, 0, 1)
    return start
  }

  /** End of input: a held lead byte is only a lone invalid byte now, and goes out as the input had it. */
  inputEnded(): void {
    if (this.heldLead) this.releaseLead(C1_LEAD_BYTE, 0, 0)
  }

  /** Whether the line's text (without its SGR, which may sit inside a marker: spec §7) starts like a marker. */
  private mayBeMarker(view: LineView): boolean {
    if (view.beforeCr) return hasCiMarkerPrefix(view.beforeCr, 0, view.beforeCr.length)
    if (view.sgr.length === 0) return hasCiMarkerPrefix(view.buf, view.start, view.end)
    const n = textHead(view.buf, view.start, view.end, view.sgr, this.head)
    return hasCiMarkerPrefix(this.head, 0, n)
  }

  /** The first text bytes of a styled line, as many as a marker test reads. */
  private readonly head = Buffer.alloc(MARKER_HEAD_BYTES)

  /**
   * CI fold markers are structure, not text (D-22): they go, except that a GitLab section start
   * shows its header, which is what the line holds after its carriage return.
   */
  private isHiddenMarker(view: LineView): boolean {
    const marker = matchCiMarker(textOf(view), view.beforeCr ? view.beforeCr.toString('utf8') : null)
    return marker !== null && !(marker.system === 'gitlab' && marker.action === 'open')
  }

  chunk(buf: Uint8Array, base: number): void {
    // Any lead byte counts here, not only one followed by a C1 follower in the input: a line the
    // framer assembles can join a lead and a follower that a removed escape kept apart.
    if (this.belFinder.next(buf, 0, base) < buf.length || buf.indexOf(C1_LEAD) !== -1) this.controlsUntil = base + buf.length
  }

  span(buf: Uint8Array, start: number, end: number): void {
    this.out.run(buf, this.releaseLead(buf, start, end), end)
  }

  readonly passThrough = true
  readonly mustSeePrefixes = MUST_SEE_PREFIXES

  get scratchInput(): boolean {
    return this.options.scratchInput === true
  }

  /** Lines that may be `@nix` lines or CI markers are looked at whole (MUST_SEE_PREFIXES); every other line is bytes. */
  private mustSeeLine(buf: Uint8Array, start: number, end: number): boolean {
    if (buf[start] === 0x40 || hasCiMarkerPrefix(buf, start, end)) return true
    // as the C run decides: any line start it must see may follow a timestamp
    const stamp = timestampLength(buf, start, end)
    return stamp > 0 && buf[start + stamp] === 0x40
  }

  /** Where plain byte ranges must stop: at BEL or a possible C1, or before a line we must inspect. */
  spanLimit(buf: Uint8Array, from: number, end: number, base: number): number {
    if (this.mustSeeLine(buf, from, end)) return from
    let limit = this.passThroughLimit(buf, from, end, base)
    // The needles start with the LF before the line: stop after that LF.
    for (const finder of this.lineStartFinders) {
      const at = finder.next(buf, from, base)
      if (at < limit) limit = at + 1
    }
    for (const finder of this.stampedFinders) {
      const at = finder.next(buf, from, base)
      if (at < limit) limit = lineStartBefore(buf, at)
    }
    return limit
  }

  /** Where pass-through must stop apart from lines to see: at BEL or a possible C1, which lines must settle. */
  passThroughLimit(buf: Uint8Array, from: number, end: number, base: number): number {
    return Math.min(this.belFinder.next(buf, from, base), this.c1Finder.next(buf, from, base), end)
  }

  trailingStyles(buf: Uint8Array, start: number, end: number): void {
    this.out.copy(buf, this.releaseLead(buf, start, end), end)
  }

  // Structure is not the filter's business: the output is the same with or without sections.
  readonly wantsStructure: boolean = false
  open(): void {}
  close(): void {}
  diagnostic(): void {}

  /** The output produced since the last call, or null. */
  take(): Buffer | null {
    return this.out.take()
  }

  takePieces(): Buffer[] {
    return this.out.takePieces()
  }

  /** No BEL and no C1 control in buf[start, end), answered from cached scans of the input chunk. */
  private isSafe(buf: Buffer, start: number, end: number, base: number): boolean {
    return this.belFinder.next(buf, start, base) >= end && this.c1Finder.next(buf, start, base) >= end
  }

}

function lineStartBefore(buf: Uint8Array, at: number): number {
  return buf.lastIndexOf(LF, at) + 1
}

/** The `Z ` at `at` ends a timestamp that starts its line. */
function endsLineStamp(buf: Uint8Array, at: number): boolean {
  const start = lineStartBefore(buf, at)
  return timestampLength(buf, start, buf.length) === at + 2 - start
}

/** The line starts mustSeeLine() answers true for: `@nix` candidates and CI markers. */
const MUST_SEE_PREFIXES = [Buffer.from('@'), ...CI_MARKER_PREFIXES]
const NEWLINE = Buffer.from('\n')
const C1_LEAD_BYTE = Buffer.from([C1_LEAD])

/** A line's text without its inline SGR, as a string (only for the rare lines that may be markers). */
function textOf(view: LineView): string {
  return textWithoutSgr(view.buf, view.start, view.end, view.sgr, view.textLength).toString('utf8')
}
