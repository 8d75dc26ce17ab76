import type { EventSink, LineEnd, LineEvent, SectionCloseEvent, SectionKind, SectionOpenEvent, StyleMark } from '../events.js'
import { copyRange, copyWithout, NO_BYTES, startsWithBytes, TextCopier } from '../bytes.js'
import { BuildLogFramer, type FramerSink, type LineEnds, type LineView } from './build-log-framer.js'
import { hasCiMarkerPrefix, MARKER_START, matchCiMarker, type CiMarker, type CiSystem } from './ci-markers.js'
import { DecodeContext } from './context.js'
import { MAX_LINE_BYTES, textHead } from './line-buffer.js'
import { drvDisplayName, failedDrvs } from './drv-name.js'
import { classifyNixLine, isNixCandidate, type NixLine } from './nix-line.js'

/** Nix verbosity levels that flag a message line (spec §6.4). */
const LEVEL_ERROR = 0
const LEVEL_WARN = 1

const LF = 0x0a
const ESC = 0x1b
const RUNNING_PHASE = 'Running phase: '
/** Bytes of a derivation name (`[A-Za-z0-9+._?=-]`), the first not `.` or `-`. */
const NAME_BYTE = new Uint8Array(256)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+._?=-') NAME_BYTE[c.charCodeAt(0)] = 1

function allNameBytes(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (NAME_BYTE[bytes[i]!] === 0) return false
  return true
}

/** a[start, start + n) equals b[0, n); monomorphic for the -L hot path (startsWithBytes cost 0.9 % more instructions there). */
function sameBytes(a: Uint8Array, start: number, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[start + i] !== b[i]) return false
  return true
}

/** `nix build -L` prefixes: a derivation name (at most 255 bytes), `> `, then the builder's line. The name's length, or -1. */
export function prefixNameLength(text: Uint8Array, start = 0, end = text.length): number {
  const first = text[start]
  if (start >= end || first === undefined || NAME_BYTE[first] === 0 || first === 0x2e || first === 0x2d) return -1
  const max = Math.min(end - 1, start + 256)
  for (let i = start + 1; i < max; i++) {
    const b = text[i]!
    if (b === 0x3e) return text[i + 1] === 0x20 ? i - start : -1
    if (NAME_BYTE[b] === 0) return -1
  }
  return -1
}

interface Section {
  id: number
  kind: SectionKind
  /** Its place in framerNests when the framer opened it, else -1. */
  nest: number
  ci?: { system: CiSystem; name: string }
}

/** A nesting stack: the root's, or one per `nix build -L` build. */
interface Scope {
  stack: Section[]
  /** The scope's own section (a -L build), 0 for the root scope. */
  base: number
  /** A build's section is still open (the root's always is). */
  open: boolean
  /** The root section a build was opened inside (the root stack's top then), 0 at the top level. */
  parent: number
}

export interface BuildLogOptions {
  /** Demultiplex `name> ` prefixed lines (`nix build -L` output) into one section per build. */
  prefixed?: boolean
  /** Let the framer take lines from the C run's line mode where it can (default true). */
  nativeLines?: boolean
}

/** Text positions (SGR bytes not counted) of the escapes removed from a line. */
function removedPositions(view: LineView): number[] {
  const out: number[] = []
  let k = 0
  let sgrBefore = 0
  for (let r = 0; r < view.removed.length; r += 2) {
    const at = view.removed.data[r]!
    while (k < view.sgr.length && view.sgr.data[k + 1]! <= at) {
      sgrBefore += view.sgr.data[k + 1]! - view.sgr.data[k]!
      k += 2
    }
    out.push(at - view.start - sgrBefore)
  }
  return out
}

/**
 * Parameter strings of SGR sequences one or two bytes long ("0", "31"), made once each. Parameter
 * bytes are 0x30–0x3F, so their low four bits are an exact key: 16 one-byte keys, then 256
 * two-byte ones, in a dense array (keyed by whole bytes it was sparse, a hash lookup a line).
 */
const SHORT_PARAMS: (string | undefined)[] = new Array<string | undefined>(16 + 256).fill(undefined)

/**
 * Parameter strings three to six bytes long ("01;35", "1;31"), made once each: a line's colours
 * repeat all through a log, and a string per sequence cost more than the lookup. Their bytes'
 * low four bits behind a leading 1 are an exact key (a small integer).
 */
