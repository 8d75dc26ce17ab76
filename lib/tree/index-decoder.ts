/**
 * The index-only path for build logs (legacy escapes, `@nix` phases, CI markers; not `-L` prefixed
 * logs, not internal-json): a FramerSink that writes line offsets and flags straight into the
 * LogTree, with no event object and no text copy for ordinary lines. What it decides goes through
 * an IndexOutput (index-output.ts): into the tree, or written down on a worker thread that indexes
 * a later part of the file for the main thread's tree (parallel-index.ts).
 *
 * - Runs of whole plain lines (no escape, no CR, no line the dialect must look at) arrive from the
 *   framer as one byte range (`span`); their lines are found with indexOf(LF) and their severity
 *   with a byte-level pre-filter (the starts of some rules' texts, needles the others need), so
 *   only candidate lines are decoded and matched against the rules in severity.ts. A run may start
 *   right after legacy opens and closes (most lines of a legacy log follow one): their effect on
 *   the next line — it is the nest's head, with the nest's priority — is all the framer's state
 *   there, and the sink is told of them (`open`, `close`); after any escape it is not told of, the
 *   ordinary path goes on.
 * - Other ordinary lines (`line`) are added directly, with the framer's head/priority/e/w state,
 *   whether the framer's JavaScript path or its C line mode framed them.
 * - Structure — legacy opens and closes, `@nix` lines, CI markers, `Running phase:` lines (which
 *   the decoder holds back to adopt as a phase head) — goes to a real BuildLogDecoder (TreeOutput),
 *   whose events feed the tree as before. So sections, phases and markers follow the decoder exactly.
 *
 * The tree is the one the event decoder gives (test/tree-index.test.ts compares them).
 */

import { asBuffer, startsWithBytes } from '../bytes.js'
import { BuildLogFramer, type FramerSink, type LineView } from '../dialects/build-log-framer.js'
import { RUNNING_PHASE_BYTES } from '../dialects/build-log.js'
import { DIGIT, hasCiMarkerPrefix, MARKER_HEAD_BYTES } from '../dialects/ci-markers.js'
import { PlainLineWalk } from './plain-lines.js'
import { textHead, textStart } from '../dialects/line-buffer.js'
import { isNixCandidate } from '../dialects/nix-line.js'
import { NEEDLE_PAIRS, NeedleFinder, holdsNeedle, startsLikeRule } from './severity-filter.js'
import { CsiSequence, scanCsi } from '../tokenizer/tokenizer.js'
import type { ByteDecoder } from '../decoder.js'
import { LINE_DIM, LINE_ERROR, LINE_WARNING, severityBits } from './lines.js'
import { latin1Severity, textSeverity } from './severity.js'
import { TreeOutput, type FramerDiagnostic, type IndexOutput } from './index-output.js'
import { IndexSlot, loadNativePassThrough } from '../dialects/native-pass-through.js'
import { NativeIndex } from './native-index.js'
import { replayIndex, type IndexRecord } from './index-record.js'
import { LogTree } from './tree.js'

const LF = 0x0a

export class IndexDecoder implements ByteDecoder, FramerSink {
  private readonly framer: BuildLogFramer
  private readonly out: IndexOutput
  private readonly severity = new NeedleFinder()
  /**
   * Where a span may start: the absolute end of the last line or span delivered, moved past the
   * legacy opens and closes reported right after it; -1 after a line ended by an escape not yet
   * reported. Any other escape leaves a gap before the next text, which then takes the ordinary path.
   */
  private next = 0
  /** Raw offset of the next line: the end of the last one (escapes between lines belong to the next). */
  private lineStart = 0
  /** The next line is the head of the nest just opened, at `headPriority` (the framer's header state). */
  private headNext = false
  private headPriority = 1
  private spanBase = 0
  /** The chunk being written (to read the extent of an open or close the framer reports). */
  private chunkBuf: Uint8Array = new Uint8Array(0)
  private chunkBase = 0
  private readonly seq = new CsiSequence()
  /** The decoder may be holding a `Running phase:` line: the next line must go through it. */
  private holding = false
  /**
   * Lines from the framer's C line mode (FramerSink.nativeLines): since it takes newline groups,
   * a legacy log's lines between sections mostly come that way, without the JavaScript framer.
   */
  readonly nativeLines = true
  /** Lines may keep their removed escapes in place (FramerSink.removedInPlace): the text is read between view.marks. */
  readonly removedInPlace = true
  /** Lines that went the fast ways (for tests and the bench), and those only the dialect's decoder could take. */
  fastLines = 0
  spanLines = 0
  dialectLines = 0
  /** Lines the addon took as index words (takeOps). */
  wordLines = 0
  /** The addon's side of takeOps, made at the first C run (a short decode never loads the addon). */
  private native: NativeIndex | undefined

  /** Into a tree (its lines, and its sections through a BuildLogDecoder), or another output. */
  constructor(target: LogTree | IndexOutput) {
    this.out = target instanceof LogTree ? new TreeOutput(target) : target
    this.framer = new BuildLogFramer(this, { keepSgr: true })
  }

