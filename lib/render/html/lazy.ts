/**
 * The lazy page for big logs: one pass, and the browser builds DOM only for what is shown.
 *
 * A live page of a 100 MiB log is millions of elements; Chromium needs minutes to parse and lay it
 * out. Here the log goes into inert text blocks (`<script type="text/x-buildlog">`, raw text: the
 * parser only scans for `</script`) and the page script turns the parts that are opened or scrolled
 * to into DOM, with the same markup the live page uses (./line.ts, ./writer.ts).
 *
 * Blocks hold *records*, in stream order. A record is a header `<!ORD:N>` and HTML for section
 * ORD (0 is the root, section ordinals count from 1 in order of `open`):
 * - N > 0, HTML starting with `<p`: lines N, N+1, … of that section (ids and line numbers are
 *   assigned by the script, so the page does not repeat them);
 * - otherwise one child section's shell (`<details data-o=…>` with its summary and an empty body),
 *   whose head line is N (0: no head line), or a diagnostic note.
 * A record never spans two blocks; each block says the lowest line index it can hold (`data-l`), so
 * `#L123` finds its block by binary search. Concurrent (interleaved) sections need no continuation
 * parts: the script collects a section's records wherever they are.
 *
 * Escaping: every `<` of log text is `&lt;` (./escape.ts) and attribute values are escaped, so
 * the only `<` in a block are our own tags and record headers, none of which is `</script`, `<!--`
 * or `<script`: the block cannot end early nor switch the tokenizer into a state that swallows the
 * real `</script>`. `assertInert` checks that in the tests.
 *
 * Folding, header counts and section stats are decided by the script from the data block at the end
 * (per section: parent, block range, counts, flags), so one decoding pass suffices.
 */
import type { LineEvent, LogEvent } from '../../events.js'
import { childPath, lineAnchor, sectionAnchor, sectionLink } from '../anchors.js'
import { DEFAULT_STYLE, type StyleState } from '../../sgr/style.js'
import { escapeLogText, jsonForScript } from './escape.js'
import { renderLine } from './line.js'
import { textSeverity, type Severity } from '../../tree/severity.js'
import { StatsCollector } from './stats.js'
import { KINDS, OpenSections, pageStart, pageSummary } from './writer.js'

/** Characters of records per block before a new block starts (at a record boundary). */
export const BLOCK_CHARS = 64 * 1024

/** Numbers per section in the data block's `lazy.s` array (see `finish`). */
export const LAZY_FIELDS = 9

interface LRec {
  ord: number
  /** Anchor path (anchors.ts), none past ANCHOR_DEPTH. */
  path: number[] | undefined
  depth: number
  parent: LRec | undefined
  childCount: number
  style: StyleState
  shell: boolean
  kind: string
  title: string | undefined
  priority: number
}

const UNSAFE_IN_BLOCK = /<\/script|<!--|<script/i

/**
 * Throws if `text` could end or confuse a raw-text block. It cannot, by construction (see above);
 * the tests run it over every block of hostile and random logs. Not run while exporting: it cost a
 * tenth of the export time.
 */
export function assertInert(text: string): void {
  if (UNSAFE_IN_BLOCK.test(text)) throw new Error('buildlog: markup that would end an inert block')
}

/** Bytes per output buffer. */
const OUT_CHUNK = 1 << 20

/**
 * `lineSeverity` (lib/tree/severity.ts) on the text already decoded for display: its patterns are
 * ASCII, so UTF-8 and latin1 readings give the same answer, and the line is not converted twice.
 */
function severityOf(line: LineEvent, text: string): Severity {
  if (line.error || line.level === 0) return 'error'
  if (line.warning || line.level === 1) return 'warning'
  return textSeverity(text)
}

