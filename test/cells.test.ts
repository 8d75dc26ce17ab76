import fs from 'node:fs'
import { createRequire } from 'node:module'
import t from 'tap'
import { CHROME_GLYPHS, cpWidth, lineSpans, sliceSpans, span, spansToString, type LineOptions, type Span } from '../dist/tui/cells.js'

const unicode = createRequire(import.meta.url)('blessed/lib/unicode.js') as { charWidth(s: string, i?: number): number }

t.test('our chrome glyphs are one column wide in blessed too', async (t) => {
  for (const ch of CHROME_GLYPHS) {
    t.equal(unicode.charWidth(ch, 0), 1, `blessed: ${ch}`)
    t.equal(cpWidth(ch), 1, `cpWidth: ${ch}`)
  }
})

t.test('every non-ASCII character the pager sources write is in the chrome table', async (t) => {
  const dir = new URL('../lib/tui/', import.meta.url)
  for (const file of fs.readdirSync(dir)) {
    const source = fs.readFileSync(new URL(file, dir), 'utf8')
    for (const ch of new Set(source.match(/[^\0-\x7f]/gu) ?? [])) t.ok(CHROME_GLYPHS.includes(ch), `${file}: ${ch}`)
  }
})

t.test('widths outside the chrome still come from blessed', async (t) => {
  for (const ch of ['é', '\u0301', '中', '\uff01', '😀', '\u3000']) t.equal(cpWidth(ch), unicode.charWidth(ch, 0), JSON.stringify(ch))
})

// The printable-ASCII fast path of lineSpans must give exactly what the per-character path gives.
// A highlight range that matches nothing sends every character down the per-character path.
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const PIECES = ['a', 'make[1]: ', ' ', 'x'.repeat(40), '\t', '\x1b', '\x7f', '\x85', 'é', '中', '\u0301', '😀', '\ufeff', '\u202e', '\n', '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-1.0/bin', '…']

t.test('printable ASCII runs render as the per-character path does', async (t) => {
  const next = random(42)
  for (let n = 0; n < 2000; n++) {
    let text = ''
    const parts = 1 + Math.floor(next() * 12)
    for (let k = 0; k < parts; k++) text += PIECES[Math.floor(next() * PIECES.length)]
    const bytes = Buffer.from(text)
    const chars = text.length
    const removed = Array.from({ length: Math.floor(next() * 3) }, () => Math.floor(next() * (chars + 1))).sort((a, b) => a - b)
    const styles = next() < 0.5 ? undefined : [{ at: Math.floor(next() * bytes.length), params: '31' }]
    if (styles && bytes[styles[0]!.at]! >= 0x80) styles[0]!.at = 0 // on a character boundary
    const opts: LineOptions = { elide: next() < 0.7, color: next() < 0.7, removed, base: next() < 0.3 ? { bold: true } : undefined }
    const maxCols = next() < 0.5 ? Infinity : Math.floor(next() * 80)
    const fast = lineSpans(bytes, styles, opts, maxCols)
    const slow = lineSpans(bytes, styles, { ...opts, highlight: [[-1, -1]] }, maxCols)
    if (JSON.stringify(fast) !== JSON.stringify(slow)) {
      t.same(fast, slow, JSON.stringify({ text, removed, styles, opts, maxCols }))
      return
    }
  }
  t.pass('2000 random lines')
})

/** sliceSpans as a walk over every span's characters, the way it cuts a span with wide ones. */
function sliceByCharacter(spans: readonly Span[], left: number, width: number): Span[] {
  const out: Span[] = []
  const end = left + width
  let col = 0
  for (const sp of spans) {
    let text = ''
    let w = 0
    for (const ch of sp.text) {
      const cw = cpWidth(ch)
      if (col >= left && col + cw <= end) {
        text += ch
        w += cw
      } else if (col < end && col + cw > left) {
        const vis = Math.min(end, col + cw) - Math.max(left, col)
        text += ' '.repeat(vis)
        w += vis
      }
      col += cw
    }
    if (w > 0) out.push({ text, attr: sp.attr, width: w })
  }
  return out
}

t.test('spans of printable ASCII are measured and cut as the per-character walk does', async (t) => {
  const next = random(7)
  // long ASCII runs (a deep row's indentation, a wrapped link command) beside wide and zero-width characters
  const pieces = ['  '.repeat(60), 'x'.repeat(300), 'cc -O2 -c ', '中', 'é', '\u0301', '😀', '…', ' ']
  for (let n = 0; n < 3000; n++) {
    const spans: Span[] = []
    for (let k = 1 + Math.floor(next() * 5); k > 0; k--) {
      let text = ''
      for (let j = Math.floor(next() * 4); j > 0; j--) text += pieces[Math.floor(next() * pieces.length)]
      const sp = span(text, { fg: Math.floor(next() * 3) })
      let columns = 0
      for (const ch of text) columns += cpWidth(ch)
      if (sp.width !== columns) {
        t.equal(sp.width, columns, `width of ${JSON.stringify(text)}`)
        return
      }
      spans.push(sp)
    }
    const left = Math.floor(next() * 400)
    const width = 1 + Math.floor(next() * 200)
    // (a span of no width — empty, or combining marks alone — draws nothing by itself; at the
    // window's left edge it is left out, inside passed on: not compared)
    const cut = sliceSpans(spans, left, width).filter((sp) => sp.width > 0)
    const walked = sliceByCharacter(spans, left, width).filter((sp) => sp.width > 0)
    if (spansToString(cut) !== spansToString(walked) || cut.reduce((w, sp) => w + sp.width, 0) !== walked.reduce((w, sp) => w + sp.width, 0)) {
      t.same(cut, walked, JSON.stringify({ spans: spans.map((sp) => sp.text), left, width }))
      return
    }
  }
  t.pass('3000 random rows cut')
})
