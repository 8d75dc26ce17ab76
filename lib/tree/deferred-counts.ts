/**
 * Counts owed up a tree, paid when it is read. A log nested 30,000 deep made every line walk all
 * the sections above it to count itself (seconds for 587 KB, in the pager's index, the exports'
 * event tree, the HTML page's stats, a search's hits): now a line counts at once in its section's
 * nearest EAGER_LEVELS ancestors, and what the ones above are owed waits here, summed per
 * section.
 *
 * settle() pays the debts from the deepest section up: keys are numbered so that a parent's is
 * below its children's (section ids, ordinals of opening), and taking the largest first pays every
 * child before its parent; each debt climbs one level at a time, merged with its siblings' on the
 * way, so a chain of running sections is walked once a read, not once a line.
 */

import { IdHeap } from './id-heap.js'

/** Ancestors a line's counts reach at once. */
export const EAGER_LEVELS = 32

/** What one section is owed. */
export interface Debt {
  /** Lines (or hits). */
  count: number
  errors: number
  warnings: number
  /** The first error line among them, or -1. */
  firstError: number
  /** The last line among them, or -1. */
  lastLine: number
}

export class DeferredCounts {
  private readonly debts = new Map<number, Debt>()
  /** The keys owed, deepest first. */
  private readonly owed = new IdHeap()
  /** Debts paid so far, one a section each time it is settled (for tests: a chain pays once a level). */
  paid = 0

  get empty(): boolean {
    return this.owed.size === 0
  }

  /** The largest key owed, or −1: a section's descendants' keys are above its own, so below it none is owed. */
  get largest(): number {
    return this.owed.size === 0 ? -1 : this.owed.peek()
  }

  /** Section `key` and every one above it are owed these counts. */
  owe(key: number, count: number, errors = 0, warnings = 0, firstError = -1, lastLine = -1): void {
    let debt = this.debts.get(key)
    if (debt === undefined) {
      debt = { count: 0, errors: 0, warnings: 0, firstError: -1, lastLine: -1 }
      this.debts.set(key, debt)
      this.owed.push(key)
    }
    debt.count += count
    debt.errors += errors
    debt.warnings += warnings
    if (firstError >= 0 && (debt.firstError < 0 || firstError < debt.firstError)) debt.firstError = firstError
    if (lastLine > debt.lastLine) debt.lastLine = lastLine
  }

  /**
   * Pays the debts of keys `from` and above (all by default): `pay` for each section owed, deepest
   * first, whose parent (−1: none) is then owed the same — and paid too unless below `from`. So
   * `from` = a section's key settles its subtree's counts (its descendants' keys are above it).
   */
  settle(parentOf: (key: number) => number, pay: (key: number, debt: Debt) => void, from = 0): void {
    while (this.owed.size > 0 && this.owed.peek() >= from) {
      const key = this.owed.pop()
      const debt = this.debts.get(key)!
      this.debts.delete(key)
      this.paid++
      pay(key, debt)
      const p = parentOf(key)
      if (p >= 0) this.owe(p, debt.count, debt.errors, debt.warnings, debt.firstError, debt.lastLine)
    }
  }
}