export class LazyHtmlWriter {
  /**
   * Output goes straight into Buffers: holding ~10^4 small strings per flush and joining them cost
   * more (joins, and garbage that lived long enough to be promoted) than rendering the lines.
   */
  private full: Buffer[] = []
  private buf = Buffer.allocUnsafe(OUT_CHUNK)
  private pos = 0
  private size = 0
  private readonly root: LRec = { ord: 0, path: [], depth: 0, parent: undefined, childCount: 0, style: DEFAULT_STYLE, shell: true, kind: '', title: undefined, priority: 1 }
  private readonly sections = new OpenSections<LRec>(this.root)
  /**
   * Per section ordinal (0 is the root): parent ordinal, first and last block holding one of its
   * records (-1: none). Typed arrays: a record object per section would outlive the section.
   */
  private par = new Int32Array(1024)
  private zFirst = new Int32Array(1024).fill(-1)
  private zLast = new Int32Array(1024).fill(-1)
  private count = 1
  private readonly collector = new StatsCollector()
  private readonly title: string
  private inBlock = false
  private blockSize = 0
  private blocks = 0
  /** The record being appended to: its section and the next line index it can take (-1: none). */
  private recOrd = -1
  private recNext = -1
  private lastLine = 0

  constructor(options: { title?: string } = {}) {
    this.title = options.title ?? 'Build log'
  }

  /** Bytes written but not yet taken. */
  get pending(): number {
    return this.size
  }

  /** The blocks written so far (UTF-8). */
  take(): Buffer {
    const out = this.full.length === 0 ? Buffer.from(this.buf.subarray(0, this.pos)) : Buffer.concat([...this.full, this.buf.subarray(0, this.pos)])
    this.full = []
    this.pos = 0
    this.size = 0
    return out
  }

  private put(s: string): void {
    if (this.pos + s.length * 3 > this.buf.length) {
      if (this.pos > 0) this.full.push(this.buf.subarray(0, this.pos))
      this.buf = Buffer.allocUnsafe(Math.max(OUT_CHUNK, s.length * 3))
      this.pos = 0
    }
    const n = this.buf.write(s, this.pos, 'utf8')
    this.pos += n
    this.size += n
  }

  /**
   * The blocks come out of `take()` as events arrive; the page around them only at the end, from
   * `finish()`: `head` (everything up to and including the data block, then the opening of the
   * block container) goes *before* the blocks, `tail` after. With the data first, the page script
   * can show the first screen while Chromium is still parsing the blocks further down.
   */
  start(): void {}

  event(e: LogEvent): void {
    if (e.type !== 'line') this.collector.event(e)
    switch (e.type) {
      case 'open': {
        const parent = this.sections.get(e.parent)
        parent.childCount++
        const ord = this.count++
        if (ord === this.par.length) this.grow()
        this.par[ord] = parent.ord
        const r: LRec = {
          ord,
          path: childPath(parent.path, parent.childCount),
          depth: parent.depth + 1,
          parent,
          childCount: 0,
          style: DEFAULT_STYLE,
          shell: false,
          kind: KINDS.has(e.kind) ? e.kind : 'other',
          title: e.title,
          priority: e.priority,
        }
        this.sections.add(e.id, r)
        break
      }
      case 'line': {
        const r = this.sections.get(e.section)
        if (!r.shell && e.head) {
          this.collector.event(e, this.shell(r, e))
          break
        }
        if (!r.shell) this.shell(r, undefined)
        this.collector.event(e, this.line(r, e))
        break
      }
      case 'close': {
        const r = this.sections.remove(e.id)
        if (!r) break
        if (!r.shell) this.shell(r, undefined) // an empty section still shows
        break
      }
      case 'diagnostic':
        this.record(0, 0)
        this.recOrd = -1
        this.add(`<div class="dg" role="note">${escapeLogText(e.message)}</div>`)
        break
      case 'status':
        break
    }
  }

  finish(): { head: string; tail: string } {
    this.closeBlock()
    const plan = this.collector.finish()
    const s: number[] = []
    for (let ord = 1; ord < this.count; ord++) {
      const st = plan.sections[ord - 1]!
      const flags = (st.failed ? 1 : 0) | (st.hot ? 2 : 0)
      s.push(this.par[ord]!, this.zFirst[ord]!, this.zLast[ord]!, st.lines, st.errors, st.warnings, st.children, flags, st.durationMs ?? -1)
    }
    const data = {
      open: [],
      page: pageSummary(plan),
      lazy: { blocks: this.blocks, root: [this.zFirst[0]!, this.zLast[0]!], s },
    }
    return {
      head:
        pageStart(this.title, 'lazy', undefined) +
        '<noscript><p class="dg">This page holds a big log and shows it with JavaScript, which is disabled.</p></noscript>\n</main>\n' +
        `<script type="application/json" id="bl-data">${jsonForScript(data)}</script>\n<div id="bl-z" hidden>\n`,
      tail: '</div>\n</body></html>\n',
    }
  }

