/**
 * The byte-level pre-filter in front of the severity rules (severity.ts) for the index: a line
 * that holds none of the needles below has no severity, so only the rare line that does is
 * decoded to a string and matched against the rules.
 */
import { loadNativePassThrough, nativePassThroughTried, packPrefixes } from '../dialects/native-pass-through.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'

/**
 * Every error or warning rule of severity.ts needs one of these substrings (ERROR_RE: error,
 * fatal error, ERROR, FAIL:, ` *** `, LaTeX Error, BUILD FAILED, FAILURE, [ERROR], ` error: `;
 * WARNING_RE: warning, WARNING, : warning: , [WARN]). A line without any of them has no severity.
 */
export const SEVERITY_NEEDLES = ['error', 'ERROR', 'FAIL', ' *** ', 'LaTeX Error', 'warning', 'WARNING', '[WARN']

/**
 * What the pre-filter scans for: each needle is a substring of one or more of the above (`rror` ⊂
 * error, LaTeX Error; `***` ⊂ ` *** `; `WARN` ⊂ WARNING, [WARN), so every line holding a needle
 * above holds one of these. Each needle is one Buffer#indexOf pass over the input, and for short
 * needles that finds the needle's first byte with memchr and compares the rest: a needle starting
 * with a rare byte (`***`, not ` *** `; `warning`, not `arning`) makes the pass several times
 * cheaper.
 */
export const SCAN_NEEDLES = ['rror', 'ERROR', 'FAIL', '***', 'warning', 'WARN']

const NEEDLE_BYTES = SCAN_NEEDLES.map((n) => Buffer.from(n, 'latin1'))

/** For each byte, the scan needles that start with it, and a flag per byte that starts any (most start none). */
const STARTING_WITH: Buffer[][] = Array.from({ length: 256 }, () => [])
const STARTS_ANY = new Uint8Array(256)
for (const n of NEEDLE_BYTES) {
  STARTING_WITH[n[0]!]!.push(n)
  STARTS_ANY[n[0]!] = 1
}

/** Consecutive byte pairs inside the needles (rules' and scan's): (a << 8) | b. */
export const NEEDLE_PAIRS = new Uint8Array(65536)
for (const n of [...SEVERITY_NEEDLES, ...SCAN_NEEDLES]) for (let k = 0; k + 1 < n.length; k++) NEEDLE_PAIRS[(n.charCodeAt(k) << 8) | n.charCodeAt(k + 1)] = 1

const PACKED_NEEDLES = packPrefixes(NEEDLE_BYTES)

/**
 * Next position at or after `from` where any scan needle occurs in a chunk. With the C addon (once
 * something in the process has loaded it), one pass over the chunk for all needles, its answer
 * kept while the questions move forward within it, as ByteFinder keeps its own; without, one
 * Buffer#indexOf pass per needle.
 */
export class NeedleFinder {
  private readonly finders = NEEDLE_BYTES.map((n) => new ByteFinder(n))
  private base = -1
  private from = 0
  private found = -1

  next(buf: Uint8Array, from: number, base: number): number {
    const addon = nativePassThroughTried() ? loadNativePassThrough() : null
    if (addon !== null) {
      if (base !== this.base || this.found < from || from < this.from) {
        this.base = base
        this.from = from
        this.found = from < buf.length ? addon.firstOf(buf, from, PACKED_NEEDLES) : buf.length
      }
      return this.found
    }
    let min = buf.length
    for (const f of this.finders) {
      const at = f.next(buf, from, base)
      if (at < min) min = at
    }
    return min
  }
}

/**
 * Whether buf[start, end) holds a scan needle, by one walk over those bytes: for a line in a
 * reused buffer, where a Buffer#indexOf pass per needle would run on past `end`.
 */
export function holdsNeedle(buf: Uint8Array, start: number, end: number): boolean {
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
