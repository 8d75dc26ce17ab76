/**
 * Events → HTML text, synchronously, in stream order. The driver (./index.ts) drains `take()` to the
 * output with backpressure, so memory stays bounded by one chunk of lines, the section stack and
 * per-section counters, never by the log.
 *
 * Shape: each section is a `<details id="S1.2">` whose `<summary>` is its head line; lines are
 * `<p id="L12">` in chunks of at most CHUNK_LINES (`<div class="c">`, `content-visibility:auto`, so
 * the browser lays out only what is on screen; the text stays in the DOM, so find-in-page finds it
 * and opens closed sections).
 *
 * Sections are found by id. When concurrent sections interleave (an event for a section that is not
 * the innermost one written), the writer closes the HTML down to the common ancestor and reopens the
 * target as a *continuation* part (`<details class="s cont" data-s="1.2">`, same title, no id), so
 * output stays streaming and well-formed. A section's `<details>` is written when its first content
 * arrives (so a head line that comes later still becomes its summary).
 */
import type { LineEvent, LogEvent, SectionOpenEvent } from '../../events.js'
import { childPath, lineAnchor, sectionAnchor, sectionLink } from '../anchors.js'
import { DEFAULT_STYLE, type StyleState } from '../../sgr/style.js'
import { escapeHtml, escapeLogText, jsonForScript } from './escape.js'
import { renderLine } from './line.js'
import { CSP, PAGE_CSS, PAGE_JS } from './page.js'
import { lineSeverity } from '../../tree/severity.js'
import { formatDuration } from '../duration.js'
import { StatsCollector, statsText, type Plan } from './stats.js'

/** Lines per `<div class="c">` block. */
export const CHUNK_LINES = 200

export interface HtmlWriterOptions {
  title?: string
  /** From a first pass: folding and headers are then static HTML; without it the page script applies them. */
  plan?: Plan
}

interface Rec {
  ord: number
  /** Anchor path (anchors.ts), none past ANCHOR_DEPTH. */
  path: number[] | undefined
  depth: number
  parent: Rec | undefined
  childCount: number
  style: StyleState
  open: SectionOpenEvent | undefined
  /** Summary markup of the first part, once written (continuations reuse it). */
  summary?: string
  parts: number
}

/**
 * The sections open in the log, by event id, for both page writers. An event names its section;
 * decoders that predate `parent`/`section` nest strictly, so without a name the latest open
 * section owns it, and with none open (or id 0) the root does.
 */
export class OpenSections<R> {
  private readonly byId = new Map<number, R>()
  /** Ids in order of opening. */
  private readonly ids: number[] = []

  constructor(private readonly root: R) {}

  add(id: number, r: R): void {
    this.ids.push(id)
    this.byId.set(id, r)
  }

  get(id: number | undefined): R {
    if (id === undefined) id = this.ids[this.ids.length - 1]
    return (id !== undefined && id !== 0 && this.byId.get(id)) || this.root
  }

  /** Closes `id`; its record, or undefined when it was not open. */
  remove(id: number): R | undefined {
    const r = this.byId.get(id)
    if (!r) return undefined
    this.byId.delete(id)
    const at = this.ids.lastIndexOf(id)
    if (at === this.ids.length - 1) this.ids.pop()
    else if (at >= 0) this.ids.splice(at, 1)
    return r
  }
}

/** The page-wide figures of the data block: counts, gutter width, duration, where to jump first. */
export function pageSummary(plan: Plan): Record<string, unknown> {
  return {
    lines: plan.lines,
    errors: plan.errors,
    warnings: plan.warnings,
    gutter: String(plan.maxIndex).length + 1,
    duration: plan.durationMs !== undefined ? formatDuration(plan.durationMs) : undefined,
    firstError: plan.firstError !== undefined ? lineAnchor(plan.firstError) : plan.firstFailedPath ? sectionAnchor(plan.firstFailedPath) : undefined,
  }
}

export const KINDS = new Set(['nest', 'build', 'phase', 'preamble', 'activity', 'ci'])

export function pathString(path: readonly number[]): string {
  return path.join('.')
}

export function plural(n: number, one: string): string {
  return n === 1 ? `1 ${one}` : `${String(n).replace(/\B(?=(\d{3})+$)/g, ',')} ${one}s`
}

/**
 * The page up to the opening `<main>`: head (CSP, CSS, script), header with counts (static from
 * `plan`, else filled by the page script) and tools.
 */
