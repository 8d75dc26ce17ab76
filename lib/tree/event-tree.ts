import type { LineEvent, LogEvent, SectionKind, SectionOpenEvent } from '../events.js'
import { DeferredCounts, EAGER_LEVELS } from './deferred-counts.js'
import { lineSeverity } from './severity.js'

export interface Counts {
  lines: number
  errors: number
  warnings: number
}

export interface TreeLine {
  type: 'line'
  event: LineEvent
}

export interface TreeSection {
  type: 'section'
  id: number
  kind: SectionKind
  /** The open event's title, else the head line's text. */
  title: string
  parent: TreeSection | null
  open: SectionOpenEvent | null
  children: Array<TreeSection | TreeLine>
  /** Lines, error lines and warning lines in this section and all below it. */
  counts: Counts
  attrs: Record<string, string | number | boolean>
  status?: string
  /** Raw byte offsets of the opening and the closing. */
  offset: number
  end?: number
  /** Seconds, when the dialect says (GitLab section timestamps). */
  duration?: number
}

export function isErrorLine(e: LineEvent): boolean {
  return lineSeverity(e) === 'error'
}

/**
 * Builds the whole section tree of a log in memory from its events, placing sections and lines by
 * the ids the events carry (concurrent internal-json activities and -L builds interleave). For
 * exports that need the complete tree; the pager keeps a file-backed index instead.
 *
 * A line counts in its section's nearest EAGER_LEVELS ancestors at once; the sections above are
 * owed its counts until `root` is read, then paid deepest first, each once (a log nested 30,000
 * deep took seconds, a line walking every ancestor).
 */
export class EventTreeBuilder {
  private readonly top: TreeSection = newSection(0, 'build', '', null, null, 0)
  private readonly byId = new Map<number, TreeSection>([[0, this.top]])
  /** Sections in the order they opened (the root first): a parent's place is below its children's. */
  private readonly sections: TreeSection[] = [this.top]
  private readonly places = new Map<TreeSection, number>([[this.top, 0]])
  private readonly owed = new DeferredCounts()

  /** The tree so far, every section's counts complete. */
  get root(): TreeSection {
    if (!this.owed.empty) {
      this.owed.settle(
        (k) => (k === 0 ? -1 : this.places.get(this.sections[k]!.parent!)!),
        (k, debt) => {
          const counts = this.sections[k]!.counts
          counts.lines += debt.count
          counts.errors += debt.errors
          counts.warnings += debt.warnings
        },
      )
    }
    return this.top
  }

  readonly sink = (event: LogEvent): void => {
    switch (event.type) {
      case 'open': {
        const parent = this.byId.get(event.parent) ?? this.top
        const section = newSection(event.id, event.kind, event.title ?? '', parent, event, event.offset)
        if (event.attrs) Object.assign(section.attrs, event.attrs)
        parent.children.push(section)
        this.byId.set(event.id, section)
        this.places.set(section, this.sections.length)
        this.sections.push(section)
        break
      }
      case 'line': {
        const section = this.byId.get(event.section) ?? this.top
        section.children.push({ type: 'line', event })
        if (event.head && section.title === '') section.title = event.text.toString('utf8')
        const severity = lineSeverity(event)
        const error = severity === 'error'
        const warning = severity === 'warning'
        let s: TreeSection | null = section
        for (let level = 0; s && level < EAGER_LEVELS; s = s.parent, level++) {
          s.counts.lines++
          if (error) s.counts.errors++
          if (warning) s.counts.warnings++
        }
        if (s) this.owed.owe(this.places.get(s)!, 1, error ? 1 : 0, warning ? 1 : 0)
        break
      }
      case 'close': {
        const section = this.byId.get(event.id)
        if (!section) break
        section.end = event.offset
        if (event.status && section.status !== 'failed') section.status = event.status
        break
      }
      case 'status': {
        const section = this.byId.get(event.id)
        if (!section) break
        Object.assign(section.attrs, event.attrs)
        if (event.attrs.failed === true) section.status = 'failed'
        const start = section.attrs.startTime
        const end = section.attrs.endTime
        // seconds, to the millisecond: line stamps have fractions, whose difference is not exact
        if (typeof start === 'number' && typeof end === 'number') section.duration = Math.round((end - start) * 1000) / 1000
        break
      }
      default:
        break
    }
  }
}

function newSection(id: number, kind: SectionKind, title: string, parent: TreeSection | null, open: SectionOpenEvent | null, offset: number): TreeSection {
  return { type: 'section', id, kind, title, parent, open, children: [], counts: { lines: 0, errors: 0, warnings: 0 }, attrs: {}, offset }
}

/** The titles of a section and its ancestors, outermost first (the root excluded). */
export function sectionPath(section: TreeSection | null): string[] {
  const path: string[] = []
  for (let s = section; s && s.parent; s = s.parent) path.push(s.title || s.kind)
  return path.reverse()
}

/** What walkTree calls: for a section (return false to skip its children), after its children, for a line. */
export interface TreeVisitor {
  section?(section: TreeSection, at: number, depth: number): boolean | void
  leave?(section: TreeSection, depth: number): void
  line?(line: TreeLine, parent: TreeSection, at: number, depth: number): void
}

/**
 * Visits the tree below `root` in document order (the root's children at depth 0, `at` their
 * place in their parent), with a stack of its own: a log may nest deeper than the call stack.
 */
export function walkTree(root: TreeSection, visit: TreeVisitor): void {
  const stack: Array<{ section: TreeSection; at: number }> = [{ section: root, at: 0 }]
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    const depth = stack.length - 1
    if (top.at === top.section.children.length) {
      stack.pop()
      if (stack.length > 0) visit.leave?.(top.section, depth - 1)
      continue
    }
    const at = top.at++
    const child = top.section.children[at]!
    if (child.type === 'line') visit.line?.(child, top.section, at, depth)
    else if (visit.section?.(child, at, depth) !== false) stack.push({ section: child, at: 0 })
  }
}
