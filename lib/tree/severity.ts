/**
 * Which lines count as errors and warnings, for failure-aware folding, counts, jumps and the
 * failure extract — one rule for every face (spec §9, D-24): the decoder's `e`/`w` flags, Nix
 * message levels 0 (Error) and 1 (Warn), then the text: the strings Hydra's mark-errors.xsl looked
 * for (without its `or true`), Nix's own `error:`/`warning:` prefixes and compilers' `: warning: `.
 * A flag or level decides before the text: a line the build marked as a warning stays one even
 * when its text says `error:`.
 */
import type { LineEvent } from '../events.js'
import { asBuffer } from '../bytes.js'
import { holdsNeedle, startsLikeRule } from './severity-filter.js'

// Each rule is two patterns: what the line starts with, tried there only, and what it holds
// anywhere. One pattern with both kinds of branches is tried in full at every position, and took
// twice as long on the lines the pre-filter lets through (bench corpus: 1.3 against 0.7 µs).
// The index's C line mode applies the same rules (text_severity in native/pass-through.c): a
// change here is a change there (test/tree-index-fuzz.test.ts compares the two on near misses).
const ERROR_START_RE = /^(?:(?:error|fatal error|ERROR)(?:\b|:)|FAIL:)/
const ERROR_ANYWHERE_RE = / \*\*\* |LaTeX Error|BUILD FAILED|FAILURE|\[ERROR\]| error: /
const WARNING_START_RE = /^(?:warning|WARNING)(?::| )/
const WARNING_ANYWHERE_RE = /: warning: |\[WARN(?:ING)?\]/

export type Severity = 'error' | 'warning' | undefined

export function looksLikeError(text: string): boolean {
  return ERROR_START_RE.test(text) || ERROR_ANYWHERE_RE.test(text)
}

export function looksLikeWarning(text: string): boolean {
  return WARNING_START_RE.test(text) || WARNING_ANYWHERE_RE.test(text)
}

/** The text rules alone, on a line's text. */
export function textSeverity(text: string): Severity {
  return looksLikeError(text) ? 'error' : looksLikeWarning(text) ? 'warning' : undefined
}

/**
 * The text rules on a line's bytes. Most lines neither start like a rule nor hold a needle every
 * other rule needs (severity-filter.ts) and are answered without a string; the patterns are
 * ASCII, so the others are read as latin1: the same answer as their UTF-8 text gives, without
 * decoding it.
 */
export function bytesSeverity(buf: Uint8Array, start = 0, end = buf.length): Severity {
  return startsLikeRule(buf, start, end) || holdsNeedle(buf, start, end) ? latin1Severity(buf, start, end) : undefined
}

/** The text rules on bytes a pre-filter has already let through, read as latin1 (see bytesSeverity). */
export function latin1Severity(buf: Uint8Array, start: number, end: number): Severity {
  return textSeverity(asBuffer(buf).toString('latin1', start, end))
}

export function lineSeverity(line: LineEvent): Severity {
  if (line.error || line.level === 0) return 'error'
  if (line.warning || line.level === 1) return 'warning'
  return bytesSeverity(line.text)
}
