import fs from 'node:fs'
import { createRequire } from 'node:module'
import t from 'tap'
import { CHROME_GLYPHS, cpWidth, lineSpans, type LineOptions } from '../dist/tui/cells.js'

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