  write(chunk: Uint8Array): void {
    this.framer.write(chunk)
    this.out.flush()
  }

  end(): void {
    this.framer.end()
    this.out.end()
  }

  /**
   * Whether the input could go on at a fresh line here as from the start of a log nested `level`
   * deep: nothing pending in the framer (see BuildLogFramer.resumable) and nothing held here.
   */
  get resumable(): boolean {
    return this.framer.resumable && !this.holding && !this.headNext && this.next === this.framer.offset
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.framer.offset
  }

  /** Plays what another thread's IndexDecoder recorded into this one's output (parallel-index.ts). */
  replay(record: IndexRecord): void {
    replayIndex(record, this.out)
  }

  /** The framer's nesting depth (legacy opens not yet closed). */
  get level(): number {
    return this.framer.depth
  }

  /**
   * Goes on at `offset`, a fresh line `level` nests deep, as if the input up to there had left it
   * so (only where `resumable` held, or at a fresh start): the bytes between were indexed elsewhere.
   */
  resumeAt(offset: number, level: number): void {
    this.framer.resumeAt(offset, level)
    this.next = this.lineStart = offset
    this.headNext = this.holding = false
  }

  // ---- FramerSink ----

  chunk(buf: Uint8Array, base: number): void {
    this.chunkBuf = buf
    this.chunkBase = base
  }

  open(priority: number, offset: number): void {
    this.holding = false
    this.afterStructure(offset)
    this.headNext = this.next >= 0
    this.headPriority = priority
    this.out.open(priority, offset)
  }

  close(offset: number): void {
    this.holding = false
    this.afterStructure(offset)
    this.headNext = false
    this.out.close(offset)
  }

  /**
   * An open or close whose escape starts at `offset`: text right after it may go as a span when
   * nothing came between it and the last line — it starts where that line ended, or it is the
   * escape that ended that line.
   */
  private afterStructure(offset: number): void {
    const at = offset - this.chunkBase
    const end = at >= 0 ? scanCsi(this.chunkBuf, at, this.chunkBase, this.seq) : -1
    const escapeEnd = end === -1 ? -1 : this.chunkBase + end
    const adjacent = escapeEnd !== -1 && (offset === this.next || (this.next === -1 && escapeEnd === this.lineStart))
    this.next = adjacent ? escapeEnd : -1
  }

  diagnostic(code: FramerDiagnostic, message: string, offset: number, line: number, column: number): void {
    this.out.diagnostic(code, message, offset, line, column)
  }

  /**
   * The C line mode's ops as index words, made in C (native-index.ts), up to one only line() or
   * span() can take; none after a held `Running phase:` line, whose next line is the decoder's.
   */
  takeOps(buf: Uint8Array, base: number, ops: Int32Array, io: Int32Array): void {
    const from = io[IndexSlot.From]!
    // (the framer runs in C only with the addon loaded)
    const addon = loadNativePassThrough()
    if (addon === null || this.holding) {
      io[IndexSlot.Stop] = from
      return
    }
    const native = (this.native ??= new NativeIndex(addon))
    const cursor = base + io[IndexSlot.Cursor]!
    native.take(buf, ops, io)
    if (io[IndexSlot.Stop] === from) return
    const to = base + io[IndexSlot.Cursor]!
    this.out.addWords(native.words, io[IndexSlot.Words]!, cursor, to, io[IndexSlot.Depth]!, io[IndexSlot.MinDepth]!)
    this.wordLines += io[IndexSlot.Lines]!
    // what line(), span(), open() and close() leave: the next line starts where the last ended,
    // and may go as a span (or the input go on elsewhere: resumable) right after an LF-ended line
    this.lineStart = to
    this.next = io[IndexSlot.LineLast] === 1 && io[IndexSlot.EndedLf] === 1 ? to : -1
    this.headNext = false
  }

