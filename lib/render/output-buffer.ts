import { copyBytes } from '../bytes.js'
import { forEachSafeRange } from './terminal-safe.js'

const OUTPUT_BLOCK = 64 * 1024
/** Runs shorter than this are cheaper copied than handed out as pieces of their own. */
const MIN_PIECE = 4096

/**
 * Collects a byte face's output between two `take()` calls: small writes are copied into 64 KiB
 * blocks (no allocation per line), long runs of the input are handed out as subarrays (no copy).
 */
export class OutputBuffer {
  private readonly pieces: Buffer[] = []
  private runBuf: Uint8Array | null = null
  private runStart = 0
  private runEnd = 0
  private block: Buffer = Buffer.allocUnsafe(OUTPUT_BLOCK)
  private blockStart = 0
  private blockEnd = 0

  /**
   * @param compactInput runs may be moved down inside the caller's buffer (see CleanOptions.scratchInput).
   */
  constructor(private readonly compactInput = false) {}

  /** A range of the caller's input that stays valid until take(); contiguous runs are merged. */
  run(buf: Uint8Array, start: number, end: number): void {
    if (this.runBuf === buf) {
      if (this.runEnd === start) {
        this.runEnd = end
        return
      }
      if (this.compactInput) {
        // Output never gets ahead of input, and nobody reads input behind the caller's position.
        buf.copyWithin(this.runEnd, start, end)
        this.runEnd += end - start
        return
      }
    }
    this.endRun()
    this.runBuf = buf
    this.runStart = start
    this.runEnd = end
  }

  copy(buf: Uint8Array, start: number, end: number): void {
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

  /** Copies bytes that go to a terminal, dropping BEL and C1 controls. */
  copySafe(buf: Uint8Array, start: number, end: number): void {
    forEachSafeRange(buf, start, end, (s, e) => this.copy(buf, s, e))
  }

  /** The output since the last call, or null. */
  take(): Buffer | null {
    const pieces = this.takePieces()
    if (pieces.length === 0) return null
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)
  }

  /**
   * The output since the last call as pieces to write in order, without joining them (a writer
   * that writes pieces one by one saves copying the input runs again). Runs of the input stay
   * valid only until the caller's next write into the face.
   */
  takePieces(): Buffer[] {
    this.endRun()
    this.endBlock()
    const pieces = this.pieces.slice()
    this.pieces.length = 0
    return pieces
  }

  private endRun(): void {
    const run = this.runBuf
    if (run === null) return
    this.runBuf = null
    if (this.runEnd - this.runStart >= MIN_PIECE) {
      this.endBlock()
      this.pieces.push(Buffer.from(run.buffer, run.byteOffset + this.runStart, this.runEnd - this.runStart))
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
}
