/**
 * Per-section counts for headers and failure-aware folding: one pass over the events, bounded by
 * the number of sections (never by the number of lines). Used as the first pass of a two-pass
 * export (the result is a `Plan`) and alongside a one-pass export (the result goes into the page's
 * trailing data block).
 */
import type { LogEvent, SectionOpenEvent } from '../../events.js'
import { DeferredCounts, EAGER_LEVELS } from '../../tree/deferred-counts.js'
import { lineSeverity, type Severity } from '../../tree/severity.js'
import { childPath } from '../anchors.js'
import { formatDuration } from '../duration.js'

export interface SectionStats {
  /** Lines inside the section, descendants and their heads included, its own head excluded. */
  lines: number
  errors: number
  warnings: number
  /** Child sections (direct). */
  children: number
  /** Closed with status `failed`, or marked `failed` by the dialect. */
  failed: boolean
  /** Start collapsed unless this is set: the subtree has an error, warning or failure (spec §9). */
  hot: boolean
  /** Wall time when the dialect knows it (attrs `durationMs`, or `startTime`/`endTime` in seconds). */
  durationMs?: number
}

export interface Plan {
  /** By section ordinal (0-based, in order of `open` events). */
  sections: SectionStats[]
  lines: number
  errors: number
  warnings: number
  /** Index of the first error line, if any. */
  firstError?: number
  /** Anchor path of the first failed (or hot, when no line is an error) section; none when it lies past ANCHOR_DEPTH. */
  firstFailedPath?: number[]
  /** Highest line index seen (for the width of the line-number gutter). */
  maxIndex: number
  durationMs?: number
}

interface Rec {
  ord: number
  /** Anchor path (anchors.ts), none past ANCHOR_DEPTH. */
  path: number[] | undefined
  parent: Rec | undefined
  childCount: number
  /** No content yet: a `head` line now is this section's head. */
  expectHead: boolean
  open: boolean
  start?: number
  end?: number
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/**
 * Sections are found by id (`line.section`, `open.parent`), not by event order: concurrent
 * sections may interleave and close in any order, and a `status` may arrive after a close.
 * A line counts in its section's nearest EAGER_LEVELS ancestors as it arrives; the sections above
 * are owed it until finish(), which pays them deepest first, each once (a log nested 30,000 deep
 * took seconds, each line walking every ancestor).
 */
export class StatsCollector {
  readonly plan: Plan = { sections: [], lines: 0, errors: 0, warnings: 0, maxIndex: 0 }
  private readonly root: Rec = { ord: -1, path: [], parent: undefined, childCount: 0, expectHead: false, open: true }
  private readonly byId = new Map<number, Rec>()
  /** Open sections by ordinal, to find the innermost (latest opened) one at EOF. */
  private readonly openOrds = new Map<number, Rec>()
  private readonly openIds: number[] = []
  private failedSeen = false
  /** Each section's parent's ordinal (-1: none), to pay what the sections above are owed. */
  private readonly parentOrds: number[] = []
  private readonly owed = new DeferredCounts()
  private minStart: number | undefined
  private maxEnd: number | undefined

  constructor(
    /** Ancestors a line counts in at once (tests set it low, or to Infinity: no debts). */
    private readonly eagerLevels = EAGER_LEVELS,
  ) {}

  private rec(id: number | undefined): Rec {
    // decoders that predate `parent`/`section` nest strictly: the latest open section owns the event
    if (id === undefined) id = this.openIds[this.openIds.length - 1]
    return (id !== undefined && this.byId.get(id)) || this.root
  }

  /** `severity`: the line's `lineSeverity`, when the caller has it already (null: compute it). */
  event(e: LogEvent, severity: Severity | null = null): void {
    switch (e.type) {
      case 'open':
        this.open(e)
        break
      case 'line': {
        const plan = this.plan
        const r = this.rec(e.section)
        if (e.index > plan.maxIndex) plan.maxIndex = e.index
        plan.lines++
        const sev = severity === null ? lineSeverity(e) : severity
        if (sev === 'error') {
          plan.errors++
          if (plan.firstError === undefined) plan.firstError = e.index
        } else if (sev === 'warning') plan.warnings++
        const isHead = e.head && r.expectHead
        r.expectHead = false
        const errors = sev === 'error' ? 1 : 0
        const warnings = sev === 'warning' ? 1 : 0
        // (the root, ord −1, has no stats of its own: the plan's totals above are its)
        let a: Rec | undefined = r.ord >= 0 ? r : undefined
        for (let level = 0; a && level < this.eagerLevels; a = a.parent, level++) {
          const s = plan.sections[a.ord]!
          if (!isHead || a !== r) s.lines++
          s.errors += errors
          s.warnings += warnings
        }
        if (a) this.owed.owe(a.ord, 1, errors, warnings)
        if (sev !== undefined) this.markHot(r)
        break
      }
      case 'status': {
        const r = this.byId.get(e.id)
        if (r) this.attrs(r, e.attrs)
        break
      }
      case 'close': {
        const r = this.byId.get(e.id)
        if (!r || !r.open) break
        r.open = false
        const at = this.openIds.lastIndexOf(e.id)
        if (at === this.openIds.length - 1) this.openIds.pop()
        else if (at >= 0) this.openIds.splice(at, 1)
        this.openOrds.delete(r.ord)
        if (e.status === 'failed') this.fail(r)
        const s = this.plan.sections[r.ord]!
        if (s.durationMs === undefined && r.start !== undefined && r.end !== undefined && r.end >= r.start) {
          s.durationMs = Math.round((r.end - r.start) * 1000)
        }
        break
      }
      case 'diagnostic':
        if (e.code === 'unclosed-at-eof') {
          // the innermost node still open at EOF is where the build stopped: expand it (spec §9)
          let inner: Rec | undefined
          for (const r of this.openOrds.values()) if (!inner || r.ord > inner.ord) inner = r
          if (inner) this.markHot(inner)
        }
        break
    }
  }

