/**
 * Byte-level pieces of JSON for the internal-json hot path: matching fixed key text, finding the
 * end of a string literal, and decoding one in place — on raw bytes, without making a string.
 *
 * Most of a log's bytes are string contents that need no decoding, so the scans read four bytes at
 * a time through a DataView (one bounds-checked load instead of four) and test all four at once
 * with the classic "has a zero byte" bit trick (SWAR). Everything here accepts exactly what the
 * general parser (`nix-json.ts`) accepts for the same bytes; a caller that gets -1 leaves the line
 * to that parser.
 */

/**
 * Fixed text of 4 to {@link ByteLiteral.MAX} bytes, compared as little-endian 32-bit words: one per
 * 4 bytes, the last one overlapping the one before. The words are plain fields rather than an array
 * so that a comparison loads nothing but the input (and the literals below are constants to the
 * compiler).
 */
export class ByteLiteral {
  static readonly MAX = 32
  readonly length: number
  /** How many words come before the last one. */
  private readonly leading: number
  private readonly w0: number
  private readonly w1: number
  private readonly w2: number
  private readonly w3: number
  private readonly w4: number
  private readonly w5: number
  private readonly w6: number
  private readonly last: number
  private readonly lastAt: number

  constructor(text: string) {
    const n = text.length
    if (n < 4 || n > ByteLiteral.MAX) throw new RangeError(`a ByteLiteral holds 4 to ${ByteLiteral.MAX} bytes`)
    const view = new DataView(new Uint8Array(Buffer.from(text, 'latin1')).buffer)
    const word = (k: number) => (k < this.leading ? view.getInt32(4 * k, true) : 0)
    this.length = n
    this.leading = Math.ceil(n / 4) - 1
    this.w0 = word(0)
    this.w1 = word(1)
    this.w2 = word(2)
    this.w3 = word(3)
    this.w4 = word(4)
    this.w5 = word(5)
    this.w6 = word(6)
    this.lastAt = n - 4
    this.last = view.getInt32(this.lastAt, true)
  }

  /** True when the bytes at `view[i…]` are this literal; the caller has checked that they exist. */
  matches(view: DataView, i: number): boolean {
    const n = this.leading
    return (
      view.getInt32(i + this.lastAt, true) === this.last &&
      (n < 1 || view.getInt32(i, true) === this.w0) &&
      (n < 2 || view.getInt32(i + 4, true) === this.w1) &&
      (n < 3 || view.getInt32(i + 8, true) === this.w2) &&
      (n < 4 || view.getInt32(i + 12, true) === this.w3) &&
      (n < 5 || view.getInt32(i + 16, true) === this.w4) &&
      (n < 6 || view.getInt32(i + 20, true) === this.w5) &&
      (n < 7 || view.getInt32(i + 24, true) === this.w6)
    )
  }
}

/** Set by {@link plainRun}: a byte ≥ 0x80 was passed over. */
export let sawNonAscii = false

/**
 * The index of the first `"`, `\\` or control byte (< 0x20) in `b[i, e)`, or `e`. Sets
 * {@link sawNonAscii} when a byte ≥ 0x80 lies before it. `view` views the same bytes as `b`.
 */
export function plainRun(b: Uint8Array, view: DataView, i: number, e: number): number {
  let high = 0
  // Eight bytes a step (two words, one test), then the rest of a word, then single bytes.
  for (; i + 8 <= e; i += 8) {
    const x = view.getInt32(i, true)
    const y = view.getInt32(i + 4, true)
    if (stopBits(x) | stopBits(y)) break
    high |= x | y
  }
  for (; i + 4 <= e; i += 4) {
    const x = view.getInt32(i, true)
    if (stopBits(x)) break
    high |= x
  }
  const end = plainBytes(b, i, e)
  if ((high & 0x80808080) !== 0) sawNonAscii = true
  return end
}

/** plainRun() a byte at a time, without a DataView: for short strings and a run's last bytes. */
export function plainBytes(b: Uint8Array, i: number, e: number): number {
  let high = 0
  for (; i < e; i++) {
    const c = b[i]!
    if (c === 0x22 || c === 0x5c || c < 0x20) break
    high |= c
  }
  sawNonAscii = (high & 0x80) !== 0
  return i
}

/**
 * Non-zero when one of the four bytes of `x` is `"`, `\\` or below 0x20. Bit 7 of a byte of each
 * term is set where that byte was zero after the XOR (or below 0x20): exact for "is there one",
 * which is all that is asked.
 */
function stopBits(x: number): number {
  const quote = x ^ 0x22222222
  const slash = x ^ 0x5c5c5c5c
  return (((quote - 0x01010101) & ~quote) | ((slash - 0x01010101) & ~slash) | ((x - 0x20202020) & ~x)) & 0x80808080
}

/** Four hex digits at `b[i]` (a `\\u` escape's value), or -1. */
export function hex4At(b: Uint8Array, i: number, e: number): number {
  if (i + 4 > e) return -1
  let v = 0
  for (let k = 0; k < 4; k++) {
    const c = b[i + k]!
    let d: number
    if (c >= 0x30 && c <= 0x39) d = c - 0x30
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37
    else return -1
    v = (v << 4) | d
  }
  return v
}

/**
 * Length of the well-formed UTF-8 sequence starting with the non-ASCII byte `b[i]` (Unicode
 * table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or -1.
 */
