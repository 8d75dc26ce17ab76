import type { EventSink, LineEvent, SectionKind, StyleMark } from '../events.js'
import { BuildLogFramer, type FramerSink, type LineView } from './build-log-framer.js'
import { DecodeContext } from './context.js'
import { classifyNixLine, isNixCandidate, type NixLine } from './nix-line.js'

/** Nix verbosity levels that flag a message line (spec §6.4, §6.5 step 6). */
const LEVEL_ERROR = 0
const LEVEL_WARN = 1

const RUNNING_PHASE = 'Running phase: '

interface OpenSection {
  id: number
  kind: SectionKind
}

/** Copies a line's text without its inline SGR sequences, and lists those as style marks. */
export function lineContent(view: LineView): { text: Buffer; styles: StyleMark[] | undefined } {
  const buf = view.buf as Buffer
  if (view.sgr.length === 0) return { text: Buffer.from(buf.subarray(view.start, view.end)), styles: undefined }
  const text = Buffer.allocUnsafe(view.textLength)
  const styles: StyleMark[] = []
  let at = 0
  let cursor = view.start
  for (let k = 0; k < view.sgr.length; k += 2) {
    const s = view.sgr[k]!
    const e = view.sgr[k + 1]!
    at += buf.copy(text, at, cursor, s)
    styles.push({ at, params: buf.toString('latin1', s + 2, e - 1) })
    cursor = e
  }
  buf.copy(text, at, cursor, view.end)
  return { text, styles }
}

/**
 * The build-log dialect as events (spec §2, §5): legacy nests become `nest` sections, handled
 * `@nix` lines become phases and message lines, everything else becomes line events.
 *
 * Lines before the first phase stay where they are (the spec's unnamed preamble is implicit: the
 * stream cannot wrap lines it has already emitted). A `Running phase: P` line is held back one
 * event so that, when `setPhase(P)` follows, it can become the phase's head (D-17).
 */
export class BuildLogDecoder implements FramerSink {
  private readonly framer: BuildLogFramer
  private readonly stack: OpenSection[] = []
  private heldHeader: LineEvent | null = null
  /** A `setPhase` was handled (spec §1 `hasPhases`). */
  hasPhases = false
  /** A legacy nesting code was seen (spec §1 `hasLegacy`). */
  hasLegacy = false

  constructor(
    private readonly emit: EventSink,
    private readonly context: DecodeContext = new DecodeContext(),
  ) {
    this.framer = new BuildLogFramer(this, { keepSgr: true })
  }

  write(chunk: Uint8Array): void {
    this.framer.write(chunk)
  }

  end(): void {
    this.framer.end()
    this.releaseHeader()
    const end = this.framer.offset
    while (this.stack.length > 0) this.emit({ type: 'close', id: this.stack.pop()!.id, offset: end })
  }

  // --- FramerSink ---

  line(view: LineView): void {
    if (view.atLineStart && isNixCandidate(view.buf, view.start, view.end)) {
      const message = classifyNixLine(view.buf, view.start, view.end)
      if (message !== null) {
        this.nixLine(message, view)
        return
      }
    }
    const { text, styles } = lineContent(view)
    const event: LineEvent = {
      type: 'line',
      index: 0,
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
    this.releaseHeader()
    if (!view.head && text.length > RUNNING_PHASE.length && text.toString('latin1', 0, RUNNING_PHASE.length) === RUNNING_PHASE) {
      this.heldHeader = event
      return
    }
    this.emitLine(event)
  }

  open(priority: number, offset: number): void {
    this.hasLegacy = true
    this.releaseHeader()
    this.openSection('nest', offset, priority)
  }

  close(offset: number): void {
    this.releaseHeader()
    // Close the innermost nest, and any phase opened inside it.
    while (this.stack.length > 0) {
      const section = this.stack.pop()!
      this.emit({ type: 'close', id: section.id, offset })
      if (section.kind === 'nest') break
    }
  }

  diagnostic(code: 'unbalanced-close' | 'unclosed-at-eof' | 'line-split', message: string, offset: number, line: number, column: number): void {
    this.emit({ type: 'diagnostic', code, message, offset, line, column })
  }

  // --- dialect ---

  private nixLine(message: NixLine, view: LineView): void {
    if (message.kind === 'setPhase') {
      this.hasPhases = true
      this.phase(message.phase, view.offset)
    } else if (message.kind === 'msg') {
      this.releaseHeader()
      this.emitLine({
        type: 'line',
        index: 0,
        text: Buffer.from(message.msg),
        head: false,
        priority: 1,
        error: message.level === LEVEL_ERROR,
        warning: message.level === LEVEL_WARN,
        offset: view.offset,
        end: view.rawEnd,
        ended: view.ended,
        level: message.level,
      })
    }
    // start/stop/result/unknown actions are swallowed, as Nix swallows them from builders (§5.2).
  }

  /** A phase ends the current phase (and what was opened inside it) and opens the next (§5.4). */
  private phase(name: string, offset: number): void {
    const header = this.heldHeader
    this.heldHeader = null
    const adopt = header !== null && header.text.toString('utf8') === RUNNING_PHASE + name
    if (header && !adopt) this.emitLine(header)
    const current = this.stack.findLastIndex((s) => s.kind === 'phase')
    if (current !== -1) while (this.stack.length > current) this.emit({ type: 'close', id: this.stack.pop()!.id, offset })
    this.openSection('phase', offset, 1, name)
    if (header && adopt) {
      header.head = true
      this.emitLine(header)
    }
  }

  private openSection(kind: SectionKind, offset: number, priority: number, title?: string): void {
    const id = this.context.nextSectionId()
    this.stack.push({ id, kind })
    this.emit(title === undefined ? { type: 'open', id, kind, priority, offset } : { type: 'open', id, kind, title, priority, offset })
  }

  private releaseHeader(): void {
    if (this.heldHeader) {
      const held = this.heldHeader
      this.heldHeader = null
      this.emitLine(held)
    }
  }

  private emitLine(event: LineEvent): void {
    event.index = this.context.nextLineIndex()
    this.emit(event)
  }
}
