/**
 * The pager: one blessed screen, a breadcrumb row, a body box whose content is set to just the
 * visible rows at render time, and a status row. Keys go through one keypress handler with a small
 * state machine (counts, prefixes, prompts); the key map is pager.md §2.
 */

import blessed from 'blessed'
import type { Widgets } from 'blessed'
import fs from 'node:fs'
import os from 'node:os'
import { failedDrvs } from '../dialects/drv-name.js'
import { anchorTarget, lineAnchorOf, sectionAnchorOf } from './anchor-rows.js'
import { FailureExtract } from '../tree/extract.js'
import type { Anchor } from '../render/anchors.js'
import { LINE_ERROR, LINE_EXTRACT, LINE_FILTER, LINE_HIT, LINE_WARNING } from '../tree/lines.js'
import { SearchJob, type Pattern } from '../tree/search.js'
import type { LogSource } from '../tree/source.js'
import type { Row } from '../tree/tree.js'
import { spansWidth } from './cells.js'
import { FIRST_BYTES } from './first-screen.js'
import { HELP_TEXT } from './help.js'
import { bodyRows, breadcrumb, groupDigits, rowSpans, startAnchor, statusLine, type PaintState } from './painter.js'
import { createScreen, enableWheel, suspend, type ScreenStreams } from './screen.js'
import { FilterModel, TreeModel, type RowModel } from './view-model.js'

export interface PagerOptions {
  /** Elide store paths (`-H` toggles). */
  elide?: boolean
  /** Chop long lines instead of wrapping (`-S`). */
  chop?: boolean
  /** Line numbers (`-N`). */
  lineNumbers?: boolean
  color?: boolean
  follow?: boolean
  mouse?: boolean
  term?: string
  /** Bytes indexed synchronously before the first paint (0 when the first screen already did). */
  firstBytes?: number
  /** Escape sequences in lines shown as their dim text rather than as placeholders (`-R` toggles). */
  escapesAsText?: boolean
  /** Where to open (`buildlog view --at`): a line or a section, as the HTML page's anchors name them. */
  at?: Anchor | undefined
}

type Prompt = { kind: '/' | '?' | '&' | ':' | 's'; text: string; literal: boolean }

/** How long the extract's marks and rows are built before the screen answers again. */
const EXTRACT_SLICE_MS = 8
/** Error lines the extract's summary reads for failed derivations' names (Nix names them at the end of its output). */
const DRV_LINES_READ = 50

const RENDER_THROTTLE_MS = 50
/**
 * How often a file's index progress renders the screen while it is being read (not followed, not
 * a pipe still arriving): a render is ~8 ms of the main thread on 120 by 40, which the index waits
 * for — at the 50 ms throttle, 11–13 renders took ~95 ms of the 1 GiB legacy corpus's ~0.9 s
 * index. Keys render at once.
 */
const INDEX_RENDER_MS = 200

export class Pager {
  readonly screen: Widgets.Screen
  private readonly body: Widgets.BoxElement
  private readonly crumb: Widgets.BoxElement
  private readonly status: Widgets.BoxElement
  private help: Widgets.BoxElement | undefined
  private readonly treeModel: TreeModel
  private model: RowModel
  private anchor: Row = { line: 0 }
  private left = 0
  private count = ''
  private prefix = ''
  private prompt: Prompt | undefined
  private message = ''
  private search: { pattern: Pattern; backward: boolean; job: SearchJob; highlight: RegExp | string } | undefined
  private filter: { job: SearchJob; model: FilterModel } | undefined
  /** The failure extract's lines and rows (kept while the view is off: they only grow), and the rows while `X` shows them. */
  private failures: FailureExtract | undefined
  private extractRows: FilterModel | undefined
  private extract: FilterModel | undefined
  private readonly marks = new Map<string, Row>()
  private lastJump: Row | undefined
  private followingOn = false
  private touched = false
  private foldLevel = 0
  private renderTimer: NodeJS.Timeout | undefined
  private destroyed = false
  private exitResolve!: (code: number) => void
  readonly exited: Promise<number>
  readonly opts: Required<Omit<PagerOptions, 'term' | 'firstBytes' | 'at'>>
  /** Last render duration in ms (bench). */
  lastRenderMs = 0

