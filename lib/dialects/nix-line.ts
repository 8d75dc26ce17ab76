/**
 * `@nix` lines inside build logs (spec §5.1/§5.2): is a (CR-processed, LF-less) build-log line a
 * structural `@nix` message, and which one?
 *
 * A line is a *candidate* iff its bytes start with exactly `@nix ` (40 6E 69 78 20, case-sensitive,
 * column 0; J16–J18 are plain text). The rest must be exactly one JSON value (surrounding
 * whitespace allowed, J22). {@link classifyNixLine} returns `null` for every line that must be
 * shown as an ordinary text line, and a {@link NixLine} for every line that Nix handles (and that
 * is therefore not rendered as text).
 *
 * The decision follows Nix's handling of *untrusted* builders (NixOS/nix 88b09c64
 * `handleJSONLogMessage`, logging.cc), i.e. what Nix itself would swallow, with one normative
 * tightening from the spec table (§5.2 last row): a `start`/`result` whose `fields` contains a value
 * that is neither a string nor an unsigned integer is an ordinary line (J23), whatever its type.
 *
 * | action | handled when | else |
 * |---|---|---|
 * | not an object / `action` missing or not a string | — | ordinary (J10 J12 J13 J14) |
 * | `setPhase` | `phase` is a string (extra keys ignored) | ordinary (J15 J21) |
 * | `msg` | `msg` is a string and `level` a number | ordinary |
 * | `start` | `type` is a number; for type 101 (the only type Nix acts on for untrusted builders) also `id`/`level` numbers and `text` a string | ordinary |
 * | `stop` | `id` is a number | ordinary |
 * | `result` | always (Nix reads nothing of it from untrusted builders) | — |
 * | any other string | always: `{kind:'unknown'}` (J09) | — |
 *
 * `fields` must be absent, `null` or an array of strings / unsigned integers (else ordinary).
 * Handled `start`/`result` lines whose typed values are incomplete (e.g. a type-105 start without
 * `id`, which Nix swallows without reading it) come back as `{kind:'unknown', action}`: swallowed,
 * but with nothing to act on.
 *
 * Typing: ids (`id`, `parent`) are exact decimal strings (64-bit safe, §6.3); `parent` absent → "0".
 * `level` is truncated to an integer (Nix casts it to the Verbosity enum). Big unsigned fields
 * (> 2^53) come back as decimal strings, indistinguishable from string fields.
 *
 * Known leniencies versus nlohmann::json / Nix (all harmless for real producers): a JSON *string*
 * of digits is accepted where Nix wants a number id (`"id":"7"`); a big negative integer inside
 * `fields` passes as a string; invalid UTF-8 inside strings decodes to U+FFFD where nlohmann
 * rejects the whole line as bad JSON.
 */

import { asBuffer } from '../bytes.js'
import { JSON_FAIL, isJsonObject, isJsonSpace, tryParseNixJson } from './nix-json.js'
import type { JsonObject, JsonValue } from './nix-json.js'

/** One element of a `fields` array: a string or an unsigned integer (unsafe integers as decimal strings). */
export type NixField = string | number

export interface NixSetPhaseLine {
  kind: 'setPhase'
  phase: string
}
export interface NixMsgLine {
  kind: 'msg'
  level: number
  msg: string
  /** `raw_msg` when present (error-info messages; lacks the `error:` prefix). */
  raw?: string
  file?: string | null
  line?: number | null
  column?: number | null
}
export interface NixStartLine {
  kind: 'start'
  id: string
  /** "0" when absent (Nix < 2.18). */
  parent: string
  type: number
  level: number
  text: string
  fields: NixField[]
}
export interface NixStopLine {
  kind: 'stop'
  id: string
}
export interface NixResultLine {
  kind: 'result'
  id: string
  type: number
  fields: NixField[]
}
export interface NixUnknownLine {
  kind: 'unknown'
  action: string
}
export type NixLine = NixSetPhaseLine | NixMsgLine | NixStartLine | NixStopLine | NixResultLine | NixUnknownLine

/** True iff `buf[start, end)` begins with exactly the 5 bytes `@nix `. */
export function isNixCandidate(buf: Uint8Array, start: number, end: number): boolean {
  return (
    end - start >= 5 &&
    buf[start] === 0x40 &&
    buf[start + 1] === 0x6e &&
    buf[start + 2] === 0x69 &&
    buf[start + 3] === 0x78 &&
    buf[start + 4] === 0x20
  )
}

/** Sentinel for "fields not valid" (distinct from "absent"). */
const BAD_FIELDS = null

/**
 * Validate a `fields` value: absent/null → [], array of strings / unsigned integers → copy, anything
 * else → null. Integers that the JSON parser returned as strings (unsafe) are accepted as-is.
 */
export function toNixFields(v: JsonValue | undefined): NixField[] | null {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) return BAD_FIELDS
  for (let i = 0; i < v.length; i++) {
    const f = v[i]
    if (typeof f === 'string') continue
    if (typeof f === 'number' && Number.isInteger(f) && f >= 0 && !Object.is(f, -0)) continue
    return BAD_FIELDS
  }
  return v as NixField[]
}

