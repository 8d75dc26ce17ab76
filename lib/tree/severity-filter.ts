/**
 * The byte-level pre-filter in front of the severity rules (severity.ts) for the index: a line
 * that holds none of the needles below has no severity, so only the rare line that does is
 * decoded to a string and matched against the rules.
 */
import { loadNativePassThrough, nativePassThroughTried, packPrefixes, type NativePassThrough } from '../dialects/native-pass-through.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'
import { startsWithBytes } from '../bytes.js'

/**
 * The literals of the rules in severity.ts: what a line's text starts with (ERROR_START_RE,
 * WARNING_START_RE), or holds anywhere (ERROR_ANYWHERE_RE, WARNING_ANYWHERE_RE). A line that
 * starts with none of the first and holds none of the second has no severity.
 */
export const RULE_STARTS = ['error', 'fatal error', 'ERROR', 'FAIL:', 'warning', 'WARNING']
export const RULE_LITERALS = [' *** ', 'LaTeX Error', 'BUILD FAILED', 'FAILURE', '[ERROR]', ' error: ', ': warning: ', '[WARN']

/**
 * What the pre-filter scans the text for: each rule literal holds one of these (`***` ⊂ ` *** `,
 * `FAIL` ⊂ BUILD FAILED and FAILURE, `rror: ` ⊂ ` error: ` …), so a line holding a literal holds
 * one. They are nearly as rare as the literals themselves (`rror` alone let every line naming
 * `error_util.c` through: the index ran the rules on 10,423 lines of the 32 MiB bench corpus, and
 * runs them on 4,769 with these), while their first two bytes, which the C pass looks for, are
 * rare pairs (not `wa`, not ` e`); the starts are looked at by startsLikeRule() where a line begins.
 */
export const SCAN_NEEDLES = ['rror: ', 'rning: ', '***', 'LaTeX', 'FAIL', '[ERR', '[WAR']

const NEEDLE_BYTES = SCAN_NEEDLES.map((n) => Buffer.from(n, 'latin1'))

/** For each byte, the scan needles that start with it, and a flag per byte that starts any (most start none). */
const STARTING_WITH: Buffer[][] = Array.from({ length: 256 }, () => [])
const STARTS_ANY = new Uint8Array(256)
for (const n of NEEDLE_BYTES) {
  STARTING_WITH[n[0]!]!.push(n)
  STARTS_ANY[n[0]!] = 1
}

/** Consecutive byte pairs inside the rules' literals and the scan needles: (a << 8) | b. */
export const NEEDLE_PAIRS = new Uint8Array(65536)
for (const n of [...RULE_STARTS, ...RULE_LITERALS, ...SCAN_NEEDLES]) for (let k = 0; k + 1 < n.length; k++) NEEDLE_PAIRS[(n.charCodeAt(k) << 8) | n.charCodeAt(k + 1)] = 1

const START_BYTES = RULE_STARTS.map((n) => Buffer.from(n, 'latin1'))
/** RULE_STARTS packed for the addon (lib/tree/native-index.ts). */
export const PACKED_RULE_STARTS = packPrefixes(START_BYTES)
const STARTS_RULE = new Uint8Array(256)
for (const n of START_BYTES) STARTS_RULE[n[0]!] = 1

/** Whether the text buf[start, end) starts with one of RULE_STARTS. */
export function startsLikeRule(buf: Uint8Array, start: number, end: number): boolean {
  if (start >= end || STARTS_RULE[buf[start]!] === 0) return false
  for (const n of START_BYTES) if (startsWithBytes(buf, start, end, n)) return true
  return false
}

/** SCAN_NEEDLES packed for the addon. */
export const PACKED_NEEDLES = packPrefixes(NEEDLE_BYTES)

/**
 * Next position at or after `from` where any scan needle occurs in a chunk. With the C addon (once
 * something in the process has loaded it), one pass over the chunk for all needles that hands
 * back the next few positions at a time; without, one Buffer#indexOf pass per needle. Either way
 * an answer is kept while the questions move forward within the chunk.
 */
export class NeedleFinder {
  private readonly finders = NEEDLE_BYTES.map((n) => new ByteFinder(n))
  /** Needle positions the last C call found in the chunk at `base`, in [from, until), in order. */
  private readonly found = new Int32Array(64)
  private count = 0
  private base = -1
  private from = 0
  private until = 0
  /** The first of `found` at or after the last question, `asked`. */
  private k = 0
  private asked = 0

  /**
   * The first needle at or after `from`, or some position at or past `until` when none lies
   * before it. `until` ends the text the caller asks about — a line's end, where an LF, a CR or an
   * escape follows (which no needle holds), or the chunk's — and the C scan goes no further: to
   * the chunk's end, it cost the index a scan of most of each 256 KiB chunk for its first line.
   */
  next(buf: Uint8Array, from: number, base: number, until = buf.length): number {
    const addon = nativePassThroughTried() ? loadNativePassThrough() : null
    if (addon === null) {
      let min = buf.length
      for (const f of this.finders) {
        const at = f.next(buf, from, base)
        if (at < min) min = at
      }
      return min
    }
    if (base !== this.base || from < this.from || until > this.until) this.search(addon, buf, from, base, until)
    else if (from < this.asked) this.k = 0
    this.asked = from
    for (;;) {
      const found = this.found
      while (this.k < this.count && found[this.k]! < from) this.k++
      if (this.k < this.count) return found[this.k]!
      // every position found lies before `from`: past them there are more only if the list was full
      if (this.count < found.length) return buf.length
      this.search(addon, buf, from, base, until)
    }
  }

  private search(addon: NativePassThrough, buf: Uint8Array, from: number, base: number, until: number): void {
    this.base = base
    this.from = from
    this.until = until
    this.k = 0
    this.count = from < until ? addon.findNeedles(until < buf.length ? buf.subarray(0, until) : buf, from, PACKED_NEEDLES, this.found) : 0
  }
}

/** From how many bytes holdsNeedle asks the addon: the call and the subarray cost about what walking 256 bytes does. */
const NATIVE_HOLDS_BYTES = 256
const oneNeedle = new Int32Array(1)

/**
 * Whether buf[start, end) holds a scan needle, by one walk over those bytes: for a line in a
 * reused buffer, where a Buffer#indexOf pass per needle would run on past `end`.
 */
export function holdsNeedle(buf: Uint8Array, start: number, end: number): boolean {
  // a long line (one split across reads, mostly: 10–100 KiB link commands) in one C scan
  if (end - start >= NATIVE_HOLDS_BYTES) {
    const addon = nativePassThroughTried() ? loadNativePassThrough() : null
    if (addon !== null) return addon.findNeedles(buf.subarray(start, end), 0, PACKED_NEEDLES, oneNeedle) > 0
  }
  for (let i = start; i < end; i++) {
    if (STARTS_ANY[buf[i]!] === 0) continue
    const candidates = STARTING_WITH[buf[i]!]!
    for (let c = 0; c < candidates.length; c++) {
      const n = candidates[c]!
      if (i + n.length > end) continue
      let k = 1
      while (k < n.length && buf[i + k] === n[k]) k++
      if (k === n.length) return true
    }
  }
  return false
}
