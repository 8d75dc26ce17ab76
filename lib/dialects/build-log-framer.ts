import { asBuffer } from '../bytes.js'
import { CR, LF } from '../tokenizer/table.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'
import { CsiSequence, Tokenizer, type DroppedKind, type TokenHandler } from '../tokenizer/tokenizer.js'
import type { LineEnd } from '../events.js'
import { LegacyCode, legacyArgument, legacyCode } from './legacy-codes.js'
import { LineBuffer, MAX_LINE_BYTES, NO_SGR, SgrMarks } from './line-buffer.js'
import { Flag, IndexSlot, INDEX_SLOTS, LineBit, loadNativePassThrough, NATIVE_MIN_CHUNK, nativePassThroughTried, Op, OPS_LENGTH, packPrefixes, Slot, STATE_SLOTS, type NativePassThrough } from './native-pass-through.js'

/**
 * Where the lines of a span end, when the framer's C line mode found them: `data[at]` is the LF of
 * the span's first line, and so on, one per line. Valid only during the `span()` call.
 */
export class LineEnds {
  data: Int32Array = new Int32Array(0)
  at = 0
}

/**
 * A finished line as the framer hands it over. Reused for every line and valid only during the
 * `line()` call: `buf[start, end)` is either a slice of the caller's input (the fast path) or the
 * framer's own buffer.
 */
export class LineView {
  buf: Uint8Array = new Uint8Array(0)
  start = 0
  end = 0
  /** Positions in `buf` where escapes were removed (only when the framer tracks them), as empty pairs [at, at]. */
  removed: SgrMarks = NO_SGR
  /** Inline SGR sequences inside `buf` (none unless styles are kept). */
  sgr: SgrMarks = NO_SGR
  /**
   * Every range of buf[start, end) that is not text, in order: the `sgr` sequences and, in a
   * direct line for a sink that takes them (FramerSink.removedInPlace), the escapes removed from
   * the line but still in place in `buf` (gcc's `ESC[K`), which `removed` does not list then.
   * The same object as `sgr` when no removed escape is in place.
   */
  marks: SgrMarks = NO_SGR
  textLength = 0
  head = false
  priority = 1
  error = false
  warning = false
  /** Raw byte range of the line in the input, terminator included. */
  offset = 0
  rawEnd = 0
  ended: LineEnd = 'lf'
  /**
   * The text (without SGR) that the line's first carriage return discarded, when it might be a CI
   * marker (GitLab's `section_start:…\r`, Travis's `travis_fold:…\r`); null otherwise.
   */
  beforeCr: Buffer | null = null
  /** True when `buf` is the caller's input chunk (nothing was copied), false for the framer's buffer. */
  direct = false
  /** For direct views: the absolute offset of buf[0], which identifies the chunk. */
  chunkBase = 0
  /**
   * Whether Nix's line splitter would see these same bytes at the start of a line (the line began
   * after an LF or at the start of input, and no escape sequence survives in it), which is where
   * `@nix ` lines are recognised (spec §5.1).
   */
  atLineStart = false
}

/** Consumer of framed lines and legacy structure: the clean filter, the XML writer, the event decoder. */
export interface FramerSink {
  line(view: LineView): void
  open(priority: number, offset: number): void
  close(offset: number): void
  diagnostic(code: 'unbalanced-close' | 'unclosed-at-eof' | 'line-split', message: string, offset: number, line: number, column: number): void
  /** SGR sequences left at end of input with no text after them (only when styles are kept). */
  trailingStyles?(buf: Uint8Array, start: number, end: number): void
  /** An escape that is neither legacy nor kept SGR was removed at `start` (for visible placeholders). */
  removed?(kind: DroppedKind | 'csi', start: number, end: number): void
  /**
   * The fast path: whole plain lines — no escape, no CR — handed over as one range instead of
   * line by line (the clean filter copies them, the event decoder makes their events straight
   * from the range). `spanLimit` says where the sink needs lines again (a line that may be
   * `@nix`, a CI marker, BEL …). A sink with spans gets diagnostics without line and column (0):
   * the framer stops counting lines, unless `span` returns how many lines it took. A span of
   * whole lines starts only where the framer's state is that of a fresh line after an LF
   * (atFreshLine()), so each of its lines is plain text the sink would otherwise get from line()
   * with default flags.
   */
  span?(buf: Uint8Array, start: number, end: number, base: number, lfs?: LineEnds): number | void
  spanLimit?(buf: Uint8Array, from: number, end: number, base: number): number
  /**
   * With `span`: the sink wants only the output bytes of ordinary lines, so the framer may also run
   * spans across escapes it can settle by itself (legacy codes, which still reach open/close; kept
   * SGR, which stays inline; other CSIs and the CR of a CRLF, which are cut out). See runNatively().
   */
  passThrough?: boolean
  /** For pass-through: lines starting with one of these the sink must see as lines (`@nix`, CI markers). */
  mustSeePrefixes?: readonly Uint8Array[]
  /** For pass-through: where it must stop apart from those lines (bytes the sink must see in a line). */
  passThroughLimit?(buf: Uint8Array, from: number, end: number, base: number): number
  /**
   * For pass-through: the input chunk is the sink's scratch space (CleanOptions.scratchInput), so
   * kept bytes may be moved down over removed escapes before the sink gets them as spans.
   */
  scratchInput?: boolean
  /** False when open, close and diagnostic do nothing (the clean filter): pass-through then skips them. */
  wantsStructure?: boolean
  /**
   * True: lines may come from the C run's line mode (see runNatively). It pays where runs of
   * lines carry escapes (`nix build -L` prefixes, CI logs' coloured words, legacy nests and
   * newline groups), and costs about what it saves where they come a few at a time (the
   * per-build decoders of internal-json). Read in the constructor.
   */
  nativeLines?: boolean
  /**
   * With `span` and `nativeLines`: line mode may also put into spans the `nix build -L` lines
   * that only their prefix styles, `ESC[2m` name `> ESC[0m` and then text without ESC or CR
   * (as Nix writes them); span() then takes such a line's prefix apart. Read in the constructor.
   */
  styledPrefixSpans?: boolean
  /**
   * With `nativeLines`: line mode may hand over a line with the escapes it removed still in place
   * (LineView.marks), as a direct line, where it would otherwise copy the line without them. Pays
   * for gcc's diagnostics, which follow every colour with `ESC[K`. Read in the constructor.
   */
  removedInPlace?: boolean
  /**
   * With `nativeLines`: the sink may take a run's ops itself (the index, as index words in C:
   * lib/tree/native-index.ts), from io[IndexSlot.From] on. The framer fills From, Count, Cursor
   * and Level, the sink the rest (see IndexSlot); the framer hands over the ops from io[IndexSlot.Stop] on.
   */
  takeOps?(buf: Uint8Array, base: number, ops: Int32Array, io: Int32Array): void
  /** A new input chunk starts at absolute offset `base` (for sinks that scan whole chunks). */
  chunk?(buf: Uint8Array, base: number): void
  /** End of input, after everything else. */
  inputEnded?(): void
}