  line(view: LineView): void {
    // a line ended by an escape (p, q or s): only an open or close reported next says what it did
    this.next = view.ended === 'escape' ? -1 : view.rawEnd
    this.lineStart = view.rawEnd
    this.headNext = false
    const buf = view.buf
    // inline SGR, and removed escapes still in place (removedInPlace): the text is what lies between
    const marks = view.marks
    const styled = marks.length > 0
    // the first text bytes, as the decoder sees them (without the marked escapes)
    let head = buf
    let hs = view.start
    let he = view.end
    if (styled) {
      // a digit may start a timestamp, after which a marker prefix is looked for
      head = DIGIT[buf[textStart(view.start, marks)]!] === 1 ? this.longHead : this.head
      he = textHead(buf, view.start, view.end, marks, head)
      hs = 0
    }
    const running = !view.head && startsWithBytes(head, hs, he, RUNNING_PHASE_BYTES)
    if (
      this.holding ||
      running ||
      (view.atLineStart && isNixCandidate(buf, view.start, view.end)) ||
      (view.beforeCr !== null ? hasCiMarkerPrefix(view.beforeCr, 0, view.beforeCr.length) : hasCiMarkerPrefix(head, hs, he))
    ) {
      this.holding = running
      this.dialectLines++
      this.out.dialectLine(view)
      return
    }
    // the e/w flags decide before the text (severity.ts)
    let flags = view.error ? LINE_ERROR : view.warning ? LINE_WARNING : 0
    if (flags === 0) {
      // the text starts like a rule (`head` holds its first bytes), or a needle in the text lies in
      // the bytes (an escape's bytes hold none: a find there would only cost the rules a look) or spans an escape
      const needle = view.direct ? this.severity.next(buf, view.start, view.chunkBase, view.end) < view.end : holdsNeedle(buf, view.start, view.end)
      if (needle || startsLikeRule(head, hs, he) || (styled && this.mayJoinNeedle(view))) {
        flags = severityBits(styled ? textSeverity(this.styledText(view)) : latin1Severity(buf, view.start, view.end))
      }
    }
    if (view.priority >= 3) flags |= LINE_DIM
    this.fastLines++
    if (view.head) this.out.headLine(view.offset, view.rawEnd, flags)
    else this.out.plainLine(view.offset, view.rawEnd, flags)
  }

  /** The first text bytes of a styled line: enough for the line starts the dialect looks at … */
  private readonly head = Buffer.alloc(16)
  /** … or, after a timestamp, for a marker prefix. */
  private readonly longHead = Buffer.alloc(MARKER_HEAD_BYTES)

  /** The text of a styled line as a latin1 string (for the severity rules). */
  private styledText(view: LineView): string {
    const b = asBuffer(view.buf)
    const marks = view.marks.data
    let text = ''
    let at = view.start
    for (let k = 0; k < view.marks.length; k += 2) {
      text += b.toString('latin1', at, marks[k]!)
      at = marks[k + 1]!
    }
    return text + b.toString('latin1', at, view.end)
  }

  /**
   * Whether removing the escapes (SGR, and removed ones in place) could join two text bytes into
   * part of a severity needle (`err\x1b[0mor`): the bytes on either side of a sequence are
   * consecutive in some needle.
   */
  private mayJoinNeedle(view: LineView): boolean {
    const buf = view.buf
    const marks = view.marks.data
    const count = view.marks.length
    let before = -1
    let at = view.start
    for (let k = 0; k < count; k += 2) {
      if (marks[k]! > at) before = buf[marks[k]! - 1]!
      at = marks[k + 1]!
      const stop = k + 2 < count ? marks[k + 2]! : view.end
      if (at < stop && before >= 0 && NEEDLE_PAIRS[(before << 8) | buf[at]!] === 1) return true
    }
    return false
  }

  /**
   * Where the next line the dialect must see starts (or `end`, or the next CR, before which a span
   * stops anyway): none here after a held `Running phase:` line or anything but a line end, else
   * what the walk over the lines says (plain-lines.ts), which keeps their LFs for `span`, called
   * next for the same bytes.
   */
  spanLimit(buf: Uint8Array, from: number, end: number, base: number): number {
    if (this.holding || base + from !== this.next) {
      this.walk.forget()
      return from
    }
    this.spanBase = base
    return this.walk.walk(buf, from, end, base)
  }

  /** The walk over the lines spanLimit() let through: `span` takes their LFs from it. */
  private readonly walk = new PlainLineWalk()

  /** Returns the lines taken, so that the framer's diagnostics keep their line and column. */
  span(buf: Uint8Array, start: number, end: number): number {
    const base = this.spanBase
    const out = this.out
    const walk = this.walk
    const cached = walk.holds(buf, start)
    const lfs = walk.lfs
    let k = 0
    let candidate = this.severity.next(buf, start, base, end)
    let count = 0
    let head = this.headNext
    let lineOffset = this.lineStart
    let at = start
    while (at < end) {
      let lf: number
      if (cached && k < walk.count) lf = lfs[k++]!
      else {
        lf = buf.indexOf(LF, at)
        if (lf === -1 || lf >= end) lf = end - 1 // spans end after an LF
      }
      let flags = 0
      let ask = startsLikeRule(buf, at, lf)
      if (candidate < lf) {
        if (candidate >= at) ask = true
        candidate = this.severity.next(buf, lf + 1, base, end)
      }
      if (ask) flags = severityBits(latin1Severity(buf, at, lf))
      if (head) {
        head = false
        if (this.headPriority >= 3) flags |= LINE_DIM
        out.headLine(lineOffset, base + lf + 1, flags)
      } else {
        out.plainLine(lineOffset, base + lf + 1, flags)
        count++
      }
      at = lf + 1
      lineOffset = base + at
    }
    walk.forget()
    this.spanLines += count
    this.next = this.lineStart = base + end
    const lines = count + (this.headNext ? 1 : 0)
    this.headNext = false
    return lines
  }

}