  constructor(readonly source: LogSource, streams: ScreenStreams, options: PagerOptions = {}) {
    this.opts = {
      elide: options.elide ?? true,
      chop: options.chop ?? false,
      lineNumbers: options.lineNumbers ?? false,
      color: options.color ?? true,
      follow: options.follow ?? false,
      mouse: options.mouse ?? true,
      escapesAsText: options.escapesAsText ?? false,
    }
    this.exited = new Promise((r) => (this.exitResolve = r))
    this.treeModel = new TreeModel(source.tree)
    this.model = this.treeModel
    const tree = source.tree
    source.indexSync(options.firstBytes ?? FIRST_BYTES)
    tree.foldDefault()
    this.startAtFailure()
    // the anchor to open at, not the first failure, once the index reaches it
    this.pendingAt = options.at
    if (this.pendingAt) this.touched = true

    this.screen = createScreen(streams, options.term)
    this.crumb = blessed.box({ parent: this.screen, top: 0, left: 0, width: '100%', height: 1, tags: false, wrap: false })
    this.body = blessed.box({ parent: this.screen, top: 1, left: 0, width: '100%', height: '100%-2', tags: false, wrap: false, scrollable: false })
    this.status = blessed.box({ parent: this.screen, bottom: 0, left: 0, width: '100%', height: 1, tags: false, wrap: false })
    this.screen.on('prerender', () => this.fill())
    this.screen.on('keypress', (ch: string | undefined, key: Widgets.Events.IKeyEventArg) => this.guard(() => this.onKey(ch, key)))
    this.screen.on('resize', () => this.guard(() => this.render()))
    if (this.opts.mouse) enableWheel(this.screen, this.body, (d) => this.guard(() => this.scroll(d, d < 0)))

    source.on('progress', () => this.onProgress())
    source.on('eof', () => this.onProgress())
    if (this.pendingAt) this.openAtAnchor()
    source.start()
    if (this.opts.follow) this.startFollow()
    this.render()
  }