/** The addon and what the framer hands it on every call: the sink's prefixes and flags, and the state and operation arrays it fills. */
interface NativeRun {
  addon: NativePassThrough
  /** Line mode (lines as Line ops, for sinks that take lines) rather than pass-through (kept bytes as spans). */
  lines: boolean
  prefixes: Uint8Array
  flags: number
  state: Int32Array
}

/**
 * The C run's operation lists (OPS_LENGTH int32, 48 KiB), lent to one run at a time: a framer
 * holding one of its own cost its allocation on every short decode (the pager decodes single
 * lines), several times the decode. An event handler that decodes another input while a run is
 * replaying borrows a second one; a run that throws just does not give its list back.
 */
const idleOps: Int32Array[] = []

export interface FramerOptions {
  /** Keep SGR sequences inline in line bytes (colour output, styles). Default true. */
  keepSgr?: boolean
  /** Record where escapes other than kept SGR and legacy codes were removed (`LineView.removed`). */
  markRemoved?: boolean
}

/**
 * The build-log framer (spec §2, §2.9, §4): the legacy nesting codes and line assembly with
 * variant-C carriage returns on top of the tokenizer. It decides where lines begin and end and what
 * bytes they hold; the sinks decide what that means for their output.
 */
export class BuildLogFramer implements TokenHandler {
  private readonly tokenizer = new Tokenizer(this)
  private readonly keepSgr: boolean
  private readonly buffer = new LineBuffer()
  private readonly view = new LineView()
  private readonly lfFinder = new ByteFinder(LF)
  private readonly crFinder = new ByteFinder(CR)

  // Legacy state (spec §2.3).
  private level = 0
  private inHeader = false
  private priority = 1
  private ignoreLf = false
  private warning = false
  private error = false

  // The pending line. While `direct` is true the line is exactly input[directStart, directEnd) of
  // the current chunk and nothing has been copied yet; kept SGR sequences inside that range stay
  // in place, marked in buffer.sgr by their positions in the chunk (directSgrBytes in all).
  private direct = false
  private directBuf: Uint8Array = this.buffer.bytes
  private directBase = 0
  private directStart = 0
  private directEnd = 0
  private directSgrBytes = 0
  /** The chunk being written and the absolute offset of its first byte. */
  private chunkBuf: Uint8Array = this.buffer.bytes
  private chunkBase = 0
  private lineOffset = 0
  private pendingCr = false
  /** Where a carriage return truncates to: just after the last LF embedded by ESC[a. */
  private resetPoint = 0
  private escapeSinceReset = false
  private atLineStart = true
  private beforeCr: Buffer | null = null
  private hadCarriageReset = false

  // Position bookkeeping for diagnostics, counted as nix-log2xml did.
  private lineFeeds = 0
  private lastLineFeed = -1

  private readonly spans: boolean
  private readonly markRemoved: boolean
  private readonly removedInPlace: boolean
  /** A direct line's LineView.marks when it holds removed escapes in place. */
  private readonly inPlaceMarks = new SgrMarks()

