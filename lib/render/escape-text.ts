/**
 * A line's bytes with every escape sequence shown as text (the pager's `-R`): what a log really
 * holds, for when the placeholders are not enough. The tokenizer says where each sequence starts
 * and ends; its bytes stay in the text, to be dimmed, and the painter shows its ESC and other
 * control bytes as the same visible placeholders as anywhere else. Nothing is interpreted: no
 * colour, no carriage return, no nesting code.
 */

import { Tokenizer } from '../tokenizer/tokenizer.js'

export interface EscapeText {
  text: Buffer
  /** Byte ranges [start, end) of `text` that are escape sequences, in order. */
  sequences: Array<[number, number]>
}

export function escapesAsText(raw: Buffer): EscapeText {
  const sequences: Array<[number, number]> = []
  const tokenizer = new Tokenizer({
    text() {},
    csi: (seq) => sequences.push([seq.start, seq.end]),
    dropped: (_kind, start, end) => sequences.push([start, end]),
    chunkEnd() {},
  })
  tokenizer.write(raw)
  tokenizer.end()
  return { text: raw, sequences }
}
