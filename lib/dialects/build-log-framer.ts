import { CR, ESC, LF } from '../tokenizer/table.js'
import { ByteFinder } from '../tokenizer/byte-finder.js'
import { CsiSequence, scanCsi, Tokenizer, type DroppedKind, type TokenHandler } from '../tokenizer/tokenizer.js'
import type { LineEnd } from '../events.js'
import { LegacyCode, legacyArgument, legacyCode } from './legacy-codes.js'
import { LineBuffer, MAX_LINE_BYTES, NO_SGR, type SgrMarks } from './line-buffer.js'

/**
 * A finished line as the framer hands it over. Reused for every line and valid only during the
 * `line()` call: `buf[start, end)` is either a slice of the caller's input (the fast path) or the
 * framer's own buffer.
 */
export class LineView {
  buf: Uint8Array = new Uint8Array(0)
  start = 0
  end = 0
  /** Positions in `buf` where escapes were removed (only when the framer tracks them). */
  removed: SgrMarks = NO_SGR
  /** Inline SGR sequences inside `buf` (none unless styles are kept). */
  sgr: SgrMarks = NO_SGR
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
  span?(buf: Uint8Array, start: number, end: number, base: number): number | void
  spanLimit?(buf: Uint8Array, from: number, end: number, base: number): number
  /**
   * With `span`: the sink wants only the output bytes of ordinary lines, so the framer may also run
   * spans across escapes it can settle by itself (legacy codes, which still reach open/close; kept
   * SGR, which stays inline; other CSIs and the CR of a CRLF, which are cut out). See passThrough().
   */
  passThrough?: boolean
  /** For pass-through: whether the line whose text starts at `start` is one the sink must see as a line. */
  mustSeeLine?(buf: Uint8Array, start: number, end: number): boolean
  /** A new input chunk starts at absolute offset `base` (for sinks that scan whole chunks). */
  chunk?(buf: Uint8Array, base: number): void
  /** End of input, after everything else. */
  inputEnded?(): void
}

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
  // the current chunk and nothing has been copied yet.
  private direct = false
  private directBuf: Uint8Array = this.buffer.bytes
  private directBase = 0
  private directStart = 0
  private directEnd = 0
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
  private readonly passThroughSpans: boolean
  private readonly markRemoved: boolean
  private readonly seq = new CsiSequence()

  constructor(private readonly sink: FramerSink, options: FramerOptions = {}) {
    this.keepSgr = options.keepSgr ?? true
    this.markRemoved = options.markRemoved ?? false
    this.spans = sink.span !== undefined && sink.spanLimit !== undefined
    this.passThroughSpans = this.spans && sink.passThrough === true && sink.mustSeeLine !== undefined && !this.markRemoved && sink.removed === undefined
  }

  write(chunk: Uint8Array): void {
    // Faces copy with Buffer methods; a plain Uint8Array gets a Buffer view (no copy).
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.sink.chunk?.(buf, this.tokenizer.offset)
    this.tokenizer.write(buf)
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.tokenizer.offset
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
      if (this.passThroughSpans && this.atLineBoundary()) {
        const stop = this.passThrough(buf, i, base)
        if (stop > end) return stop
        if (stop > i) {
          i = stop
          continue
        }
      }
      // A span's first line must start its raw line too: an escape before it belongs to it.
      if (this.spans && this.atFreshLine() && this.lineOffset === base + i) {
        const spanEnd = this.plainSpanEnd(buf, i, end, base)
        if (spanEnd > i) {
          const lines = this.sink.span!(buf, i, spanEnd, base)
          if (typeof lines === 'number') {
            this.lineFeeds += lines
            this.lastLineFeed = base + spanEnd - 1
          }
          this.startLine(base + spanEnd, true)
          i = spanEnd
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
  }

  csi(seq: CsiSequence): void {
    const code = legacyCode(seq)
    if (code === LegacyCode.None) {
      this.resolvePendingCr()
      this.escapeSinceReset = true
      if (this.keepSgr && seq.isSgr()) {
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
      case LegacyCode.Open: {
        const priority = legacyArgument(seq)
        this.level++
        this.sink.open(priority, seq.start)
        this.inHeader = true
        this.priority = priority
        break
      }
      case LegacyCode.Close:
        if (this.level > 0) {
          this.level--
          // A nest closed before its head arrived must not pass its head state on (fixes Q5).
          this.inHeader = false
          this.priority = 1
          this.sink.close(seq.start)
        } else {
          const { line, column } = this.position(seq.end - 1)
          this.sink.diagnostic('unbalanced-close', `not enough nesting levels at line ${line}, character ${column}`, seq.start, line, column)
        }
        break
      case LegacyCode.Priority:
        this.priority = legacyArgument(seq)
        break
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

  /** End (after its LF) of the longest run of whole lines from `from` that the sink takes as bytes. */
  private plainSpanEnd(buf: Uint8Array, from: number, end: number, base: number): number {
    const limit = Math.min(end, this.crFinder.next(buf, from, base), this.sink.spanLimit!(buf, from, end, base))
    if (limit <= from) return from
    const lastLf = buf.lastIndexOf(LF, limit - 1)
    return lastLf >= from ? lastLf + 1 : from
  }

  /**
   * The pass-through fast path: from a fresh line at `from`, runs over whole lines of the chunk and
   * the escapes between and inside them, handing the sink the bytes that stay (as spans) and
   * settling legacy codes on the way (open/close reach the sink as usual). It returns where it
   * stopped, always a line boundary (after an LF, or after a p/q/s that ended a line): everything
   * before has been framed exactly as the byte-by-byte path would, and the framer's state is that
   * of the boundary. Carriage returns are settled here too (a bare CR cuts the line back to the
   * boundary). Whatever it does not settle itself — an escape other than a whole CSI, a CR inside a
   * newline group or before a/b/e/w, a line the sink must see, a line that may exceed
   * MAX_LINE_BYTES, the chunk's end — ends the run at the boundary before it, and the ordinary path
   * takes that line from its start.
   */
  private passThrough(buf: Uint8Array, from: number, base: number): number {
    const sink = this.sink
    const n = buf.length
    const limit = Math.min(n, from + MAX_LINE_BYTES, sink.spanLimit!(buf, from, n, base))
    const seq = this.seq
    const keepSgr = this.keepSgr
    // The last boundary: this.* holds the state there; locals hold what happened since.
    let boundary = from
    let ignoreLf = this.ignoreLf
    let error = this.error
    let warning = this.warning
    let escapeSince = this.escapeSinceReset
    let text = false // text since the boundary (what makes p/q/s end a line)
    let groupLf = false // an LF inside a newline group since the boundary (a CR goes back only to it)
    // Cuts since the boundary, as [start, end) pairs; committed ones are gone from the output.
    const cuts = this.cuts
    let cutCount = 0
    // Kept SGR since the boundary, as [start, end) pairs: a CR keeps them (the pen keeps its colour).
    const sgrs = this.sgrRanges
    let sgrCount = 0
    // Start of the kept run not yet handed to the sink.
    let runStart = from
    let p = from
    // The next ESC and CR at or after p (found once, kept while p has not passed them).
    let esc = -1
    let cr = -1
    for (;;) {
      if (esc < p) {
        // Escapes often come in pairs (ESC[q ESC[p): look before searching.
        if (buf[p] === ESC) esc = p
        else {
          esc = buf.indexOf(ESC, p)
          if (esc === -1) esc = n
        }
      }
      if (cr < p) {
        cr = buf.indexOf(CR, p)
        if (cr === -1) cr = n
      }
      const stop = esc < cr ? (esc < limit ? esc : limit) : cr < limit ? cr : limit
      if (stop > p) {
        const lf = ignoreLf ? -1 : buf[stop - 1] === LF ? stop - 1 : buf.lastIndexOf(LF, stop - 1)
        if (lf >= p) {
          // Lines ended: commit them (their cuts leave the output), and a fresh line starts.
          runStart = this.commitCuts(buf, runStart, cutCount, base)
          cutCount = 0
          boundary = lf + 1
          this.ignoreLf = ignoreLf
          this.startLine(base + boundary, true)
          error = warning = escapeSince = false
          text = stop > boundary
          sgrCount = 0
          groupLf = false
        } else {
          text = true
          if (ignoreLf && !groupLf && (buf[stop - 1] === LF || buf.lastIndexOf(LF, stop - 1) >= p)) groupLf = true
        }
      }
      if (stop === esc && esc < limit) {
        // A character split by an escape is joined again once the escape is gone: whether it is
        // one a sink must not pass on is for the line, which the ordinary path builds.
        if (esc > boundary && buf[esc - 1]! >= UTF8_LEAD_MIN) break
        const after = scanCsi(buf, esc, base, seq)
        if (after === -1) break
        const code = legacyCode(seq)
        if (code === LegacyCode.None) {
          escapeSince = true
          if (keepSgr && seq.isSgr()) {
            sgrs[sgrCount++] = esc
            sgrs[sgrCount++] = after
          } else {
            cuts[cutCount++] = esc
            cuts[cutCount++] = after
          }
          p = after
          // Text after leading escapes is where a sink looks for a line it must see (markers).
          if (!text && after < n && sink.mustSeeLine!(buf, after, n)) break
          continue
        }
        if (code === LegacyCode.Open || code === LegacyCode.Close || code === LegacyCode.Priority) {
          // An SGR-only pending line would be carried into the next one: the ordinary path does that.
          if (sgrCount > 0 && !text) break
          runStart = this.commitCuts(buf, runStart, cutCount, base)
          cutCount = 0
          if (esc > runStart) sink.span!(buf, runStart, esc, base)
          runStart = after
          this.ignoreLf = ignoreLf
          if (text) {
            // finishLine('escape') as the ordinary path does it.
            this.startLine(base + after, false)
            error = warning = escapeSince = false
          } else {
            this.error = error
            this.warning = warning
            this.escapeSinceReset = escapeSince
          }
          this.legacyStructure(code, seq)
          boundary = after
          text = false
          sgrCount = 0
          groupLf = false
          p = after
          // A line the sink must see may start right after the escape, not only after an LF.
          if (after < n && sink.mustSeeLine!(buf, after, n)) break
          continue
        }
        switch (code) {
          case LegacyCode.IgnoreLfOn: ignoreLf = true; break
          case LegacyCode.IgnoreLfOff: ignoreLf = false; break
          case LegacyCode.Error: error = true; break
          case LegacyCode.Warning: warning = true; break
        }
        cuts[cutCount++] = esc
        cuts[cutCount++] = after
        p = after
        if (!text && after < n && sink.mustSeeLine!(buf, after, n)) break
        continue
      }
      if (stop === cr && cr < limit && cr + 1 < n && !ignoreLf && !groupLf && !(cr > boundary && buf[cr - 1]! >= UTF8_LEAD_MIN)) {
        const next = buf[cr + 1]!
        // CRLF ends a line like LF, and before p/q/s a CR is dropped: the CR alone is cut.
        let resets = next !== LF
        if (next === ESC) {
          const after = scanCsi(buf, cr + 1, base, seq)
          if (after === -1) break
          const code = legacyCode(seq)
          if (code === LegacyCode.Open || code === LegacyCode.Close || code === LegacyCode.Priority) resets = false
          else if (code !== LegacyCode.None) break // a/b/e/w leave the CR pending: the ordinary path
        }
        if (resets) {
          // A bare CR (variant C): the line restarts; its text since the boundary goes, its kept
          // SGR stays (the pen keeps its colour).
          cutCount = 0
          let textFrom = boundary
          for (let k = 0; k < sgrCount; k += 2) {
            if (sgrs[k]! > textFrom) {
              cuts[cutCount++] = textFrom
              cuts[cutCount++] = sgrs[k]!
            }
            textFrom = sgrs[k + 1]!
          }
          cuts[cutCount++] = textFrom
          cuts[cutCount++] = cr + 1
          text = false
          escapeSince = false
          p = cr + 1
          // What follows is the line's start now: `@nix` or a marker there is the sink's to see.
          if (next !== ESC && sink.mustSeeLine!(buf, p, n)) break
          continue
        }
        cuts[cutCount++] = cr
        cuts[cutCount++] = cr + 1
        p = cr + 1
        continue
      }
      break
    }
    if (boundary > runStart) sink.span!(buf, runStart, boundary, base)
    return boundary
  }

  private readonly cuts: number[] = []
  private readonly sgrRanges: number[] = []

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

  /** Hands the sink the kept bytes from `runStart` up to each of the first `count` cuts; returns where the kept run now starts. */
  private commitCuts(buf: Uint8Array, runStart: number, count: number, base: number): number {
    const cuts = this.cuts
    for (let k = 0; k < count; k += 2) {
      if (cuts[k]! > runStart) this.sink.span!(buf, runStart, cuts[k]!, base)
      runStart = cuts[k + 1]!
    }
    return runStart
  }

  // --- line assembly ---

  private pendingTextLength(): number {
    return this.direct ? this.buffer.textLength + (this.directEnd - this.directStart) : this.buffer.textLength
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
      } else {
        this.materialize()
        this.buffer.append(buf, start, stop)
      }
      start = stop
    }
  }

  /** Copies a direct (zero-copy) pending line into the buffer, before its bytes stop being valid. */
  private materialize(): void {
    if (!this.direct) return
    this.direct = false
    this.buffer.append(this.directBuf, this.directStart, this.directEnd)
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
      view.sgr = NO_SGR
      view.removed = NO_SGR
      view.textLength = this.directEnd - this.directStart
      view.direct = true
      view.chunkBase = this.directBase
    } else {
      const buffer = this.buffer
      view.buf = buffer.bytes
      view.start = 0
      view.end = buffer.length
      view.sgr = buffer.sgr
      view.removed = buffer.removed
      view.textLength = buffer.textLength
      view.direct = false
    }
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

/** The smallest UTF-8 lead byte of a multi-byte character (0xC0 and 0xC1 are never used). */
const UTF8_LEAD_MIN = 0xc2

/** CI markers are short; a longer text before a CR is not one. */
const BEFORE_CR_MAX = 512
