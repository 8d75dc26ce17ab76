/**
 * Every section's visible rows from the fold state, in one bottom-up pass (a section's id is above
 * its parent's): what zR, zx and the fold levels cost, over every section of the log. A section's
 * rows are 1 (its header) + its lines (the heads of sections below it included) + what its
 * children add beyond the lines they hold: a closed child 1 row for all it holds, an open one its
 * own rows. The root has no header and is always open.
 *
 * In C (native/fold-sizes.c) from NATIVE_FOLD_SECTIONS sections: a typed-array loop in JavaScript
 * reads an element in about a nanosecond, and this one reads six a section (the 1 GiB legacy
 * corpus's two million sections: 30 ms, against 9.5 in C), and until V8 has compiled it, at the
 * first presses, several times that. The JavaScript below is the same pass, for smaller trees and
 * where the addon is not built.
 */

import { loadNativePassThrough, type NativePassThrough } from '../dialects/native-pass-through.js'
import { COLUMN_CHUNK_SHIFT, chunksFor, entriesInChunk, type Column } from './column.js'

/** The columns the pass reads (parent, lines, flag bytes, open) and writes (size, sizeOk). */
export interface FoldColumns {
  parent: Column<Int32Array>
  lines: Column<Int32Array>
  /** A section's flag byte: `headFlag` set when its first line is its head (counted in its parent's lines). */
  flags: Column<Uint8Array>
  open: Column<Uint8Array>
  size: Column<Int32Array>
  sizeOk: Column<Uint8Array>
}

/** From this many sections the addon does the pass (below, the JavaScript takes well under a millisecond, cold). */
export const NATIVE_FOLD_SECTIONS = 1 << 14

/**
 * Sets size and sizeOk of sections 0 … count − 1: sizeOk 1 and the rows of each open section,
 * sizeOk 0 for the closed, whose size is left holding a sum nobody reads (their size is 1 row).
 */
export function foldSizes(columns: FoldColumns, count: number, headFlag: number, native: NativePassThrough | null = count >= NATIVE_FOLD_SECTIONS ? loadNativePassThrough() : null): void {
  if (count === 0) return
  if (native === null) return foldSizesInJs(columns, count, headFlag)
  const { parent, lines, flags, open, size, sizeOk } = columns
  native.foldSizes(parent.chunkList, lines.chunkList, flags.chunkList, open.chunkList, size.chunkList, sizeOk.chunkList, count, COLUMN_CHUNK_SHIFT, headFlag)
}

/** foldSizes() in JavaScript. */
export function foldSizesInJs(columns: FoldColumns, count: number, headFlag: number): void {
  if (count === 0) return
  const { size: sizeColumn, sizeOk: sizeOkColumn } = columns
  // Each section's size holds, until its turn comes, what its children add: no scratch array (one
  // of a section's worth cost a third more, 1.5 MB of fresh pages a press on 200 MiB)
  sizeColumn.fill(0)
  for (let c = chunksFor(count) - 1; c >= 0; c--) {
    const base = c << COLUMN_CHUNK_SHIFT
    const parent = columns.parent.chunk(c)
    const lines = columns.lines.chunk(c)
    const flags = columns.flags.chunk(c)
    const open = columns.open.chunk(c)
    const size = sizeColumn.chunk(c)
    const sizeOk = sizeOkColumn.chunk(c)
    // (the root, section 0, after the loop)
    for (let k = entriesInChunk(c, count) - 1; k >= (c === 0 ? 1 : 0); k--) {
      const held = (flags[k]! & headFlag) !== 0 ? lines[k]! + 1 : lines[k]!
      let add: number
      if (open[k] === 1) {
        const rows = 1 + lines[k]! + size[k]!
        size[k] = rows
        sizeOk[k] = 1
        add = rows - held
      } else {
        sizeOk[k] = 0
        add = 1 - held
      }
      // a parent's id is below its child's: anything else is no parent to add to
      const p = parent[k]!
      if (p >= base && p < base + k) size[p - base]! += add
      else if (p >= 0 && p < base) sizeColumn.add(p, add)
    }
  }
  sizeColumn.add(0, columns.lines.get(0))
  sizeOkColumn.set(0, 1)
}
