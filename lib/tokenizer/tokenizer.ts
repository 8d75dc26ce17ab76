import { NO_BYTES } from '../bytes.js'
import { Action, ESC, State, TRANSITIONS } from './table.js'

/**
 * Caps on what input can make the tokenizer hold. Past a cap the sequence is still consumed to
 * its end (so the bytes after it are parsed correctly), but its content is marked as overflowed.
 */
export const MAX_CSI_PARAM_BYTES = 256
export const MAX_CSI_INTERMEDIATES = 4
export const MAX_STRING_PAYLOAD = 4096

/** Kinds of sequence that are consumed and dropped (every escape that is not a CSI). */
export type DroppedKind =
  | 'esc' // 2-byte escape or nF escape (ESC ( B)
  | 'osc'
  | 'dcs'
  | 'sos'
  | 'pm'
  | 'apc'
  | 'aborted' // a sequence cut short by a byte that cannot continue it, or by end of input

/**
 * A complete control sequence introducer. One instance is reused for every CSI, so a handler
 * must copy what it wants to keep.
 */
export class CsiSequence {
  readonly params = new Uint8Array(MAX_CSI_PARAM_BYTES)
  paramLength = 0
  readonly intermediates = new Uint8Array(MAX_CSI_INTERMEDIATES)
  intermediateLength = 0
  /** More parameter or intermediate bytes arrived than the caps allow; the extra ones were counted only. */
  overflow = false
  final = 0
  /** Absolute byte offsets of the ESC and one past the final byte. */
  start = 0
  end = 0

  /** The private-marker byte (`<`, `=`, `>`, `?`) when the parameters start with one, else 0. */
  get privateMarker(): number {
    const b = this.paramLength > 0 ? this.params[0]! : 0
    return b >= 0x3c && b <= 0x3f ? b : 0
  }

  /**
   * The first parameter as a number: the digits before the first `;` or `:`. Undefined when it is
   * empty or not all digits. Saturates at 2^31 − 1.
   */
  firstParam(): number | undefined {
    let value = 0
    let digits = 0
    for (let i = 0; i < this.paramLength; i++) {
      const b = this.params[i]!
      if (b === 0x3b || b === 0x3a) break
      if (b < 0x30 || b > 0x39) return undefined
      value = Math.min(value * 10 + (b - 0x30), 0x7fffffff)
      digits++
    }
    return digits > 0 ? value : undefined
  }

  /** The parameter bytes as a latin1 string (they are all ASCII 0x30–0x3F). */
  paramText(): string {
    return String.fromCharCode.apply(null, this.params.subarray(0, this.paramLength) as unknown as number[])
  }

  /** Whether this is an SGR sequence worth keeping: final `m`, no private marker, no intermediates. */
  isSgr(): boolean {
    return this.final === 0x6d && this.intermediateLength === 0 && !this.overflow && this.privateMarker === 0
  }

  /** Writes the sequence's exact bytes (`ESC [ params intermediates final`) into `out` at `at`. */
  writeTo(out: Uint8Array, at: number): number {
    out[at++] = ESC
    out[at++] = 0x5b
    for (let i = 0; i < this.paramLength; i++) out[at++] = this.params[i]!
    for (let i = 0; i < this.intermediateLength; i++) out[at++] = this.intermediates[i]!
    out[at++] = this.final
    return at
  }

  get byteLength(): number {
    return 3 + this.paramLength + this.intermediateLength
  }
}

/**
 * What the tokenizer tells its consumer. Like alacritty vte's `Perform`: the tokenizer never
 * allocates per token; it passes byte ranges of the caller's buffer and one reused CsiSequence.
 */
export interface TokenHandler {
  /**
   * A run of ground bytes `buf[start, end)`: everything but escape sequences, C0 controls (LF, CR,
   * TAB, BEL, NUL …) and invalid UTF-8 included. `offset` is the absolute offset of `buf[start]`.
   * A handler that has itself consumed whole sequences past `end` (with scanCsi) returns the index
   * where tokenizing resumes, in ground state; otherwise nothing.
   */
  text(buf: Uint8Array, start: number, end: number, offset: number): number | void
  /** A complete CSI sequence. */
  csi(seq: CsiSequence): void
  /** A non-CSI sequence (or an aborted one) was consumed and dropped; absolute offsets. */
  dropped(kind: DroppedKind, start: number, end: number): void
  /** The current write() is done: byte ranges passed so far will not stay valid. */
  chunkEnd(): void
}

/**
 * The commonest sequence in one step: a whole CSI (`ESC [`, parameter bytes, intermediate bytes,
 * a final byte, nothing else in between, within the caps) starting at `buf[at]`, read by the same
 * transition table without the per-byte dispatch of Tokenizer.write. Fills `seq` and returns the
 * index after the final byte; -1 when the table would do anything else (abort, or a sequence
 * not finished in `buf`, or past a cap), which leaves those cases to Tokenizer.write.
 */
export function scanCsi(buf: Uint8Array, at: number, base: number, seq: CsiSequence): number {
  const n = buf.length
  if (at + 1 >= n || TRANSITIONS[(State.Escape << 8) | buf[at + 1]!]! >> 4 !== Action.EnterCsi) return -1
  let state = State.CsiParam
  let params = 0
  let intermediates = 0
  for (let i = at + 2; i < n; i++) {
    const byte = buf[i]!
    const cell = TRANSITIONS[(state << 8) | byte]!
    switch ((cell >> 4) as Action) {
      case Action.CollectParam:
        if (params === MAX_CSI_PARAM_BYTES) return -1
        seq.params[params++] = byte
        break
      case Action.CollectIntermediate:
        if (intermediates === MAX_CSI_INTERMEDIATES) return -1
        seq.intermediates[intermediates++] = byte
        break
      case Action.DispatchCsi:
        seq.paramLength = params
        seq.intermediateLength = intermediates
        seq.overflow = false
        seq.final = byte
        seq.start = base + at
        seq.end = base + i + 1
        return i + 1
      default:
        return -1
    }
    state = (cell & 0x0f) as State
  }
  return -1
}

