import { prefixNameLength } from './build-log.js'
import { BuildLogFramer } from './build-log-framer.js'
import { parseInternalJsonLine } from './internal-json.js'
import { textWithoutSgr } from './line-buffer.js'

/** Sniff limits (spec §1): at most this many bytes or complete lines decide the dialect. */
export const SNIFF_BYTES = 64 * 1024
export const SNIFF_LINES = 200
/** Share of non-empty lines that must be internal-json messages (D-1). */
const JSON_THRESHOLD = 0.9
/** Share of non-empty lines that must carry a `name> ` prefix to read the log as `nix build -L` output. */
const PREFIX_THRESHOLD = 0.5
/** Bytes framed at a time while sniffing. */
const SNIFF_SLICE = 4096

export type Dialect = 'internal-json' | 'build'

export interface Detection {
  dialect: Dialect
  /** Build logs only: lines carry `nix build -L` prefixes. */
  prefixed: boolean
}

/**
 * Decides the dialect from the start of a log. `complete` says the sniff buffer holds the whole
 * input (EOF came first), so a last line without LF counts too. Lines are framed by the build-log
 * framer, so the tokenizer alone decides what an escape is (a coloured `-L` prefix included).
 */
export function detect(head: Buffer, complete: boolean): Detection {
  let lines = 0
  let json = 0
  let prefixed = 0
  const framer = new BuildLogFramer({
    line(view) {
      if (lines >= SNIFF_LINES || view.textLength === 0) return
      lines++
      const message = view.sgr.length === 0 ? parseInternalJsonLine(view.buf, view.start, view.end) : null
      if (message !== null && message.action !== 'unknown') json++
      else if (prefixNameLength(textWithoutSgr(view.buf, view.start, view.end, view.sgr, view.textLength)) >= 0) prefixed++
    },
    open() {},
    close() {},
    diagnostic() {},
  })
  const lastLf = head.lastIndexOf(0x0a)
  const sniffed = complete ? head : head.subarray(0, lastLf + 1)
  // A slice at a time, up to the last line that counts: framing is the same in any chunks, and
  // the rest of 64 KiB would only cost time (the pager's first screen waits for this).
  for (let at = 0; at < sniffed.length && lines < SNIFF_LINES; at += SNIFF_SLICE) framer.write(sniffed.subarray(at, at + SNIFF_SLICE))
  framer.end()
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
