import type { FramerSink, LineView } from '../dialects/build-log-framer.js'
import { hasCiMarkerPrefix, matchCiMarker } from '../dialects/ci-markers.js'
import { textWithoutSgr } from '../dialects/line-buffer.js'
import { classifyNixLine, isNixCandidate } from '../dialects/nix-line.js'
import { copyBytes } from '../bytes.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'
import { BEL, LF } from '../tokenizer/table.js'
import { C1_LEAD, forEachSafeRange } from './terminal-safe.js'

const OUTPUT_BLOCK = 64 * 1024
const MIN_PIECE = 4096

export interface CleanOptions {
  /** Keep handled `@nix` lines instead of dropping them (D-13). */
  keepNixLines?: boolean
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
  private readonly pieces: Buffer[] = []
  private runBuf: Buffer | null = null
  private runStart = 0
  private runEnd = 0
  private block: Buffer = Buffer.allocUnsafe(OUTPUT_BLOCK)
  private blockStart = 0
  private blockEnd = 0
  private readonly belFinder = new ByteFinder(BEL)
  private readonly c1Finder = new ByteFinder(C1_LEAD)
  // Line starts the filter must look at: `@nix ` lines and CI markers that need no CR.
  private readonly nixFinder = new ByteFinder(Buffer.from('\n@nix '))
  private readonly colonsFinder = new ByteFinder(Buffer.from('\n::'))
  private readonly hashesFinder = new ByteFinder(Buffer.from('\n##'))
  private readonly travisFinder = new ByteFinder(Buffer.from('\ntravis_fold:'))
  private readonly lineStartFinders = [this.nixFinder, this.colonsFinder, this.hashesFinder, this.travisFinder]
  /** Absolute end of the last input chunk that held a BEL or a C1 lead byte: lines before it need sanitizing. */
  private controlsUntil = 0

  constructor(private readonly options: CleanOptions = {}) {}

  line(view: LineView): void {
    if (!this.options.keepNixLines && view.atLineStart && isNixCandidate(view.buf, view.start, view.end) && classifyNixLine(view.buf, view.start, view.end) !== null) return
    if (this.mayBeMarker(view) && this.isHiddenMarker(view)) return
    const withLf = view.ended === 'lf'
    const buf = view.buf as Buffer
    if (view.direct && withLf && buf[view.end] === LF && this.isSafe(buf, view.start, view.end + 1, view.chunkBase)) {
      this.addRun(buf, view.start, view.end + 1)
      return
    }
    if (view.offset < this.controlsUntil) this.copySanitized(buf, view.start, view.end)
    else this.copy(buf, view.start, view.end)
    if (withLf) this.copy(NEWLINE, 0, 1)
  }

  private mayBeMarker(view: LineView): boolean {
    if (view.beforeCr) return hasCiMarkerPrefix(view.beforeCr, 0, view.beforeCr.length)
    const first = firstTextByte(view)
    return first !== undefined && hasCiMarkerPrefix(view.buf, first, view.end)
  }

  /**
   * CI fold markers are structure, not text (D-22): they go, except that a GitLab section start
   * shows its header, which is what the line holds after its carriage return.
   */
  private isHiddenMarker(view: LineView): boolean {
    const marker = matchCiMarker(textOf(view), view.beforeCr ? view.beforeCr.toString('utf8') : null)
    return marker !== null && !(marker.system === 'gitlab' && marker.action === 'open')
  }

  chunk(buf: Uint8Array, base: number): void {
    if (buf.indexOf(BEL) !== -1 || buf.indexOf(C1_LEAD) !== -1) this.controlsUntil = base + buf.length
  }

  span(buf: Uint8Array, start: number, end: number): void {
    this.addRun(buf as Buffer, start, end)
  }

  /** Where plain byte ranges must stop: at BEL or a possible C1, or before a line we must inspect. */
  spanLimit(buf: Uint8Array, from: number, end: number, base: number): number {
    if (buf[from] === 0x40 || hasCiMarkerPrefix(buf, from, end)) return from
    let limit = Math.min(this.belFinder.next(buf, from, base), this.c1Finder.next(buf, from, base))
    if (limit > end) limit = end
    // The needles start with the LF before the line: stop after that LF.
    for (const finder of this.lineStartFinders) {
      const at = finder.next(buf, from, base)
      if (at < limit) limit = at + 1
    }
    return limit
  }

  trailingStyles(buf: Uint8Array, start: number, end: number): void {
    this.copy(buf as Buffer, start, end)
  }

  open(): void {}
  close(): void {}
  diagnostic(): void {}

  /** The output produced since the last call, or null. */
  take(): Buffer | null {
    this.endRun()
    this.endBlock()
    const pieces = this.pieces
    if (pieces.length === 0) return null
    const out = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)
    pieces.length = 0
    return out
  }

  /** No BEL and no C1 control in buf[start, end), answered from cached scans of the input chunk. */
  private isSafe(buf: Buffer, start: number, end: number, base: number): boolean {
    if (this.belFinder.next(buf, start, base) < end) return false
    for (let at = this.c1Finder.next(buf, start, base); at < end; at = this.c1Finder.next(buf, at + 1, base)) {
      const next = buf[at + 1]
      if (next !== undefined && next >= 0x80 && next <= 0x9f) return false
    }
    return true
  }

  private addRun(buf: Buffer, start: number, end: number): void {
    if (this.runBuf === buf && this.runEnd === start) {
      this.runEnd = end
      return
    }
    this.endRun()
    this.runBuf = buf
    this.runStart = start
    this.runEnd = end
  }

  /** Long runs are handed out as they are; short ones are cheaper copied than kept as pieces. */
  private endRun(): void {
    const run = this.runBuf
    if (run === null) return
    this.runBuf = null
    if (this.runEnd - this.runStart >= MIN_PIECE) {
      this.endBlock()
      this.pieces.push(run.subarray(this.runStart, this.runEnd))
    } else {
      this.copy(run, this.runStart, this.runEnd)
    }
  }

  private endBlock(): void {
    if (this.blockEnd > this.blockStart) {
      this.pieces.push(this.block.subarray(this.blockStart, this.blockEnd))
      this.blockStart = this.blockEnd
    }
  }

  /** Copies bytes, dropping BEL and C1 controls. */
  private copySanitized(buf: Buffer, start: number, end: number): void {
    forEachSafeRange(buf, start, end, (s, e) => this.copy(buf, s, e))
  }

  private copy(buf: Buffer, start: number, end: number): void {
    const n = end - start
    if (n <= 0) return
    this.endRun()
    if (this.blockEnd + n > this.block.length) {
      this.endBlock()
      if (n > OUTPUT_BLOCK / 2) {
        this.pieces.push(Buffer.from(buf.subarray(start, end)))
        return
      }
      this.block = Buffer.allocUnsafe(OUTPUT_BLOCK)
      this.blockStart = this.blockEnd = 0
    }
    this.blockEnd += copyBytes(buf, start, end, this.block, this.blockEnd)
  }
}

const NEWLINE = Buffer.from('\n')

/** Index of the first text byte (after leading inline SGR), or undefined for an empty line. */
function firstTextByte(view: LineView): number | undefined {
  let at = view.start
  for (let k = 0; k < view.sgr.length && view.sgr.data[k] === at; k += 2) at = view.sgr.data[k + 1]!
  return at < view.end ? at : undefined
}

/** A line's text without its inline SGR, as a string (only for the rare lines that may be markers). */
function textOf(view: LineView): string {
  return textWithoutSgr(view.buf, view.start, view.end, view.sgr, view.textLength).toString('utf8')
}