  private grow(): void {
    const n = this.par.length * 2
    const more = (a: Int32Array, fill: number) => {
      const b = new Int32Array(n).fill(fill)
      b.set(a)
      return b
    }
    this.par = more(this.par, 0)
    this.zFirst = more(this.zFirst, -1)
    this.zLast = more(this.zLast, -1)
  }

  /** Starts a record for section `ord` (first line index `n`, 0 for none), in a new block if full. */
  private record(ord: number, n: number): void {
    if (this.blockSize >= BLOCK_CHARS) this.closeBlock()
    if (!this.inBlock) {
      this.put(`<script type="text/x-buildlog" data-l="${this.lastLine + 1}">`)
      this.inBlock = true
      this.blockSize = 0
    }
    if (this.zFirst[ord]! < 0) this.zFirst[ord] = this.blocks
    this.zLast[ord] = this.blocks
    this.add(`<!${ord}:${n}>`)
    this.recOrd = ord
  }

  private add(s: string): void {
    this.put(s)
    this.blockSize += s.length
  }

  private closeBlock(): void {
    if (!this.inBlock) return
    this.put('</script>\n')
    this.inBlock = false
    this.blockSize = 0
    this.blocks++
    this.recOrd = -1
  }

  /**
   * Writes `r`'s shell into its parent's records (the parent's shell first, if still unwritten);
   * returns the head line's severity.
   */
  private shell(r: LRec, head: LineEvent | undefined): Severity {
    const parent = r.parent!
    if (!parent.shell) this.shell(parent, undefined)
    r.shell = true
    let summaryCls = ''
    let number = '<span class="n"></span>'
    let text: string
    let id = ''
    let sev: Severity = undefined
    if (head) {
      const out = renderLine(head.text, head.styles, DEFAULT_STYLE, head.removed, false)
      text = out.html
      sev = severityOf(head, out.text)
      summaryCls = sev === 'error' ? 'e' : sev === 'warning' ? 'w' : ''
      if (head.priority >= 3) summaryCls += summaryCls ? ' p3' : 'p3'
      number = `<span class="n" data-n="${head.index}"></span>`
      id = ` id="${lineAnchor(head.index)}"`
    } else {
      text = escapeLogText(r.title ?? r.kind)
      if (r.priority >= 3) summaryCls = 'p3'
    }
    const anchor = r.path === undefined ? undefined : sectionAnchor(r.path)
    this.record(parent.ord, head ? head.index : 0)
    if (head) this.lastLine = head.index
    this.add(
      `<details class="s k-${r.kind}"${anchor ? ` id="${anchor}"` : ''} data-o="${r.ord}"><summary${id}${summaryCls ? ` class="${summaryCls}"` : ''}>${number}<span class="t">${text}</span>` +
        `<span class="st"></span>${anchor ? sectionLink(anchor) : ''}</summary><div class="b" style="--d:${r.depth}"></div></details>`,
    )
    this.recOrd = -1
    return sev
  }

  /** Writes a line; returns its severity (for the counts). */
  private line(r: LRec, e: LineEvent): Severity {
    if (this.recOrd !== r.ord || this.recNext !== e.index || this.blockSize >= BLOCK_CHARS) this.record(r.ord, e.index)
    this.recNext = e.index + 1
    this.lastLine = e.index
    const out = renderLine(e.text, e.styles, r.style, e.removed, false)
    r.style = out.end
    const sev = severityOf(e, out.text)
    let cls = sev === 'error' ? 'e' : sev === 'warning' ? 'w' : ''
    if (e.priority >= 3) cls += cls ? ' p3' : 'p3'
    this.add(cls === '' ? '<p>' : cls === 'p3' ? '<p class="p3">' : `<p class="${cls}">`)
    this.add(out.html)
    return sev
  }
}
