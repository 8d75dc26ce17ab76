/**
 * The fold model's passes over every section of the log — what zR, zx and the fold levels cost:
 *
 * - foldSizes: every section's visible rows from the fold state, bottom-up (a section's id is
 *   above its parent's). A section's rows are 1 (its header) + its lines (the heads of sections
 *   below it included) + what its children add beyond the lines they hold: a closed child 1 row
 *   for all it holds, an open one its own rows. The root has no header and is always open.
 * - foldLevels: the open flags of zr and zm, by depth.
 * (The failure-aware default's flags are SectionTable.holdsFailureAll, which reads its columns.)
 *
 * In C (native/fold-passes.c) from NATIVE_FOLD_SECTIONS sections: a typed-array loop in JavaScript
 * reads an element in about a nanosecond, and the sizes read six a section (the 1 GiB legacy
 * corpus's two million sections: 30 ms, against 9.5 in C), and until V8 has compiled a loop, at
 * the first presses, several times that. The JavaScript here is the same passes, for smaller
 * trees and where the addon is not built.
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

/**
 * The fold levels (zr, zm) over sections 1 … count − 1: `opening`, every section at depth ≤
 * `level` opens; else every one deeper closes; the others keep their flag. The root's depth
 * is 0, its sections' 1. In C from NATIVE_FOLD_SECTIONS sections, as the sizes: on the 200 MiB
 * legacy corpus, a JavaScript pass with a predicate a section took 6–15 ms a press.
 */
export function foldLevels(parent: Column<Int32Array>, open: Column<Uint8Array>, count: number, level: number, opening: boolean, native: NativePassThrough | null = count >= NATIVE_FOLD_SECTIONS ? loadNativePassThrough() : null): void {
  if (native !== null) native.foldLevels(parent.chunkList, open.chunkList, count, COLUMN_CHUNK_SHIFT, level, opening)
  else foldLevelsInJs(parent, open, count, level, opening)
}

/** foldLevels() in JavaScript. */
export function foldLevelsInJs(parent: Column<Int32Array>, open: Column<Uint8Array>, count: number, level: number, opening: boolean): void {
  const depth = new Int32Array(count)
  for (let s = 1; s < count; s++) {
    const p = parent.get(s)
    const d = p >= 0 && p < s ? depth[p]! + 1 : 0
    depth[s] = d
    if (opening && d <= level) open.set(s, 1)
    else if (!opening && d > level) open.set(s, 0)
  }
}