export function pageStart(title: string, mode: 'static' | 'stream' | 'lazy', plan?: Plan): string {
  const t = escapeHtml(title)
  let sum: string
  let gutter = ''
  if (plan) {
    const dur = plan.durationMs !== undefined ? ' · ' + formatDuration(plan.durationMs) : ''
    const first = plan.firstError !== undefined ? '#' + lineAnchor(plan.firstError) : plan.firstFailedPath ? '#' + sectionAnchor(plan.firstFailedPath) : undefined
    sum =
      `<span id="bl-lines">${plural(plan.lines, 'line')}</span> · <span id="bl-errors"${plan.errors ? ' class="e"' : ''}>${plural(plan.errors, 'error')}</span>` +
      ` · <span id="bl-warnings"${plan.warnings ? ' class="w"' : ''}>${plural(plan.warnings, 'warning')}</span><span id="bl-duration">${dur}</span>` +
      `<a id="bl-first-error" href="${first ?? '#'}"${first ? '' : ' hidden'}>Jump to first error</a>`
    gutter = ` style="--g:${String(plan.maxIndex).length + 1}ch"`
  } else {
    sum =
      '<span id="bl-lines"></span> · <span id="bl-errors"></span> · <span id="bl-warnings"></span><span id="bl-duration"></span>' +
      '<a id="bl-first-error" href="#" hidden>Jump to first error</a>'
  }
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
      `<meta http-equiv="Content-Security-Policy" content="${CSP}">` +
      '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">' +
      `<meta name="generator" content="buildlog"><title>${t}</title>\n<style>${PAGE_CSS}</style>\n<script>${PAGE_JS}</script></head>\n` +
      `<body data-mode="${mode}"><header id="bl-head"><h1>${t}</h1><p class="sum">${sum}</p>` +
      '<div class="tools"><button type="button" id="bl-expand">Expand all</button><button type="button" id="bl-collapse">Collapse all</button>' +
      '<button type="button" id="bl-default" title="Open only sections with errors or warnings">Default folding</button>' +
      '<input type="search" id="bl-search" placeholder="Filter lines" aria-label="Filter lines" autocomplete="off"><span id="bl-count" aria-live="polite"></span></div>' +
      (mode === 'lazy' ? '<div id="bl-results" hidden></div>' : '') +
      '</header>\n' +
      `<main id="bl-log"${gutter}>\n`
  )
}

export class HtmlWriter {
  private parts: string[] = []
  private size = 0
  private readonly root: Rec = { ord: -1, path: [], depth: 0, parent: undefined, childCount: 0, style: DEFAULT_STYLE, open: undefined, parts: 1 }
  /** Sections open in the log, by id. */
  private readonly sections = new OpenSections<Rec>(this.root)
  /** Sections open in the HTML written so far, outermost first (the root excluded). */
  private readonly written: Rec[] = []
  private ordCounter = 0
  private chunk: string[] = []
  private chunkNext = 0
  private readonly plan: Plan | undefined
  /** One-pass mode: counts gathered while writing, for the trailing data block. */
  private readonly collector: StatsCollector | undefined
  private readonly title: string
  /** Section paths by ordinal ("1.2"). */
  private readonly paths: string[] = []

  constructor(options: HtmlWriterOptions = {}) {
    this.plan = options.plan
    this.collector = this.plan ? undefined : new StatsCollector()
    this.title = options.title ?? 'Build log'
  }

  /** Characters written but not yet taken. */
  get pending(): number {
    return this.size
  }

  take(): string {
    const s = this.parts.join('')
    this.parts = []
    this.size = 0
    return s
  }

  private put(s: string): void {
    this.parts.push(s)
    this.size += s.length
  }

  start(): void {
    this.put(pageStart(this.title, this.plan ? 'static' : 'stream', this.plan))
  }

  event(e: LogEvent): void {
    this.collector?.event(e)
    switch (e.type) {
      case 'open': {
        const parent = this.sections.get(e.parent)
        parent.childCount++
        const ord = this.ordCounter++
        const path = childPath(parent.path, parent.childCount)
        this.paths[ord] = path === undefined ? '' : pathString(path)
        this.sections.add(e.id, { ord, path, depth: parent.depth + 1, parent: parent === this.root ? undefined : parent, childCount: 0, style: DEFAULT_STYLE, open: e, parts: 0 })
        break
      }
      case 'line': {
        const r = this.sections.get(e.section)
        if (r.parts === 0 && e.head) {
          this.switchTo(r, e)
          break
        }
        this.switchTo(r, undefined)
        this.line(r, e)
        break
      }
      case 'close': {
        const r = this.sections.remove(e.id)
        if (!r) break
        if (r.parts === 0) this.switchTo(r, undefined) // an empty section still shows
        const at = this.written.indexOf(r)
        if (at >= 0) this.unwind(at)
        break
      }
      case 'diagnostic':
        this.closeChunk()
        this.put(`<div class="dg" role="note">${escapeLogText(e.message)}</div>\n`)
        break
      case 'status':
        break
    }
  }