/** An activity id: an integer (the JSON parser returns integers under `id`/`parent` as decimal strings). */
export function toNixId(v: JsonValue | undefined): string | null {
  if (typeof v === 'string') return isDecimalInteger(v) ? v : null
  if (typeof v === 'number' && Number.isFinite(v)) return String(Math.trunc(v))
  return null
}

function isDecimalInteger(s: string): boolean {
  const n = s.length
  if (n === 0) return false
  let i = s.charCodeAt(0) === 0x2d ? 1 : 0
  if (i === n) return false
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

function toLevel(v: JsonValue | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null
}

/**
 * Classify one build-log line `buf[start, end)` (no LF; CR processing already applied, §4).
 * Returns `null` for an ordinary text line, else the handled message.
 */
export function classifyNixLine(buf: Uint8Array, start: number, end: number): NixLine | null {
  if (!isNixCandidate(buf, start, end)) return null
  const phase = writtenSetPhase(buf, start + 5, end)
  if (phase !== null) return { kind: 'setPhase', phase }
  const v = tryParseNixJson(buf, start + 5, end)
  if (v === JSON_FAIL || !isJsonObject(v)) return null
  return classifyNixObject(v)
}

/** The two spellings of setPhase real logs hold (§5.3), up to the opening quote of the phase name. */
const SET_PHASE_SPACED = Buffer.from('{ "action": "setPhase", "phase": "', 'latin1')
const SET_PHASE_COMPACT = Buffer.from('{"action":"setPhase","phase":"', 'latin1')

/**
 * The phase name of `buf[start, end)` (the text after `@nix `) when it is setPhase exactly as
 * stdenv or Nix writes it, with a name of printable ASCII that needs no unescaping; null leaves the
 * line to the parser, which gives the same answer for every line this accepts (test/nix-line.test.ts).
 * It spares phase lines the general parser: ~5 % of a modern log's decoding (bench/RESULTS.md).
 */
function writtenSetPhase(buf: Uint8Array, start: number, end: number): string | null {
  const spelling = buf[start + 1] === 0x20 ? SET_PHASE_SPACED : SET_PHASE_COMPACT
  let at = start + spelling.length
  if (at >= end) return null
  // (its own loop: bytes.ts's startsWithBytes reads line texts, views of another class, and
  // sharing it measured 0.5–1 % more instructions on the modern corpus)
  for (let k = 0; k < spelling.length; k++) if (buf[start + k] !== spelling[k]) return null
  const nameStart = at
  for (; at < end; at++) {
    const c = buf[at]!
    if (c === 0x22 || c === 0x5c || c < 0x20 || c > 0x7e) break
  }
  if (at === end || buf[at] !== 0x22) return null
  const nameEnd = at
  at++
  while (at < end && isJsonSpace(buf[at])) at++
  if (at === end || buf[at] !== 0x7d) return null
  at++
  while (at < end && isJsonSpace(buf[at])) at++
  return at === end ? asBuffer(buf).toString('latin1', nameStart, nameEnd) : null
}

/** The §5.2 decision on an already parsed JSON value (exported for reuse and tests). */
export function classifyNixObject(o: JsonObject): NixLine | null {
  const action = o['action']
  if (typeof action !== 'string') return null
  switch (action) {
    case 'setPhase': {
      const phase = o['phase']
      return typeof phase === 'string' ? { kind: 'setPhase', phase } : null
    }
    case 'msg': {
      const msg = o['msg']
      const level = toLevel(o['level'])
      if (typeof msg !== 'string' || level === null) return null
      const out: NixMsgLine = { kind: 'msg', level, msg }
      const raw = o['raw_msg']
      if (typeof raw === 'string') out.raw = raw
      if ('file' in o) {
        const f = o['file']
        out.file = typeof f === 'string' ? f : null
      }
      if ('line' in o) {
        const l = o['line']
        out.line = typeof l === 'number' ? l : null
      }
      if ('column' in o) {
        const c = o['column']
        out.column = typeof c === 'number' ? c : null
      }
      return out
    }
    case 'start': {
      const type = o['type']
      if (typeof type !== 'number') return null
      const fields = toNixFields(o['fields'])
      if (fields === null) return null
      const id = toNixId(o['id'])
      const level = toLevel(o['level'])
      const text = o['text']
      const typed = id !== null && level !== null && typeof text === 'string'
      if (!typed) {
        // Nix reads id/level/text only for file transfers (101) from untrusted builders.
        return Math.trunc(type) === 101 ? null : { kind: 'unknown', action }
      }
      const parentRaw = o['parent']
      const parent = parentRaw === undefined || parentRaw === null ? '0' : toNixId(parentRaw)
      if (parent === null) return { kind: 'unknown', action }
      return { kind: 'start', id, parent, type: Math.trunc(type), level, text, fields }
    }
    case 'stop': {
      const id = toNixId(o['id'])
      return id === null ? null : { kind: 'stop', id }
    }
    case 'result': {
      const fields = toNixFields(o['fields'])
      if (fields === null) return null
      const id = toNixId(o['id'])
      const type = o['type']
      if (id === null || typeof type !== 'number') return { kind: 'unknown', action }
      return { kind: 'result', id, type: Math.trunc(type), fields }
    }
    default:
      return { kind: 'unknown', action }
  }
}