  constructor(private readonly sink: FramerSink, options: FramerOptions = {}) {
    this.keepSgr = options.keepSgr ?? true
    this.markRemoved = options.markRemoved ?? false
    this.spans = sink.span !== undefined && sink.spanLimit !== undefined
    this.removedInPlace = sink.removedInPlace === true
    const wantsPassThrough = this.spans && sink.passThrough === true && sink.mustSeePrefixes !== undefined && sink.passThroughLimit !== undefined
    // Line mode hands over direct lines with SGR in place: only for sinks that keep SGR.
    const wantsLines = !wantsPassThrough && this.keepSgr && sink.nativeLines === true
    this.nativeWanted = wantsPassThrough && !this.markRemoved && sink.removed === undefined ? 'pass-through' : wantsLines ? 'lines' : null
  }

  /**
   * The C run's mode this framer will use once a chunk of NATIVE_MIN_CHUNK bytes arrives, or any
   * chunk once the addon is loaded: loading it costs ~3 ms, which small input does not repay (the
   * pager re-decodes single lines for its first screen). Until then the framer frames in
   * JavaScript, the same way.
   */
  private nativeWanted: 'pass-through' | 'lines' | null
  /**
   * Line mode runs before the span path is tried: the sink takes the run's ops in C, plain lines
   * too (the index, as words: lib/tree/native-index.ts), where its JavaScript span path took the
   * first lines of every chunk, and TurboFan compiled span() in every index worker.
   */
  private opsFirst = false

  private loadNative(): void {
    const addon = loadNativePassThrough()
    const sink = this.sink
    if (addon === null) this.native = null
    else if (this.nativeWanted === 'pass-through') {
      const flags = (this.keepSgr ? Flag.KeepSgr : 0) | (sink.scratchInput === true ? Flag.Compact : 0) | (sink.wantsStructure === false ? Flag.NoStructure : 0)
      this.native = { addon, lines: false, prefixes: packPrefixes(sink.mustSeePrefixes!), flags, state: new Int32Array(STATE_SLOTS) }
    } else {
      const flags = Flag.KeepSgr | Flag.Lines | (this.spans && sink.styledPrefixSpans === true ? Flag.StyledPrefix : 0)
      this.native = { addon, lines: true, prefixes: NO_PREFIXES, flags, state: new Int32Array(STATE_SLOTS) }
      this.opsFirst = sink.takeOps !== undefined
    }
    this.nativeWanted = null
  }

  write(chunk: Uint8Array): void {
    if (this.nativeWanted !== null && (chunk.length >= NATIVE_MIN_CHUNK || nativePassThroughTried())) this.loadNative()
    // Faces copy with Buffer methods; a plain Uint8Array gets a Buffer view (no copy).
    const buf = asBuffer(chunk)
    this.chunkBuf = buf
    this.chunkBase = this.tokenizer.offset
    this.sink.chunk?.(buf, this.chunkBase)
    this.tokenizer.write(buf)
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.tokenizer.offset
  }

  /** Legacy nests open (ESC[p not yet closed). */
  get depth(): number {
    return this.level
  }

  /**
   * Whether all the framer carries into the next byte is its depth: the input so far ended with
   * a line's LF, outside a newline group and inside no escape, and the next line starts afresh.
   */
  get resumable(): boolean {
    return this.tokenizer.inGround && this.atFreshLine() && this.lineOffset === this.tokenizer.offset
  }

  /**
   * Continues at absolute `offset` as after an LF there, `level` nests deep: the state `resumable`
   * says the input left, where the bytes before were framed elsewhere (another thread's part of
   * the file). Columns in later diagnostics count from there; their line numbers leave out the
   * lines framed elsewhere (the index's sinks, the only ones resumed, ignore diagnostics).
   */
  resumeAt(offset: number, level: number): void {
    this.tokenizer.restartAt(offset)
    this.buffer.clear()
    this.direct = false
    this.pendingCr = false
    this.hadCarriageReset = false
    this.ignoreLf = false
    this.level = level
    this.lastLineFeed = offset - 1
    this.startLine(offset, true)
  }

  end(): void {
    this.tokenizer.end()
    this.pendingCr = false // a CR at end of input is dropped (spec §4, variant C)
    const end = this.tokenizer.offset
    if (this.pendingTextLength() > 0) this.finishLine('eof', end)
    else if (this.buffer.length > 0 && this.sink.trailingStyles) this.sink.trailingStyles(this.buffer.bytes, 0, this.buffer.length)
    this.buffer.clear()
    if (this.level > 0) {
      const { line, column } = this.position(end)
      this.sink.diagnostic('unclosed-at-eof', `${this.level} section(s) still open at end of input`, end, line, column)
    }
    while (this.level > 0) {
      this.level--
      this.sink.close(end)
    }
    this.sink.inputEnded?.()
  }

  // --- TokenHandler ---