export function utf8Length(b: Uint8Array, i: number, e: number): number {
  const c = b[i]!
  let n: number
  let lo = 0x80
  let hi = 0xbf
  if (c >= 0xc2 && c <= 0xdf) n = 2
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3
    if (c === 0xe0) lo = 0xa0
    else if (c === 0xed) hi = 0x9f
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4
    if (c === 0xf0) lo = 0x90
    else if (c === 0xf4) hi = 0x8f
  } else return -1
  if (i + n > e) return -1
  const c1 = b[i + 1]!
  if (c1 < lo || c1 > hi) return -1
  for (let k = 2; k < n; k++) {
    const ck = b[i + k]!
    if (ck < 0x80 || ck > 0xbf) return -1
  }
  return n
}

/** True when the non-escape bytes of `b[s, e)` are well-formed UTF-8 (escapes are ASCII). */
export function isWellFormedUtf8(b: Uint8Array, s: number, e: number): boolean {
  for (let k = s; k < e; ) {
    if (b[k]! < 0x80) k++
    else {
      const m = utf8Length(b, k, e)
      if (m < 0) return false
      k += m
    }
  }
  return true
}

/**
 * The closing quote of a JSON string whose contents begin at `s` and whose first escape is at
 * `j` (`b[j]` is `\\`), or -1 when the string is not one the decoder below handles exactly as the
 * general parser does: a bad escape, a lone surrogate, a control byte, no closing quote before `e`,
 * or malformed UTF-8 (which the general parser would turn into U+FFFD).
 */
export function escapedStringEnd(b: Uint8Array, view: DataView, s: number, j: number, e: number, nonAsciiBefore: boolean): number {
  let nonAscii = nonAsciiBefore
  for (;;) {
    if (j >= e) return -1
    const c = b[j]!
    if (c === 0x22) break
    if (c !== 0x5c) return -1 // a control byte
    if (j + 1 >= e) return -1
    const x = b[j + 1]!
    j += 2
    if (x === 0x75) {
      const u = hex4At(b, j, e)
      if (u < 0) return -1
      j += 4
      if (u >= 0xd800 && u <= 0xdfff) {
        // Only a proper pair (a lone surrogate fails, as in the general parser).
        if (u > 0xdbff || j + 6 > e || b[j] !== 0x5c || b[j + 1] !== 0x75) return -1
        const lo = hex4At(b, j + 2, e)
        if (lo < 0xdc00 || lo > 0xdfff) return -1
        j += 6
      }
    } else if (!(x === 0x22 || x === 0x5c || x === 0x2f || x === 0x6e || x === 0x74 || x === 0x72 || x === 0x62 || x === 0x66)) {
      return -1
    }
    j = plainRun(b, view, j, e)
    if (sawNonAscii) nonAscii = true
  }
  // Raw UTF-8 next to escapes must be well-formed: the general parser decodes it (malformed bytes
  // become U+FFFD) and it is encoded again, which gives back the same bytes only when well-formed.
  if (nonAscii && !isWellFormedUtf8(b, s, j)) return -1
  return j
}

/** What a one-letter JSON escape (`\\n`, `\\t`, …) stands for; other bytes stand for themselves. */
const SINGLE_ESCAPE = new Uint8Array(256).map((_, k) => k)
SINGLE_ESCAPE[0x6e] = 0x0a
SINGLE_ESCAPE[0x74] = 0x09
SINGLE_ESCAPE[0x72] = 0x0d
SINGLE_ESCAPE[0x62] = 0x08
SINGLE_ESCAPE[0x66] = 0x0c

/**
 * Decodes the JSON string contents `b[s, q)` — checked by {@link escapedStringEnd} — to UTF-8 at
 * `b[o…]` with `o <= s`, and returns the index after the output. The output never runs ahead of
 * the input, so decoding within one buffer is safe.
 */
export function decodeStringInPlace(b: Uint8Array, view: DataView, s: number, q: number, o: number): number {
  let j = s
  while (j < q) {
    // Runs without a backslash move four bytes at a time.
    while (j + 4 <= q) {
      const x = view.getInt32(j, true)
      const slash = x ^ 0x5c5c5c5c
      if (((slash - 0x01010101) & ~slash & 0x80808080) !== 0) break
      view.setInt32(o, x, true)
      o += 4
      j += 4
    }
    if (j >= q) break
    const c = b[j]!
    if (c !== 0x5c) {
      b[o++] = c
      j++
      continue
    }
    const x = b[j + 1]!
    j += 2
    switch (x) {
      case 0x75: {
        let u = hex4At(b, j, q)
        j += 4
        if (u >= 0xd800 && u <= 0xdbff) {
          u = 0x10000 + ((u - 0xd800) << 10) + (hex4At(b, j + 2, q) - 0xdc00)
          j += 6
          b[o++] = 0xf0 | (u >> 18)
          b[o++] = 0x80 | ((u >> 12) & 0x3f)
          b[o++] = 0x80 | ((u >> 6) & 0x3f)
          b[o++] = 0x80 | (u & 0x3f)
        } else if (u < 0x80) {
          b[o++] = u
        } else if (u < 0x800) {
          b[o++] = 0xc0 | (u >> 6)
          b[o++] = 0x80 | (u & 0x3f)
        } else {
          b[o++] = 0xe0 | (u >> 12)
          b[o++] = 0x80 | ((u >> 6) & 0x3f)
          b[o++] = 0x80 | (u & 0x3f)
        }
        break
      }
      default: // n t r b f, or " \ / as themselves
        b[o++] = SINGLE_ESCAPE[x]!
    }
  }
  return o
}
