/**
 * Which lines count as errors and warnings, for failure-aware folding, counts, jumps and the
 * failure extract — one rule for every face (spec §9, D-24): the decoder's `e`/`w` flags, Nix
 * message levels 0 (Error) and 1 (Warn), then the text: the strings Hydra's mark-errors.xsl looked
 * for (without its `or true`), Nix's own `error:`/`warning:` prefixes and compilers' `: warning: `.
 */
import type { LineEvent } from '../events.js'

const ERROR_RE = /^(?:error|fatal error|ERROR)(?:\b|:)|^FAIL:| \*\*\* |LaTeX Error|BUILD FAILED|FAILURE|\[ERROR\]| error: /
const WARNING_RE = /^(?:warning|WARNING)(?::| )|: warning: |\[WARN(?:ING)?\]/

export type Severity = 'error' | 'warning' | undefined

export function looksLikeError(text: string): boolean {
  return ERROR_RE.test(text)
}

export function looksLikeWarning(text: string): boolean {
  return WARNING_RE.test(text)
}

/** The patterns are ASCII, so the text is read as latin1: the same answer, no UTF-8 decoding. */
export function lineSeverity(line: LineEvent): Severity {
  if (line.error || line.level === 0) return 'error'
  if (line.warning || line.level === 1) return 'warning'
  const text = line.text.toString('latin1')
  return looksLikeError(text) ? 'error' : looksLikeWarning(text) ? 'warning' : undefined
}
