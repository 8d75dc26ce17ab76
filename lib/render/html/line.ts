/**
 * One log line → HTML: SGR styles become CSS classes (lib/sgr whitelist), store paths are elided to
 * `…-name` with the full path kept in the DOM (copyable, findable) and on hover, and every character
 * is escaped (./escape.ts).
 */
import { asBuffer } from '../../bytes.js'
import type { StyleMark } from '../../events.js'
import { findStorePaths } from '../../dialects/store-paths.js'
import { applySgr, DEFAULT_STYLE, isRgb, rgbHex, type Color, type StyleState } from '../../sgr/style.js'
import { escapeHtml, escapeLogText } from './escape.js'

/** The `class` and `style` attribute values for a style state ('' when nothing applies). */
export interface StyleAttrs {
  cls: string
  style: string
}

const attrCache = new WeakMap<StyleState, StyleAttrs>()

function colorAttr(prefix: 'f' | 'b', c: Color, cls: string[], style: string[]): void {
  if (c === undefined) return
  if (isRgb(c)) style.push(`${prefix === 'f' ? 'color' : 'background-color'}:${rgbHex(c)}`)
  else cls.push(prefix + c)
}

/**
 * CSS classes for a state: `f0`–`f255` / `b0`–`b255` palette colours, `sb` bold, `sd` dim, `si`
 * italic, `su` underline, `ss` strike; inverse swaps colours (`fi`/`bi` are the swapped defaults).
 * Truecolour becomes an inline `color:#rrggbb` built from integers (never from log text).
 */
export function styleAttrs(s: StyleState): StyleAttrs {
  const hit = attrCache.get(s)
  if (hit) return hit
  const cls: string[] = []
  const style: string[] = []
  if (s.inverse) {
    if (s.bg === undefined) cls.push('fi')
    else colorAttr('f', s.bg, cls, style)
    if (s.fg === undefined) cls.push('bi')
    else colorAttr('b', s.fg, cls, style)
  } else {
    colorAttr('f', s.fg, cls, style)
    colorAttr('b', s.bg, cls, style)
  }
  if (s.bold) cls.push('sb')
  if (s.dim) cls.push('sd')
  if (s.italic) cls.push('si')
  if (s.underline) cls.push('su')
  if (s.strike) cls.push('ss')
  const attrs = { cls: cls.join(' '), style: style.join(';') }
  if (Object.isFrozen(s)) attrCache.set(s, attrs)
  return attrs
}

function openSpan(extraClass: string, s: StyleState): string {
  const a = styleAttrs(s)
  const cls = extraClass && a.cls ? extraClass + ' ' + a.cls : extraClass || a.cls
  if (!cls && !a.style) return ''
  return '<span' + (cls ? ` class="${cls}"` : '') + (a.style ? ` style="${a.style}"` : '') + '>'
}

export interface RenderedLine {
  html: string
  /** The style state after the line (carried to the next line of the same section). */
  end: StyleState
  /** The decoded text (U+FFFD for invalid UTF-8), for search and classification. */
  text: string
}

/**
 * Where an escape sequence was removed (`LineEvent.removed`): an empty span that CSS draws as a dim
 * `␛` (::before content, so it is neither selected nor copied nor found), as the pager does.
 */
export const REMOVED_MARK = '<span class="rm" title="escape sequence removed"></span>'

/** Length of `/nix/store/` + hash: the part of a store path that the display elides. */
const ELIDED = 43

/**
 * Renders a line's bytes with its SGR marks, starting in style `start`. Invalid UTF-8 decodes to
 * U+FFFD (a multi-byte character cut by an SGR mark yields U+FFFD on each side, as the raw bytes
 * really were cut).
 */
export function renderLine(
  bytes: Uint8Array,
  styles: readonly StyleMark[] | undefined,
  start: StyleState = DEFAULT_STYLE,
  removed?: readonly number[],
  /** Put the full store path in a `title` (the lazy page's script sets it instead, from the text). */
  titles = true,
): RenderedLine {
  const buf = asBuffer(bytes)
  // 1. decode segment by segment, remembering where the style changes and where escapes were
  //    removed (in characters)
  const changes: { at: number; state: StyleState }[] = [{ at: 0, state: start }]
  /** Character positions of removed escapes, ascending (duplicates kept: one marker each). */
  const marks: number[] = []
  let text = ''
  let state = start
  let from = 0
  let si = 0
  let ri = 0
  const nStyles = styles ? styles.length : 0
  const nRemoved = removed ? removed.length : 0
  while (si < nStyles || ri < nRemoved) {
    // removed escapes before a style mark at the same byte: the marker shows in the old style
    const takeRemoved = ri < nRemoved && (si >= nStyles || removed![ri]! <= styles![si]!.at)
    const at = Math.max(from, Math.min(takeRemoved ? removed![ri]! : styles![si]!.at, buf.length))
    if (at > from) text += buf.toString('utf8', from, at)
    from = at
    if (takeRemoved) {
      marks.push(text.length)
      ri++
      continue
    }
    state = applySgr(state, styles![si++]!.params)
    const last = changes[changes.length - 1]!
    if (last.at === text.length) last.state = state
    else changes.push({ at: text.length, state })
  }
  if (from < buf.length) text += buf.toString('utf8', from, buf.length)
  // 2. store paths, strict grammar (spec §8)
  const paths = findStorePaths(text)
  if (paths.length === 0 && marks.length === 0 && changes.length === 1 && changes[0]!.state === DEFAULT_STYLE) {
    return { html: escapeLogText(text), end: state, text }
  }
  // 3. walk the breakpoints: style changes, removed escapes and store-path parts
  const cuts = new Int32Array(2 + changes.length + marks.length + 3 * paths.length)
  let nc = 0
  cuts[nc++] = 0
  cuts[nc++] = text.length
  for (const c of changes) cuts[nc++] = c.at
  for (const m of marks) cuts[nc++] = m
  for (const p of paths) {
    cuts[nc++] = p.start
    cuts[nc++] = p.start + ELIDED
    cuts[nc++] = p.end
  }
  cuts.sort()
  const points: number[] = []
  for (let k = 0; k < nc; k++) {
    const x = cuts[k]!
    if (x <= text.length && (points.length === 0 || points[points.length - 1] !== x)) points.push(x)
  }
  let html = ''
  let ci = 0
  let pi = 0
  let mi = 0
  let cur = start
  for (let k = 0; k + 1 < points.length; k++) {
    const a = points[k]!
    const b = points[k + 1]!
    while (ci < changes.length && changes[ci]!.at <= a) cur = changes[ci++]!.state
    while (mi < marks.length && marks[mi] === a) {
      html += REMOVED_MARK
      mi++
    }
    while (pi < paths.length && paths[pi]!.end <= a) pi++
    const p = paths[pi]
    const inPath = p !== undefined && a >= p.start && a < p.end
    if (inPath && a === p.start) {
      html += titles ? `<span class="sp" title="${escapeHtml(text.slice(p.start, p.end))}">` : '<span class="sp">'
    }
    const open = openSpan(inPath && a < p!.start + ELIDED ? 'sh' : '', cur)
    html += open + escapeLogText(text.slice(a, b)) + (open ? '</span>' : '')
    if (inPath && b === p!.end) html += '</span>'
  }
  while (mi < marks.length) {
    html += REMOVED_MARK
    mi++
  }
  return { html, end: state, text }
}