  /** Pays what sections are owed (a parent's ordinal is below its children's). */
  private settle(): void {
    const sections = this.plan.sections
    this.owed.settle(
      (ord) => this.parentOrds[ord]!,
      (ord, debt) => {
        const s = sections[ord]!
        s.lines += debt.count
        s.errors += debt.errors
        s.warnings += debt.warnings
      },
    )
  }

  private markHot(r: Rec): void {
    for (let a: Rec | undefined = r; a && a.ord >= 0; a = a.parent) {
      const s = this.plan.sections[a.ord]!
      if (s.hot) break
      s.hot = true
    }
  }

  private fail(r: Rec): void {
    const s = this.plan.sections[r.ord]!
    if (s.failed) return
    s.failed = true
    if (!this.failedSeen) {
      this.failedSeen = true
      this.plan.firstFailedPath = r.path
    }
    this.markHot(r)
  }

  private open(e: SectionOpenEvent): void {
    const parent = this.rec(e.parent)
    parent.childCount++
    parent.expectHead = false
    if (parent.ord >= 0) this.plan.sections[parent.ord]!.children++
    const ord = this.plan.sections.length
    this.plan.sections.push({ lines: 0, errors: 0, warnings: 0, children: 0, failed: false, hot: false })
    this.parentOrds.push(parent.ord)
    const r: Rec = { ord, path: childPath(parent.path, parent.childCount), parent: parent.ord >= 0 ? parent : undefined, childCount: 0, expectHead: true, open: true }
    this.byId.set(e.id, r)
    this.openIds.push(e.id)
    this.openOrds.set(ord, r)
    if (e.attrs) this.attrs(r, e.attrs)
  }

  private attrs(r: Rec, attrs: Record<string, string | number | boolean>): void {
    const s = this.plan.sections[r.ord]!
    if (attrs['failed'] === true) this.fail(r)
    const d = num(attrs['durationMs'])
    if (d !== undefined) s.durationMs = d
    const start = num(attrs['startTime'])
    const end = num(attrs['endTime'])
    if (start !== undefined) {
      r.start = start
      if (this.minStart === undefined || start < this.minStart) this.minStart = start
    }
    if (end !== undefined) {
      r.end = end
      if (this.maxEnd === undefined || end > this.maxEnd) this.maxEnd = end
    }
  }

  /** Returns the plan (sections still open count as they are). */
  finish(): Plan {
    this.settle()
    if (this.minStart !== undefined && this.maxEnd !== undefined && this.maxEnd >= this.minStart) {
      this.plan.durationMs = Math.round((this.maxEnd - this.minStart) * 1000)
    }
    return this.plan
  }
}

/** The first pass of a two-pass export. */
export async function planFromEvents(events: AsyncIterable<LogEvent> | Iterable<LogEvent>): Promise<Plan> {
  const c = new StatsCollector()
  for await (const e of events) c.event(e)
  return c.finish()
}

/** Header text for a section: `12 lines · 2 errors · 1 warning · 41 s · failed`. */
export function statsText(s: SectionStats): string {
  const parts: string[] = []
  parts.push(s.lines === 1 ? '1 line' : `${String(s.lines).replace(/\B(?=(\d{3})+$)/g, ',')} lines`)
  if (s.errors > 0) parts.push(s.errors === 1 ? '1 error' : `${s.errors} errors`)
  if (s.warnings > 0) parts.push(s.warnings === 1 ? '1 warning' : `${s.warnings} warnings`)
  if (s.durationMs !== undefined) parts.push(formatDuration(s.durationMs))
  if (s.failed) parts.push('failed')
  return parts.join(' · ')
}
