/**
 * A growable typed array in fixed chunks, for per-section columns: appending never copies what is
 * stored (no doubling peak), and at most one chunk stands empty. A section-dense log (a section
 * every five lines) has millions of sections, whose fields as JS objects cost more than the line
 * table; as columns they cost their bytes.
 */

const SHIFT = 12
const CHUNK = 1 << SHIFT
const MASK = CHUNK - 1
/** Entries per chunk, as a power of two (Column.chunk). */
export const COLUMN_CHUNK_SHIFT = SHIFT

/** The chunks that hold entries 0 … count − 1. */
export function chunksFor(count: number): number {
  return (count + MASK) >>> SHIFT
}

/** How many of entries 0 … count − 1 chunk c holds. */
export function entriesInChunk(c: number, count: number): number {
  return Math.max(0, Math.min(CHUNK, count - (c << SHIFT)))
}

// Few element types: every column shares get and set, whose element access slows with each type
// it meets (the index ran 0.7 % more instructions per extra type; four is V8's polymorphic limit).
type Typed = Float64Array | Int32Array | Uint8Array

export class Column<T extends Typed> {
  private readonly chunks: T[] = []

  constructor(
    private readonly make: (n: number) => T,
    /** The value of entries not yet set. */
    private readonly initial = 0,
  ) {}

  get(i: number): number {
    return this.chunks[i >>> SHIFT]![i & MASK]!
  }

  set(i: number, v: number): void {
    this.chunks[i >>> SHIFT]![i & MASK] = v
  }

  add(i: number, v: number): void {
    this.chunks[i >>> SHIFT]![i & MASK]! += v
  }

  /**
   * The typed array holding entries c·2^COLUMN_CHUNK_SHIFT and up (room must have been made for
   * them): a loop over every entry reads one element type there, where get() meets all three.
   */
  chunk(c: number): T {
    return this.chunks[c]!
  }

  /** Every chunk, in order: the addon reads and writes them in place (native/fold-passes.c, native/tree-writer.c). */
  get chunkList(): readonly T[] {
    return this.chunks
  }

  /** Makes room for entries 0 … n − 1. */
  reserve(n: number): void {
    while (this.chunks.length * CHUNK < n) {
      const c = this.make(CHUNK)
      if (this.initial !== 0) c.fill(this.initial)
      this.chunks.push(c)
    }
  }

  fill(v: number): void {
    for (const c of this.chunks) c.fill(v)
  }

  get byteSize(): number {
    return this.chunks.length * CHUNK * (this.chunks[0]?.BYTES_PER_ELEMENT ?? 0)
  }
}

export const float64Column = (initial = 0): Column<Float64Array> => new Column((n) => new Float64Array(n), initial)
export const int32Column = (initial = 0): Column<Int32Array> => new Column((n) => new Int32Array(n), initial)
export const uint8Column = (initial = 0): Column<Uint8Array> => new Column((n) => new Uint8Array(n), initial)

/** Columns that grow together: one capacity test per new entry rather than one per column. */
export class ColumnGroup {
  private capacity = 0

  constructor(private readonly columns: ReadonlyArray<Column<Typed>>) {}

  /** Entries every column has room for. */
  get room(): number {
    return this.capacity
  }

  /** Makes room for entries 0 … n − 1 in every column. */
  reserve(n: number): void {
    if (n <= this.capacity) return
    for (const c of this.columns) c.reserve(n)
    this.capacity = Math.ceil(n / CHUNK) * CHUNK
  }

  get byteSize(): number {
    let n = 0
    for (const c of this.columns) n += c.byteSize
    return n
  }
}