  text(buf: Uint8Array, start: number, end: number, offset: number): number | void {
    const base = offset - start
    let i = start
    while (i < end) {
      if (this.canRunNatively(false)) {
        const stop = this.runNatively(this.native!, buf, i, base)
        if (stop > end) return stop
        if (stop > i) {
          i = stop
          continue
        }
      }
      // A sink that takes the run's ops itself (the index) takes plain lines in C as well: the run first
      const opsFirst = this.opsFirst
      if (opsFirst && this.canRunNatively(true)) {
        const stop = this.runNatively(this.native!, buf, i, base)
        if (stop > end) return stop
        if (stop > i) {
          i = stop
          continue
        }
      }
      // A span's first line must start its raw line too: an escape before it belongs to it.
      if (this.spans && this.atFreshLine() && this.lineOffset === base + i) {
        const spanEnd = this.spanFrom(buf, i, end, base)
        if (spanEnd > i) {
          i = spanEnd
          continue
        }
      }
      if (!opsFirst && this.canRunNatively(true)) {
        const stop = this.runNatively(this.native!, buf, i, base)
        if (stop > end) return stop
        if (stop > i) {
          i = stop
          continue
        }
      }
      if (this.pendingCr) {
        this.pendingCr = false
        if (buf[i] !== LF) this.carriageReset()
      }
      const lf = this.lfFinder.next(buf, i, base)
      const cr = this.crFinder.next(buf, i, base)
      const stop = Math.min(lf, cr, end)
      if (stop > i) this.append(buf, i, stop, base)
      if (stop === end) return
      i = stop + 1
      if (stop === cr) {
        this.pendingCr = true
        continue
      }
      this.lineFeeds++
      this.lastLineFeed = base + stop
      if (this.ignoreLf) {
        this.append(buf, stop, i, base)
        this.materialize()
        this.resetPoint = this.buffer.length
      } else {
        this.finishLine('lf', base + i)
      }
    }
    // The text ended with a line and an escape starts the next: in line mode the run takes it on.
    if (i < buf.length && this.canRunNatively(true)) {
      const stop = this.runNatively(this.native!, buf, i, base)
      if (stop > end) return stop
    }
  }

  csi(seq: CsiSequence): void {
    const code = legacyCode(seq)
    if (code === LegacyCode.None) {
      this.resolvePendingCr()
      this.escapeSinceReset = true
      if (this.keepSgr && seq.isSgr()) {
        if (this.sgrInPlace(seq)) return
        this.materialize()
        if (this.buffer.length + seq.byteLength > MAX_LINE_BYTES) this.split(seq.start)
        this.buffer.appendSgr(seq)
      } else {
        this.noteRemoved()
        if (this.sink.removed) this.sink.removed('csi', seq.start, seq.end)
      }
      return
    }
    switch (code) {
      case LegacyCode.Open:
      case LegacyCode.Close:
      case LegacyCode.Priority:
        this.finishPending(seq.end)
        this.legacyStructure(code, seq)
        break
      case LegacyCode.IgnoreLfOn:
        this.ignoreLf = true
        break
      case LegacyCode.IgnoreLfOff:
        this.ignoreLf = false
        break
      case LegacyCode.Error:
        this.error = true
        break
      case LegacyCode.Warning:
        this.warning = true
        break
    }
  }

  /** What `p`, `q` and `s` do once the pending line is finished. */
  private legacyStructure(code: LegacyCode, seq: CsiSequence): void {
    switch (code) {
      case LegacyCode.Open:
        this.openSection(legacyArgument(seq), seq.start)
        break
      case LegacyCode.Close:
        this.closeSection(seq.start, seq.end)
        break
      case LegacyCode.Priority:
        this.priority = legacyArgument(seq)
        break
    }
  }

  /** `p` at `start`: a section opens and the next finished line is its head. */
  private openSection(priority: number, start: number): void {
    this.level++
    this.sink.open(priority, start)
    this.inHeader = true
    this.priority = priority
  }

  /** `q` spanning [start, end): the innermost section closes, or a diagnostic when none is open. */
  private closeSection(start: number, end: number): void {
    if (this.level > 0) {
      this.level--
      // A nest closed before its head arrived must not pass its head state on (fixes Q5).
      this.inHeader = false
      this.priority = 1
      this.sink.close(start)
    } else {
      const { line, column } = this.position(end - 1)
      this.sink.diagnostic('unbalanced-close', `not enough nesting levels at line ${line}, character ${column}`, start, line, column)
    }
  }

  dropped(kind: DroppedKind, start: number, end: number): void {
    this.resolvePendingCr()
    this.escapeSinceReset = true
    this.noteRemoved()
    if (this.sink.removed) this.sink.removed(kind, start, end)
  }

  /** Remembers where in the pending line an escape was removed, for visible placeholders. */
  private noteRemoved(): void {
    if (!this.markRemoved) return
    this.materialize()
    this.buffer.markRemoved()
  }

  chunkEnd(): void {
    this.materialize()
  }

  // --- the span fast path ---

  /** Nothing pending: the next byte starts a line (not the rest of one a CR restarted). */
  private atLineBoundary(): boolean {
    return !this.direct && this.buffer.length === 0 && !this.pendingCr && !this.hadCarriageReset
  }

