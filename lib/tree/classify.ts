/**
 * Error / warning recognition for lines the dialect did not flag (spec §9, D-24): Hydra's
 * mark-errors strings without its `or true`, plus Nix's own `error:` / `warning:` prefixes.
 */

const ERROR_RE = /^(?:error|fatal error|ERROR)(?:\b|:)|^FAIL:| \*\*\* |LaTeX Error|BUILD FAILED|FAILURE|\[ERROR\]| error: |^error: builder for /
const WARNING_RE = /^(?:warning|WARNING)(?::| )|: warning: |\[WARN(?:ING)?\]/

export function looksLikeError(text: string): boolean {
  return ERROR_RE.test(text)
}

export function looksLikeWarning(text: string): boolean {
  return WARNING_RE.test(text)
}
