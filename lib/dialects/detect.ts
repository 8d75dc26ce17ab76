import { parseInternalJsonLine } from './internal-json.js'

/** Sniff limits (spec §1): at most this many bytes or complete lines decide the dialect. */
export const SNIFF_BYTES = 64 * 1024
export const SNIFF_LINES = 200
/** Share of non-empty lines that must be internal-json messages (D-1). */
const JSON_THRESHOLD = 0.9
/** Share of non-empty lines that must carry a `name> ` prefix to read the log as `nix build -L` output. */
const PREFIX_THRESHOLD = 0.5
const PREFIX = /^(?:\x1b\[[0-9;]*m)*[A-Za-z0-9+_?=][A-Za-z0-9+._?=-]*> /

export type Dialect = 'internal-json' | 'build'

export interface Detection {
  dialect: Dialect
  /** Build logs only: lines carry `nix build -L` prefixes. */
  prefixed: boolean
}

/**
 * Decides the dialect from the start of a log. `complete` says the sniff buffer holds the whole
 * input (EOF came first), so a last line without LF counts too.
 */
export function detect(head: Buffer, complete: boolean): Detection {
  let lines = 0
  let json = 0
  let prefixed = 0
  let start = 0
  while (start < head.length && lines < SNIFF_LINES) {
    let end = head.indexOf(0x0a, start)
    if (end === -1) {
      if (!complete) break
      end = head.length
    }
    let stop = end
    if (stop > start && head[stop - 1] === 0x0d) stop--
    if (stop > start) {
      lines++
      const message = parseInternalJsonLine(head, start, stop)
      if (message !== null && message.action !== 'unknown') json++
      else if (PREFIX.test(head.toString('latin1', start, Math.min(stop, start + 256)))) prefixed++
    }
    start = end + 1
  }
  if (lines > 0 && json >= JSON_THRESHOLD * lines) return { dialect: 'internal-json', prefixed: false }
  return { dialect: 'build', prefixed: lines >= 2 && prefixed >= PREFIX_THRESHOLD * lines }
}

/** Whether the sniff buffer has seen enough to decide. */
export function sniffComplete(head: Buffer): boolean {
  if (head.length >= SNIFF_BYTES) return true
  let count = 0
  for (let at = head.indexOf(0x0a); at !== -1; at = head.indexOf(0x0a, at + 1)) if (++count >= SNIFF_LINES) return true
  return false
}
