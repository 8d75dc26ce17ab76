/**
 * Section counts owed to ancestors far above: a line reaches its section's nearest
 * EAGER_LEVELS ancestors at once (LogTree.addLine), and what the ones above them are owed waits
 * here, summed per section, until the tree is read. A log nested 30,000 deep then costs each line
 * a few dozen updates instead of 30,000 (the index of such a log took seconds a line).
 *
 * settle() pays the debts from the deepest section up (IdHeap), each one climbing a level at a
 * time, merged with its siblings' on the way: a chain of running sections is walked once a read,
 * not once a line.
 */

import { IdHeap } from './id-heap.js'
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
  /** The sections owed, deepest first. */
  private readonly owed = new IdHeap()
  /** Debts paid so far, one a section each time it is settled (for tests: a chain pays once a level). */
  paid = 0

  get empty(): boolean {
    return this.owed.size === 0
  }

  /** Section `s` and every ancestor above it are owed these counts. */
  owe(s: number, lines: number, errors: number, warnings: number, firstError: number, lastLine: number): void {
    let debt = this.debts.get(s)
    if (debt === undefined) {
      debt = new Debt()
      this.debts.set(s, debt)
      this.owed.push(s)
    }
    debt.lines += lines
    debt.errors += errors
    debt.warnings += warnings
    if (firstError >= 0 && (debt.firstError < 0 || firstError < debt.firstError)) debt.firstError = firstError
    if (lastLine > debt.lastLine) debt.lastLine = lastLine
  }

  /** Pays every debt into `table`: each section owed gets its counts, and its parent is owed them. */
  settle(table: SectionTable): void {
    while (this.owed.size > 0) {
      const s = this.owed.pop()
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
}