const MEDIUM_PARAMS = new Map<number, string>()
/** Enough for every colour a real log uses; input made of ever new sequences cannot grow it further. */
const MEDIUM_PARAMS_MAX = 4096

/** The parameter bytes of the SGR sequence buf[start, end) (`ESC [ params m`) as text. */
function sgrParams(buf: Buffer, start: number, end: number): string {
  const n = end - start - 3
  if (n === 0) return ''
  if (n > 6) return buf.toString('latin1', start + 2, end - 1)
  if (n <= 2) {
    const key = n === 1 ? buf[start + 2]! & 0x0f : 16 + (((buf[start + 2]! & 0x0f) << 4) | (buf[start + 3]! & 0x0f))
    return (SHORT_PARAMS[key] ??= buf.toString('latin1', start + 2, end - 1))
  }
  let key = 1
  for (let i = start + 2; i < end - 1; i++) key = (key << 4) | (buf[i]! & 0x0f)
  let params = MEDIUM_PARAMS.get(key)
  if (params === undefined) {
    params = buf.toString('latin1', start + 2, end - 1)
    if (MEDIUM_PARAMS.size < MEDIUM_PARAMS_MAX) MEDIUM_PARAMS.set(key, params)
  }
  return params
}

/**
 * Copies a line's text without its inline SGR sequences, and lists those as style marks (and
 * leaves out the removed escapes a direct line may still hold, listing where they were). With
 * `skip`, the first `skip` text bytes (a `name> ` prefix) are left out: the styles set inside them
 * collapse to the one in force where the kept text starts (Nix dims the prefix and resets after
 * it, so usually none), and the rest move back by `skip`.
 */
export function lineContent(view: LineView, skip = 0, copier?: TextCopier): { text: Buffer; styles: StyleMark[] | undefined; removed?: number[] } {
  const buf = view.buf as Buffer
  const sgr = view.sgr
  // with removed escapes in place, `marks` holds them among the SGR
  const marks = view.marks
  let text: Buffer
  let styles: StyleMark[] | undefined
  let removedInPlace: number[] | undefined
  const from = marks !== sgr ? -1 : sgr.length === 0 ? view.start + skip : skip > 0 ? keptAfterStyledPrefix(view, skip) : -1
  if (from >= 0) {
    // One range of the line: a direct line's text can come from the input chunk's window.
    text = view.direct && copier ? copier.copy(buf, view.chunkBase, from, view.end, buf.length) : copyRange(buf, from, view.end)
    if (sgr.length > 0) {
      // every SGR sat in the prefix: the last one is the style where the kept text starts
      const carried = sgrParams(buf, sgr.data[sgr.length - 2]!, sgr.data[sgr.length - 1]!)
      if (carried !== '0' && carried !== '') styles = [{ at: 0, params: carried }]
    }
  } else {
    // A direct line's text is made in the copier's window, its SGR (and removed escapes) left out in place.
    const windowed = view.direct && copier ? copier.copyWithout(buf, view.chunkBase, view.start, view.end, buf.length, marks.data, marks.length, skip) : null
    if (windowed !== null) text = windowed
    else {
      text = Buffer.allocUnsafe(view.textLength - skip)
      copyWithout(buf, view.start, view.end, marks.data, marks.length, skip, text, 0)
    }
    let at = 0 // text bytes before `cursor`
    let cursor = view.start
    let carried: string | undefined
    let s = 0 // the next SGR among the marks
    for (let k = 0; k < marks.length; k += 2) {
      at += marks.data[k]! - cursor
      cursor = marks.data[k + 1]!
      if (s < sgr.length && sgr.data[s] === marks.data[k]) {
        s += 2
        const params = sgrParams(buf, marks.data[k]!, cursor)
        if (skip > 0 && at <= skip) carried = params
        else (styles ??= []).push({ at: at - skip, params })
      } else if (at >= skip) (removedInPlace ??= []).push(at - skip)
    }
    if (carried !== undefined && carried !== '0' && carried !== '') (styles ??= []).unshift({ at: 0, params: carried })
  }
  if (removedInPlace !== undefined) return { text, styles, removed: removedInPlace }
  if (view.removed.length === 0) return { text, styles }
  let removed = removedPositions(view)
  if (skip > 0) removed = removed.filter((at) => at >= skip).map((at) => at - skip)
  return removed.length > 0 ? { text, styles, removed } : { text, styles }
}

