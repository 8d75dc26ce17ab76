/**
 * Search over the raw bytes of the indexed file, in chunks, yielding to the event loop between
 * chunks so the screen stays live. Literal patterns use Buffer.indexOf; regexes run on latin1 text
 * (byte index = char index) when the pattern is ASCII, else on UTF-8 text with a byte map.
 * A hit marks its line (LINE_HIT) and counts in every enclosing section's `hits`.
 */

import fs from 'node:fs'
import { LINE_FILTER, LINE_HIT } from './lines.js'
import type { LogTree } from './tree.js'

export interface Pattern {
  source: string
  literal: boolean
  /** Report lines that do not match (`!`). */
  invert?: boolean
}

const CHUNK = 8 * 1024 * 1024
const SLICE_MS = 14

export function compilePattern(p: Pattern): RegExp | Buffer {
  if (p.literal) return Buffer.from(p.source)
  return new RegExp(p.source, 'g')
}

/**
 * Calls `hit(line)` for every line (of lines [0, tree.lines.length)) whose raw bytes match, in
 * order, each line once. Runs in slices; resolves when done or cancelled.
 */
export class SearchJob {
  private cancelled = false
  /** Lines scanned so far: every line below this has its flag settled. */
  scannedLines = 0
  hits = 0
  done = false
  readonly promise: Promise<void>
  private readonly matcher: RegExp | Buffer
  private readonly ascii: boolean
  private listeners: Array<() => void> = []

  constructor(
    private readonly fd: number,
    private readonly tree: LogTree,
    readonly pattern: Pattern,
    private readonly flag: number = LINE_HIT,
  ) {
    this.matcher = compilePattern(pattern)
    this.ascii = /^[\x00-\x7f]*$/.test(pattern.source)
    tree.lines.clearFlagAll(flag)
    if (flag === LINE_HIT) for (const s of tree.sections) s.hits = 0
    this.promise = this.run()
  }

  cancel(): void {
    this.cancelled = true
  }

  /** Called after each slice (progress). */
  onProgress(fn: () => void): void {
    this.listeners.push(fn)
  }

  private mark(line: number): void {
    const lines = this.tree.lines
    if ((lines.flags(line) & this.flag) !== 0) return
    lines.setFlag(line, this.flag)
    this.hits++
    if (this.flag === LINE_HIT) for (let s = lines.section(line); s >= 0; s = this.tree.sections[s]!.parent) this.tree.sections[s]!.hits++
  }

  private async run(): Promise<void> {
    const lines = this.tree.lines
    const buf = Buffer.allocUnsafe(CHUNK)
    let line = 0
    let t0 = performance.now()
    while (!this.cancelled) {
      const total = lines.length
      if (line >= total) {
        if (this.tree.done) break
        await new Promise((r) => setTimeout(r, 50)) // wait for the index to grow
        continue
      }
      // read whole lines from `line`, at most CHUNK bytes (at least one line)
      const start = lines.offset(line)
      let lastLine = Math.min(total - 1, lines.lineAtByte(start + CHUNK - 1))
      if (lastLine < line) lastLine = line
      let end = lines.end(lastLine)
      if (end - start > CHUNK) {
        if (lastLine > line) {
          lastLine--
          end = lines.end(lastLine)
        } else end = start + CHUNK // one huge line: search its first CHUNK bytes
      }
      const n = fs.readSync(this.fd, buf, 0, end - start, start)
      const view = buf.subarray(0, n)
      if (this.pattern.invert) this.scanInverted(view, start, line, lastLine)
      else this.scan(view, start, line, lastLine)
      line = lastLine + 1
      this.scannedLines = line
      if (performance.now() - t0 > SLICE_MS) {
        for (const fn of this.listeners) fn()
        await new Promise((r) => setImmediate(r))
        t0 = performance.now()
      }
    }
    this.done = true
    for (const fn of this.listeners) fn()
  }

  private scan(view: Buffer, base: number, firstLine: number, lastLine: number): void {
    const lines = this.tree.lines
    const m = this.matcher
    if (Buffer.isBuffer(m)) {
      if (m.length === 0) return
      let at = view.indexOf(m, 0)
      let line = firstLine
      while (at !== -1) {
        line = this.lineOf(base + at, line, lastLine)
        this.mark(line)
        const next = lines.end(line) - base
        if (line >= lastLine || next >= view.length) break
        at = view.indexOf(m, next)
      }
      return
    }
    const text = this.ascii ? view.toString('latin1') : view.toString('utf8')
    m.lastIndex = 0
    let line = firstLine
    for (;;) {
      const r = m.exec(text)
      if (r === null) break
      const byte = this.ascii ? r.index : Buffer.byteLength(text.slice(0, r.index))
      line = this.lineOf(base + byte, line, lastLine)
      this.mark(line)
      if (line >= lastLine) break
      const nextByte = lines.end(line) - base
      m.lastIndex = this.ascii ? nextByte : view.subarray(0, nextByte).toString('utf8').length
      if (r[0].length === 0 && m.lastIndex <= r.index) m.lastIndex = r.index + 1
    }
  }

  private scanInverted(view: Buffer, base: number, firstLine: number, lastLine: number): void {
    const lines = this.tree.lines
    const m = this.matcher
    for (let line = firstLine; line <= lastLine; line++) {
      const a = lines.offset(line) - base
      const b = Math.min(view.length, lines.end(line) - base)
      const slice = view.subarray(a, b)
      let found: boolean
      if (Buffer.isBuffer(m)) found = slice.indexOf(m) !== -1
      else {
        m.lastIndex = 0
        found = m.test(this.ascii ? slice.toString('latin1') : slice.toString('utf8'))
      }
      if (!found) this.mark(line)
    }
  }

  /** Line of byte `pos`, searching forward from `from` (hits come in order). */
  private lineOf(pos: number, from: number, last: number): number {
    const lines = this.tree.lines
    let line = from
    // short forward walk, then binary search
    for (let k = 0; k < 8 && line < last && lines.offset(line + 1) <= pos; k++) line++
    if (line < last && lines.offset(line + 1) <= pos) line = Math.min(last, lines.lineAtByte(pos))
    return line
  }
}

export { LINE_FILTER, LINE_HIT }
