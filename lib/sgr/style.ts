/**
 * SGR (Select Graphic Rendition, `CSI … m`) parameters → a style state, by a whitelist: only the
 * attributes listed in `StyleState` survive; everything else (blink, conceal, fonts, underline
 * colour, private forms) is consumed and ignored. Independent of any output format: the HTML export
 * turns a state into CSS classes, the pager turns it back into safe SGR with `toSgr`.
 *
 * Parameters arrive as the text between `ESC[` and `m` (e.g. "01;35", "38;5;208", "38:2::255:0:0"),
 * as the tokenizer kept them. Semicolons separate parameters; colons separate sub-parameters
 * (ITU T.416 form). Both spellings of extended colours are accepted.
 */

/**
 * A colour: `undefined` is the terminal default; 0–255 is a palette index (0–7 normal, 8–15 bright,
 * 16–231 the 6×6×6 cube, 232–255 greys); `RGB_FLAG | 0xRRGGBB` is a truecolour.
 */
export type Color = number | undefined

export const RGB_FLAG = 0x1000000

export interface StyleState {
  readonly fg: Color
  readonly bg: Color
  readonly bold: boolean
  readonly dim: boolean
  readonly italic: boolean
  readonly underline: boolean
  readonly inverse: boolean
  readonly strike: boolean
}

export const DEFAULT_STYLE: StyleState = Object.freeze({
  fg: undefined,
  bg: undefined,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
  inverse: false,
  strike: false,
})

/** At most this many parameters of one sequence are interpreted; the rest are ignored. */
export const MAX_SGR_PARAMS = 256

export function rgb(r: number, g: number, b: number): number {
  return RGB_FLAG | ((r & 255) << 16) | ((g & 255) << 8) | (b & 255)
}

export function isRgb(c: Color): c is number {
  return c !== undefined && c >= RGB_FLAG
}

/** The `#rrggbb` form of a truecolour value. */
export function rgbHex(c: number): string {
  return '#' + (c & 0xffffff).toString(16).padStart(6, '0')
}

export function isDefaultStyle(s: StyleState): boolean {
  return styleEquals(s, DEFAULT_STYLE)
}

export function styleEquals(a: StyleState, b: StyleState): boolean {
  return (
    a.fg === b.fg &&
    a.bg === b.bg &&
    a.bold === b.bold &&
    a.dim === b.dim &&
    a.italic === b.italic &&
    a.underline === b.underline &&
    a.inverse === b.inverse &&
    a.strike === b.strike
  )
}

/** A parameter: its value and sub-parameters; `undefined` for an empty (sub-)parameter. */
type Param = (number | undefined)[]

const MAX_VALUE = 0xffff

function parseParams(params: string): Param[] {
  const out: Param[] = []
  if (params.length === 0) return [[undefined]]
  for (const field of params.split(';', MAX_SGR_PARAMS)) {
    const subs: Param = []
    for (const sub of field.split(':', 16)) {
      if (sub.length === 0) subs.push(undefined)
      else if (/^[0-9]{1,9}$/.test(sub)) subs.push(Math.min(Number(sub), MAX_VALUE))
      else subs.push(-1) // not a number: poisons the parameter
    }
    out.push(subs)
  }
  return out
}

function byte(v: number | undefined): number | undefined {
  if (v === undefined) return 0 // an empty colour component is 0 (xterm)
  return v >= 0 && v <= 255 ? v : undefined
}

/** Extended colour from sub-parameters `[38|48|58, 5, n]`, `[38, 2, cs?, r, g, b]`; `null` if invalid. */
function colonColor(p: Param): Color | null {
  const mode = p[1]
  if (mode === 5) {
    if (p.length !== 3) return null
    const n = p[2]
    return n !== undefined && n >= 0 && n <= 255 ? n : null
  }
  if (mode === 2) {
    // 38:2:CS:r:g:b (T.416, colour-space id usually empty) or 38:2:r:g:b (common mistake, accepted)
    const comps = p.length >= 6 ? p.slice(3, 6) : p.length === 5 ? p.slice(2, 5) : null
    if (comps === null || p.length > 6) return null
    const [r, g, b] = comps.map(byte)
    if (r === undefined || g === undefined || b === undefined) return null
    return rgb(r, g, b)
  }
  return null
}

