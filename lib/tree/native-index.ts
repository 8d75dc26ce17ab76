/**
 * The index's side of the addon's indexOps (native/pass-through.c, index_ops): the C line mode's
 * ops taken as index words (index-record.ts) in C — the severity rules too, for the lines the byte
 * pre-filter could not rule out (text_severity mirrors severity.ts) — and the rare such line whose
 * text between its marks is too long for C to read at once answered here by the rules. A legacy log's ~10
 * million lines a GiB then cost the index no call each, where handing each op's lines to
 * IndexDecoder.line() and .span() cost more than the C run that found them.
 */

import { ASK_INTS, IndexSlot, OPS_LENGTH, type NativePassThrough } from '../dialects/native-pass-through.js'
import { PACKED_CI_MARKER_PREFIXES } from '../dialects/ci-markers.js'
import { asBuffer } from '../bytes.js'
import { severityBits } from './lines.js'
import { latin1Severity, textSeverity } from './severity.js'
import { NEEDLE_PAIRS, PACKED_NEEDLES, PACKED_RULE_STARTS } from './severity-filter.js'

/** Asks one call may make; past them it stops, and the next call goes on. */
const ASK_CAP = 1024

export class NativeIndex {
  /**
   * The words of one call: at most four a line (a long line's), three an open, two a close, and an
   * op's int32 hold at least one a line (a span's LF) or three an open or close.
   */
  readonly words = new Int32Array(4 * OPS_LENGTH)
  private readonly asks = new Int32Array(ASK_INTS * ASK_CAP)

  constructor(private readonly addon: NativePassThrough) {}

  /** Takes what it can of the line-mode ops as io says (IndexSlot); `words` then holds them, every line's flags set. */
  take(buf: Uint8Array, ops: Int32Array, io: Int32Array): void {
    this.addon.indexOps(buf, ops, PACKED_NEEDLES, PACKED_RULE_STARTS, PACKED_CI_MARKER_PREFIXES, NEEDLE_PAIRS, io, this.words, this.asks)
    const asks = this.asks
    const words = this.words
    const end = io[IndexSlot.Asks]! * ASK_INTS
    for (let a = 0; a < end; a += ASK_INTS) {
      const op = asks[a + 1]!
      const severity = op < 0 ? latin1Severity(buf, asks[a + 2]!, asks[a + 3]!) : textSeverity(lineOpText(buf, ops, op))
      words[asks[a]!]! |= severityBits(severity)
    }
  }
}

/**
 * The text of the Line op at ops[k] (see Op.Line) as latin1: its bytes between the marks (kept
 * SGR, removed CSIs, bytes a bare CR discarded), as the framer's views give it to the sink.
 */
function lineOpText(buf: Uint8Array, ops: Int32Array, k: number): string {
  const b = asBuffer(buf)
  const end = ops[k + 3]!
  const marks = k + 7
  let at = ops[k + 2]!
  let text = ''
  for (let j = marks; j < marks + 2 * ops[k + 6]!; j += 2) {
    const mark = ops[j]!
    const stop = ops[j + 1]!
    const markStart = mark < 0 ? -mark - 1 : mark
    const markEnd = stop < 0 ? -stop - 1 : stop
    if (markStart > at) text += b.toString('latin1', at, markStart)
    if (markEnd > at) at = markEnd
  }
  return at < end ? text + b.toString('latin1', at, end) : text
}