/**
 * Where the text after the first `skip` text bytes starts in `view.buf` when every inline SGR
 * sequence sits within those bytes (Nix's `ESC[2mname> ESC[0m`), so that the rest is one range
 * of the line; -1 otherwise.
 */
function keptAfterStyledPrefix(view: LineView, skip: number): number {
  const marks = view.sgr.data
  const n = view.sgr.length
  let sgrBytes = 0
  for (let k = 0; k < n - 2; k += 2) sgrBytes += marks[k + 1]! - marks[k]!
  const lastStart = marks[n - 2]!
  const textBefore = lastStart - view.start - sgrBytes
  return textBefore <= skip ? marks[n - 1]! + (skip - textBefore) : -1
}

/** What names a failed build in Nix's messages (failedDrvs), as bytes. */
const QUOTE = 0x27
const BUILDER_FOR = Buffer.from('builder for')
const CANNOT_BUILD = Buffer.from('Cannot build')

/** The line a `setPhase` may adopt as its phase's head (spec §5.4), as bytes. */
export const RUNNING_PHASE_BYTES = Buffer.from(RUNNING_PHASE)

function startsWithRunningPhase(text: Buffer): boolean {
  if (text.length <= RUNNING_PHASE_BYTES.length || text[0] !== 0x52 /* R */) return false
  // (not sameBytes: line texts are views, and a second receiver type would slow the -L prefix lookup)
  return startsWithBytes(text, 0, text.length, RUNNING_PHASE_BYTES)
}

/** A held header (text starting `Running phase: `) names phase `name` exactly: its phase adopts it. */
function namesPhase(header: Buffer, name: string): boolean {
  const n = RUNNING_PHASE_BYTES.length
  // an ASCII name equals the decoded text only where the bytes are equal
  for (let k = 0; k < name.length; k++) if (name.charCodeAt(k) >= 0x80) return header.toString('utf8') === RUNNING_PHASE + name
  if (header.length !== n + name.length) return false
  for (let k = 0; k < name.length; k++) if (header[n + k] !== name.charCodeAt(k)) return false
  return true
}

/**
 * The decoder of one internal-json activity's build-log lines, with its own ids and line numbers.
 * Its lines come in batches of a few (parallel builds interleave); the C line mode pays even so
 * now that it takes progress redraws and gcc's erase-lines (internal-json corpus, event decoder:
 * 11 % fewer instructions, 2.48 -> 2.22 s in 6 alternating runs), where it once cost 2 % more.
 */
export function activityLogDecoder(sink: EventSink): BuildLogDecoder {
  return new BuildLogDecoder(sink, new DecodeContext())
}

/**
 * The build-log dialect as events (spec §2, §5, §7): legacy nests, `@nix` phases and messages,
 * CI fold markers and — for `nix build -L` output — one section per build.
 *
 * Lines before the first phase stay where they are (the spec's unnamed preamble is implicit: a
 * stream cannot wrap lines it has already emitted). A `Running phase: P` line is held back one
 * event so that, when `setPhase(P)` follows, it becomes the phase's head (D-17).
 */
export class BuildLogDecoder implements FramerSink {
  private readonly framer: BuildLogFramer
  private readonly root: Scope = { stack: [], base: 0, open: true, parent: 0 }
  /** Our section for each nest the framer has open, 0 once a CI close ended it early (§7). */
  private readonly framerNests: number[] = []
  private heldHeader: LineEvent | null = null
  private readonly prefixed: boolean
  private readonly builds = new Map<string, Scope>()
  private readonly failedBuilds = new Set<number>()
  /** The build of the last prefixed line, its name as bytes too: consecutive lines mostly share one. */
  private lastBuild: { name: string; bytes: Uint8Array; scope: Scope | null } = { name: '', bytes: NO_BYTES, scope: null }
  /** Copies of text from the input chunk, for span lines and direct lines alike. */
  private readonly chunkText = new TextCopier()
  /** A `setPhase` was handled (spec §1 `hasPhases`). */
  hasPhases = false
  /** A legacy nesting code was seen (spec §1 `hasLegacy`). */
  hasLegacy = false

