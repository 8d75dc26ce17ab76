/**
 * Turns one decoded line (text without escapes + SGR marks) into screen text that is safe to hand
 * to blessed: only SGR that we emit ourselves, from an allow-listed state (fg/bg 0–255, bold,
 * underline, inverse), reaches the terminal, re-emitted in full (`ESC[0;…m`) at each change. Control
 * characters (C0, DEL, C1) that survived decoding become dim visible placeholders; TAB expands to
 * 8-column stops; store paths are elided to `…-name` (dim ellipsis). Rows are clipped before
 * blessed sees them.
 */

import { createRequire } from 'node:module'
import type { StyleMark } from '../events.js'
import { findStorePaths } from '../dialects/store-paths.js'

export interface Attr {
  fg: number // -1 default, 0–255
  bg: number
  bold: boolean
  underline: boolean
  inverse: boolean
}

export const PLAIN: Attr = Object.freeze({ fg: -1, bg: -1, bold: false, underline: false, inverse: false })

/** A run of text in one style. */
export interface Span {
  text: string
  attr: Attr
  width: number
}

export const GREY = 244
export const DIM_GREY = 242
/** Text shown dim: placeholders, elided hashes, `-R`'s escape sequences. */
const DIM_TEXT: Attr = Object.freeze({ ...PLAIN, fg: DIM_GREY })
export const RED = 196
export const YELLOW = 214

function cube(r: number, g: number, b: number): number {
  const q = (v: number) => (v < 48 ? 0 : v < 115 ? 1 : Math.min(5, Math.floor((v - 35) / 40)))
  return 16 + 36 * q(r) + 6 * q(g) + q(b)
}

/** Applies SGR parameters (from the decoder's StyleMark) to a state: the allow-list. */
export function applySgr(state: Attr, params: string): Attr {
  const s = { ...state }
  const p = params === '' ? [0] : params.split(/[;:]/).map((x) => (x === '' ? 0 : Number(x)))
  if (params.startsWith('>') || params.startsWith('<') || params.startsWith('=') || params.startsWith('?')) return s // private SGR
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!
    if (!Number.isFinite(v)) continue
    if (v === 0) Object.assign(s, PLAIN)
    else if (v === 1) s.bold = true
    else if (v === 4) s.underline = true
    else if (v === 7) s.inverse = true
    else if (v === 22) s.bold = false
    else if (v === 24) s.underline = false
    else if (v === 27) s.inverse = false
    else if (v >= 30 && v <= 37) s.fg = v - 30
    else if (v === 39) s.fg = -1
    else if (v >= 40 && v <= 47) s.bg = v - 40
    else if (v === 49) s.bg = -1
    else if (v >= 90 && v <= 97) s.fg = v - 90 + 8
    else if (v >= 100 && v <= 107) s.bg = v - 100 + 8
    else if (v === 38 || v === 48 || v === 58) {
      let color = -2
      if (p[i + 1] === 5 && i + 2 < p.length) {
        color = p[i + 2]! & 255
        i += 2
      } else if (p[i + 1] === 2) {
        // 38;2;r;g;b or 38:2::r:g:b (colour-space id)
        const rest = params.includes(':') && p.length - i >= 6 ? p.slice(i + 3, i + 6) : p.slice(i + 2, i + 5)
        if (rest.length === 3) color = cube(rest[0]!, rest[1]!, rest[2]!)
        i += params.includes(':') && p.length - i >= 6 ? 5 : 4
      } else break
      if (color >= 0 && v === 38) s.fg = color
      else if (color >= 0 && v === 48) s.bg = color
    }
    // everything else (blink, italic, conceal, strike, fonts, 58/59 underline colour, …) is ignored
  }
  return s
}

export function sgrOf(a: Attr): string {
  let out = '\x1b[0'
  if (a.bold) out += ';1'
  if (a.underline) out += ';4'
  if (a.inverse) out += ';7'
  if (a.fg >= 0) out += a.fg < 8 ? `;${30 + a.fg}` : `;38;5;${a.fg}`
  if (a.bg >= 0) out += a.bg < 8 ? `;${40 + a.bg}` : `;48;5;${a.bg}`
  return out + 'm'
}

function sameAttr(a: Attr, b: Attr): boolean {
  return a.fg === b.fg && a.bg === b.bg && a.bold === b.bold && a.underline === b.underline && a.inverse === b.inverse
}

/**
 * blessed's width tables alone (not blessed: the first screen is drawn before blessed loads),
 * loaded at the first character that needs them: loading them costs ~5 ms, and a screen of ASCII
 * text and our own chrome does not. The module needs the rest of blessed only for TAB, which
 * never reaches it (tabs are expanded here).
 */
let unicode: { charWidth(s: string, i?: number): number } | null = null