  private guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.crash(err)
    }
  }

  /** Called by the CLI on an internal error: the terminal is restored before the error is shown. */
  onCrash: ((err: unknown) => void) | undefined

  private crash(err: unknown): void {
    if (this.onCrash) this.onCrash(err)
    else throw err
  }

  // ---- lifecycle -------------------------------------------------------------------------

  quit(code = 0): void {
    if (this.destroyed) return
    this.destroy()
    this.exitResolve(code)
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    if (this.renderTimer) clearTimeout(this.renderTimer)
    if (this.extractSlice) clearImmediate(this.extractSlice)
    this.search?.job.cancel()
    this.filter?.job.cancel()
    this.source.close()
    try {
      this.screen.destroy()
    } catch {
      // the terminal is gone
    }
  }

  private onProgress(): void {
    const tree = this.source.tree
    if (tree.done && !this.foldedAtEnd) {
      this.foldedAtEnd = true
      if (!this.touched) {
        tree.foldDefault()
        this.startAtFailure()
      } else {
        const manual = new Map<number, boolean>()
        for (let s = 1; s < tree.sections.length; s++) if (tree.isManual(s)) manual.set(s, tree.isOpen(s))
        tree.foldDefault()
        for (const [s, open] of manual) tree.setOpen(s, open)
        // the row in focus stays in sight (an anchor opened at, a line read while indexing)
        if (this.model === this.treeModel) {
          if (this.anchor.line !== undefined) tree.revealLine(this.anchor.line)
          else if (this.anchor.header !== undefined) tree.reveal(this.anchor.header)
        }
      }
    }
    if (this.pendingAt) this.openAtAnchor()
    if (this.filter) this.filter.model.extend(this.filter.job.scannedLines)
    if (this.extract) this.stepExtract()
    if (this.following) this.toBottom()
    // (a followed file and a pipe still arriving stream new lines: those render at the usual pace)
    this.scheduleRender(this.source.indexing && !this.source.follow && !this.source.growing && !this.following ? INDEX_RENDER_MS : RENDER_THROTTLE_MS)
  }

  private foldedAtEnd = false

  /** An anchor to open at (PagerOptions.at) that the index has not reached yet. */
  private pendingAt: Anchor | undefined

  /** Goes to the anchor to open at once the index holds it; says so when the log has no such line or section. */
  private openAtAnchor(): void {
    const at = this.pendingAt!
    const target = anchorTarget(this.source.tree, at)
    if (target === 'later') return
    this.pendingAt = undefined
    if (target === 'missing') {
      const tree = this.source.tree
      this.message = at.kind === 'line' ? `no line ${groupDigits(at.from)}: the log has ${groupDigits(tree.lines.length)}` : `no section S${at.path.join('.')} in this log`
      return
    }
    const row = target.row
    // opened as by hand: the folding at the end of the index leaves it open
    if (row.header !== undefined) this.source.tree.setOpen(row.header, true, true)
    this.jumpTo(row)
  }

  private startAtFailure(): void {
    this.anchor = startAnchor(this.source.tree, this.model)
  }

  /** Renders within `ms` (a render asked for sooner replaces one due later). */
  private scheduleRender(ms = RENDER_THROTTLE_MS): void {
    if (this.destroyed) return
    const due = performance.now() + ms
    if (this.renderTimer) {
      if (this.renderDue <= due) return
      clearTimeout(this.renderTimer)
    }
    this.renderDue = due
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined
      this.guard(() => this.render())
    }, ms)
  }

  private renderDue = 0

  render(): void {
    if (this.destroyed) return
    const t0 = performance.now()
    this.screen.render()
    this.lastRenderMs = performance.now() - t0
  }

  // ---- geometry ---------------------------------------------------------------------------

  get height(): number {
    return Math.max(1, (this.screen.height as number) - 2)
  }

  get width(): number {
    return Math.max(1, this.screen.width as number)
  }

  /** Row of the focus (the anchor). */
  get focus(): number {
    if (this.model.rowCount === 0) return 0
    return Math.max(0, Math.min(this.model.indexOf(this.anchor), this.model.rowCount - 1))
  }

  /** First displayed row: the focus, unless that would leave the last page part empty. */
  get top(): number {
    return Math.max(0, Math.min(this.focus, this.model.rowCount - this.height))
  }

  private setTop(r: number): void {
    const n = this.model.rowCount
    const t = Math.max(0, Math.min(r, Math.max(0, n - this.height)))
    this.anchor = this.model.rowAt(t) ?? this.anchor
  }

  private scroll(delta: number, pauseFollow = delta < 0): void {
    if (pauseFollow) this.following = false
    this.touched = true
    this.setTop(this.top + delta)
    this.render()
  }

  private toBottom(): void {
    this.setTop(this.model.rowCount)
  }

  private jumpTo(row: Row, reveal = true): void {
    this.lastJump = this.anchor
    this.touched = true
    if (reveal && this.model === this.treeModel) {
      if (row.line !== undefined) this.source.tree.revealLine(row.line)
      else this.source.tree.reveal(row.header!)
    }
    this.anchor = row
    // show the target at the top unless that would leave the screen half empty at the end
    this.render()
  }

  /** The section that fold commands act on. */
  private focusSection(): number {
    const a = this.anchor
    if (a.header !== undefined) return a.header
    return this.source.tree.lines.section(a.line)
  }

  /** Line index from which forward (dir 1) / backward scans start. */
  private scanFrom(dir: 1 | -1): number {
    const tree = this.source.tree
    const a = this.anchor
    if (a.line !== undefined) return a.line + dir
    const first = tree.sections.headerLine(a.header!)
    if (dir === -1) return first - 1
    // forward from past the head line, which the header shows
    return tree.sections.head(a.header!) >= 0 ? first + 1 : first
  }

  // ---- drawing ----------------------------------------------------------------------------

  /** The state one frame depends on (painter.ts draws it; the first screen drew the same). */
  private paintState(): PaintState {
    const focus = this.focus
    return {
      source: this.source, model: this.model, treeModel: this.treeModel, opts: this.opts,
      top: Math.max(0, Math.min(focus, this.model.rowCount - this.height)), focus, left: this.left,
      width: this.width, height: this.height, search: this.search, filter: this.filter, extract: this.extract !== undefined, prompt: this.prompt,
      message: this.message, pending: this.count + this.prefix, following: this.following,
    }
  }

  private fill(): void {
    const st = this.paintState()
    this.body.setContent(bodyRows(st).join('\n'))
    this.crumb.setContent(breadcrumb(st))
    this.status.setContent(statusLine(st))
  }

  // ---- keys -------------------------------------------------------------------------------

  private onKey(ch: string | undefined, key: Widgets.Events.IKeyEventArg): void {
    if (this.destroyed) return
    const name = key?.full ?? key?.name ?? ''
    if (name === 'return') return // blessed reports CR as both 'return' and 'enter'
    if (this.help) {
      if (name === 'q' || name === 'escape' || name === 'S-h' || name === 'f1' || name === 'enter') {
        this.help.destroy()
        this.help = undefined
        this.render()
      }
      return
    }
    if (this.prompt) return this.promptKey(ch, key)
    const hadMessage = this.message
    this.message = ''
    // a pending prefix consumes the next key
    if (this.prefix) {
      const p = this.prefix
      this.prefix = ''
      this.prefixKey(p, ch, name)
      this.count = ''
      this.render()
      return
    }
    if (ch && /^[0-9]$/.test(ch) && !key.ctrl && !key.meta) {
      this.count += ch
      this.render()
      return
    }
    const n = this.count === '' ? undefined : Number(this.count)
    this.count = ''
    const handled = this.command(ch, name, key, n)
    if (!handled && hadMessage && !this.message) this.message = ''
    if (!this.destroyed) this.render()
  }

  private command(ch: string | undefined, name: string, key: Widgets.Events.IKeyEventArg, n: number | undefined): boolean {
    const tree = this.source.tree
    const count = n ?? 1
    const h = this.height
    switch (name) {
      case 'j': case 'down': case 'C-n': case 'C-e':
        this.scroll(count, false); return true
      case 'k': case 'up': case 'C-p': case 'C-y': case 'y':
        this.scroll(-count); return true
      case 'space': case 'f': case 'C-f': case 'pagedown':
        this.scroll(count * h, false); return true
      case 'b': case 'C-b': case 'pageup':
        this.scroll(-count * h); return true
      case 'd': case 'C-d':
        this.scroll(n ?? Math.floor(h / 2), false); return true
      case 'u': case 'C-u':
        this.scroll(-(n ?? Math.floor(h / 2))); return true
      case 'g': case '<': case 'home':
        if (n !== undefined) this.gotoLine(n)
        else { this.lastJump = this.anchor; this.following = false; this.setTop(0) }
        return true
      case 'S-g': case '>': case 'end':
        if (n !== undefined) this.gotoLine(n)
        else { this.lastJump = this.anchor; this.toBottom() }
        return true
      case '%':
        if (n !== undefined) this.setTop(Math.floor((this.model.rowCount * Math.min(100, n)) / 100))
        return true
      case 'S-left': this.left = 0; return true
      case 'S-right': this.left = Math.max(0, this.maxWidth() - this.width); return true
      case '/': case '?': case '&': case ':': case 's':
        this.prompt = { kind: name as Prompt['kind'], text: '', literal: false }; return true
      case 'n': this.repeatSearch(false); return true
      case 'S-n': this.repeatSearch(true); return true
      case 'S-f': this.startFollow(); return true
      case 'C-c':
        if (this.source.follow || this.following) { this.following = false; this.source.setFollow(false); this.message = 'follow stopped' }
        else if (this.search && !this.search.job.done) { this.search.job.cancel(); this.message = 'search cancelled' }
        else this.quit(0)
        return true
      case 'm': case "'": case 'z': case '[': case ']': case '-': case 'escape': case 'S-z':
        this.prefix = name === 'S-z' ? 'Z' : name === 'escape' ? 'ESC' : name; return true
      case 'tab': case 'enter':
        this.toggle(); return true
      case 'l': case 'right': this.openOrDescend(); return true
      case 'h': case 'left': this.closeOrAscend(); return true
      case 'S-j': this.sibling(1); return true
      case 'S-k': this.sibling(-1); return true
      case '}': this.nextHeader(1); return true
      case '{': this.nextHeader(-1); return true
      case 'e': this.nextFlag(1, LINE_ERROR, 'error'); return true
      case 'S-e': this.nextFlag(-1, LINE_ERROR, 'error'); return true
      case 'w': this.nextFlag(1, LINE_WARNING, 'warning'); return true
      case 'S-w': this.nextFlag(-1, LINE_WARNING, 'warning'); return true
      case 'x': this.firstFailure(); return true
      case 'S-x': this.toggleExtract(); return true
      case '=': this.info(); return true
      case 'r': case 'C-l': this.screen.realloc(); return true
      case 'S-h': case 'f1': this.showHelp(); return true
      case 'C-z': suspend(this.screen, () => this.render()); return true
      case 'q': case 'S-q': this.quit(0); return true
      default:
        if (ch === '<') { this.setTop(0); return true }
        if (ch === '>') { this.toBottom(); return true }
        if (ch === '%' && n !== undefined) { this.setTop(Math.floor((this.model.rowCount * Math.min(100, n)) / 100)); return true }
        if (ch === '=') { this.info(); return true }
        if (ch === '{' || ch === '}') { this.nextHeader(ch === '}' ? 1 : -1); return true }
        if (key.meta && (ch === '(' || ch === ')' || name === 'M-(' || name === 'M-)')) { this.hscroll(ch === ')' || name === 'M-)' ? 1 : -1); return true }
        return false
    }
    void tree
  }

  private prefixKey(p: string, ch: string | undefined, name: string): void {
    const tree = this.source.tree
    const c = ch ?? ''
    switch (p) {
      case 'z':
        switch (c) {
          case 'a': this.toggle(); break
          case 'o': this.setFocusOpen(true); break
          case 'c': this.setFocusOpen(false); break
          case 'O': this.setRecursive(true); break
          case 'C': this.setRecursive(false); break
          case 'R': this.foldLevel = 99; tree.setAll(true, false); this.touched = true; break
          case 'M': this.foldLevel = 0; tree.setAll(false, false); this.touched = true; this.anchorToVisible(); break
          case 'x': tree.foldDefault(); this.anchorToVisible(); break
          case 'r': this.foldLevel++; tree.setLevel(this.foldLevel, true); break
          case 'm': this.foldLevel = Math.max(0, this.foldLevel - 1); tree.setLevel(this.foldLevel, false); this.anchorToVisible(); break
          case 'v':
            if (this.anchor.line !== undefined) tree.revealLine(this.anchor.line)
            else tree.reveal(this.anchor.header!)
            break
          default: this.message = `unknown command z${c}`
        }
        return
      case 'm':
        if (/^[a-z]$/.test(c)) { this.marks.set(c, this.anchor); this.message = `mark ${c} set` }
        return
      case "'":
        if (c === "'") { if (this.lastJump) this.jumpTo(this.lastJump) }
        else { const m = this.marks.get(c); if (m) this.jumpTo(m); else this.message = `mark ${c} not set` }
        return
      case '[':
        if (c === 'z') this.parentHeader()
        else if (c === '[') this.nextHeader(-1)
        return
      case ']':
        if (c === ']') this.nextHeader(1)
        return
      case '-':
        if (c === 'S') { this.opts.chop = !this.opts.chop; this.left = 0; this.message = this.opts.chop ? 'chop long lines' : 'wrap long lines' }
        else if (c === 'N') this.opts.lineNumbers = !this.opts.lineNumbers
        else if (c === 'H') { this.opts.elide = !this.opts.elide; this.message = this.opts.elide ? 'store paths shortened' : 'store paths in full' }
        else if (c === 'R') { this.opts.escapesAsText = !this.opts.escapesAsText; this.message = this.opts.escapesAsText ? 'escapes shown as text' : 'escapes shown as placeholders' }
        else this.message = `unknown option -${c}`
        return
      case 'Z':
        if (c === 'Z') this.quit(0)
        return
      case 'ESC':
        if (c === '(' ) this.hscroll(-1)
        else if (c === ')') this.hscroll(1)
        else if (c === 'u') { this.search = undefined }
        return
      default:
        void name
    }
  }

  private promptKey(ch: string | undefined, key: Widgets.Events.IKeyEventArg): void {
    const p = this.prompt!
    const name = key?.full ?? key?.name
    if (name === 'escape' || name === 'C-c' || name === 'C-g') this.prompt = undefined
    else if (name === 'return') return
    else if (name === 'enter') {
      this.prompt = undefined
      this.submit(p)
    } else if (name === 'backspace') {
      if (p.text === '') this.prompt = undefined
      else p.text = [...p.text].slice(0, -1).join('')
    } else if (name === 'C-r') p.literal = !p.literal
    else if (name === 'C-u') p.text = ''
    else if (ch && !key.ctrl && !key.meta && ch >= ' ' && ch !== '\x7f') p.text += ch
    this.render()
  }

  private submit(p: Prompt): void {
    if (p.kind === 's') return this.saveInput(p.text)
    if (p.kind === ':') {
      const t = p.text.trim()
      if (t === 'q' || t === 'q!' || t === 'quit') this.quit(0)
      else if (/^\d+$/.test(t)) this.gotoLine(Number(t))
      else if (t !== '') this.message = `unknown command :${t}`
      return
    }
    let text = p.text
    let invert = false
    if (text.startsWith('!')) {
      invert = true
      text = text.slice(1)
    }
    if (p.kind === '&') return this.setFilter(text, invert, p.literal)
    if (text === '' && this.search) {
      this.search.backward = p.kind === '?'
      return this.repeatSearch(false)
    }
    if (text === '') return
    const pattern: Pattern = { source: text, literal: p.literal, invert }
    let highlight: RegExp | string
    try {
      highlight = p.literal ? text : new RegExp(text, 'g')
    } catch (err) {
      this.message = `bad pattern: ${(err as Error).message}`
      return
    }
    this.search?.job.cancel()
    const job = new SearchJob(this.source.fd, this.source.tree, pattern, LINE_HIT)
    job.onProgress(() => this.scheduleRender())
    this.search = { pattern, backward: p.kind === '?', job, highlight: invert ? '' : highlight }
    this.repeatSearch(false)
  }

  private setFilter(text: string, invert: boolean, literal: boolean): void {
    this.filter?.job.cancel()
    if (this.extract) this.closeExtract()
    const keep = this.anchor
    if (text === '') {
      this.filter = undefined
      this.model = this.treeModel
      this.anchor = keep
      this.message = 'filter off'
      return
    }
    try {
      if (!literal) new RegExp(text)
    } catch (err) {
      this.message = `bad pattern: ${(err as Error).message}`
      return
    }
    const job = new SearchJob(this.source.fd, this.source.tree, { source: text, literal, invert }, LINE_FILTER)
    const model = new FilterModel(this.source.tree)
    this.filter = { job, model }
    this.model = model
    job.onProgress(() => {
      model.extend(job.scannedLines)
      this.scheduleRender()
    })
    if (!this.search) this.search = { pattern: { source: text, literal }, backward: false, job, highlight: invert ? '' : literal ? text : new RegExp(text, 'g') }
    this.anchor = { line: 0 }
  }

  /**
   * `X`: the failure extract (extract.ts) instead of the tree, from its first row; again, the tree
   * with the extract's focus line revealed in its place. It replaces a filter (`&`).
   */
  private toggleExtract(): void {
    if (this.extract) {
      this.closeExtract()
      return
    }
    const tree = this.source.tree
    this.failures ??= new FailureExtract(tree)
    this.extractRows ??= new FilterModel(tree, LINE_EXTRACT)
    // a first slice: whether the log has a failure (finding none takes one pass), and the first rows
    this.stepExtract()
    if (this.failures.errors === 0 && this.failures.failedSections === 0 && this.failures.caughtUp) {
      this.message = tree.sections.failedBelow(0) ? 'the failed sections wrote no lines: x goes to the first' : this.source.indexing ? 'no failure indexed yet' : 'no failure in this log'
      return
    }
    if (this.filter) {
      this.filter.job.cancel()
      this.filter = undefined
    }
    this.extract = this.extractRows
    this.model = this.extract
    this.anchor = this.model.rowAt(0) ?? this.anchor
    this.touched = true
    this.message = this.extractSummary()
  }

  /** Back to the tree, at the extract's focus row, its folds opened. */
  private closeExtract(): void {
    const row = this.model.rowAt(this.focus)
    this.extract = undefined
    this.model = this.treeModel
    if (row) this.jumpTo(row)
  }

  /**
   * The extract's marks and rows, in slices of EXTRACT_SLICE_MS with the screen answering keys
   * between them, until they have caught up with the index (a 1 GiB log's 33,000 errors take
   * ~100 ms). Its rows are built again when a mark lands before them (an error's context before
   * it, a failed section's tail).
   */
  private stepExtract(): void {
    const tree = this.source.tree
    const failures = this.failures!
    const deadline = performance.now() + EXTRACT_SLICE_MS
    if (failures.update(deadline) < this.extractRows!.scanned) {
      this.extractRows = new FilterModel(tree, LINE_EXTRACT)
      if (this.extract) this.model = this.extract = this.extractRows
    }
    this.extractRows!.extend(failures.settled, deadline)
    if (!this.extractBehind() || this.extractSlice !== undefined) return
    this.extractSlice = setImmediate(() => {
      this.extractSlice = undefined
      this.guard(() => {
        this.stepExtract()
        if (this.extract && this.message.startsWith('extract:')) this.message = this.extractSummary()
        this.scheduleRender()
      })
    })
  }
  private extractSlice: NodeJS.Immediate | undefined

  /** The extract's marks or rows have not caught up with the index yet. */
  private extractBehind(): boolean {
    return !this.failures!.caughtUp || this.extractRows!.scanned < this.source.tree.lines.length
  }

  /**
   * What the extract holds, and the command that shows a failed derivation's whole log. Its count
   * ends in … until the rows have caught up too: the last errors' rows come a slice after the
   * count, and G before them would not reach them.
   */
  private extractSummary(): string {
    const failures = this.failures!
    const parts = [`${groupDigits(failures.errors)}${this.extractBehind() ? '…' : ''} error${failures.errors === 1 ? '' : 's'}`]
    if (failures.failedSections > 0) parts.push(`${groupDigits(failures.failedSections)} failed section${failures.failedSections === 1 ? '' : 's'}`)
    const drvs = this.failedDrvs()
    const hint = drvs.length === 0 ? '' : ` ∙ nix log ${drvs[0]}${drvs.length > 1 ? ` (+${drvs.length - 1})` : ''}`
    return `extract: ${parts.join(', ')}${hint}`
  }

  /** The derivations the last error lines name as failed (`error: builder for '…drv' failed`), the last named first. */
  private failedDrvs(): string[] {
    const lines = this.source.tree.lines
    const found = new Set<string>()
    let looked = 0
    for (let e = lines.findFlag(lines.length - 1, -1, LINE_ERROR); e >= 0 && looked < DRV_LINES_READ; e = lines.findFlag(e - 1, -1, LINE_ERROR), looked++) {
      for (const drv of failedDrvs(this.source.lineText(e).text.toString('utf8'))) found.add(drv)
    }
    return [...found]
  }

  private repeatSearch(reverse: boolean): void {
    const s = this.search
    if (!s) {
      this.message = 'no previous search'
      return
    }
    const dir: 1 | -1 = s.backward !== reverse ? -1 : 1
    const from = this.scanFrom(dir)
    const job = s.job
    const lines = this.source.tree.lines
    const attempt = (): void => {
      if (this.destroyed || this.search !== s) return
      const hit = from < 0 ? -1 : lines.findFlag(from, dir, LINE_HIT)
      const settled = dir === 1 ? hit >= 0 && hit < job.scannedLines : job.scannedLines > from || job.done
      if (hit >= 0 && (settled || job.done) && (dir === -1 || hit < job.scannedLines || job.done)) {
        this.message = ''
        this.jumpTo(this.filter ? { line: hit } : { line: hit })
        return
      }
      if (job.done) {
        this.message = 'Pattern not found'
        this.render()
        return
      }
      this.message = 'searching…'
      setTimeout(attempt, 20)
    }
    attempt()
  }

  private gotoLine(n: number): void {
    const lines = this.source.tree.lines
    if (lines.length === 0) return
    this.jumpTo(this.source.tree.rowForLine(Math.max(0, Math.min(lines.length - 1, n - 1))))
  }

  private nextFlag(dir: 1 | -1, bit: number, what: string): void {
    const from = this.scanFrom(dir)
    const hit = from < 0 ? -1 : this.source.tree.lines.findFlag(from, dir, bit)
    if (hit < 0) {
      this.message = `no ${dir === 1 ? 'next' : 'previous'} ${what}`
      return
    }
    this.jumpTo(this.source.tree.rowForLine(hit))
  }

  private firstFailure(): void {
    const tree = this.source.tree
    const e = tree.sections.firstError.get(0)
    if (e >= 0) return this.jumpTo(tree.rowForLine(e))
    const failed = tree.sections.findStatus('failed')
    if (failed > 0) {
      tree.setOpen(failed, true)
      return this.jumpTo({ header: failed })
    }
    this.message = 'no failure in this log'
  }

  private toggle(): void {
    if (this.model !== this.treeModel) return
    const tree = this.source.tree
    const s = this.focusSection()
    if (s === 0) return
    const open = !tree.isOpen(s)
    tree.setOpen(s, open, true)
    this.touched = true
    if (!open) this.anchor = { header: s }
  }

  private setFocusOpen(open: boolean): void {
    const tree = this.source.tree
    const s = this.focusSection()
    if (s === 0) return
    tree.setOpen(s, open, true)
    if (!open) this.anchor = { header: s }
  }

  private setRecursive(open: boolean): void {
    const tree = this.source.tree
    const s = this.focusSection()
    const stack = [s]
    while (stack.length) {
      const t = stack.pop()!
      tree.setOpen(t, open, true)
      for (const c of tree.children(t)) stack.push(c) // not a spread: the root may have a million children
    }
    if (!open && s !== 0) this.anchor = { header: s }
  }

  private openOrDescend(): void {
    const tree = this.source.tree
    const a = this.anchor
    if (a.header !== undefined && !tree.isOpen(a.header)) {
      tree.setOpen(a.header, true, true)
      return
    }
    if (a.header !== undefined) this.scroll(1, false)
  }

  private closeOrAscend(): void {
    const tree = this.source.tree
    const a = this.anchor
    if (a.header !== undefined && tree.isOpen(a.header)) {
      tree.setOpen(a.header, false, true)
      return
    }
    this.parentHeader()
  }

  private parentHeader(): void {
    const tree = this.source.tree
    const a = this.anchor
    const p = a.header !== undefined ? tree.sections.parent.get(a.header) : tree.lines.section(a.line)
    if (p > 0) this.jumpTo({ header: p }, false)
  }

  private sibling(dir: 1 | -1): void {
    const tree = this.source.tree
    const s = this.focusSection()
    if (s === 0) return
    const sibs = tree.children(tree.sections.parent.get(s))
    const k = sibs.indexOf(s) + dir
    if (k >= 0 && k < sibs.length) this.jumpTo({ header: sibs[k]! }, false)
    else this.message = dir === 1 ? 'no next sibling' : 'no previous sibling'
  }

  private nextHeader(dir: 1 | -1): void {
    for (let r = this.focus + dir; r >= 0 && r < this.model.rowCount; r += dir) {
      const row = this.model.rowAt(r)!
      if (row.header !== undefined) {
        this.lastJump = this.anchor
        this.anchor = row
        return
      }
    }
    this.message = 'no more sections'
  }

  private anchorToVisible(): void {
    this.anchor = this.model.rowAt(this.focus) ?? { line: 0 }
  }

  private hscroll(dir: 1 | -1): void {
    this.left = Math.max(0, this.left + dir * Math.max(1, Math.floor(this.width / 2)))
  }

  private maxWidth(): number {
    const st = this.paintState()
    let m = 0
    for (let r = this.top; r < this.top + this.height; r++) {
      const row = this.model.rowAt(r)
      if (!row) break
      m = Math.max(m, spansWidth(rowSpans(st, row, 0)))
    }
    return m
  }

  /** `=`: the focus row's anchor (as the HTML page and `--at` take it) and what the log holds. */
  private info(): void {
    const tree = this.source.tree
    const row = this.model.rowAt(this.focus)
    const line = row?.line ?? (row ? tree.sections.head(row.header!) : -1)
    const anchors = [row?.header !== undefined ? sectionAnchorOf(tree, row.header) : undefined, line >= 0 ? lineAnchorOf(line) : undefined]
    const here = anchors.filter((a) => a !== undefined).map((a) => `#${a}`)
    this.message = [...here, `${groupDigits(tree.lines.length)} lines`, `${groupDigits(tree.sections.length - 1)} sections`, `${tree.sections.errors.get(0)} errors`, `${groupDigits(this.source.fileSize)} bytes`].join(' ∙ ')
  }

  /**
   * Following: new sections open as they start and clean ones close as they end. The tree hears of
   * each only while following: a tree with listeners is written in JavaScript, not by the addon's
   * tree writer (LogTree.nativeWriter), which made the pager's index of a 1 GiB log twice as slow.
   */
  private get following(): boolean {
    return this.followingOn
  }

  private set following(on: boolean) {
    this.followingOn = on
    const tree = this.source.tree
    tree.onOpen = on ? (s) => tree.setOpen(s, true) : undefined
    tree.onClose = on ? (s) => (!tree.isManual(s) && !tree.holdsFailure(s) ? tree.setOpen(s, false) : undefined) : undefined
  }

  private startFollow(): void {
    this.following = true
    this.source.setFollow(true)
    const tree = this.source.tree
    for (const s of tree.running) tree.setOpen(s, true)
    this.toBottom()
  }

  private showHelp(): void {
    this.help = blessed.box({
      parent: this.screen, top: 1, left: 0, width: '100%', height: '100%-2', tags: false, wrap: false, content: HELP_TEXT,
    })
  }

  /**
   * `s FILE`: the input as read so far (a pipe's spooled bytes, a growing log's) into a new file,
   * copied by the kernel while the pager goes on; an existing file is left alone (the copy's own
   * exclusive create says so).
   */
  private saveInput(name: string): void {
    const target = name.trim().replace(/^~(?=\/|$)/, os.homedir())
    if (target === '') {
      this.message = 'not saved'
      return
    }
    this.message = `saving to ${target}…`
    fs.promises
      .copyFile(`/proc/self/fd/${this.source.fd}`, target, fs.constants.COPYFILE_EXCL)
      .then(() => fs.promises.stat(target))
      .then(
        (saved) => {
          this.message = `saved ${groupDigits(saved.size)} bytes to ${target}`
          this.scheduleRender()
        },
        (err: NodeJS.ErrnoException) => {
          this.message = err.code === 'EEXIST' ? `${target} exists: not overwritten` : `cannot save to ${target}: ${err.code ?? err.message}`
          this.scheduleRender()
        },
      )
  }
}
