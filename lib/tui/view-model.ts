/**
 * What the viewport scrolls over: either the fold tree, or (while a `&` filter is on) a flat list
 * of matching lines with the headers of the sections that hold them.
 */

import { LINE_FILTER } from '../tree/lines.js'
import type { Row, LogTree } from '../tree/tree.js'
import { lastAtMost } from '../tree/bisect.js'

export interface RowModel {
  readonly rowCount: number
  rowAt(r: number): Row | undefined
  /** Index of a row, or the nearest visible stand-in (a closed ancestor's header). */
  indexOf(row: Row): number
}

export class TreeModel implements RowModel {
  constructor(private readonly tree: LogTree) {}
  get rowCount(): number {
    return this.tree.rowCount
  }
  rowAt(r: number): Row | undefined {
    return this.tree.rowAt(r)
  }
  indexOf(row: Row): number {
    if (row.header !== undefined) {
      const closed = this.tree.outermostClosed(this.tree.sections.parent.get(row.header))
      return this.tree.rowOfHeader(closed > 0 ? closed : row.header)
    }
    return this.tree.rowOfLine(row.line)
  }
}

/** Rows added between looks at the clock. */
const DEADLINE_EVERY = 256

/**
 * The lines that carry a flag (`&`'s matches, the failure extract's lines), each under the headers
 * of the sections that hold it. Rows: ≥ 0 a line, < 0 the header of section -v. Built
 * incrementally as the flags are set.
 */
export class FilterModel implements RowModel {
  private readonly rows: number[] = []
  private scannedTo = 0
  private chain: number[] = []

  constructor(
    private readonly tree: LogTree,
    private readonly flag = LINE_FILTER,
  ) {}

  /** Lines before this one are in the rows, or not. */
  get scanned(): number {
    return this.scannedTo
  }

  /**
   * Appends rows for lines [scanned, upTo) that carry the flag, or for as many as it can before
   * `deadline` (performance.now()): `scanned` says how far it got.
   */
  extend(upTo: number, deadline = Infinity): void {
    const lines = this.tree.lines
    // (findFlag skips the 65,536-line chunks without the flag)
    for (let i = lines.findFlag(this.scannedTo, 1, this.flag), n = 1; i >= 0 && i < upTo; i = lines.findFlag(i + 1, 1, this.flag), n++) {
      if (n % DEADLINE_EVERY === 0 && performance.now() >= deadline) {
        this.scannedTo = i
        return
      }
      const s = lines.section(i)
      // most lines follow one of their own section (or its head): the headers above them are in place
      if (s === this.chain[this.chain.length - 1]) {
        this.rows.push(i)
        continue
      }
      const isHead = this.tree.sections.head(s) === i
      const path = this.tree.ancestors(isHead ? this.tree.sections.parent.get(s) : s)
      let k = 0
      while (k < path.length && k < this.chain.length && path[k] === this.chain[k]) k++
      for (let j = k; j < path.length; j++) this.rows.push(-path[j]!)
      this.chain = path
      if (isHead) {
        this.rows.push(-s)
        this.chain = [...path, s]
      } else this.rows.push(i)
    }
    this.scannedTo = Math.max(this.scannedTo, upTo)
  }

  get rowCount(): number {
    return this.rows.length
  }

  rowAt(r: number): Row | undefined {
    if (r < 0 || r >= this.rows.length) return undefined
    const v = this.rows[r]!
    return v >= 0 ? { line: v } : { header: -v }
  }

  indexOf(row: Row): number {
    // binary search by line order: headers sort at their first line
    const key = (v: number): number => (v >= 0 ? v : this.headerKey(-v))
    const target = row.line !== undefined ? row.line : this.headerKey(row.header!)
    return lastAtMost(this.rows.length, (i) => key(this.rows[i]!), target)
  }

  private headerKey(s: number): number {
    return this.tree.sections.headerLine(s) - 0.5
  }
}
