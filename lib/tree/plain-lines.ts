import { startsWithBytes } from '../bytes.js'
import { RUNNING_PHASE_BYTES } from '../dialects/build-log.js'
import { hasCiMarkerPrefix, PACKED_CI_MARKER_PREFIXES } from '../dialects/ci-markers.js'
import { loadNativePassThrough, nativePassThroughTried } from '../dialects/native-pass-through.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'

const LF = 0x0a
const CR = 0x0d
/**
 * From how many bytes the walk is the addon's (plainLineEnds): below, the call costs more than it
 * saves (valgrind, pager index of 32 MiB legacy: every run in C 2.580 G instructions, from 512
 * bytes 2.567 G, from 2048 2.568 G).
 */
const NATIVE_WALK_BYTES = 512

function growInt32(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2)
  b.set(a)
  return b
}

/**
 * The walk over a run of plain lines (text without escapes) that the pager's index takes as one
 * span (IndexDecoder.span): it stops before the first line the dialect must see on its own — `@`
 * (an `@nix` line, or not), `Running phase: ` (which a `setPhase` may adopt), a CI marker prefix
 * after a timestamp or not — and at the first CR, and keeps the LF of every line it passed, so
 * that the span that follows needs no search of its own. Runs of 512 bytes or more are walked in C.
 */
export class PlainLineWalk {
  private readonly cr = new ByteFinder(CR)
  /** LF positions of the last walk's lines, `count` of them, in `buf` from `from`. */
  lfs: Int32Array = new Int32Array(1024)
  count = 0
  private buf: Uint8Array | null = null
  private from = -1

  /**
   * Walks the lines of buf[from, stop) with stop = min(end, the next CR); returns where the run
   * ends: the start of a line the dialect must see, else `stop` (the framer's span takes the
   * whole lines before it). A run cut short where `lfs` is full goes on with the next walk.
   */
  walk(buf: Uint8Array, from: number, end: number, base: number): number {
    const stop = Math.min(end, this.cr.next(buf, from, base))
    this.buf = buf
    this.from = from
    const addon = stop - from >= NATIVE_WALK_BYTES && nativePassThroughTried() ? loadNativePassThrough() : null
    if (addon !== null) {
      this.count = addon.plainLineEnds(buf, from, stop, end, PACKED_CI_MARKER_PREFIXES, this.lfs)
      return this.lfs[this.count]!
    }
    let lfs = this.lfs
    let n = 0
    let at = from
    while (at < stop) {
      const c = buf[at]!
      if (c === 0x40 || (c === 0x52 && startsWithBytes(buf, at, end, RUNNING_PHASE_BYTES)) || hasCiMarkerPrefix(buf, at, end)) break
      const lf = (buf as Buffer).indexOf(LF, at)
      if (lf === -1 || lf >= stop) {
        at = stop
        break
      }
      if (n === lfs.length) lfs = this.lfs = growInt32(lfs)
      lfs[n++] = lf
      at = lf + 1
    }
    this.count = n
    return at
  }

  /** Whether the LFs kept are those of a run from `from` in `buf` (the span now asked for). */
  holds(buf: Uint8Array, from: number): boolean {
    return buf === this.buf && from === this.from
  }

  /** The kept LFs no longer answer for anything (the span took them, or a write moved on). */
  forget(): void {
    this.buf = null
    this.count = 0
  }
}