  constructor(
    private readonly emit: EventSink,
    private readonly context: DecodeContext = new DecodeContext(),
    options: BuildLogOptions = {},
  ) {
    this.prefixed = options.prefixed ?? false
    this.styledPrefixSpans = this.prefixed
    this.head = this.prefixed ? Buffer.alloc(258) : NO_BYTES
    this.nativeLines = options.nativeLines ?? true
    this.framer = new BuildLogFramer(this, { keepSgr: true, markRemoved: true })
  }

  /** Whether lines come from the framer's C line mode where it can take them (FramerSink.nativeLines). */
  readonly nativeLines: boolean
  /** `-L` lines that only their prefix styles may come in spans (FramerSink.styledPrefixSpans): see span(). */
  readonly styledPrefixSpans: boolean
  /** Lines may come with their removed escapes in place (FramerSink.removedInPlace): lineContent() leaves them out. */
  readonly removedInPlace = true

  write(chunk: Uint8Array): void {
    this.framer.write(chunk)
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.framer.offset
  }

  end(): void {
    this.framer.end()
    this.releaseHeader()
    const end = this.framer.offset
    for (const scope of this.builds.values()) this.closeScope(scope, end)
    this.closeAbove(this.root, 0, end)
  }

  // --- FramerSink ---

  line(view: LineView): void {
    if (view.atLineStart && isNixCandidate(view.buf, view.start, view.end)) {
      const message = classifyNixLine(view.buf, view.start, view.end)
      if (message !== null) return this.nixLine(message, view.offset, view.rawEnd, view.ended)
    }
    // A `name> ` prefix is found on the first text bytes, so the text is copied once, without it.
    const prefix = this.prefixed ? this.prefixOf(view) : -1
    const { text, styles, removed } = lineContent(view, prefix >= 0 ? prefix + 2 : 0, this.chunkText)
    // Every CI marker prefix holds a `:` or `#` (not name bytes) before any `> `: a line with a
    // prefix is never one, unless the marker text is what a CR left behind.
    const ciHead = view.beforeCr ?? (prefix >= 0 ? null : text)
    if (ciHead !== null && MARKER_START[ciHead[0]!] === 1 && hasCiMarkerPrefix(ciHead, 0, ciHead.length)) {
      const whole = prefix >= 0 ? lineContent(view).text : text
      const marker = matchCiMarker(whole.toString('utf8'), view.beforeCr ? view.beforeCr.toString('utf8') : null)
      if (marker) return this.ciMarker(marker, view.offset)
    }
    const event: LineEvent = {
      type: 'line',
      index: 0,
      section: 0,
      text,
      head: view.head,
      priority: view.priority,
      error: view.error,
      warning: view.warning,
      offset: view.offset,
      end: view.rawEnd,
      ended: view.ended,
    }
    if (styles) event.styles = styles
    if (removed) event.removed = removed
    if (prefix >= 0) this.buildLine(event, this.nameBuf, this.nameStart, prefix)
    else this.textLine(event)
  }

  /** The first text bytes of a line (inline SGR skipped), enough for any `name> ` prefix (`-L` logs only). */
  private readonly head: Buffer

  /** The length of the line's `name> ` prefix, or -1; the name's bytes are left at nameBuf[nameStart…]. */
  private prefixOf(view: LineView): number {
    // (the marks: SGR, and removed escapes where they are still in place)
    const count = view.marks.length
    if (count === 0) {
      this.nameBuf = view.buf
      this.nameStart = view.start
      return prefixNameLength(view.buf, view.start, view.end)
    }
    // Mostly the text before the next SGR decides (`ESC[2mname> ESC[0m…`): the name is there in place.
    const marks = view.marks.data
    let at = view.start
    let k = 0
    for (; k < count && marks[k] === at; k += 2) at = marks[k + 1]!
    const segmentEnd = k < count ? marks[k]! : view.end
    const inPlace = prefixNameLength(view.buf, at, segmentEnd)
    this.nameBuf = view.buf
    this.nameStart = at
    if (inPlace >= 0) return inPlace
    // undecided only when every byte it could read was a name byte: the name may go on past an SGR
    const undecided = segmentEnd - at < 2 || (NAME_BYTE[view.buf[at]!] === 1 && segmentEnd - at <= 256 && allNameBytes(view.buf, at + 1, segmentEnd - 1))
    if (!undecided) return inPlace
    // an SGR inside the name: read the text's first bytes without the SGR
    this.nameBuf = this.head
    this.nameStart = 0
    return prefixNameLength(this.head, 0, textHead(view.buf, view.start, view.end, view.marks, this.head))
  }