  /**
   * Where the plain span path can start: nothing pending, and every bit of per-line state as
   * startLine() leaves it after an LF — not after a line an escape ended, not where a head, a
   * priority, an e/w flag, a removed escape or a newline group is waiting for the next text.
   */
  private atFreshLine(): boolean {
    return (
      this.atLineBoundary() &&
      !this.ignoreLf &&
      this.atLineStart &&
      !this.escapeSinceReset &&
      !this.inHeader &&
      this.priority === 1 &&
      !this.error &&
      !this.warning &&
      this.buffer.removed.length === 0
    )
  }

  /** Hands the whole plain lines from `from` that the sink takes as one range to span(); returns where they end (`from`: none). */
  private spanFrom(buf: Uint8Array, from: number, end: number, base: number, lfs?: LineEnds): number {
    const spanEnd = this.plainSpanEnd(buf, from, end, base)
    if (spanEnd > from) {
      const lines = this.sink.span!(buf, from, spanEnd, base, lfs)
      if (typeof lines === 'number') {
        this.lineFeeds += lines
        this.lastLineFeed = base + spanEnd - 1
      }
      this.startLine(base + spanEnd, true)
    }
    return spanEnd
  }

  /** End (after its LF) of the longest run of whole lines from `from` that the sink takes as bytes. */
  private plainSpanEnd(buf: Uint8Array, from: number, end: number, base: number): number {
    const limit = Math.min(end, this.crFinder.next(buf, from, base), this.sink.spanLimit!(buf, from, end, base))
    if (limit <= from) return from
    const lastLf = buf.lastIndexOf(LF, limit - 1)
    return lastLf >= from ? lastLf + 1 : from
  }

  /** The C run (native/pass-through.c) in pass-through or line mode, when the sink wants it and the addon is there. */
  private native: NativeRun | null = null

  /**
   * Whether the C run in the given mode may start here: at a line boundary with no mark pending.
   * Pass-through goes before the span path (it takes plain lines too), line mode after it.
   */
  private canRunNatively(lineMode: boolean): boolean {
    if (this.native === null || this.native.lines !== lineMode || !this.atLineBoundary() || this.buffer.removed.length > 0) return false
    if (!lineMode) return true
    // (inside a newline group line mode would stop at once: its LFs are text)
    if (this.ignoreLf) return false
    if (this.linesSkip === 0) return true
    this.linesSkip--
    return false
  }

  /**
   * Line mode pays for its call (~250 ns) only when a run takes a few lines. Where the lines it
   * can take come one at a time (a legacy log's escape lines between plain ones), the framer lets
   * the next 1, 2, 4 … 64 chances go by after each short run, and calls again at once after a
   * long one.
   */
  private linesSkip = 0
  private linesBackoff = 0

  private noteLineRun(lines: number): void {
    if (lines >= LINES_THAT_PAY) this.linesBackoff = 0
    else this.linesSkip = this.linesBackoff = Math.min(MAX_LINES_BACKOFF, Math.max(1, 2 * this.linesBackoff))
  }

  /**
   * The pass-through fast path: from a fresh line at `from`, runs over whole lines of the chunk and
   * the escapes between and inside them, handing the sink the bytes that stay (as spans) and
   * settling legacy codes on the way (open/close reach the sink as usual). It returns where it
   * stopped, always a line boundary (after an LF, or after a p/q/s that ended a line): everything
   * before has been framed exactly as the byte-by-byte path would, and the framer's state is that
   * of the boundary. Carriage returns are settled too (a bare CR cuts the line back to the
   * boundary). Whatever it does not settle itself — an escape other than a whole CSI, a CR inside a
   * newline group or before a/b/e/w, a line the sink must see, a line that may exceed
   * MAX_LINE_BYTES, the chunk's end — ends the run at the boundary before it, and the ordinary path
   * takes that line from its start.
   *
   * The run itself is C: one call runs over the lines and records what the sink gets, which is
   * replayed here — spans to the sink, sections opened and closed — and the framer takes the
   * state of the boundary where it stopped.
   *
   * Line mode is the same run for sinks that take every line as a line (the event decoder): it
   * records finished lines, each one range of the chunk with its kept SGR in place, and they
   * reach the sink's line() as direct lines, as the ordinary path would hand them over; runs of
   * plain lines reach the span path. It settles fewer escapes: none that a line would lose.
   */
  private runNatively(native: NativeRun, buf: Uint8Array, from: number, base: number): number {
    const sink = this.sink
    const n = buf.length
    const limit = Math.min(n, from + MAX_LINE_BYTES, native.lines ? n : sink.passThroughLimit!(buf, from, n, base))
    const state = native.state
    state[Slot.IgnoreLf] = this.ignoreLf ? 1 : 0
    state[Slot.Error] = this.error ? 1 : 0
    state[Slot.Warning] = this.warning ? 1 : 0
    state[Slot.EscapeSince] = this.escapeSinceReset ? 1 : 0
    state[Slot.InHeader] = this.inHeader ? 1 : 0
    state[Slot.Priority] = this.priority
    state[Slot.Level] = this.level
    state[Slot.AfterLf] = this.atLineStart ? 1 : 0
    state[Slot.LineStart] = this.lineOffset >= base ? this.lineOffset - base : -1
    const ops = idleOps.pop() ?? new Int32Array(OPS_LENGTH)
    const boundary = native.addon.passThrough(buf, from, limit, native.flags, native.prefixes, state, ops)
    const count = state[Slot.OpCount]!
    const take = native.lines && sink.takeOps !== undefined
    let lines = 0
    for (let k = 0; k < count; k += 3) {
      if (take) {
        k = this.takeOps(buf, base, ops, k, count)
        lines += this.takeIo[IndexSlot.Lines]!
        if (k === count) break
      }
      const a = ops[k + 1]!
      const b = ops[k + 2]!
      switch (ops[k] as Op) {
        case Op.Span:
          if (native.lines) {
            const count = ops[k + 3]!
            this.plainLines(buf, a, b, base, ops, k + 4, count)
            k += 1 + count
          } else sink.span!(buf, a, b, base)
          lines++
          break
        case Op.Open:
          this.openSection(a, base + b)
          break
        case Op.Close:
          this.closeSection(base + a, base + b)
          break
        case Op.Line:
          k += this.nativeLine(buf, base, ops, k)
          lines++
          break
      }
    }
    idleOps.push(ops)
    if (native.lines) this.noteLineRun(lines)
    this.level = state[Slot.Level]!
    if (state[Slot.LineStart]! >= 0) this.startLine(base + state[Slot.LineStart]!, state[Slot.AfterLf] === 1)
    this.ignoreLf = state[Slot.IgnoreLf] === 1
    this.error = state[Slot.Error] === 1
    this.warning = state[Slot.Warning] === 1
    this.escapeSinceReset = state[Slot.EscapeSince] === 1
    this.inHeader = state[Slot.InHeader] === 1
    this.priority = state[Slot.Priority]!
    return boundary
  }

