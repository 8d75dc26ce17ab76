/**
 * Which lines count as errors and warnings for failure-aware folding (spec §9, D-24): the decoder's
 * `e`/`w` flags, Nix message levels 0 (Error) and 1 (Warn), and the strings Hydra's
 * `mark-errors.xsl` looked for (without its `or true`). Nix's own `error:` at the start of a line is
 * added. Not face-specific: the pager should use the same rules (move this down to tree/ when it
 * needs them).
 */
import type { LineEvent } from '../../events.js'

const HYDRA_CONTAINS = [' *** ', 'LaTeX Error', 'BUILD FAILED', 'FAILURE', '[ERROR]', ' error: ']
const HYDRA_STARTS = ['FAIL:', 'error:']

/** True when the decoded text of a line matches one of Hydra's error strings. */
export function hydraError(text: string): boolean {
  for (const s of HYDRA_STARTS) if (text.startsWith(s)) return true
  for (const s of HYDRA_CONTAINS) if (text.includes(s)) return true
  return false
}

export type Severity = 'error' | 'warning' | undefined

/**
 * A line's severity. The Hydra strings are ASCII and matched on the raw text bytes (read as
 * latin1), which gives the same answer as matching the UTF-8 decoded text.
 */
export function lineSeverity(line: LineEvent): Severity {
  if (line.error || line.level === 0) return 'error'
  if (line.warning || line.level === 1) return 'warning'
  return hydraError(line.text.toString('latin1')) ? 'error' : undefined
}