  /** Where the name of the line prefixOf() found lies: the line itself or `head`. */
  private nameBuf: Uint8Array = NO_BYTES
  private nameStart = 0

  /**
   * Whole plain lines (no escape, no CR) as one range: each is exactly what line() would get for
   * it with the framer's state at a fresh line (no head, priority 1, no e/w flag, at a line start),
   * so it goes the same way, without the framer's per-line bookkeeping. Returns the line count,
   * which keeps the framer's diagnostic positions right. In `-L` output a span may also hold lines
   * as Nix writes them, `ESC[2m` name `> ESC[0m` (or `ESC[m`) and text without escapes: the only
   * lines of a span that start with ESC. Their text is the range after the prefix, and no style
   * carries into it, which is what line() makes of them.
   */
  span(buf: Uint8Array, start: number, end: number, base: number, lfs?: LineEnds): number {
    const bytes = buf as Buffer
    let lines = 0
    let at = start
    // the LFs the C line mode found, else a search per line
    const ends = lfs?.data
    let k = lfs?.at ?? 0
    while (at < end) {
      const lf = ends !== undefined ? ends[k++]! : bytes.indexOf(LF, at) // a span ends after an LF
      lines++
      const offset = base + at
      const rawEnd = base + lf + 1
      const from = at
      at = lf + 1
      if (isNixCandidate(bytes, from, lf)) {
        const message = classifyNixLine(bytes, from, lf)
        if (message !== null) {
          this.nixLine(message, offset, rawEnd, 'lf')
          continue
        }
      }
      if (MARKER_START[bytes[from]!] === 1 && hasCiMarkerPrefix(bytes, from, lf)) {
        const marker = matchCiMarker(bytes.toString('utf8', from, lf), null)
        if (marker) {
          this.ciMarker(marker, offset)
          continue
        }
      }
      // A styled prefix (see above): the name after `ESC[2m`, the text after `> ESC[m` or `> ESC[0m`.
      const styled = bytes[from] === ESC
      const name = styled ? from + 4 : from
      const prefix = this.prefixed ? prefixNameLength(bytes, name, lf) : -1
      let textFrom = from
      if (prefix >= 0) textFrom = name + prefix + 2 + (!styled ? 0 : bytes[name + prefix + 4] === 0x6d ? 3 : 4)
      const event: LineEvent = {
        type: 'line',
        index: 0,
        section: 0,
        text: this.chunkText.copy(bytes, base, textFrom, lf, bytes.length),
        head: false,
        priority: 1,
        error: false,
        warning: false,
        offset,
        end: rawEnd,
        ended: 'lf',
      }
      if (prefix >= 0) this.buildLine(event, bytes, name, prefix)
      else this.textLine(event)
    }
    return lines
  }

  /** Any line may come as part of a span, but none the framer would split. */
  spanLimit(_buf: Uint8Array, from: number, end: number): number {
    return Math.min(end, from + MAX_LINE_BYTES)
  }

  /** A line of ordinary text (no `name> ` prefix): held back (`Running phase:`) or emitted. */
  private textLine(event: LineEvent): void {
    if (this.prefixed) this.noteFailedBuilds(event)
    this.releaseHeader()
    if (!event.head && startsWithRunningPhase(event.text)) {
      this.heldHeader = event
      return
    }
    this.emitLine(event, this.root)
  }

  open(priority: number, offset: number): void {
    this.hasLegacy = true
    this.releaseHeader()
    const section = this.openSection(this.root, 'nest', offset, priority)
    section.nest = this.framerNests.length
    this.framerNests.push(section.id)
  }

