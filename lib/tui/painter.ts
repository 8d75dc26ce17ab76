/**
 * What the pager draws, as text: the body rows, the breadcrumb and the status line of one frame,
 * each row a string of sanitised text and our own allow-listed SGR (cells.ts). No blessed here:
 * the pager hands these strings to its boxes, and the first screen (first-screen.ts) writes them
 * to the terminal itself before blessed has even loaded, so both draw the same frame.
 */

import { LINE_DIM, LINE_ERROR, LINE_HIT, LINE_WARNING } from '../tree/lines.js'
import { escapesAsText } from '../render/escape-text.js'
import { formatDuration } from '../render/duration.js'
import type { LineText, LogSource } from '../tree/source.js'
import type { LogTree, Row } from '../tree/tree.js'
import { DIM_GREY, GREY, RED, YELLOW, lineSpans, sliceSpans, span, spansToString, spansWidth, type Attr, type Span } from './cells.js'
import type { RowModel } from './view-model.js'

interface JobState {
  readonly hits: number
  readonly done: boolean
  readonly error?: string | undefined
}

/** Everything one frame depends on. */
export interface PaintState {
  readonly source: LogSource
  readonly model: RowModel
  /** The fold tree model (the model is a flat list while `&` or `X` is on). */
  readonly treeModel: RowModel
  readonly opts: { readonly elide: boolean; readonly chop: boolean; readonly lineNumbers: boolean; readonly color: boolean; readonly escapesAsText?: boolean }
  /** First displayed row, and the focus row. */
  readonly top: number
  readonly focus: number
  /** Horizontal scroll (chop mode). */
  readonly left: number
  readonly width: number
  /** Body rows (the screen minus breadcrumb and status). */
  readonly height: number
  readonly search: { readonly highlight: RegExp | string; readonly job: JobState } | undefined
  readonly filter: { readonly job: JobState } | undefined
  /** The failure extract (`X`) is shown instead of the tree. */
  readonly extract: boolean
  readonly prompt: { readonly kind: string; readonly text: string; readonly literal: boolean } | undefined
  readonly message: string
  /** A pending count or prefix, shown when there is no message. */
  readonly pending: string
  readonly following: boolean
}

/** The row the pager starts at: the first error (its path opened), else the first failed section, else the top. */
export function startAnchor(tree: LogTree, model: RowModel): Row {
  const e = tree.sections.firstError.get(0)
  if (e >= 0) {
    tree.revealLine(e)
    return { line: e }
  }
  const failed = tree.sections.findStatus('failed')
  if (failed > 0) {
    tree.reveal(failed)
    return { header: failed }
  }
  return model.rowAt(0) ?? { line: 0 }
}

/** The body: exactly `height` rows (wrapped or chopped), `~` past the end. */
export function bodyRows(st: PaintState): string[] {
  const h = st.height
  const w = st.width
  const out: string[] = []
  let r = st.top
  const focus = st.focus
  const numW = lineNumberWidth(st)
  while (out.length < h) {
    const row = st.model.rowAt(r++)
    if (!row) break
    let spans = rowSpans(st, row, numW)
    if (r - 1 === focus && focus !== st.top) spans = spans.map((sp) => ({ ...sp, attr: { ...sp.attr, bg: sp.attr.bg >= 0 ? sp.attr.bg : 236 } }))
    if (st.opts.chop || row.header !== undefined) out.push(spansToString(sliceSpans(spans, st.left, w)))
    else {
      const total = spansWidth(spans)
      for (let c = 0; c < Math.max(1, total) && out.length < h; c += w) out.push(spansToString(sliceSpans(spans, c, w)))
    }
  }
  while (out.length < h) out.push('\x1b[0;38;5;' + DIM_GREY + 'm~\x1b[0m')
  return out
}

export function lineNumberWidth(st: PaintState): number {
  return st.opts.lineNumbers ? Math.max(4, String(st.source.tree.lines.length).length) + 1 : 0
}

/**
 * Indent levels beyond the columns a row can show are not drawn (a log may nest tens of thousands
 * deep): those of the window for a chopped row (headers always are), of the whole body for a
 * wrapped one.
 */
function indentLimit(st: PaintState, chopped: boolean): number {
  return Math.ceil((chopped ? st.left + st.width : st.width * st.height) / 2)
}