  finish(): void {
    this.unwind(0)
    this.closeChunk()
    const plan = this.plan ?? this.collector!.finish()
    const open: string[] = []
    for (let i = 0; i < plan.sections.length; i++) if (plan.sections[i]!.hot && this.paths[i]) open.push(this.paths[i]!)
    const data: Record<string, unknown> = { open }
    if (!this.plan) {
      data['sections'] = plan.sections
      data['page'] = pageSummary(plan)
    }
    this.put(`</main>\n<script type="application/json" id="bl-data">${jsonForScript(data)}</script>\n</body></html>\n`)
  }

  /** Closes written sections from index `at` of the written stack outwards-in. */
  private unwind(at: number): void {
    if (this.written.length <= at) return
    this.closeChunk()
    while (this.written.length > at) {
      this.written.pop()
      this.put('</div></details>\n')
    }
  }

  /** Makes `r` the innermost written section, writing (continuation) starts as needed. */
  private switchTo(r: Rec, head: LineEvent | undefined): void {
    const top = this.written[this.written.length - 1]
    if (r === this.root ? top === undefined : top === r) return
    const chain: Rec[] = []
    for (let a: Rec | undefined = r === this.root ? undefined : r; a; a = a.parent) chain.push(a)
    chain.reverse()
    let common = 0
    while (common < chain.length && common < this.written.length && chain[common] === this.written[common]) common++
    this.unwind(common)
    this.closeChunk()
    for (let i = common; i < chain.length; i++) {
      const c = chain[i]!
      this.startPart(c, c === r ? head : undefined)
      this.written.push(c)
    }
  }

  private startPart(r: Rec, head: LineEvent | undefined): void {
    const stats = this.plan?.sections[r.ord]
    const open = stats?.hot ? ' open' : ''
    const path = this.paths[r.ord]!
    if (r.parts++ > 0) {
      this.put(`<details class="s cont"${path ? ` data-s="${path}"` : ''}${open}>${r.summary!.replace('<summary', '<summary data-cont=""')}<div class="b" style="--d:${r.depth}">\n`)
      return
    }
    const e = r.open!
    const kind = KINDS.has(e.kind) ? e.kind : 'other'
    let cls = 's k-' + kind
    if (stats && stats.lines === 0 && stats.children === 0) cls += ' empty'
    let summaryCls = ''
    let number = '<span class="n"></span>'
    let text: string
    let id = ''
    if (head) {
      const line = renderLine(head.text, head.styles, DEFAULT_STYLE, head.removed)
      text = line.html
      const sev = lineSeverity(head)
      summaryCls = sev === 'error' ? 'e' : sev === 'warning' ? 'w' : ''
      if (head.priority >= 3) summaryCls += summaryCls ? ' p3' : 'p3'
      number = `<span class="n" data-n="${head.index}"></span>`
      id = ` id="${lineAnchor(head.index)}"`
    } else {
      text = escapeLogText(e.title ?? kind)
      if (e.priority >= 3) summaryCls = 'p3'
    }
    const st = stats ? escapeHtml(statsText(stats)) : ''
    const anchor = r.path === undefined ? undefined : sectionAnchor(r.path)
    r.summary =
      `<summary${summaryCls ? ` class="${summaryCls}"` : ''}>${number}<span class="t">${text}</span>` +
      `<span class="st">${st}</span>${anchor ? sectionLink(anchor) : ''}</summary>`
    // a section without an anchor keeps its default folding in an attribute (the script's reset reads it)
    const hot = anchor ? '' : stats?.hot ? ' data-hot=""' : ''
    this.put(`<details class="${cls}"${anchor ? ` id="${anchor}"` : ''}${hot}${open}>${r.summary.replace('<summary', '<summary' + id)}<div class="b" style="--d:${r.depth}">\n`)
    r.open = undefined
  }

  private line(rec: Rec, e: LineEvent): void {
    if (this.chunk.length > 0 && (e.index !== this.chunkNext || this.chunk.length >= CHUNK_LINES)) this.closeChunk()
    this.chunkNext = e.index + 1
    const r = renderLine(e.text, e.styles, rec.style, e.removed)
    rec.style = r.end
    const sev = lineSeverity(e)
    let cls = sev === 'error' ? 'e' : sev === 'warning' ? 'w' : ''
    if (e.priority >= 3) cls += cls ? ' p3' : 'p3'
    // the first line of a chunk sets the line-number counter (counter-reset on the chunk itself is
    // ignored: content-visibility implies style containment)
    const set = this.chunk.length === 0 ? ` style="counter-set:n ${e.index}"` : ''
    this.chunk.push(`<p id="L${e.index}"${cls ? ` class="${cls}"` : ''}${set}>${r.html}`)
  }

  private closeChunk(): void {
    if (this.chunk.length === 0) return
    this.put(`<div class="c" style="--n:${this.chunk.length}">`)
    for (const s of this.chunk) this.put(s)
    this.put('</div>\n')
    this.chunk = []
  }
}
