import { lastAtMost } from './bisect.js'
import type { Severity } from './severity.js'

/**
 * Growable typed arrays in fixed chunks: appending never copies what is already stored (no
 * doubling peak), and there is no 4 GiB limit. 9 bytes per line: a Uint32 raw offset from its
 * chunk's first line, a Uint32 section id and a Uint8 flag byte.
 */

const SHIFT = 16
const CHUNK = 1 << SHIFT
const MASK = CHUNK - 1
/** The largest offset from a chunk's first line a Uint32 holds. */
const MAX_DELTA = 0xffffffff
const NO_OFFSETS = new Uint32Array(0)

export const LINE_ERROR = 1
export const LINE_WARNING = 2
export const LINE_DIM = 4
export const LINE_HEAD = 8
export const LINE_HIT = 16
export const LINE_FILTER = 32

/** The line flag of a severity (severity.ts). */
export function severityBits(severity: Severity): number {
  return severity === 'error' ? LINE_ERROR : severity === 'warning' ? LINE_WARNING : 0
}

export class LineTable {
  /** Per chunk, the raw offset of its first line, which its lines' offsets count from. */
  private readonly bases: number[] = []
  private readonly offsets: Uint32Array[] = []
  /**
   * Per chunk, its lines' offsets as absolute Float64 instead, where one lies 4 GiB or more past
   * the chunk's first line (65,536 lines; escapes alone can fill that) or before it.
   */
  private readonly wideOffsets: Array<Float64Array | undefined> = []
  private readonly sections: Uint32Array[] = []
  private readonly flagChunks: Uint8Array[] = []
  /** Per chunk, the OR of its lines' flags: a search for a flag skips chunks without it. */
  private readonly chunkFlags: number[] = []
  length = 0
  /** End of the raw bytes of the last line (the start of the next line, when there is one). */
  lastEnd = 0

  push(offset: number, section: number, flags: number, end: number): number {
    const i = this.length
    const c = i >>> SHIFT
    if (c === this.offsets.length) {
      this.bases.push(offset)
      this.offsets.push(new Uint32Array(CHUNK))
      this.wideOffsets.push(undefined)
      this.sections.push(new Uint32Array(CHUNK))
      this.flagChunks.push(new Uint8Array(CHUNK))
      this.chunkFlags.push(0)
    }
    this.chunkFlags[c]! |= flags
    const k = i & MASK
    const delta = offset - this.bases[c]!
    const wide = this.wideOffsets[c] ?? (delta >= 0 && delta <= MAX_DELTA ? undefined : this.widen(c, k))
    if (wide === undefined) this.offsets[c]![k] = delta
    else wide[k] = offset
    this.sections[c]![k] = section
    this.flagChunks[c]![k] = flags
    this.length = i + 1
    this.lastEnd = end
    return i
  }

  offset(i: number): number {
    const c = i >>> SHIFT
    const wide = this.wideOffsets[c]
    return wide === undefined ? this.bases[c]! + this.offsets[c]![i & MASK]! : wide[i & MASK]!
  }

  /** Chunk c's first `count` offsets made absolute Float64 (see wideOffsets); its Uint32 offsets go. */
  private widen(c: number, count: number): Float64Array {
    const wide = new Float64Array(CHUNK)
    const base = this.bases[c]!
    const narrow = this.offsets[c]!
    for (let k = 0; k < count; k++) wide[k] = base + narrow[k]!
    this.offsets[c] = NO_OFFSETS
    this.wideOffsets[c] = wide
    return wide
  }

  /** End of line i's raw range: the next line's start (escapes between lines belong to the next). */
  end(i: number): number {
    return i + 1 < this.length ? this.offset(i + 1) : this.lastEnd
  }

  section(i: number): number {
    return this.sections[i >>> SHIFT]![i & MASK]!
  }

  flags(i: number): number {
    return this.flagChunks[i >>> SHIFT]![i & MASK]!
  }

  setFlag(i: number, bit: number): void {
    this.flagChunks[i >>> SHIFT]![i & MASK]! |= bit
    this.chunkFlags[i >>> SHIFT]! |= bit
  }

  clearFlagAll(bit: number): void {
    // four flag bytes at a time (chunks are 64 Ki bytes, a multiple of 4)
    const keep = (~bit & 0xff) * 0x01010101
    for (let c = 0; c < this.chunkFlags.length; c++) this.chunkFlags[c]! &= ~bit
    for (const f of this.flagChunks) {
      const w = new Uint32Array(f.buffer, f.byteOffset, f.length >>> 2)
      for (let k = 0; k < w.length; k++) w[k]! &= keep
    }
  }

  /** First line at or after `from` (or before, when `dir` is -1) whose flags have any of `bits`. */
  findFlag(from: number, dir: 1 | -1, bits: number): number {
    if (dir === 1) {
      for (let i = Math.max(0, from); i < this.length; ) {
        const c = i >>> SHIFT
        const chunkEnd = Math.min(this.length, (c + 1) << SHIFT)
        if ((this.chunkFlags[c]! & bits) !== 0) {
          const f = this.flagChunks[c]!
          for (; i < chunkEnd; i++) if ((f[i & MASK]! & bits) !== 0) return i
        }
        i = chunkEnd
      }
    } else {
      for (let i = Math.min(from, this.length - 1); i >= 0; ) {
        const c = i >>> SHIFT
        const chunkStart = c << SHIFT
        if ((this.chunkFlags[c]! & bits) !== 0) {
          const f = this.flagChunks[c]!
          for (; i >= chunkStart; i--) if ((f[i & MASK]! & bits) !== 0) return i
        }
        i = chunkStart - 1
      }
    }
    return -1
  }

  /** The line whose raw range holds byte `pos` (binary search over offsets). */
  lineAtByte(pos: number): number {
    if (this.length === 0) return -1
    return lastAtMost(this.length, (i) => this.offset(i), pos)
  }

  /** Bytes held by the table (allocated chunks). */
  get byteSize(): number {
    let wide = 0
    for (const chunk of this.wideOffsets) if (chunk !== undefined) wide++
    return this.offsets.length * CHUNK * 9 + wide * CHUNK * (8 - 4)
  }
}
