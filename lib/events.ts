/**
 * The vocabulary every face speaks. A decoder turns bytes into a stream of these events; faces
 * (the clean filter, XML, JSON, text, HTML, the pager) consume them. Offsets are absolute byte
 * offsets in the original input, so every face agrees on where a line or section lives.
 *
 * Ownership is explicit: an `open` names its `parent` section and a `line` names its `section`
 * (0 is the root). Sections from nested dialects (legacy nests, phases, CI markers) open and close
 * in LIFO order, but concurrent ones — internal-json activities, interleaved `nix build -L`
 * builds — are live at the same time and close in any order. Build trees from the ids, not from
 * the order of events. Every `open` is followed, sooner or later, by exactly one `close`; lines
 * only ever go to open sections; a `status` may arrive for a section that has already closed
 * (Nix reports a build's failure after the build activity stops).
 */

/** What made a section. */
export type SectionKind =
  | 'nest' // legacy stdenv / make nesting escape (ESC[p … ESC[q)
  | 'build' // one build: a whole build log, an internal-json build activity, or a `name> ` prefix
  | 'phase' // a stdenv phase (@nix setPhase, internal-json result 104)
  | 'preamble' // lines of a build before its first phase
  | 'activity' // any other internal-json activity (download, copy, substitution, …)
  | 'ci' // a CI fold marker section (GitHub, GitLab, Travis, TeamCity)

/** How a line ended in the raw input. The clean filter re-emits LF only for `lf`. */
export type LineEnd =
  | 'lf' // a line feed
  | 'escape' // a structural escape (ESC[p, ESC[q, ESC[s) finished the pending text
  | 'eof' // end of input
  | 'split' // the line reached MAX_LINE_BYTES and was cut; the next line event continues it

/** An SGR sequence kept as styling: `params` are the parameter bytes between `ESC[` and `m`. */
export interface StyleMark {
  /** Byte index in `text` before which the SGR takes effect. */
  at: number
  /** The parameter bytes as text, e.g. "31;1" or "38:2::255:0:0". */
  params: string
}

export interface SectionOpenEvent {
  type: 'open'
  /** Unique within one decode, increasing in stream order; never 0. */
  id: number
  /** The enclosing section's id, 0 for the root. */
  parent: number
  kind: SectionKind
  /** Title when known at open time (phases, builds, CI sections); legacy nests get theirs from the head line. */
  title?: string
  /** Legacy priority of the head line (1 normal, 3 unimportant). */
  priority: number
  /** Byte offset of the sequence or line that opened the section. */
  offset: number
  /** Free-form attributes from the dialect (e.g. internal-json activity type, drv path, CI name). */
  attrs?: Record<string, string | number | boolean>
}

export interface LineEvent {
  type: 'line'
  /** 1-based ordinal of this line among all line events (heads included), as Hydra numbered them. */
  index: number
  /** The section this line belongs to, 0 for the root. */
  section: number
  /** The line's text bytes: escapes removed, CR applied (variant C); LF only when embedded by ESC[a. */
  text: Buffer
  /** SGR styling within `text`, in order; absent when the line had none. */
  styles?: StyleMark[]
  /**
   * Byte positions in `text` where an escape sequence (OSC, cursor movement, …: anything but kept
   * SGR and the legacy codes) was removed, so a face can show a visible placeholder; absent when none.
   */
  removed?: number[]
  /** True when this line is the head (title) of the section opened just before it. */
  head: boolean
  priority: number
  error: boolean
  warning: boolean
  /** Byte range [offset, end) of the raw bytes this line came from, terminator included. */
  offset: number
  end: number
  ended: LineEnd
  /** Message level for internal-json / @nix msg lines (Nix verbosity, 0 = error). */
  level?: number
}

export interface SectionCloseEvent {
  type: 'close'
  id: number
  offset: number
  /** Final status when the dialect knows one (internal-json builds, failed phases). */
  status?: 'ok' | 'failed' | 'running' | 'interrupted'
}

/** Progress or attributes learnt about an open section after it opened (internal-json 105/106, …). */
export interface SectionStatusEvent {
  type: 'status'
  id: number
  offset: number
  attrs: Record<string, string | number | boolean>
}

export interface DiagnosticEvent {
  type: 'diagnostic'
  /** e.g. "not enough nesting levels at line 1, character 4" (the reference text for unbalanced closes). */
  message: string
  code: 'unbalanced-close' | 'unclosed-at-eof' | 'bad-nix-line' | 'line-split' | 'orphan-result'
  offset: number
  /** 1-based line and character as nix-log2xml counted them (escape bytes included). */
  line: number
  column: number
}

export type LogEvent =
  | SectionOpenEvent
  | LineEvent
  | SectionCloseEvent
  | SectionStatusEvent
  | DiagnosticEvent

/** A consumer of events; decoders call it synchronously, in stream order. */
export type EventSink = (event: LogEvent) => void