/** One row (a section header or a log line) as styled spans, from column 0. */
export function rowSpans(st: PaintState, row: Row, numW: number): Span[] {
  const source = st.source
  const tree = source.tree
  const out: Span[] = []
  if (row.header !== undefined) {
    const sec = tree.sections.get(row.header)
    if (numW) out.push(span(sec.head >= 0 ? String(sec.head + 1).padStart(numW - 1) + ' ' : ' '.repeat(numW), { fg: GREY }))
    const indent = '  '.repeat(Math.min(Math.max(0, sec.depth - 1), indentLimit(st, true)))
    const inTree = st.model === st.treeModel
    const isOpen = tree.isOpen(row.header) && inTree
    const bad = tree.sections.holdsFailure(row.header)
    const empty = sec.lines === 0 && !tree.hasChildren(row.header)
    out.push(span(indent + (!inTree || empty ? '∙ ' : isOpen ? '▾ ' : '▸ '), { fg: bad ? RED : sec.warnings > 0 ? YELLOW : GREY, bold: true }))
    if (sec.head >= 0) {
      const t = source.lineText(sec.head)
      out.push(...lineSpans(t.text, t.styles, { elide: st.opts.elide, color: st.opts.color, base: { bold: true }, highlight: highlights(st, t.text) }, 400))
    } else out.push(...lineSpans(Buffer.from(sec.title || sec.kind), undefined, { elide: st.opts.elide, color: false, base: { bold: true } }, 400))
    const meta: Span[] = []
    const dot = (): void => {
      meta.push(span(' ∙ ', { fg: GREY }))
    }
    dot()
    meta.push(span(`${groupDigits(sec.lines)} line${sec.lines === 1 ? '' : 's'}`, { fg: GREY }))
    if (sec.errors > 0) {
      dot()
      meta.push(span(`${groupDigits(sec.errors)} error${sec.errors === 1 ? '' : 's'}`, { fg: RED, bold: true }))
    }
    if (sec.warnings > 0) {
      dot()
      meta.push(span(`${groupDigits(sec.warnings)} warning${sec.warnings === 1 ? '' : 's'}`, { fg: YELLOW }))
    }
    if (sec.status === 'failed') {
      dot()
      meta.push(span('failed', { fg: RED, bold: true }))
    }
    // a running section's time so far, when it is timed by arrival (the log's own clock may be old)
    const end = sec.startedAt === undefined ? undefined : (sec.endedAt ?? (!tree.sections.timedByLog(row.header) && tree.isRunning(row.header) ? Date.now() : undefined))
    if (end !== undefined && sec.startedAt !== undefined && end >= sec.startedAt) {
      dot()
      meta.push(span(formatDuration(end - sec.startedAt), { fg: GREY }))
    }
    if (st.search && sec.hits > 0) {
      dot()
      meta.push(span(`⌕ ${sec.hits}`, { fg: YELLOW }))
    }
    out.push(...meta)
    return out
  }
  const i = row.line
  const f = tree.lines.flags(i)
  if (numW) out.push(span(String(i + 1).padStart(numW - 1) + ' ', { fg: GREY }))
  const s = tree.lines.section(i)
  const depth = tree.sections.depth(s)
  if (depth > 0) out.push(span('  '.repeat(Math.min(depth, indentLimit(st, st.opts.chop)))))
  // chopped: what the window shows; wrapped: no more than fills the body (a 100 KB line is not laid out whole)
  const max = st.opts.chop ? st.left + st.width + 8 : Math.min(64 * 1024, st.width * st.height + 8)
  // -R: the line's bytes (no more than that many characters take), its escape sequences as dim text; else the decoded line
  const raw = st.opts.escapesAsText === true ? escapesAsText(source.rawLine(i, 4 * max)) : undefined
  const t: LineText = raw ?? source.lineText(i)
  const base: Partial<Attr> = (f & LINE_DIM) !== 0 ? { fg: DIM_GREY } : (f & LINE_WARNING) !== 0 ? { fg: YELLOW } : (f & LINE_ERROR) !== 0 ? { fg: RED, bold: true } : {}
  out.push(...lineSpans(t.text, t.styles, { elide: st.opts.elide, color: st.opts.color, base, highlight: (f & LINE_HIT) !== 0 || st.filter ? highlights(st, t.text) : undefined, removed: t.removed, dim: raw?.sequences }, max))
  return out
}

function highlights(st: PaintState, text: Buffer): Array<[number, number]> | undefined {
  if (!st.search) return undefined
  const plain = text.toString('utf8')
  const h = st.search.highlight
  const out: Array<[number, number]> = []
  if (typeof h === 'string') {
    if (h === '') return undefined
    for (let at = plain.indexOf(h); at !== -1 && out.length < 100; at = plain.indexOf(h, at + h.length)) out.push([at, at + h.length])
  } else {
    h.lastIndex = 0
    for (const m of plain.matchAll(h)) {
      if (m[0].length === 0) break
      out.push([m.index!, m.index! + m[0].length])
      if (out.length >= 100) break
    }
  }
  return out
}