  /**
   * Takes over from a caller that opened and closed legacy nests without this decoder, which had
   * seen nothing yet (the index's direct path, index-output.ts): `open`, the nests open now,
   * outermost first, with the ids the caller gave them; ids up to `lastId` are taken.
   */
  adoptNests(open: readonly number[], lastId: number): void {
    this.context.takeSectionIdsUpTo(lastId)
    if (lastId > 0) this.hasLegacy = true
    for (const id of open) {
      this.root.stack.push({ id, kind: 'nest', nest: this.framerNests.length })
      this.framerNests.push(id)
    }
  }

  close(offset: number): void {
    this.releaseHeader()
    const id = this.framerNests.pop()
    if (id) this.closeSection(this.root, id, offset)
  }

  diagnostic(code: 'unbalanced-close' | 'unclosed-at-eof' | 'line-split', message: string, offset: number, line: number, column: number): void {
    this.emit({ type: 'diagnostic', code, message, offset, line, column })
  }

  // --- dialect ---

  private nixLine(message: NixLine, offset: number, end: number, ended: LineEnd): void {
    if (message.kind === 'setPhase') {
      this.hasPhases = true
      this.phase(this.root, message.phase, offset)
    } else if (message.kind === 'msg') {
      this.releaseHeader()
      this.emitLine(
        {
          type: 'line',
          index: 0,
          section: 0,
          text: Buffer.from(message.msg),
          head: false,
          priority: 1,
          error: message.level === LEVEL_ERROR,
          warning: message.level === LEVEL_WARN,
          offset,
          end,
          ended,
          level: message.level,
        },
        this.root,
      )
    }
    // start/stop/result/unknown actions are consumed, as Nix consumes them from builders (§5.2).
  }

  private ciMarker(marker: CiMarker, offset: number): void {
    this.releaseHeader()
    const stack = this.root.stack
    if (marker.action === 'open') {
      // GitHub groups do not nest: a new group ends the open one (D-20).
      if (marker.system === 'github') {
        const open = stack.findLastIndex((s) => s.ci?.system === 'github')
        if (open !== -1) this.closeCi(stack[open]!.id, marker, offset)
      }
      const attrs: Record<string, string | number | boolean> = { system: marker.system, name: marker.name }
      if (marker.time !== undefined) attrs.startTime = marker.time
      if (marker.collapsed) attrs.collapsed = true
      const section = this.openSection(this.root, 'ci', offset, 1, marker.title, attrs)
      section.ci = { system: marker.system, name: marker.name }
      return
    }
    // A close names its section; it also ends what was opened inside it. Unmatched closes are ignored (D-21).
    const at = stack.findLastIndex((s) => s.ci?.system === marker.system && s.ci.name === marker.name)
    if (at === -1) return
    this.closeCi(stack[at]!.id, marker, offset)
  }

  /** Closes a CI section at a marker, which dates its end when it has a time. */
  private closeCi(id: number, marker: CiMarker, offset: number): void {
    if (marker.time !== undefined) this.emit({ type: 'status', id, offset, attrs: { endTime: marker.time } })
    this.closeSection(this.root, id, offset)
  }

  /**
   * `nix build -L`: a line whose text (already without its prefix) goes to the build named by the
   * `length` bytes at names[start].
   */
  private buildLine(event: LineEvent, names: Uint8Array, start: number, length: number): void {
    this.releaseHeader()
    // Consecutive lines mostly come from the same build: its scope without a string or a lookup.
    const last = this.lastBuild
    let scope = last.bytes.length === length && sameBytes(names, start, last.bytes, length) ? last.scope : null
    if (scope === null || !scope.open) {
      const name = last.bytes.length === length && scope !== null ? last.name : Buffer.from(names.buffer, names.byteOffset + start, length).toString('latin1')
      scope = this.builds.get(name) ?? null
      if (scope === null || !scope.open) {
        scope = this.openBuild(name, event.offset)
        this.builds.set(name, scope)
      }
      this.lastBuild = { name, bytes: name === last.name ? last.bytes : Buffer.from(name, 'latin1'), scope }
    }
    if (startsWithRunningPhase(event.text)) {
      this.phase(scope, event.text.toString('utf8', RUNNING_PHASE.length), event.offset)
      event.head = true
    }
    this.emitLine(event, scope)
  }

