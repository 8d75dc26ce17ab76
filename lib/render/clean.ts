import type { FramerSink, LineView } from '../dialects/build-log-framer.js'
import { classifyNixLine, isNixCandidate } from '../dialects/nix-line.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'
import { BEL, LF } from '../tokenizer/table.js'

const C1_LEAD = 0xc2
const OUTPUT_BLOCK = 64 * 1024

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

  constructor(private readonly options: CleanOptions = {}) {}

  line(view: LineView): void {
    if (!this.options.keepNixLines && view.atLineStart && isNixCandidate(view.buf, view.start, view.end) && classifyNixLine(view.buf, view.start, view.end) !== null) return
    const withLf = view.ended === 'lf'
    const buf = view.buf as Buffer
    if (view.direct && withLf && buf[view.end] === LF && this.isSafe(buf, view.start, view.end + 1, view.chunkBase)) {
      this.addRun(buf, view.start, view.end + 1)
      return
    }
    this.copySanitized(buf, view.start, view.end)
    if (withLf) this.copy(NEWLINE, 0, 1)
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
    this.endBlock()
    this.runBuf = buf
    this.runStart = start
    this.runEnd = end
  }

  private endRun(): void {
    if (this.runBuf !== null) {
      this.pieces.push(this.runBuf.subarray(this.runStart, this.runEnd))
      this.runBuf = null
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
    let cursor = start
    for (let i = start; i < end; i++) {
      const b = buf[i]!
      if (b === BEL) {
        this.copy(buf, cursor, i)
        cursor = i + 1
      } else if (b === C1_LEAD && i + 1 < end && buf[i + 1]! >= 0x80 && buf[i + 1]! <= 0x9f) {
        this.copy(buf, cursor, i)
        cursor = i + 2
        i++
      }
    }
    this.copy(buf, cursor, end)
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
    this.blockEnd += buf.copy(this.block, this.blockEnd, start, end)
  }
}

const NEWLINE = Buffer.from('\n')