/** The top row: the path of sections around the focus, truncated from the left. */
export function breadcrumb(st: PaintState): string {
  const w = st.width
  const tree = st.source.tree
  const row = st.model.rowAt(st.focus)
  if (!row) return spansToString([span(' ')])
  const s = row.header !== undefined ? tree.sections.parent.get(row.header) : tree.lines.section(row.line)
  // from the innermost section out, until the path is wider than the row (its left end is cut
  // anyway): `wide` counts a separator after each part, one more than the path has
  const parts: Span[][] = []
  let wide = 0
  for (let p = s; p > 0 && wide <= w + 3; p = tree.sections.parent.get(p)) {
    const title = (st.source.title(p) || tree.sections.kind(p)).replace(/[\x00-\x1f\x7f-\x9f]/g, '∙')
    const part = lineSpans(Buffer.from(title), undefined, { elide: st.opts.elide, color: false }, 60)
    parts.push(part)
    wide += spansWidth(part) + 3
  }
  parts.reverse()
  let spans: Span[] = []
  parts.forEach((p, k) => {
    if (k > 0) spans.push(span(' › ', { fg: GREY }))
    spans.push(...p)
  })
  if (parts.length === 0) spans = [span('(top level)', { fg: GREY })]
  const total = spansWidth(spans)
  if (total > w) spans = [span('…', { fg: GREY }), ...sliceSpans(spans, total - w + 1, w - 1)]
  return spansToString(spans.map((sp) => ({ ...sp, attr: { ...sp.attr, underline: true } })))
}

/** The bottom row: a prompt, or the message and the position, indexing progress, search and error counts. */
export function statusLine(st: PaintState): string {
  const w = st.width
  const source = st.source
  const tree = source.tree
  if (st.prompt) {
    const p = st.prompt
    const label = (p.kind === 's' ? 'save to: ' : p.kind) + (p.literal ? '^R' : '')
    return spansToString(sliceSpans([span(label + p.text), span(' ', { inverse: true })], 0, w))
  }
  const right: string[] = []
  const row = st.model.rowAt(st.focus)
  const total = tree.lines.length
  if (row) {
    const line = row.line !== undefined ? row.line : tree.sections.headerLine(row.header!)
    right.push(`L${groupDigits(line + 1)}/${groupDigits(total)}${source.indexing ? '+' : ''}`)
    const rc = st.model.rowCount
    right.push(rc <= st.height ? 'all' : `${Math.round((100 * Math.min(rc, st.top + st.height)) / rc)}%`)
  }
  if (source.stopped !== undefined) right.push(source.stopped)
  else if (source.indexing && !source.follow) right.push(`indexing ${source.fileSize ? Math.floor((100 * source.indexedBytes) / source.fileSize) : 100}%`)
  if (st.search) right.push(`⌕ ${jobProgress(st.search.job)}`)
  if (st.filter) right.push(`& ${jobProgress(st.filter.job)}`)
  if (st.extract) right.push('extract')
  if (st.following) right.push('FOLLOW')
  else if (source.follow) right.push('follow paused')
  const errs = tree.sections.errors.get(0)
  if (errs > 0) right.push(`${errs} error${errs === 1 ? '' : 's'}`)
  const rightText = ' ' + right.join(' ∙ ') + ' '
  const leftText = st.message || st.pending
  const spans = [span(leftText, { bold: !!st.message })]
  const rw = spansWidth([span(rightText)])
  const lw = spansWidth(spans)
  const leftPart = lw + rw > w ? sliceSpans(spans, 0, Math.max(0, w - rw)) : spans
  const gap = Math.max(0, w - spansWidth(leftPart) - rw)
  return spansToString(sliceSpans([...leftPart, span(' '.repeat(gap)), span(rightText, { inverse: true })], 0, w))
}

/** A search's hits, `…` while it runs, and why it stopped early if it did. */
function jobProgress(job: JobState): string {
  return groupDigits(job.hits) + (job.error !== undefined ? ` (${job.error})` : job.done ? '' : '…')
}

/**
 * A count with thousands separators, as `toLocaleString('en-US')` writes it, for integers. Not
 * toLocaleString itself: its first call loads ICU's locale data, ~20 ms of the first screen.
 */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

