import { lastAtMost } from './bisect.js'
import type { Severity } from './severity.js'
import { TreeSlot } from './native-tree.js'

/**
 * Growable typed arrays in fixed chunks: appending never copies what is already stored (no
 * doubling peak), and there is no 4 GiB limit. About 7 bytes per line: a Uint32 raw offset from its
 * chunk's first line, a Uint8 flag byte, and a Uint16 code for the line's section in its chunk's
 * dictionary (SectionCodes).
 */

const SHIFT = 16
const CHUNK = 1 << SHIFT
const MASK = CHUNK - 1
/** The largest offset from a chunk's first line a Uint32 holds. */
const MAX_DELTA = 0xffffffff
const NO_OFFSETS = new Uint32Array(0)
const NO_CHUNK = { offsets: NO_OFFSETS, flags: new Uint8Array(0), codes: new Uint16Array(0), dict: new Int32Array(0) }

export const LINE_ERROR = 1
export const LINE_WARNING = 2
export const LINE_DIM = 4
export const LINE_HEAD = 8
export const LINE_HIT = 16
export const LINE_FILTER = 32
/** In the failure extract (extract.ts). */
export const LINE_EXTRACT = 64

/** The line flag of a severity (severity.ts). */
export function severityBits(severity: Severity): number {
  return severity === 'error' ? LINE_ERROR : severity === 'warning' ? LINE_WARNING : 0
}

/** Section codes searched back from the newest before a section gets a new one. */
const RECENT_CODES = 8

/**
 * The sections of one chunk's lines: a Uint16 code per line into a dictionary of section ids. A
 * chunk's lines change section at most once per line, so its codes fit 16 bits whatever the ids;
 * a log goes back and forth between a section and its parent, so a section that was among the
 * last few keeps its code (legacy logs: 12,000 codes for 65,536 lines, 0.7 byte a line).
 */
class SectionCodes {
  readonly codes = new Uint16Array(CHUNK)
  private dict = new Int32Array(256)
  private size = 0

  section(k: number): number {
    return this.dict[this.codes[k]!]!
  }

  /** The largest section in the dictionary: one above it is new (a section's first lines, mostly). */
  private largest = -1

  /** The code of `section` (a new one unless it is among the recent). */
  codeOf(section: number): number {
    let dict = this.dict
    const size = this.size
    if (section <= this.largest) {
      const stop = size > RECENT_CODES ? size - RECENT_CODES : 0
      for (let c = size - 1; c >= stop; c--) if (dict[c] === section) return c
    } else this.largest = section
    if (size === dict.length) {
      dict = new Int32Array(Math.min(CHUNK, size * 2))
      dict.set(this.dict)
      this.dict = dict
    }
    dict[size] = section
    this.size = size + 1
    return size
  }

  /** The dictionary and its state, for the addon's tree writer (native-tree.ts), which appends to it in place. */
  get dictionary(): Int32Array {
    return this.dict
  }

  writerState(st: Float64Array): void {
    st[TreeSlot.DictSize] = this.size
    st[TreeSlot.Largest] = this.largest
  }

  afterWriter(st: Float64Array): void {
    this.size = st[TreeSlot.DictSize]!
    this.largest = st[TreeSlot.Largest]!
  }

  /** The chunk is full: its dictionary keeps only what it uses. */
  trim(): void {
    if (this.size < this.dict.length) this.dict = this.dict.slice(0, this.size)
  }

  get byteSize(): number {
    return this.codes.byteLength + this.dict.byteLength
  }
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
  private readonly sections: SectionCodes[] = []
  private readonly flagChunks: Uint8Array[] = []
  /** Per chunk, the OR of its lines' flags: a search for a flag skips chunks without it. */
  private readonly chunkFlags: number[] = []
  length = 0
  /** End of the raw bytes of the last line (the start of the next line, when there is one). */
  lastEnd = 0