  private readonly takeIo = new Int32Array(INDEX_SLOTS)

  /**
   * Lets the sink take the ops from k on (FramerSink.takeOps) and keeps what they did to the
   * framer's state as handing them over would: the nests' level, the line count and last LF for
   * positions, the start of the next line. Returns the first op it did not take.
   */
  private takeOps(buf: Uint8Array, base: number, ops: Int32Array, k: number, count: number): number {
    const io = this.takeIo
    const cursor = this.lineOffset - base
    io[IndexSlot.Lines] = 0
    // the words count from the line's start in int32: not from a line that began a GiB before
    if (cursor < -(2 ** 30)) return k
    io[IndexSlot.From] = k
    io[IndexSlot.Count] = count
    io[IndexSlot.Cursor] = cursor
    io[IndexSlot.Level] = this.level
    this.sink.takeOps!(buf, base, ops, io)
    const stop = io[IndexSlot.Stop]!
    if (stop === k) return k
    this.level = io[IndexSlot.Level]!
    this.lineFeeds += io[IndexSlot.Lfs]!
    if (io[IndexSlot.LastLf]! >= 0) this.lastLineFeed = base + io[IndexSlot.LastLf]!
    if (io[IndexSlot.Lines]! > 0) this.startLine(base + io[IndexSlot.Cursor]!, io[IndexSlot.EndedLf] === 1)
    return stop
  }

  /** Hands over the line of the Line op at ops[k] (see Op.Line) as finishLine() would; returns the int32 it took past three. */
  private nativeLine(buf: Uint8Array, base: number, ops: Int32Array, k: number): number {
    const start = ops[k + 2]!
    const end = ops[k + 3]!
    const pairs = ops[k + 6]!
    const bits = ops[k + 5]!
    if ((bits & LineBit.GroupLf) !== 0) this.countGroupLfs(buf as Buffer, base, start, end)
    const cuts = (bits & LineBit.Cuts) !== 0
    if (cuts && (!this.removedInPlace || (bits & LineBit.Discards) !== 0)) {
      this.copiedLine(buf, start, end, ops, k + 7, pairs)
      this.viewOfBuffer()
      this.handOver(base + ops[k + 1]!, ops[k + 4]!, bits)
      return 4 + 2 * pairs
    }
    let textLength = end - start
    const sgr = this.buffer.sgr
    const marks = cuts ? this.inPlaceMarks : sgr
    for (let at = k + 7; at < k + 7 + 2 * pairs; at += 2) {
      const markStart = ops[at]!
      const stop = ops[at + 1]!
      const markEnd = stop < 0 ? -stop - 1 : stop
      if (stop >= 0) sgr.push(markStart, markEnd)
      if (cuts) marks.push(markStart, markEnd)
      textLength -= markEnd - markStart
    }
    this.directLine(buf, base, start, end, textLength, base + ops[k + 1]!, ops[k + 4]!, bits, marks)
    return 4 + 2 * pairs
  }