const STRING_KINDS: Record<number, DroppedKind> = { 0x50: 'dcs', 0x58: 'sos', 0x5e: 'pm', 0x5f: 'apc' }

/**
 * A table-driven ECMA-48 tokenizer over bytes (spec §2.9). Chunk-invariant: every piece of state
 * survives between write() calls, so the token stream does not depend on how input is split.
 */
export class Tokenizer {
  private state: State = State.Ground
  private readonly seq = new CsiSequence()
  /** Absolute offset of the next byte to be written. */
  private position = 0
  /** Absolute offset of the ESC that began the sequence in progress. */
  private sequenceStart = 0
  private stringKind: DroppedKind = 'osc'
  /** OSC/control-string payload, kept up to MAX_STRING_PAYLOAD bytes (D-3); allocated at the first one. */
  payload: Uint8Array = NO_BYTES
  payloadLength = 0

  constructor(private readonly handler: TokenHandler) {}

  /** Bytes consumed so far. */
  get offset(): number {
    return this.position
  }

  /** No sequence is in progress. */
  get inGround(): boolean {
    return this.state === State.Ground
  }

  /** Goes on at absolute `offset`, in ground state (the bytes before were read elsewhere). */
  restartAt(offset: number): void {
    this.state = State.Ground
    this.position = offset
  }

  write(buf: Uint8Array): void {
    const handler = this.handler
    const base = this.position
    const n = buf.length
    let state = this.state
    let i = 0
    while (i < n) {
      if (state === State.Ground) {
        // Fast path: everything up to the next ESC is text. Escapes often come in pairs (a legacy
        // ESC[q ESC[p, a colour reset and the next colour): look before searching.
        let esc = buf[i] === ESC ? i : buf.indexOf(ESC, i)
        if (esc === -1) esc = n
        if (esc > i) {
          const resume = handler.text(buf, i, esc, base + i)
          if (typeof resume === 'number' && resume > esc) {
            i = resume
            continue
          }
        }
        if (esc === n) break
        // Fast path: a whole CSI in this chunk needs no walk through the table.
        const after = scanCsi(buf, esc, base, this.seq)
        if (after !== -1) {
          handler.csi(this.seq)
          i = after
          continue
        }
        this.sequenceStart = base + esc
        state = State.Escape
        i = esc + 1
        continue
      }
      const byte = buf[i]!
      const cell = TRANSITIONS[(state << 8) | byte]!
      const next = (cell & 0x0f) as State
      switch ((cell >> 4) as Action) {
        case Action.RestartEscape:
          handler.dropped('aborted', this.sequenceStart, base + i)
          this.sequenceStart = base + i
          break
        case Action.EnterCsi: {
          const seq = this.seq
          seq.paramLength = 0
          seq.intermediateLength = 0
          seq.overflow = false
          break
        }
        case Action.EnterOsc:
          this.stringKind = 'osc'
          this.payloadLength = 0
          break
        case Action.EnterControlString:
          this.stringKind = STRING_KINDS[byte]!
          this.payloadLength = 0
          break
        case Action.CollectEscapeIntermediate:
          break
        case Action.DispatchEscape:
          handler.dropped('esc', this.sequenceStart, base + i + 1)
          break
        case Action.AbortAndReprocess:
          handler.dropped('aborted', this.sequenceStart, base + i)
          state = State.Ground
          continue // reprocess this byte in ground
        case Action.CollectParam: {
          const seq = this.seq
          if (seq.paramLength < MAX_CSI_PARAM_BYTES) seq.params[seq.paramLength++] = byte
          else seq.overflow = true
          break
        }
        case Action.CollectIntermediate: {
          const seq = this.seq
          if (seq.intermediateLength < MAX_CSI_INTERMEDIATES) seq.intermediates[seq.intermediateLength++] = byte
          else seq.overflow = true
          break
        }
        case Action.DispatchCsi: {
          const seq = this.seq
          seq.final = byte
          seq.start = this.sequenceStart
          seq.end = base + i + 1
          handler.csi(seq)
          break
        }
        case Action.Payload:
          if (this.payloadLength < MAX_STRING_PAYLOAD) {
            if (this.payloadLength === this.payload.length) this.payload = new Uint8Array(MAX_STRING_PAYLOAD)
            this.payload[this.payloadLength++] = byte
          }
          break
        case Action.EndStringBel:
          handler.dropped(this.stringKind, this.sequenceStart, base + i + 1)
          break
        case Action.EndStringEscape:
          handler.dropped(this.stringKind, this.sequenceStart, base + i)
          this.sequenceStart = base + i
          break
        default:
          break
      }
      state = next
      i++
    }
    this.state = state
    this.position = base + n
    handler.chunkEnd()
  }

  /** End of input: an unfinished sequence is dropped. */
  end(): void {
    if (this.state !== State.Ground) {
      this.handler.dropped(this.state === State.OscString || this.state === State.ControlString ? this.stringKind : 'aborted', this.sequenceStart, this.position)
      this.state = State.Ground
    }
  }
}
