/**
 * The failure extract (the pager's `X`): what a reader of a failed build looks at first. Each
 * error line with up to CONTEXT_LINES lines of its own section before and after it — as
 * `buildlog export --format text --errors` prints them — and each failed section's last
 * TAIL_LINES lines (a build that failed without a line the severity rules flag still shows how it
 * ended). The lines get LINE_EXTRACT in the line table, and a FilterModel shows them as a flat
 * list under the headers of their sections, as `&` does.
 *
 * The index may still be growing (a followed build): update() marks what is new — the context of
 * new errors, the rest of the context of errors that were the last lines so far, the tails of
 * sections that failed — and says where the first new mark lies, so that the rows can be redone
 * from there.
 */

import { LINE_ERROR, LINE_EXTRACT } from './lines.js'
import type { LogTree } from './tree.js'

/** Lines of an error's own section shown before and after it (`--errors`' default `--context`). */
export const CONTEXT_LINES = 3
/** A failed section's last lines shown. */
export const TAIL_LINES = 10
/** How far from an error (or back from a failed section's end, ten times this) its lines are looked for. */
export const SCAN_LINES = 64
/** Errors marked between looks at the clock. */
const DEADLINE_EVERY = 64

/** An error line whose context after it the index has not reached yet. */
interface Ahead {
  section: number
  /** Context lines found, lines looked at, and the next line to look at. */
  found: number
  scanned: number
  next: number
}

export class FailureExtract {
  /** Error lines before this one are marked, with their context before them. */
  private errorsBefore = 0
  private readonly ahead: Ahead[] = []
  /** Failed sections whose tails were looked for, and how many of them had lines to show. */
  private readonly tailed = new Set<number>()
  private shownTails = 0
  /** The lowest line the current update() marked. */
  private lowest = Infinity
  /** Error lines marked so far. */
  errors = 0

  constructor(private readonly tree: LogTree) {}

  /** Failed sections with lines in the extract so far (one that wrote none shows nothing). */
  get failedSections(): number {
    return this.shownTails
  }

  /** Every error line indexed so far has been looked at. */
  get caughtUp(): boolean {
    return this.errorsBefore >= this.tree.lines.length
  }

  /**
   * Lines before this one are marked for good, unless a section fails: an error looked at later
   * marks at most SCAN_LINES lines before it.
   */
  get settled(): number {
    return this.caughtUp ? this.tree.lines.length : Math.max(0, this.errorsBefore - SCAN_LINES)
  }

  /**
   * Marks the extract's lines among those indexed so far, or as many as it can before
   * `deadline` (performance.now(); caughtUp says when it has all). Returns the lowest line it
   * marked, or Infinity.
   */
  update(deadline = Infinity): number {
    const tree = this.tree
    const lines = tree.lines
    this.lowest = Infinity
    // context after errors that were the last lines indexed, then new errors
    const waiting = this.ahead.splice(0)
    for (const a of waiting) this.lookAhead(a)
    let e = lines.findFlag(this.errorsBefore, 1, LINE_ERROR)
    for (let n = 1; e >= 0; e = lines.findFlag(e + 1, 1, LINE_ERROR), n++) {
      this.errors++
      this.markAround(e)
      if (n % DEADLINE_EVERY === 0 && performance.now() >= deadline) {
        this.errorsBefore = e + 1
        return this.lowest
      }
    }
    this.errorsBefore = lines.length
    if (tree.sections.failedBelow(0)) {
      for (let s = tree.sections.findStatus('failed'); s > 0; s = tree.sections.findStatus('failed', s + 1)) {
        // a section still running has not written its last lines yet
        if (this.tailed.has(s) || (tree.isRunning(s) && !tree.done)) continue
        this.tailed.add(s)
        if (this.markTail(s) > 0) this.shownTails++
      }
    }
    return this.lowest
  }

  private mark(i: number): void {
    const lines = this.tree.lines
    if ((lines.flags(i) & LINE_EXTRACT) !== 0) return
    lines.setFlag(i, LINE_EXTRACT)
    if (i < this.lowest) this.lowest = i
  }

  /** An error line, the lines of its section before it, and those after it indexed so far. */
  private markAround(e: number): void {
    const lines = this.tree.lines
    const section = lines.section(e)
    this.mark(e)
    for (let i = e - 1, found = 0, scanned = 0; i >= 0 && found < CONTEXT_LINES && scanned < SCAN_LINES; i--, scanned++) {
      if (lines.section(i) !== section) continue
      this.mark(i)
      found++
    }
    this.lookAhead({ section, found: 0, scanned: 0, next: e + 1 })
  }

  /** An error's context after it, as far as the index goes; the rest waits for the next update(). */
  private lookAhead(a: Ahead): void {
    const lines = this.tree.lines
    for (; a.next < lines.length && a.found < CONTEXT_LINES && a.scanned < SCAN_LINES; a.next++, a.scanned++) {
      if (lines.section(a.next) !== a.section) continue
      this.mark(a.next)
      a.found++
    }
    if (a.found < CONTEXT_LINES && a.scanned < SCAN_LINES) this.ahead.push(a)
  }

  /** The last lines of failed section `s` and the sections inside it; returns how many. */
  private markTail(s: number): number {
    const lines = this.tree.lines
    const sections = this.tree.sections
    let found = 0
    for (let i = sections.lastLine.get(s), scanned = 0; i >= 0 && i >= sections.firstLine.get(s) && found < TAIL_LINES && scanned < SCAN_LINES * TAIL_LINES; i--, scanned++) {
      if (!sections.within(lines.section(i), s)) continue
      this.mark(i)
      found++
    }
    return found
  }
}