  /**
   * A Line op's line whose marks (pairs at ops[at…]) are not all kept SGR, into the buffer as the
   * ordinary path builds it: text and kept SGR copied in order, a removed escape (its end stored
   * as -(end + 1)) noted where it was, and what a bare CR discarded (its start stored as
   * -(start + 1)) left out.
   */
  private copiedLine(buf: Uint8Array, start: number, end: number, ops: Int32Array, at: number, pairs: number): void {
    const buffer = this.buffer
    let cursor = start
    for (let j = at; j < at + 2 * pairs; j += 2) {
      const mark = ops[j]!
      const stop = ops[j + 1]!
      const markStart = mark < 0 ? -mark - 1 : mark
      if (markStart > cursor) buffer.append(buf, cursor, markStart)
      if (mark < 0) cursor = stop
      else if (stop < 0) {
        cursor = -stop - 1
        if (this.markRemoved) buffer.markRemoved()
      } else {
        // C takes only CSIs with nothing executed inside: their bytes are their kept form
        buffer.appendSgrBytes(buf, mark, stop)
        cursor = stop
      }
    }
    if (end > cursor) buffer.append(buf, cursor, end)
  }

  /** A newline group's LFs in buf[start, end) count for positions, as the ordinary path counts them. */
  private countGroupLfs(buf: Buffer, base: number, start: number, end: number): void {
    for (let lf = buf.indexOf(LF, start); lf !== -1 && lf < end; lf = buf.indexOf(LF, lf + 1)) {
      this.lineFeeds++
      this.lastLineFeed = base + lf
    }
  }

  /**
   * The `count` whole plain lines buf[start, end) of a line-mode span, their LFs in `ops` from
   * `lfAt` on, as the span path takes them (or one by one where the sink wants).
   */
  private plainLines(buf: Uint8Array, start: number, end: number, base: number, ops: Int32Array, lfAt: number, count: number): void {
    const lfs = this.lineEnds
    lfs.data = ops
    let at = start
    let k = lfAt
    while (at < end) {
      lfs.at = k
      const spanEnd = this.spans ? this.spanFrom(buf, at, end, base, lfs) : at
      if (spanEnd > at) {
        while (k < lfAt + count && ops[k]! < spanEnd) k++
        at = spanEnd
        continue
      }
      const lf = ops[k++]!
      this.directLine(buf, base, at, lf, lf - at, base + lf + 1, 1, LineBit.AtLineStart, this.buffer.sgr)
      at = lf + 1
    }
  }
  private readonly lineEnds = new LineEnds()

  /**
   * A line of the chunk (its kept SGR, if any, already in buffer.sgr; `marks` is that list, or
   * inPlaceMarks when removed escapes stay in place) to the sink, as finishLine() would hand it over.
   */
  private directLine(buf: Uint8Array, base: number, start: number, end: number, textLength: number, rawEnd: number, priority: number, bits: number, marks: SgrMarks): void {
    const view = this.view
    view.buf = buf
    view.start = start
    view.end = end
    view.textLength = textLength
    view.sgr = this.buffer.sgr.length > 0 ? this.buffer.sgr : NO_SGR
    view.marks = marks === this.buffer.sgr ? view.sgr : marks
    view.removed = NO_SGR
    view.direct = true
    view.chunkBase = base
    this.handOver(rawEnd, priority, bits)
  }

  /** The line in `view` (its bytes set), with the state a Line op's bits give, to the sink; then a fresh line. */
  private handOver(rawEnd: number, priority: number, bits: number): void {
    const view = this.view
    view.head = (bits & LineBit.Head) !== 0
    view.priority = priority
    view.error = (bits & LineBit.Error) !== 0
    view.warning = (bits & LineBit.Warning) !== 0
    view.offset = this.lineOffset
    view.rawEnd = rawEnd
    const endedLf = (bits & LineBit.EndedEscape) === 0
    view.ended = endedLf ? 'lf' : 'escape'
    view.atLineStart = (bits & LineBit.AtLineStart) !== 0
    view.beforeCr = null
    this.sink.line(view)
    // as finishLine() leaves it: a long copied line's buffer goes back to the allocator
    this.buffer.clear()
    this.inPlaceMarks.length = 0
    this.buffer.shrink()
    if (endedLf) {
      this.lineFeeds++
      this.lastLineFeed = rawEnd - 1
    }
    this.startLine(rawEnd, endedLf)
  }

  /** Points the view at the line in the buffer. */
  private viewOfBuffer(): void {
    const view = this.view
    const buffer = this.buffer
    view.buf = buffer.bytes
    view.start = 0
    view.end = buffer.length
    view.sgr = buffer.sgr
    view.marks = buffer.sgr
    view.removed = buffer.removed
    view.textLength = buffer.textLength
    view.direct = false
  }

  /** The per-line state of a line starting at `rawEnd`, after an LF or after one an escape cut off. */
  private startLine(rawEnd: number, afterLf: boolean): void {
    this.inHeader = false
    this.priority = 1
    this.warning = false
    this.error = false
    this.resetPoint = 0
    this.escapeSinceReset = false
    this.lineOffset = rawEnd
    this.atLineStartOfRawLine = afterLf
    this.atLineStart = afterLf
  }

  // --- line assembly ---

  private pendingTextLength(): number {
    return this.direct ? this.directEnd - this.directStart - this.directSgrBytes : this.buffer.textLength
  }

  /** 1-based line and character of the byte at `offset`, counting every byte as nix-log2xml did. */
  private position(offset: number): { line: number; column: number } {
    return { line: this.lineFeeds + 1, column: offset - this.lastLineFeed }
  }

