/**
 * The ECMA-48 transition table (spec §2.9), in the style of xterm.js's EscapeSequenceParser:
 * one Uint8Array indexed by `state << 8 | byte`, each cell holding `action << 4 | nextState`.
 * The table only says what kind of byte this is in this state; the tokenizer performs actions
 * and never looks at a byte's meaning beyond that.
 */

export const enum State {
  Ground = 0,
  Escape = 1,
  EscapeIntermediate = 2,
  CsiParam = 3,
  CsiIntermediate = 4,
  OscString = 5,
  ControlString = 6, // DCS, SOS, PM, APC: consumed and dropped whole (D-8)
}

export const enum Action {
  /** Ground: the byte is text (the tokenizer's fast path handles runs of these). */
  Print = 0,
  /** Ground ESC: a sequence starts. */
  BeginEscape = 1,
  /** ESC ESC: the first ESC is dropped, the second starts a new sequence. */
  RestartEscape = 2,
  EnterCsi = 3,
  EnterOsc = 4,
  EnterControlString = 5,
  /** A 2-byte escape (ESC + 0x30–0x7E) or an nF escape (ESC 0x20–0x2F … 0x30–0x7E) is complete. */
  DispatchEscape = 6,
  CollectEscapeIntermediate = 7,
  /** The byte cannot continue the sequence: drop the sequence and reprocess the byte in ground. */
  AbortAndReprocess = 8,
  CollectParam = 9,
  CollectIntermediate = 10,
  DispatchCsi = 11,
  /** A payload byte of an OSC or control string (buffered up to a cap, then counted only). */
  Payload = 12,
  /** BEL ends an OSC string. */
  EndStringBel = 13,
  /** ESC ends a string and starts a new escape (so ESC \ — ST — ends it cleanly). */
  EndStringEscape = 14,
}

export const ESC = 0x1b
export const BEL = 0x07
export const LF = 0x0a
export const CR = 0x0d

function build(): Uint8Array {
  const table = new Uint8Array(7 * 256)
  const set = (state: State, from: number, to: number, action: Action, next: State): void => {
    for (let b = from; b <= to; b++) table[(state << 8) | b] = (action << 4) | next
  }

  // Ground: everything is text except ESC. 8-bit C1 bytes are not controls: they are UTF-8.
  set(State.Ground, 0x00, 0xff, Action.Print, State.Ground)
  set(State.Ground, ESC, ESC, Action.BeginEscape, State.Escape)

  // Escape: the byte after ESC decides the sequence family.
  set(State.Escape, 0x00, 0xff, Action.AbortAndReprocess, State.Ground) // C0, DEL, ≥0x80
  set(State.Escape, 0x20, 0x2f, Action.CollectEscapeIntermediate, State.EscapeIntermediate)
  set(State.Escape, 0x30, 0x7e, Action.DispatchEscape, State.Ground)
  set(State.Escape, 0x5b, 0x5b, Action.EnterCsi, State.CsiParam) // [
  set(State.Escape, 0x5d, 0x5d, Action.EnterOsc, State.OscString) // ]
  for (const b of [0x50, 0x58, 0x5e, 0x5f]) set(State.Escape, b, b, Action.EnterControlString, State.ControlString) // P X ^ _
  set(State.Escape, ESC, ESC, Action.RestartEscape, State.Escape)

  // nF escapes such as ESC ( B.
  set(State.EscapeIntermediate, 0x00, 0xff, Action.AbortAndReprocess, State.Ground)
  set(State.EscapeIntermediate, 0x20, 0x2f, Action.CollectEscapeIntermediate, State.EscapeIntermediate)
  set(State.EscapeIntermediate, 0x30, 0x7e, Action.DispatchEscape, State.Ground)

  // CSI: parameters, then intermediates, then one final byte. Anything else aborts (fixes Q3, Q4).
  set(State.CsiParam, 0x00, 0xff, Action.AbortAndReprocess, State.Ground)
  set(State.CsiParam, 0x30, 0x3f, Action.CollectParam, State.CsiParam)
  set(State.CsiParam, 0x20, 0x2f, Action.CollectIntermediate, State.CsiIntermediate)
  set(State.CsiParam, 0x40, 0x7e, Action.DispatchCsi, State.Ground)
  set(State.CsiIntermediate, 0x00, 0xff, Action.AbortAndReprocess, State.Ground)
  set(State.CsiIntermediate, 0x20, 0x2f, Action.CollectIntermediate, State.CsiIntermediate)
  set(State.CsiIntermediate, 0x40, 0x7e, Action.DispatchCsi, State.Ground)

  // Strings: BEL ends an OSC, ESC ends any string, LF aborts (D-2) so a truncated title cannot
  // swallow the rest of the log.
  for (const state of [State.OscString, State.ControlString]) {
    set(state, 0x00, 0xff, Action.Payload, state)
    set(state, ESC, ESC, Action.EndStringEscape, State.Escape)
    set(state, LF, LF, Action.AbortAndReprocess, State.Ground)
  }
  set(State.OscString, BEL, BEL, Action.EndStringBel, State.Ground)
  return table
}

export const TRANSITIONS: Uint8Array = build()