/** Display width of one code point (blessed's tables, so our clipping agrees with its layout). */
export function cpWidth(ch: string): number {
  const c = ch.codePointAt(0)!
  if (c < 0x300) return 1
  let w = widths.get(c)
  if (w === undefined) {
    unicode ??= createRequire(import.meta.url)('blessed/lib/unicode.js') as { charWidth(s: string, i?: number): number }
    w = unicode.charWidth(ch, 0)
    if (widths.size < 65536) widths.set(c, w)
  }
  return w
}

/**
 * The glyphs of our own chrome (tree marks, separators, placeholders, help and status text), all
 * one column wide in blessed's tables (test/cells.test.ts holds them to that).
 */
export const CHROME_GLYPHS = '…∙·›▸▾⌕␛␡↵→←↑↓—–§⊂≥−'

/** Widths looked up so far (blessed's lookup is a long chain of range tests; our chrome repeats the same few). */
const widths = new Map<number, number>(Array.from(CHROME_GLYPHS, (ch) => [ch.codePointAt(0)!, 1]))

export interface LineOptions {
  /** Elide store paths to `…-name`. */
  elide: boolean
  /** Colours from the log (SGR) on. */
  color: boolean
  /** Base style for the whole line (dim for priority 3, red for errors …): applied where the log sets no colour. */
  base?: Partial<Attr>
  /** Character ranges [start, end) of the plain text to highlight (search hits). */
  highlight?: Array<[number, number]>
  /** Positions (in text characters) where escapes were removed: shown as dim placeholders. */
  removed?: number[]
  /** Byte ranges [start, end) of the text shown dim, in order, instead of the log's colours (`-R`'s escape sequences). */
  dim?: ReadonlyArray<readonly [number, number]>
}

/** The plain text of a decoded line. */
export function plainText(text: Buffer): string {
  return text.toString('utf8')
}

/**
 * Builds styled spans for a whole line (column 0 onwards). `maxCols` stops early (chop mode).
 */
export function lineSpans(text: Buffer, styles: readonly StyleMark[] | undefined, opts: LineOptions, maxCols = Infinity): Span[] {
  // 1. text pieces per style mark (byte positions → strings)
  const pieces: Array<{ s: string; attr: Attr }> = []
  let state: Attr = { ...PLAIN }
  let at = 0
  if (opts.dim) {
    for (const [start, end] of opts.dim) {
      if (start > at) pieces.push({ s: text.toString('utf8', at, start), attr: state })
      pieces.push({ s: text.toString('utf8', start, end), attr: DIM_TEXT })
      at = end
    }
  } else {
    for (const m of opts.color && styles ? styles : []) {
      if (m.at > at) pieces.push({ s: text.toString('utf8', at, m.at), attr: state })
      state = applySgr(state, m.params)
      at = Math.max(at, m.at)
    }
  }
  if (at < text.length) pieces.push({ s: text.toString('utf8', at), attr: state })
  const plain = pieces.map((p) => p.s).join('')

  // 2. per-character decoration: elision ranges, highlights, placeholders
  const elide: Array<[number, number]> = [] // [start, end) of chars replaced by one '…'
  if (opts.elide && plain.includes('/nix/store/')) {
    for (const m of findStorePaths(plain)) elide.push([m.start, m.start + 11 + 32])
  }
  const hl = opts.highlight ?? []
  const removed = opts.removed ?? []
  const base = opts.base ?? {}

  const spans: Span[] = []
  let col = 0
  let cur: Span | undefined
  const push = (str: string, attr: Attr, w: number) => {
    if (cur && sameAttr(cur.attr, attr)) {
      cur.text += str
      cur.width += w
    } else {
      cur = { text: str, attr, width: w }
      spans.push(cur)
    }
    col += w
  }
  const withBase = (a: Attr): Attr => {
    if (!base.fg && base.fg !== 0 && !base.bold && !base.underline && !base.inverse) return a
    return { ...a, fg: a.fg >= 0 ? a.fg : (base.fg ?? -1), bold: a.bold || !!base.bold, underline: a.underline || !!base.underline, inverse: a.inverse || !!base.inverse }
  }
  const dimAttr = (a: Attr): Attr => ({ ...a, fg: DIM_GREY, bold: false })
  let ci = 0 // char index in plain (UTF-16 units)
  let ei = 0
  let ri = 0
  const placeholder = dimAttr(PLAIN)
  for (const piece of pieces) {
    const s = piece.s
    // the style of the piece, computed once (not per character)
    const pieceAttr = withBase(piece.attr)
    for (let k = 0; k < s.length && col < maxCols; ) {
      const idx = ci
      while (ri < removed.length && removed[ri]! <= idx) {
        push('␛', placeholder, 1)
        ri++
      }
      while (ei < elide.length && elide[ei]![1] <= idx) ei++
      // A run of printable ASCII goes as one piece, up to the next placeholder or elided path:
      // each of its characters would take the last branch below with width 1.
      if (hl.length === 0 && isPrintableAscii(s.charCodeAt(k)) && !(ei < elide.length && idx >= elide[ei]![0])) {
        let stop = Math.min(s.length, k + (maxCols - col))
        if (ri < removed.length) stop = Math.min(stop, k + removed[ri]! - idx)
        if (ei < elide.length) stop = Math.min(stop, k + elide[ei]![0] - idx)
        let j = k + 1
        while (j < stop && isPrintableAscii(s.charCodeAt(j))) j++
        push(j === k + 1 ? s[k]! : s.slice(k, j), pieceAttr, j - k)
        ci += j - k
        k = j
        continue
      }
      const cp = s.codePointAt(k)!
      const ch = cp < 0x10000 ? s[k]! : String.fromCodePoint(cp)
      const len = ch.length
      let attr = pieceAttr
      for (let h = 0; h < hl.length; h++) if (idx >= hl[h]![0] && idx < hl[h]![1]) attr = { ...attr, inverse: !attr.inverse }
      const inElide = ei < elide.length && idx >= elide[ei]![0] && idx < elide[ei]![1]
      if (inElide) {
        // keep `/nix/store/`? The spec shows `…-name`: drop dir and hash, one dim ellipsis
        if (idx === elide[ei]![0]) push('…', dimAttr(attr), 1)
      } else if (cp === 9) {
        const w = 8 - (col % 8)
        push(' '.repeat(w), attr, w)
      } else if (cp === 10) {
        push('↵', dimAttr(attr), 1)
      } else if (cp < 0x20 || cp === 0x7f) {
        push(cp === 0x1b ? '␛' : cp === 0x7f ? '␡' : String.fromCodePoint(0x2400 + cp), dimAttr(attr), 1)
      } else if (cp >= 0x80 && cp <= 0x9f) {
        push('␛', dimAttr(attr), 1)
      } else if (cp === 0xfeff || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
        push('∙', dimAttr(attr), 1) // BOM and bidi overrides (Trojan Source) are shown, not obeyed
      } else {
        const w = cpWidth(ch)
        if (w === 0 && spans.length === 0) push(' ' + ch, attr, 1)
        else push(ch, attr, Math.max(0, w))
      }
      k += len
      ci += len
    }
  }
  while (col < maxCols && ri < removed.length) {
    push('␛', placeholder, 1)
    ri++
  }
  return spans
}