/**
 * Applies one SGR sequence's parameters to a state and returns the new state (the input is not
 * modified). Unknown or malformed parameters are ignored; they never affect later parameters in a
 * way a terminal would not (semicolon extended colours consume their arguments even when invalid).
 */
export function applySgr(state: StyleState, params: string): StyleState {
  const s = { ...state } as { -readonly [K in keyof StyleState]: StyleState[K] }
  const list = parseParams(params)
  for (let i = 0; i < list.length; i++) {
    const p = list[i]!
    const code = p[0] === undefined ? 0 : p[0]
    if (code < 0) continue
    if (p.length > 1) {
      // colon forms: only extended colours and underline styles have sub-parameters
      if (code === 38 || code === 48) {
        const c = colonColor(p)
        if (c !== null) {
          if (code === 38) s.fg = c
          else s.bg = c
        }
      } else if (code === 4) {
        const style = p[1]
        if (style === 0) s.underline = false
        else if (style !== undefined && style >= 1 && style <= 5) s.underline = true
      }
      continue
    }
    if (code === 38 || code === 48 || code === 58) {
      // semicolon forms: 38;5;n and 38;2;r;g;b consume their arguments
      const mode = list[i + 1]?.length === 1 ? list[i + 1]![0] : undefined
      let color: Color | null = null
      if (mode === 5) {
        const n = list[i + 2]
        const v = n?.length === 1 ? n[0] : undefined
        color = v !== undefined && v >= 0 && v <= 255 ? v : null
        i += Math.min(2, list.length - 1 - i)
      } else if (mode === 2) {
        const comps = [list[i + 2], list[i + 3], list[i + 4]].map((q) => (q?.length === 1 ? byte(q[0]) : undefined))
        const [r, g, b] = comps
        color = r !== undefined && g !== undefined && b !== undefined && list.length > i + 4 ? rgb(r, g, b) : null
        i += Math.min(4, list.length - 1 - i)
      } else {
        // unknown or missing mode: xterm stops interpreting the sequence here
        break
      }
      if (color !== null && code === 38) s.fg = color
      else if (color !== null && code === 48) s.bg = color
      continue
    }
    switch (code) {
      case 0:
        Object.assign(s, DEFAULT_STYLE)
        break
      case 1:
        s.bold = true
        break
      case 2:
        s.dim = true
        break
      case 3:
        s.italic = true
        break
      case 4:
      case 21: // double underline
        s.underline = true
        break
      case 7:
        s.inverse = true
        break
      case 9:
        s.strike = true
        break
      case 22:
        s.bold = false
        s.dim = false
        break
      case 23:
        s.italic = false
        break
      case 24:
        s.underline = false
        break
      case 27:
        s.inverse = false
        break
      case 29:
        s.strike = false
        break
      case 39:
        s.fg = undefined
        break
      case 49:
        s.bg = undefined
        break
      default:
        if (code >= 30 && code <= 37) s.fg = code - 30
        else if (code >= 40 && code <= 47) s.bg = code - 40
        else if (code >= 90 && code <= 97) s.fg = code - 90 + 8
        else if (code >= 100 && code <= 107) s.bg = code - 100 + 8
      // 5, 6 blink, 8 conceal, 10–20 fonts, 25, 28, 50–65, 73–75: ignored on purpose
    }
  }
  return styleEquals(s, state) ? state : isDefaultStyle(s) ? DEFAULT_STYLE : Object.freeze(s)
}

function colorSgr(base: 30 | 40, c: number): string {
  if (isRgb(c)) return `${base + 8};2;${(c >> 16) & 255};${(c >> 8) & 255};${c & 255}`
  if (c < 8) return String(base + c)
  if (c < 16) return String(base + 60 + c - 8)
  return `${base + 8};5;${c}`
}

/**
 * The state as one normalised SGR parameter string that starts with a reset ("0", "0;1;38;5;208"),
 * semicolon form only: safe to write to a terminal as `ESC[` + result + `m`.
 */
export function toSgr(s: StyleState): string {
  const parts = ['0']
  if (s.bold) parts.push('1')
  if (s.dim) parts.push('2')
  if (s.italic) parts.push('3')
  if (s.underline) parts.push('4')
  if (s.inverse) parts.push('7')
  if (s.strike) parts.push('9')
  if (s.fg !== undefined) parts.push(colorSgr(30, s.fg))
  if (s.bg !== undefined) parts.push(colorSgr(40, s.bg))
  return parts.join(';')
}