  /** Nix's own lines about failed builds mark those builds' sections. */
  private noteFailedBuilds(event: LineEvent): void {
    const text = event.text
    // Both messages quote the .drv path: most lines have no quote, and a byte is found without
    // making a Buffer of the needle, as indexOf(string) does for every call.
    if (text.indexOf(QUOTE) === -1) return
    if (text.indexOf(BUILDER_FOR) !== -1 || text.indexOf(CANNOT_BUILD) !== -1) {
      for (const drv of failedDrvs(text.toString('utf8'))) this.markFailed(drvDisplayName(drv), event.offset)
    }
  }

  /** A build is its own scope: it lives beside the root's sections, not inside their stack. */
  private openBuild(name: string, offset: number): Scope {
    const id = this.context.nextSectionId()
    const stack = this.root.stack
    const parent = stack.length > 0 ? stack[stack.length - 1]!.id : 0
    this.emit({ type: 'open', id, parent, kind: 'build', title: name, priority: 1, offset, attrs: { name } })
    return { stack: [{ id, kind: 'build', nest: -1 }], base: id, open: true, parent }
  }

  private markFailed(name: string, offset: number): void {
    const scope = this.builds.get(name)
    if (!scope || this.failedBuilds.has(scope.base)) return
    this.failedBuilds.add(scope.base)
    this.emit({ type: 'status', id: scope.base, offset, attrs: { failed: true } })
  }

  /** A phase ends the scope's current phase (and what was opened inside it) and opens the next (§5.4). */
  private phase(scope: Scope, name: string, offset: number): void {
    const header = this.heldHeader
    this.heldHeader = null
    const adopt = header !== null && namesPhase(header.text, name)
    if (header && !adopt) this.emitLine(header, this.root)
    const current = scope.stack.findLastIndex((s) => s.kind === 'phase')
    if (current !== -1) this.closeSection(scope, scope.stack[current]!.id, offset)
    this.openSection(scope, 'phase', offset, 1, name)
    if (header && adopt) {
      header.head = true
      this.emitLine(header, scope)
    }
  }

  private openSection(scope: Scope, kind: SectionKind, offset: number, priority: number, title?: string, attrs?: Record<string, string | number | boolean>): Section {
    const id = this.context.nextSectionId()
    const parent = scope.stack.length > 0 ? scope.stack[scope.stack.length - 1]!.id : 0
    const section: Section = { id, kind, nest: -1 }
    scope.stack.push(section)
    const open: SectionOpenEvent = { type: 'open', id, parent, kind, priority, offset }
    if (title !== undefined) open.title = title
    if (attrs) open.attrs = attrs
    this.emit(open)
    return section
  }

  /** Closes section `id` and everything opened inside it, innermost first. */
  private closeSection(scope: Scope, id: number, offset: number): void {
    // Ids are unique on a stack, and the one closed is nearly always the innermost.
    const stack = scope.stack
    let at = stack.length - 1
    while (at >= 0 && stack[at]!.id !== id) at--
    if (at !== -1) this.closeAbove(scope, at, offset)
  }

  private closeAbove(scope: Scope, depth: number, offset: number): void {
    while (scope.stack.length > depth) {
      const section = scope.stack.pop()!
      // its place is kept rather than searched for: at the end of a log, thousands of nests may close at once
      if (section.nest >= 0 && this.framerNests[section.nest] === section.id) this.framerNests[section.nest] = 0
      // Builds opened inside a closing section end with it (only a root section holds builds).
      if (scope === this.root && this.builds.size > 0) {
        for (const build of this.builds.values()) if (build.parent === section.id) this.closeScope(build, offset)
      }
      const close: SectionCloseEvent = { type: 'close', id: section.id, offset }
      if (section.kind === 'build') {
        scope.open = false
        if (this.failedBuilds.has(section.id)) close.status = 'failed'
      }
      this.emit(close)
    }
  }

  private closeScope(scope: Scope, offset: number): void {
    if (scope.open) this.closeAbove(scope, 0, offset)
  }

  private releaseHeader(): void {
    if (this.heldHeader) {
      const held = this.heldHeader
      this.heldHeader = null
      this.emitLine(held, this.root)
    }
  }

  private emitLine(event: LineEvent, scope: Scope): void {
    event.index = this.context.nextLineIndex()
    const stack = scope.stack
    event.section = stack.length > 0 ? stack[stack.length - 1]!.id : scope.base
    this.emit(event)
  }
}
