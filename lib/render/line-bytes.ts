import type { LineEvent, StyleMark } from '../events.js'
import { terminalSafe } from './terminal-safe.js'

const RESET = '\x1b[0m'

/**
 * A line event back to terminal bytes: its text without BEL and C1 controls, with its SGR marks
 * re-emitted when `color` is on (and a reset at the end if it left colour on).
 */
export function lineBytes(text: Buffer, styles: StyleMark[] | undefined, color: boolean): Buffer {
  if (!color || !styles || styles.length === 0) return terminalSafe(text)
  const parts: Buffer[] = []
  let cursor = 0
  for (const mark of styles) {
    if (mark.at > cursor) parts.push(terminalSafe(text.subarray(cursor, mark.at)))
    parts.push(Buffer.from(`\x1b[${mark.params}m`, 'latin1'))
    cursor = mark.at
  }
  parts.push(terminalSafe(text.subarray(cursor)))
  const last = styles[styles.length - 1]!
  if (last.params !== '0' && last.params !== '') parts.push(Buffer.from(RESET))
  return Buffer.concat(parts)
}

export function eventLineBytes(event: LineEvent, color: boolean): Buffer {
  return lineBytes(event.text, event.styles, color)
}
