import { BEL } from '../tokenizer/table.js'

/** UTF-8 lead byte of U+0080–U+00BF; followed by 0x80–0x9F it encodes a C1 control. */
export const C1_LEAD = 0xc2

/** Whether the C1_LEAD at `at` encodes a C1 control (U+0080–U+009F), not a printable character. */
export function isC1At(buf: Uint8Array, at: number): boolean {
  const next = buf[at + 1]
  return next !== undefined && next >= 0x80 && next <= 0x9f
}

/** isC1At, or the lead is the chunk's last byte and its follower is still to come. */
export function mayBeC1At(buf: Uint8Array, at: number): boolean {
  return at + 1 === buf.length || isC1At(buf, at)
}

/**
 * How many bytes at buf[i] (before `end`) must not reach a terminal: 1 for a BEL, 2 for a C1
 * control (U+0080–U+009F), which terminals obey; 0 for anything else. Escapes are the
 * tokenizer's business and are gone before text gets here.
 */
export function unsafeBytesAt(buf: Uint8Array, i: number, end: number): number {
  const b = buf[i]!
  if (b === BEL) return 1
  return b === C1_LEAD && i + 1 < end && isC1At(buf, i) ? 2 : 0
}

/** Calls `emit` for the ranges of buf[start, end) that may reach a terminal (see unsafeBytesAt). */
export function forEachSafeRange(buf: Uint8Array, start: number, end: number, emit: (start: number, end: number) => void): void {
  if (end - start <= SHORT_RANGE) {
    let cursor = start
    for (let i = start; i < end; ) {
      const unsafe = unsafeBytesAt(buf, i, end)
      if (unsafe === 0) {
        i++
        continue
      }
      if (i > cursor) emit(cursor, i)
      cursor = i += unsafe
    }
    if (end > cursor) emit(cursor, end)
    return
  }
  // Longer ranges jump from one BEL or C1 lead byte to the next: a long line with a `µ` in it
  // must not cost a loop over all its bytes.
  const range = Buffer.from(buf.buffer, buf.byteOffset + start, end - start)
  let bel = range.indexOf(BEL)
  let lead = range.indexOf(C1_LEAD)
  let cursor = 0
  while (bel !== -1 || lead !== -1) {
    if (lead === -1 || (bel !== -1 && bel < lead)) {
      if (bel > cursor) emit(start + cursor, start + bel)
      cursor = bel + 1
      bel = range.indexOf(BEL, cursor)
    } else {
      if (lead + 1 < range.length && isC1At(range, lead)) {
        if (lead > cursor) emit(start + cursor, start + lead)
        cursor = lead + 2
      }
      lead = range.indexOf(C1_LEAD, lead + 1)
    }
  }
  if (range.length > cursor) emit(start + cursor, end)
}

/** Ranges up to this long are walked byte by byte: cheaper than searching them. */
const SHORT_RANGE = 64
