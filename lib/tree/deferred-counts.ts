/**
 * Section counts owed to ancestors far above: a line reaches its section's nearest
 * EAGER_LEVELS ancestors at once (LogTree.addLine), and what the ones above them are owed waits
 * here, summed per section, until the tree is read. A log nested 30,000 deep then costs each line
 * a few dozen updates instead of 30,000 (the index of such a log took seconds a line).
 *
 * settle() pays the debts from the deepest section up: a section's id is above its parent's, so
 * taking the largest id first settles every child before its parent, and each debt climbs one level
 * at a time, merged with its siblings' (a chain of running sections is walked once, not once per
 * line).
 */

import type { SectionTable } from './section-table.js'

/** Ancestors a line's counts reach at once. */
export const EAGER_LEVELS = 32

class Debt {
  lines = 0
  errors = 0
  warnings = 0
  /** The first error line among them, or -1. */
  firstError = -1
  /** The last line among them. */
  lastLine = -1
}

export class DeferredCounts {
  private readonly debts = new Map<number, Debt>()
  /** The sections owed, as a max-heap of ids. */
  private heap = new Int32Array(64)
  private size = 0
  /** Debts paid so far, one a section each time it is settled (for tests: a chain pays once a level). */
  paid = 0

  get empty(): boolean {
    return this.size === 0
  }

  /** Section `s` and every ancestor above it are owed these counts. */
  owe(s: number, lines: number, errors: number, warnings: number, firstError: number, lastLine: number): void {
    let debt = this.debts.get(s)
    if (debt === undefined) {
      debt = new Debt()
      this.debts.set(s, debt)
      this.push(s)
    }
    debt.lines += lines
    debt.errors += errors
    debt.warnings += warnings
    if (firstError >= 0 && (debt.firstError < 0 || firstError < debt.firstError)) debt.firstError = firstError
    if (lastLine > debt.lastLine) debt.lastLine = lastLine
  }

  /** Pays every debt into `table`: each section owed gets its counts, and its parent is owed them. */
  settle(table: SectionTable): void {
    while (this.size > 0) {
      const s = this.pop()
      const debt = this.debts.get(s)!
      this.debts.delete(s)
      this.paid++
      table.lines.add(s, debt.lines)
      if (debt.lastLine > table.lastLine.get(s)) table.lastLine.set(s, debt.lastLine)
      if (debt.errors > 0) {
        table.errors.add(s, debt.errors)
        const first = table.firstError.get(s)
        if (first < 0 || debt.firstError < first) table.firstError.set(s, debt.firstError)
      }
      if (debt.warnings > 0) table.warnings.add(s, debt.warnings)
      const p = table.parent.get(s)
      if (p >= 0) this.owe(p, debt.lines, debt.errors, debt.warnings, debt.firstError, debt.lastLine)
    }
  }

  private push(s: number): void {
    if (this.size === this.heap.length) {
      const grown = new Int32Array(2 * this.size)
      grown.set(this.heap)
      this.heap = grown
    }
    const heap = this.heap
    let k = this.size++
    while (k > 0) {
      const up = (k - 1) >> 1
      if (heap[up]! >= s) break
      heap[k] = heap[up]!
      k = up
    }
    heap[k] = s
  }

  private pop(): number {
    const heap = this.heap
    const top = heap[0]!
    const last = heap[--this.size]!
    let k = 0
    for (;;) {
      let child = 2 * k + 1
      if (child >= this.size) break
      if (child + 1 < this.size && heap[child + 1]! > heap[child]!) child++
      if (heap[child]! <= last) break
      heap[k] = heap[child]!
      k = child
    }
    heap[k] = last
    return top
  }
}