function isPrintableAscii(c: number): boolean {
  return c >= 0x20 && c < 0x7f
}

/** Text of printable ASCII only, one column a character: its columns are its indices. */
const ONE_COLUMN_TEXT = /^[\x20-\x7e]*$/

/** Total width of spans. */
export function spansWidth(spans: readonly Span[]): number {
  let w = 0
  for (const s of spans) w += s.width
  return w
}

/** Cuts spans to columns [left, left + width); wide characters split at an edge become spaces. */
export function sliceSpans(spans: readonly Span[], left: number, width: number): Span[] {
  const out: Span[] = []
  let col = 0
  const end = left + width
  for (const sp of spans) {
    if (col >= end) break
    if (col + sp.width <= left) {
      col += sp.width
      continue
    }
    if (col >= left && col + sp.width <= end) {
      out.push(sp)
      col += sp.width
      continue
    }
    if (sp.width === sp.text.length && ONE_COLUMN_TEXT.test(sp.text)) {
      // (a long line wrapped over the screen, a deep row's indentation: cut, not walked a character at a time)
      const from = Math.max(left, col) - col
      const to = Math.min(end, col + sp.width) - col
      out.push({ text: sp.text.slice(from, to), attr: sp.attr, width: to - from })
      col += sp.width
      continue
    }
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
      if (col >= end) break
    }
    if (w > 0) out.push({ text, attr: sp.attr, width: w })
  }
  return out
}

/** Serialises spans as SGR + text for blessed (tags off), ending with a reset. */
export function spansToString(spans: readonly Span[]): string {
  let out = ''
  let last: Attr = PLAIN
  for (const sp of spans) {
    if (!sameAttr(sp.attr, last)) {
      out += sgrOf(sp.attr)
      last = sp.attr
    }
    out += sp.text
  }
  return sameAttr(last, PLAIN) ? out : out + '\x1b[0m'
}

/** A span of our own chrome. */
export function span(text: string, attr: Partial<Attr> = {}): Span {
  let width = 0
  if (ONE_COLUMN_TEXT.test(text)) width = text.length
  else for (const ch of text) width += cpWidth(ch)
  return { text, attr: { ...PLAIN, ...attr }, width }
}