  push(offset: number, section: number, flags: number, end: number): number {
    const i = this.length
    const c = i >>> SHIFT
    if (c === this.offsets.length) this.addChunk(offset)
    const k = i & MASK
    const delta = offset - this.base
    if (delta >= 0 && delta <= MAX_DELTA && this.wideOffsets[c] === undefined) this.lastOffsets[k] = delta
    else (this.wideOffsets[c] ?? this.widen(c, k))[k] = offset
    if (section !== this.lastSection) {
      this.lastCode = this.lastCodes!.codeOf(section)
      this.lastSection = section
    }
    this.lastCodes!.codes[k] = this.lastCode
    this.lastFlags[k] = flags
    this.chunkFlags[c]! |= flags
    this.length = i + 1
    this.lastEnd = end
    return i
  }

  // the last chunk's arrays, where push writes
  private base = 0
  private lastOffsets = NO_OFFSETS
  private lastFlags = new Uint8Array(0)
  private lastCodes: SectionCodes | undefined
  private lastSection = -1
  private lastCode = 0

  /**
   * The last chunk's arrays, for the addon's tree writer (native-tree.ts), which pushes lines into
   * them in place: empty where there is no chunk, or its offsets are absolute (it pushes none then).
   */
  get lastChunk(): { offsets: Uint32Array; flags: Uint8Array; codes: Uint16Array; dict: Int32Array } {
    const codes = this.lastCodes
    return codes === undefined ? NO_CHUNK : { offsets: this.lastOffsets, flags: this.lastFlags, codes: codes.codes, dict: codes.dictionary }
  }

  writerState(st: Float64Array): void {
    st[TreeSlot.Lines] = this.length
    st[TreeSlot.LineBase] = this.base
    st[TreeSlot.LastEnd] = this.lastEnd
    st[TreeSlot.LastSection] = this.lastSection
    st[TreeSlot.LastCode] = this.lastCode
    st[TreeSlot.ChunkFlags] = 0
    if (this.lastCodes !== undefined) this.lastCodes.writerState(st)
    else {
      st[TreeSlot.DictSize] = 0
      st[TreeSlot.Largest] = -1
    }
  }

  /** What the writer pushed: the lines, and the OR of their flags. */
  afterWriter(st: Float64Array): void {
    this.length = st[TreeSlot.Lines]!
    this.lastEnd = st[TreeSlot.LastEnd]!
    this.lastSection = st[TreeSlot.LastSection]!
    this.lastCode = st[TreeSlot.LastCode]!
    if (this.lastCodes === undefined) return
    this.lastCodes.afterWriter(st)
    this.chunkFlags[this.chunkFlags.length - 1]! |= st[TreeSlot.ChunkFlags]!
  }

  private addChunk(offset: number): void {
    this.lastCodes?.trim()
    this.base = offset
    this.lastOffsets = new Uint32Array(CHUNK)
    this.lastFlags = new Uint8Array(CHUNK)
    this.lastCodes = new SectionCodes()
    this.lastSection = -1
    this.bases.push(offset)
    this.offsets.push(this.lastOffsets)
    this.wideOffsets.push(undefined)
    this.sections.push(this.lastCodes)
    this.flagChunks.push(this.lastFlags)
    this.chunkFlags.push(0)
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
    if (c === this.offsets.length - 1) this.lastOffsets = NO_OFFSETS
    this.wideOffsets[c] = wide
    return wide
  }

  /** End of line i's raw range: the next line's start (escapes between lines belong to the next). */
  end(i: number): number {
    return i + 1 < this.length ? this.offset(i + 1) : this.lastEnd
  }

  section(i: number): number {
    return this.sections[i >>> SHIFT]!.section(i & MASK)
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
    let bytes = 0
    for (let c = 0; c < this.offsets.length; c++) bytes += CHUNK * (this.wideOffsets[c] === undefined ? 4 + 1 : 8 + 1) + this.sections[c]!.byteSize
    return bytes
  }
}