  private append(buf: Uint8Array, start: number, end: number, base: number): void {
    while (start < end) {
      const room = MAX_LINE_BYTES - this.buffer.length - (this.direct ? this.directEnd - this.directStart : 0)
      if (room <= 0) {
        this.split(base + start)
        continue
      }
      const stop = Math.min(end, start + room)
      if (this.direct && this.directBuf === buf && this.directEnd === start) {
        this.directEnd = stop
      } else if (!this.direct && this.buffer.length === 0 && this.buffer.removed.length === 0) {
        this.direct = true
        this.directBuf = buf
        this.directBase = base
        this.directStart = start
        this.directEnd = stop
        this.directSgrBytes = 0
      } else {
        this.materialize()
        this.buffer.append(buf, start, stop)
      }
      start = stop
    }
  }

  /**
   * A kept SGR sequence where the line is still one range of the chunk: right at the end of a
   * direct line, or before any text of the line. It stays in place in the chunk (no copy of the
   * line). Only a sequence whose bytes are exactly its kept form (nothing executed inside it).
   */
  private sgrInPlace(seq: CsiSequence): boolean {
    const start = seq.start - this.chunkBase
    const end = seq.end - this.chunkBase
    if (start < 0 || end - start !== seq.byteLength) return false
    if (this.direct) {
      if (this.directBuf !== this.chunkBuf || this.directEnd !== start || end - this.directStart > MAX_LINE_BYTES) return false
    } else {
      if (this.buffer.length !== 0 || this.buffer.removed.length !== 0) return false
      this.direct = true
      this.directBuf = this.chunkBuf
      this.directBase = this.chunkBase
      this.directStart = start
      this.directSgrBytes = 0
    }
    this.buffer.sgr.push(start, end)
    this.directEnd = end
    this.directSgrBytes += end - start
    return true
  }

  /** Copies a direct (zero-copy) pending line into the buffer, before its bytes stop being valid. */
  private materialize(): void {
    if (!this.direct) return
    this.direct = false
    if (this.directSgrBytes === 0) this.buffer.append(this.directBuf, this.directStart, this.directEnd)
    else this.buffer.adopt(this.directBuf, this.directStart, this.directEnd, this.directSgrBytes)
  }

  private resolvePendingCr(): void {
    if (this.pendingCr) {
      this.pendingCr = false
      this.carriageReset()
    }
  }

  /** A CR not followed by LF: the line restarts at the reset point (variant C, spec §4). */
  private carriageReset(): void {
    this.materialize()
    if (!this.hadCarriageReset && this.resetPoint === 0) this.beforeCr = this.buffer.markerCandidate(BEFORE_CR_MAX)
    this.hadCarriageReset = true
    this.buffer.truncate(this.resetPoint)
    this.escapeSinceReset = false
    if (this.resetPoint === 0) this.atLineStart = this.atLineStartOfRawLine
  }

  /** Whether the current raw line began after an LF (or at the start of input). */
  private atLineStartOfRawLine = true

  /** `p`, `q` and `s` finish a pending line first; a CR right before them is dropped. */
  private finishPending(rawEnd: number): void {
    this.pendingCr = false
    if (this.pendingTextLength() > 0) this.finishLine('escape', rawEnd)
  }

  private split(offset: number): void {
    const { line, column } = this.position(offset)
    this.sink.diagnostic('line-split', `line longer than ${MAX_LINE_BYTES} bytes was split`, offset, line, column)
    this.finishLine('split', offset)
  }

  private finishLine(ended: LineEnd, rawEnd: number): void {
    const view = this.view
    if (this.direct) {
      view.buf = this.directBuf
      view.start = this.directStart
      view.end = this.directEnd
      view.sgr = this.directSgrBytes > 0 ? this.buffer.sgr : NO_SGR
      view.marks = view.sgr
      view.removed = NO_SGR
      view.textLength = this.directEnd - this.directStart - this.directSgrBytes
      view.direct = true
      view.chunkBase = this.directBase
    } else this.viewOfBuffer()
    view.head = this.inHeader
    view.priority = this.priority
    view.error = this.error
    view.warning = this.warning
    view.offset = this.lineOffset
    view.rawEnd = rawEnd
    view.ended = ended
    view.atLineStart = this.atLineStart && !this.escapeSinceReset && view.sgr.length === 0
    view.beforeCr = this.beforeCr
    this.sink.line(view)
    this.beforeCr = null
    this.hadCarriageReset = false

    this.direct = false
    this.buffer.clear()
    if (ended !== 'split') this.buffer.shrink()
    this.startLine(rawEnd, ended === 'lf')
  }
}

/** Line mode looks for no line starts: every line reaches the sink's line(). */
const NO_PREFIXES = new Uint8Array(0)
/** Line mode: a run of fewer lines did not pay for its call; the most chances let go by after one. */
const LINES_THAT_PAY = 4
const MAX_LINES_BACKOFF = 64

/** CI markers are short; a longer text before a CR is not one. */
const BEFORE_CR_MAX = 512
