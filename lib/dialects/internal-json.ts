/**
 * The internal-json container dialect (spec §6): `nix … --log-format internal-json` (every line
 * `@nix {…}`) and the `json-log-path` framing (the same JSON without the prefix).
 *
 * Pieces:
 * - {@link parseInternalJsonLine}: one line → a typed {@link InternalJsonMessage}, or `null` for a
 *   plain text line (no JSON object / no string `action` / missing required keys). Ids are exact
 *   decimal strings (64-bit safe, §6.3). A hand-written fast path matches Nix's compact sorted-key
 *   layout byte by byte; anything else goes through the general parser (`nix-json.ts`), so the fast
 *   path changes speed only, never results.
 * - {@link ActivityTree}: consumes messages in stream order and emits `lib/events.ts` events.
 * - {@link InternalJsonDecoder}: a chunked byte-stream front end (LF splitting + ActivityTree).
 *   Its hot path ({@link ActivityTree.feedLines}) takes the commonest line, a build-log line in
 *   Nix's own layout, without a string or an allocation: the payload is decoded to bytes inside a
 *   private copy of the chunk, and consecutive lines of one activity reach its decoder as one
 *   write. Every other line, and every line the hot path is unsure of, takes the path above.
 *
 * ## Event design: live, with explicit ownership
 *
 * Events follow the ownership model of `lib/events.ts`: every `open` names its `parent`, every
 * `line` its `section`. Activities are emitted *live*: a section opens when its activity starts
 * and closes when it stops, so concurrent activities (parallel builds, downloads) are open at the
 * same time and close in any order, while the sections *inside* one activity (phases, the
 * decoder's legacy nests) open and close LIFO. Nothing is buffered: memory is O(running
 * activities) (plus a 64-entry offset ring per activity decoder), independent of the log size,
 * and Nix's messages appear the moment they arrive. Every open gets exactly one close (at stop,
 * or at end of input).
 *
 * ## Mapping (spec §6.5)
 * - start → section kind `'build'` (type 105) or `'activity'`; title = `text` (when empty: type
 *   name + first field); attrs `{activityType, activityId, level, group, typeName, drv, machine
 *   (105) | uri (101) | path/from/to (100) | path/substituter (108, 109) | path (110, 113)}`.
 *   priority 1 for level ≤ 3 (Info), else 3 (unimportant). `parent` = section of the `parent`
 *   activity when non-zero and running, else 0 (root).
 * - D-18 grouping fallback: reordering root children is the tree's job; every activity carries
 *   `attrs.group` = `'builds'` (105) | `'transfers'` (100, 101, 108, 109) | `'other'`.
 * - Types 0/102/103/104 with empty text are hidden: no section. Their progress (105/106) goes out
 *   as `status` events with `id: 0` (root/global) and attrs `activityId`/`activityType`. A hidden
 *   activity that receives log lines or a phase opens its section at that moment. Children of a
 *   hidden activity hang under its nearest visible ancestor.
 * - result 101/107 → `payload + "\n"` into the activity's own build-log decoder (from the injected
 *   {@link LineDecoderFactory}, created lazily, one per activity, never shared). Its events get
 *   section ids and line indexes from the shared DecodeContext (renumbered as they pass, so they
 *   stay unique and in stream order whatever context the decoder used), `parent` / `section` =
 *   the activity's innermost open section, and `offset`/`end` mapped back from the decoder's own
 *   byte positions to the raw JSON line(s) the bytes came from.
 * - result 104 → a phase section: it closes the current phase (and whatever opened inside it) and
 *   opens the next inside the innermost open section (§5.4, as `BuildLogDecoder` does). The last
 *   phase closes with the activity, with the activity's status. Preamble: implicit, as in
 *   `BuildLogDecoder` — lines before the first phase are direct children of the build section (a
 *   live stream cannot wrap lines already emitted; a tree view may present them as the preamble).
 *   D-17: the build-log decoder holds a `Running phase: P` line back; when it is released as the
 *   first line after our phase P opened, it becomes that phase's head.
 * - result 105 → `status` `{done, expected, running, failed}`; 106 → `{"expected.<type>": n}`;
 *   100 (cumulative `bytesLinked`/`blocksLinked`), 102, 103, 108, 109 and unknown result types →
 *   status attrs. Identical repeated 105/106/108 updates are suppressed. Never errors.
 * - result on an unknown id → a root-level `'orphan results'` section (attrs `orphans: true`,
 *   opened at the first orphan, closed at end of input) holding one section per unknown id (attrs
 *   `orphan: true`; its lines, phases and status), plus one `orphan-result` diagnostic per unknown
 *   id (`line` = 1-based input line number).
 * - stop → close with status `'ok'` (or `'failed'`). At end of input running activities close with
 *   `'interrupted'` (or `'failed'`), latest-started first.
 * - msg → root-level line events (`section: 0`; text split at LF, each piece one line with the
 *   same flags; `level` set; level 0 error, 1 warning; priority as above). SGR becomes `styles`,
 *   other escapes are stripped ({@link stripAndStyle}). D-19: an Error msg containing `builder for
 *   '<drv>' failed` or `Cannot build '<drv>'.` (after stripping SGR) marks the build whose
 *   `fields[0]` is `<drv>` failed: a `status {failed: true}` for the build and its current phase,
 *   and close status `'failed'` for both. If the build already stopped, the status goes to its
 *   closed section (the last 4096 finished builds are remembered).
 * - Plain text lines (no JSON) go to the root through a root-level build-log decoder from the same
 *   factory (offsets map exactly).
 */

import { Buffer } from 'node:buffer'
import { DecodeContext } from './context.js'
import type { EventSink, LineEvent, LogEvent, SectionCloseEvent, SectionOpenEvent, StyleMark } from '../events.js'
import { JSON_FAIL, isJsonObject, lastPrefixEnd, tryParseNixJson, tryParseNixJsonPrefix } from './nix-json.js'
import type { JsonObject, JsonValue } from './nix-json.js'
import { isNixCandidate, toNixId } from './nix-line.js'
import { loadNativePassThrough, NATIVE_MIN_CHUNK, nativePassThroughTried, RESULT_RECORD, ResultLine, type NativePassThrough } from './native-pass-through.js'
import { Tokenizer } from '../tokenizer/tokenizer.js'
import { asBuffer } from '../bytes.js'
import { ByteLiteral, decodeStringInPlace, escapedStringEnd, plainBytes, plainRun, sawNonAscii } from './json-bytes.js'
import type { NixField, NixMsgLine, NixResultLine, NixStartLine, NixStopLine } from './nix-line.js'

// ---------------------------------------------------------------------------------------------
// Messages

/** The same messages as `@nix` lines in build logs carry (nix-line.ts), tagged by `action`. */
type AsAction<T extends { kind: string }, A extends string> = Omit<T, 'kind'> & { action: A }
export type InternalJsonMsg = AsAction<NixMsgLine, 'msg'>
export type InternalJsonStart = AsAction<NixStartLine, 'start'>
export type InternalJsonStop = AsAction<NixStopLine, 'stop'>
export type InternalJsonResult = AsAction<NixResultLine, 'result'>
/** A JSON object with a string `action` that is not one of the four: ignored (forward compatibility). */
export interface InternalJsonUnknown {
  action: 'unknown'
  name: string
}
export type InternalJsonMessage =
  | InternalJsonMsg
  | InternalJsonStart
  | InternalJsonStop
  | InternalJsonResult
  | InternalJsonUnknown

function looseFields(v: JsonValue | undefined): NixField[] {
  if (!Array.isArray(v)) return []
  for (let i = 0; i < v.length; i++) {
    const t = typeof v[i]
    if (t !== 'string' && t !== 'number') {
      return v.map((x) => (typeof x === 'string' || typeof x === 'number' ? x : JSON.stringify(x)))
    }
  }
  return v as NixField[]
}

function num(v: JsonValue | undefined, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : dflt
}

/** Typed view of a parsed internal-json object; `null` when it is not a usable message. */
export function internalJsonMessageFromObject(o: JsonObject): InternalJsonMessage | null {
  const action = o['action']
  switch (action) {
    case 'result': {
      const id = toNixId(o['id'])
      const type = o['type']
      if (id === null || typeof type !== 'number') return null
      return { action, id, type: Math.trunc(type), fields: looseFields(o['fields']) }
    }
    case 'msg': {
      const msg = o['msg']
      const level = o['level']
      if (typeof msg !== 'string' || typeof level !== 'number' || !Number.isFinite(level)) return null
      const m: InternalJsonMsg = { action, level: Math.trunc(level), msg }
      const raw = o['raw_msg']
      if (typeof raw === 'string') m.raw = raw
      if ('file' in o) m.file = typeof o['file'] === 'string' ? (o['file'] as string) : null
      if ('line' in o) m.line = typeof o['line'] === 'number' ? (o['line'] as number) : null
      if ('column' in o) m.column = typeof o['column'] === 'number' ? (o['column'] as number) : null
      return m
    }
    case 'start': {
      const id = toNixId(o['id'])
      if (id === null) return null
      const p = o['parent']
      const parent = p === undefined || p === null ? '0' : (toNixId(p) ?? '0')
      const text = o['text']
      return {
        action,
        id,
        parent,
        type: num(o['type'], 0),
        level: num(o['level'], 0),
        text: typeof text === 'string' ? text : '',
        fields: looseFields(o['fields']),
      }
    }
    case 'stop': {
      const id = toNixId(o['id'])
      return id === null ? null : { action, id }
    }
    default:
      return typeof action === 'string' ? { action: 'unknown', name: action } : null
  }
}

// ---------------------------------------------------------------------------------------------
// Fast path for Nix's own compact, sorted-key layout (§6.1). Anything else (other key orders,
// spaces, error-info msgs, unknown keys, escapes in ids…) falls back to the general parser, so
// the fast path only changes speed, never results.

interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
}

function fastBuffer(u: Uint8Array): FastBuffer {
  return asBuffer(u) as FastBuffer
}

const enc = (t: string): Uint8Array => new Uint8Array(Buffer.from(t, 'latin1'))
const L_ACTION = enc('{"action":"')
const L_RESULT = enc('result",')
const L_START = enc('start",')
const L_STOP = enc('stop","id":')
const L_MSG = enc('msg","level":')
const L_FIELDS = enc('"fields":')
const L_ID = enc('"id":')
const L_TYPE = enc(',"type":')
const L_LEVEL = enc(',"level":')
const L_PARENT = enc('"parent":')
const L_TEXT = enc('"text":')
const L_MSGKEY = enc(',"msg":')

/** Scratch state filled by {@link fastScan} (not re-entrant; synchronous use only). */
const sc = {
  action: '' as '' | 'result' | 'start' | 'stop' | 'msg',
  id: '',
  parent: '0',
  type: 0,
  level: 0,
  text: '',
  /** Parsed fields, or null when the fields were a single unescaped string at [payStart, payEnd). */
  fields: [] as NixField[] | null,
  payStart: 0,
  payEnd: 0,
  payAscii: true,
}

const NO_FIELDS: NixField[] = []

/** `l` at `b[i]`: the index after it, or -1. */
function lit(b: FastBuffer, i: number, e: number, l: Uint8Array): number {
  const n = l.length
  if (i + n > e) return -1
  for (let k = 0; k < n; k++) if (b[i + k] !== l[k]) return -1
  return i + n
}

/** Integer results of {@link smallInt}. */
let outInt = 0

/** A small non-negative integer (≤ 9 digits) at `b[i]` into `outInt`: the index after it, or -1. */
function smallInt(b: FastBuffer, i: number, e: number): number {
  const d = i
  let v = 0
  while (i < e) {
    const c = b[i]!
    if (c < 0x30 || c > 0x39) break
    if (i - d === 9) return -1
    v = v * 10 + (c - 0x30)
    i++
  }
  // JSON has no leading zeros: `01` is broken JSON, which the general parser rejects.
  if (i === d || (b[d] === 0x30 && i - d > 1)) return -1
  if (i < e) {
    const c = b[i]
    if (c === 0x2e || c === 0x65 || c === 0x45) return -1
  }
  outInt = v
  return i
}

/** Recently seen id texts (direct-mapped by a digit hash), so that hot ids are not re-sliced. */
const ID_CACHE_SIZE = 16
const idCacheBytes: Array<Uint8Array | undefined> = new Array(ID_CACHE_SIZE)
const idCacheText: string[] = new Array<string>(ID_CACHE_SIZE).fill('')
let outId = ''

/** An id (integer literal) at `b[i]` into `outId` (exact text): the index after it, or -1. */
function idText(b: FastBuffer, i: number, e: number): number {
  const s = i
  if (i < e && b[i] === 0x2d) i++
  const d = i
  let h = 0
  while (i < e) {
    const c = b[i]!
    if (c < 0x30 || c > 0x39) break
    h = (h * 31 + c) | 0
    i++
  }
  const n = i - s
  if (i === d || n > 21 || (b[d] === 0x30 && i - d > 1)) return -1
  if (i < e) {
    const c = b[i]
    if (c === 0x2e || c === 0x65 || c === 0x45) return -1
  }
  const k = (h ^ (h >>> 7)) & (ID_CACHE_SIZE - 1)
  const cb = idCacheBytes[k]
  if (cb !== undefined && cb.length === n) {
    let j = n - 1
    while (j >= 0 && cb[j] === b[s + j]) j--
    if (j < 0) {
      outId = idCacheText[k]!
      return i
    }
  }
  const text = b.latin1Slice(s, i)
  idCacheBytes[k] = new Uint8Array(b.subarray(s, i)) // a copy
  idCacheText[k] = text
  outId = text
  return i
}

/** `fields` value at `b[i]` into sc.fields (null for a raw single-string payload): index after, or -1. */
function fieldsValue(b: FastBuffer, i: number, e: number): number {
  if (i + 1 < e && b[i] === 0x5b) {
    if (b[i + 1] === 0x22) {
      // ["…"]: raw bytes when unescaped.
      const j = plainBytes(b, i + 2, e)
      const ascii = !sawNonAscii
      if (j + 1 < e && b[j] === 0x22 && b[j + 1] === 0x5d) {
        sc.fields = null
        sc.payStart = i + 2
        sc.payEnd = j
        sc.payAscii = ascii
        return j + 2
      }
    }
    const j = plainFields(b, i + 1, e)
    if (j >= 0) return j
  }
  const v = tryParseNixJsonPrefix(b, i, e, 'fields')
  if (v === JSON_FAIL || !Array.isArray(v)) return -1
  sc.fields = looseFields(v)
  return lastPrefixEnd()
}

/**
 * The elements and `]` of a `fields` array at `b[i]` into sc.fields when each is an unescaped
 * string or a small unsigned integer (start lines: `["/nix/store/…drv","",1,1]`), converted as
 * the general parser converts them; the index after the array, or -1.
 */
function plainFields(b: FastBuffer, i: number, e: number): number {
  const fields: NixField[] = []
  if (i < e && b[i] === 0x5d) {
    sc.fields = fields
    return i + 1
  }
  for (;;) {
    if (i >= e) return -1
    if (b[i] === 0x22) {
      const j = plainBytes(b, i + 1, e)
      const ascii = !sawNonAscii
      if (j >= e || b[j] !== 0x22) return -1
      fields.push(ascii ? b.latin1Slice(i + 1, j) : b.utf8Slice(i + 1, j))
      i = j + 1
    } else {
      i = smallInt(b, i, e)
      if (i < 0) return -1
      fields.push(outInt)
    }
    const c = b[i]
    if (c === 0x2c) {
      i++
      continue
    }
    if (c !== 0x5d) return -1
    sc.fields = fields
    return i + 1
  }
}

let outStr = ''

/** A JSON string at `b[i]` into `outStr`: the index after it, or -1. */
function stringValue(b: FastBuffer, i: number, e: number): number {
  if (i >= e || b[i] !== 0x22) return -1
  // Fast path: no escapes.
  const j = plainBytes(b, i + 1, e)
  const ascii = !sawNonAscii
  if (j < e && b[j] === 0x22) {
    outStr = ascii ? b.latin1Slice(i + 1, j) : b.utf8Slice(i + 1, j)
    return j + 1
  }
  const v = tryParseNixJsonPrefix(b, i, e, null)
  if (typeof v !== 'string') return -1
  outStr = v
  return lastPrefixEnd()
}

/** `}` then only whitespace up to `e`. */
function closeObject(b: FastBuffer, i: number, e: number): boolean {
  if (i < 0 || i >= e || b[i] !== 0x7d) return false
  i++
  while (i < e) {
    const c = b[i]
    if (c !== 0x20 && c !== 0x0d && c !== 0x09 && c !== 0x0a) return false
    i++
  }
  return true
}

/** `"fields":[…],` (optional, keys are sorted) then `"id":N`; the index after the id, or -1. */
function fieldsThenId(b: FastBuffer, i: number, e: number): number {
  sc.fields = NO_FIELDS
  const j = lit(b, i, e, L_FIELDS)
  if (j >= 0) {
    i = fieldsValue(b, j, e)
    if (i < 0 || b[i] !== 0x2c) return -1
    i++
  }
  i = lit(b, i, e, L_ID)
  if (i < 0) return -1
  i = idText(b, i, e)
  if (i < 0) return -1
  sc.id = outId
  return i
}

/** Try the compact layouts; true when `sc` describes the whole line `b[s, e)`. */
function fastScan(b: FastBuffer, s: number, e: number): boolean {
  let i = lit(b, s, e, L_ACTION)
  if (i < 0) return false
  const c = b[i]
  if (c === 0x72) {
    i = lit(b, i, e, L_RESULT)
    if (i < 0) return false
    sc.action = 'result'
    i = fieldsThenId(b, i, e)
    if (i < 0) return false
    i = lit(b, i, e, L_TYPE)
    if (i < 0) return false
    i = smallInt(b, i, e)
    if (i < 0) return false
    sc.type = outInt
    return closeObject(b, i, e)
  }
  if (c === 0x73) {
    const j = lit(b, i, e, L_STOP)
    if (j >= 0) {
      sc.action = 'stop'
      i = idText(b, j, e)
      if (i < 0) return false
      sc.id = outId
      return closeObject(b, i, e)
    }
    i = lit(b, i, e, L_START)
    if (i < 0) return false
    sc.action = 'start'
    i = fieldsThenId(b, i, e)
    if (i < 0) return false
    i = lit(b, i, e, L_LEVEL)
    if (i < 0) return false
    i = smallInt(b, i, e)
    if (i < 0 || b[i] !== 0x2c) return false
    sc.level = outInt
    i++
    sc.parent = '0'
    const p = lit(b, i, e, L_PARENT)
    if (p >= 0) {
      i = idText(b, p, e)
      if (i < 0 || b[i] !== 0x2c) return false
      sc.parent = outId
      i++
    }
    i = lit(b, i, e, L_TEXT)
    if (i < 0) return false
    i = stringValue(b, i, e)
    if (i < 0) return false
    sc.text = outStr
    i = lit(b, i, e, L_TYPE)
    if (i < 0) return false
    i = smallInt(b, i, e)
    if (i < 0) return false
    sc.type = outInt
    return closeObject(b, i, e)
  }
  if (c === 0x6d) {
    i = lit(b, i, e, L_MSG)
    if (i < 0) return false
    sc.action = 'msg'
    i = smallInt(b, i, e)
    if (i < 0) return false
    sc.level = outInt
    i = lit(b, i, e, L_MSGKEY)
    if (i < 0) return false
    i = stringValue(b, i, e)
    if (i < 0) return false
    sc.text = outStr
    return closeObject(b, i, e)
  }
  return false
}

/** `{"action":"result","fields":["`: the start of a build-log line's JSON. */
const RESULT_LINE = new ByteLiteral('{"action":"result","fields":["')
/** What follows a build-log line's payload, up to its id. */
const ID_AFTER_PAYLOAD = new ByteLiteral('"],"id":')
/** `101}` and `107}` as little-endian words: the type of a build-log line and the object's end. */
const TYPE_101_END = new DataView(enc('101}').buffer).getInt32(0, true)
const TYPE_107_END = new DataView(enc('107}').buffer).getInt32(0, true)

function scFields(b: FastBuffer): NixField[] {
  if (sc.fields === NO_FIELDS) return []
  if (sc.fields !== null) return sc.fields
  return [sc.payAscii ? b.latin1Slice(sc.payStart, sc.payEnd) : b.utf8Slice(sc.payStart, sc.payEnd)]
}

/** Build the message for a successful fast scan. */
function messageFromScan(b: FastBuffer): InternalJsonMessage {
  switch (sc.action) {
    case 'result':
      return { action: 'result', id: sc.id, type: sc.type, fields: scFields(b) }
    case 'stop':
      return { action: 'stop', id: sc.id }
    case 'msg':
      return { action: 'msg', level: sc.level, msg: sc.text }
    default:
      return {
        action: 'start',
        id: sc.id,
        parent: sc.parent,
        type: sc.type,
        level: sc.level,
        text: sc.text,
        fields: scFields(b),
      }
  }
}

/** Index after an optional `@nix ` prefix, or -1 when the line cannot be a JSON object. */
function jsonStart(buf: Uint8Array, start: number, end: number): number {
  const s = isNixCandidate(buf, start, end) ? start + 5 : start
  // Cheap rejection of plain text: the first non-blank byte must open an object.
  let i = s
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++
  return i < end && buf[i] === 0x7b ? i : -1
}

function slowParse(buf: Uint8Array, s: number, end: number): InternalJsonMessage | null {
  const v = tryParseNixJson(buf, s, end)
  if (v === JSON_FAIL || !isJsonObject(v)) return null
  return internalJsonMessageFromObject(v)
}

/**
 * Parse one internal-json line `buf[start, end)` (LF excluded; a trailing CR is JSON whitespace).
 * Accepts `@nix {…}` and the unprefixed `{…}` (json-log-path) framing. Returns `null` for a plain
 * text line.
 */
export function parseInternalJsonLine(buf: Uint8Array, start: number, end: number): InternalJsonMessage | null {
  const s = jsonStart(buf, start, end)
  if (s < 0) return null
  const b = fastBuffer(buf)
  if (fastScan(b, s, end)) return messageFromScan(b)
  return slowParse(b, s, end)
}

// ---------------------------------------------------------------------------------------------
// SGR / escape handling for msg text

export interface StyledText {
  /** The text with every escape sequence removed, UTF-8 encoded. */
  text: Buffer
  /** SGR sequences as style marks (`at` = byte index in `text`); absent when none. */
  styles?: StyleMark[]
}

/**
 * What {@link stripAndStyle} collects: the text bytes of one message line and its SGR marks. One
 * tokenizer serves every message (a message starts and ends in the ground state, and nothing here
 * depends on the tokenizer's running offset), so a coloured message costs no tokenizer set-up.
 */
const styled = {
  out: Buffer.allocUnsafe(256),
  length: 0,
  styles: undefined as StyleMark[] | undefined,
}

function keepText(buf: Uint8Array, start: number, end: number): void {
  const n = end - start
  if (styled.length + n > styled.out.length) {
    const grown = Buffer.allocUnsafe(Math.max(styled.out.length * 2, styled.length + n))
    styled.out.copy(grown, 0, 0, styled.length)
    styled.out = grown
  }
  styled.out.set(buf.subarray(start, end), styled.length)
  styled.length += n
}

const messageTokenizer = new Tokenizer({
  text: keepText,
  csi(seq) {
    if (seq.isSgr()) (styled.styles ??= []).push({ at: styled.length, params: seq.paramText() })
  },
  dropped() {},
  chunkEnd() {},
})

/**
 * Strip escape sequences from one line of message text, keeping SGR as {@link StyleMark}s. The
 * project tokenizer decides what an escape is, as it does for every other face.
 */
export function stripAndStyle(text: string): StyledText {
  if (text.indexOf('\x1b') < 0) return { text: Buffer.from(text, 'utf8') }
  styled.length = 0
  styled.styles = undefined
  messageTokenizer.write(Buffer.from(text, 'utf8'))
  messageTokenizer.end()
  const res: StyledText = { text: Buffer.from(styled.out.subarray(0, styled.length)) }
  if (styled.styles) res.styles = styled.styles
  styled.styles = undefined
  return res
}

/** SGR-stripped plain text (for failure attribution matching). */
function plain(text: string): string {
  return text.indexOf('\x1b') < 0 ? text : stripAndStyle(text).text.toString('utf8')
}

// ---------------------------------------------------------------------------------------------
// Activity tree

/** A per-activity build-log decoder: bytes in, events out through the sink it was created with. */
export interface LineDecoder {
  write(bytes: Uint8Array): void
  end(): void
}

/**
 * Creates one build-log decoder per activity (and one for root-level plain text). Contract:
 * - call `sink` synchronously, in order; do not wrap the output in a build section of its own (the
 *   activity's section is the build);
 * - `ctx` is a private DecodeContext for this decoder (the factory may also make its own): the tree
 *   replaces every section id and line index the decoder assigns with ones from the shared context,
 *   and sets `parent`/`section` to the activity's innermost open section where the decoder says 0;
 * - offsets are positions in the decoder's own input (the bytes it was given, from 0); the tree
 *   maps them back to raw input offsets.
 * The bytes passed to `write` are valid only during the call (the tree reuses its buffers, as a
 * stream's caller may reuse its chunks): copy what you keep. A write may hold several complete
 * lines of the activity (consecutive build-log lines are batched). The event objects the decoder
 * emits are handed over: the tree rewrites them in place before passing them on.
 * Example: `(sink, ctx) => new BuildLogDecoder(sink, ctx)`.
 */
export interface LineDecoderFactory {
  (sink: EventSink, ctx: DecodeContext): LineDecoder
}

export type ActivityStatus = 'ok' | 'failed' | 'running' | 'interrupted'

/** Activity type names (spec §6.4), for titles and attrs. */
export const ACTIVITY_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'unknown',
  100: 'copyPath',
  101: 'fileTransfer',
  102: 'realise',
  103: 'copyPaths',
  104: 'builds',
  105: 'build',
  106: 'optimiseStore',
  107: 'verifyPaths',
  108: 'substitute',
  109: 'queryPathInfo',
  110: 'postBuildHook',
  111: 'buildWaiting',
  112: 'fetchTree',
  113: 'fetchToStore',
}

const RING = 64
const RING_MASK = RING - 1
/** The most bytes {@link ActivityTree.feedLines} copies at a time. */
const WORK_WINDOW = 256 * 1024
const EMPTY_WORK = Buffer.alloc(0)
/** How many activities {@link ActivityTree.recentActAt} tries before reading an id as text. */
const RECENT_ACTS = 4
/** Most lines in one batched decoder write: well inside the offset ring (see {@link OffsetMap}). */
const MAX_BATCH = 32

/**
 * Maps positions in a line decoder's own input back to raw input offsets. Each fed line is one
 * entry; only the last {@link RING} lines are kept (decoders hold back at most a line or two).
 */
class OffsetMap {
  private readonly dec = new Float64Array(RING)
  private readonly raw0 = new Float64Array(RING)
  private readonly raw1 = new Float64Array(RING)
  /** 1 when the fed bytes are the raw bytes themselves (plain text), so offsets map exactly. */
  private readonly exact = new Uint8Array(RING)
  /** Lines added so far; line q (0-based) sits at q & RING_MASK while it is among the last RING. */
  private count = 0
  /** The line the last lookup found: events ask about positions in increasing order. */
  private hint = 0
  /** Bytes fed so far. */
  pos = 0
  /** Raw offset for events at or after the end of the fed bytes (set when the decoder is ended). */
  endOffset = -1

  add(len: number, rawStart: number, rawEnd: number, exact: boolean): void {
    const k = this.count & RING_MASK
    this.dec[k] = this.pos
    this.raw0[k] = rawStart
    this.raw1[k] = rawEnd
    this.exact[k] = exact ? 1 : 0
    this.pos += len
    this.count++
  }

  /** The ring slot of the newest kept line starting at or before `p` (the oldest kept if none). */
  private find(p: number): number {
    const count = this.count
    const oldest = count > RING ? count - RING : 0
    const dec = this.dec
    let q = this.hint
    if (q < oldest || q >= count) q = count - 1
    while (q > oldest && dec[q & RING_MASK]! > p) q--
    while (q + 1 < count && dec[(q + 1) & RING_MASK]! <= p) q++
    this.hint = q
    return q & RING_MASK
  }

  start(p: number): number {
    if (p >= this.pos && this.endOffset >= 0) return this.endOffset
    if (this.count === 0) return 0
    if (p >= this.pos) return this.raw1[(this.count - 1) & RING_MASK]!
    const k = this.find(p)
    return this.exact[k] ? Math.min(this.raw0[k]! + Math.max(0, p - this.dec[k]!), this.raw1[k]!) : this.raw0[k]!
  }

  end(p: number): number {
    if (p > this.pos && this.endOffset >= 0) return this.endOffset
    if (this.count === 0) return 0
    if (p >= this.pos) return this.raw1[(this.count - 1) & RING_MASK]!
    const k = this.find(p - 1)
    return this.exact[k] ? Math.min(this.raw0[k]! + Math.max(0, p - this.dec[k]!), this.raw1[k]!) : this.raw1[k]!
  }
}

interface StackEntry {
  id: number
  phase: boolean
}

/** An id the C scan reads as a number: 64 bits hold any of at most 19 digits. */
const PLAIN_ID = /^(?:0|[1-9][0-9]{0,18})$/

class Act {
  /** Section id; 0 while hidden. */
  section = 0
  /** Open sections inside the activity (phases and decoder sections), innermost last. */
  readonly stack: StackEntry[] = []
  decoder: LineDecoder | null = null
  offsets: OffsetMap | null = null
  /** Decoder section id → our section id, for the decoder's open sections. */
  readonly decIds = new Map<number, number>()
  failed = false
  done = false
  /** Set while the activity is being closed. */
  finalStatus: ActivityStatus | null = null
  /** The last phase opened, until its first line (D-17 header adoption). */
  freshPhase: string | null = null
  lastFields: Map<number | string, NixField[]> | null = null
  last105: NixField[] | null = null
  bytesLinked = 0
  blocksLinked = 0
  orphan = false
  /** `<id>,"type":`: how the activity's build-log lines end (set at its first batched line). */
  lineTail: ByteLiteral | null = null
  /**
   * The id's value in 32-bit halves when it is a plain number of at most 19 digits (their count,
   * else -1), for {@link ActivityTree.resultAct}; set with lineTail.
   */
  idLow = 0
  idHigh = 0
  idDigits = -1

  constructor(
    readonly id: string,
    readonly type: number,
    readonly level: number,
    readonly text: string,
    readonly fields: NixField[],
    /** Section of the nearest visible ancestor activity (0 = root). */
    readonly parentSection: number,
    public hidden: boolean,
    readonly offset: number,
  ) {}

  /** Sets lineTail and the id's value, once the activity has build-log lines. */
  noteLineTail(tail: string): void {
    if (this.lineTail !== null) return
    this.lineTail = new ByteLiteral(tail)
    if (PLAIN_ID.test(this.id)) {
      const value = BigInt(this.id)
      this.idLow = Number(value & 0xffffffffn) | 0
      this.idHigh = Number(value >> 32n) | 0
      this.idDigits = this.id.length
    }
  }

  /** Innermost open section of the activity. */
  top(): number {
    const s = this.stack
    return s.length > 0 ? s[s.length - 1]!.id : this.section
  }
}

function sameFields(a: NixField[], b: NixField[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** `expected.<type>` status keys, made once per activity type (106 results are frequent). */
const EXPECTED_KEYS = new Map<NixField, string>()

function expectedKey(type: NixField): string {
  let key = EXPECTED_KEYS.get(type)
  if (key === undefined) {
    key = `expected.${type}`
    if (EXPECTED_KEYS.size < 64) EXPECTED_KEYS.set(type, key)
  }
  return key
}

function groupOf(type: number): string {
  if (type === 105) return 'builds'
  if (type === 100 || type === 101 || type === 108 || type === 109) return 'transfers'
  return 'other'
}

const FAIL_RE_OLD = /builder for '([^']+)' failed/
const FAIL_RE_NEW = /Cannot build '([^']+)'\./
const RUNNING_PHASE = 'Running phase: '
/** Finished builds remembered for late failure attribution (D-19). */
const RECENT_BUILDS = 4096

/**
 * Consumes internal-json messages in stream order and emits `lib/events.ts` events live (see the
 * module header for the mapping).
 */
export class ActivityTree {
  private readonly sink: EventSink
  private readonly ctx: DecodeContext
  private readonly factory: LineDecoderFactory

  /** Running activities by id, in start order. */
  private readonly running = new Map<string, Act>()
  /** Running builds by drv path (D-19). */
  private readonly builds = new Map<string, Act>()
  /** Recently finished builds by drv path: their section ids (D-19 after stop). */
  private readonly finishedBuilds = new Map<string, number>()
  private bucket = 0
  private rootDecoder: LineDecoder | null = null
  private rootOffsets: OffsetMap | null = null
  private readonly rootIds = new Map<number, number>()
  private lineNo = 0
  private ended = false
  private lastEnd = 0
  /** Private copy of the chunk {@link feedLines} is working on (reused; never the caller's bytes). */
  private work: Buffer = EMPTY_WORK
  private workView: DataView = new DataView(EMPTY_WORK.buffer, EMPTY_WORK.byteOffset, 0)
  /**
   * The pending batch (see {@link feedLines}): build-log lines of `batchAct`, payload + LF each,
   * gathered at work[batchStart, batchEnd). Written to the activity's decoder as one chunk before
   * anything else happens, so the events and their order are those of line-by-line writes.
   */
  private batchAct: Act | null = null
  private batchLines = 0
  /** Activities whose build-log lines came last, latest first (see {@link recentActAt}). */
  private readonly recentActs: Act[] = []
  private batchStart = 0
  private batchEnd = 0
  /** Whether windows go through the C scan when the addon is there (see {@link feedScanned}). */
  private readonly nativeScan: boolean
  /** The C scan's records, RESULT_RECORD int32 each, for up to 512 lines a call. */
  private readonly records = new Int32Array(RESULT_RECORD * 512)

  constructor(sink: EventSink, ctx: DecodeContext, lineFactory: LineDecoderFactory, options: InternalJsonOptions = {}) {
    this.sink = sink
    this.ctx = ctx
    this.factory = lineFactory
    this.nativeScan = options.nativeScan ?? true
  }

  /**
   * Process the complete (LF-terminated) lines of `buf[start, end)`; `offset` is the absolute input
   * offset of `buf[start]`. Returns the index just after the last LF (where an unterminated rest
   * begins). The same events as {@link feedLine} per line, all delivered before this returns;
   * consecutive build-log lines of one activity reach its decoder as one write.
   *
   * The lines are read from a private copy of the range: build-log payloads are decoded and moved
   * together inside it (so a batch is one contiguous range, and no line costs an allocation),
   * never in the caller's bytes.
   */
  feedLines(buf: Uint8Array, start: number, end: number, offset: number): number {
    // In windows of at most WORK_WINDOW bytes, so that a huge chunk (a whole log in memory) is
    // not copied whole; a window ends at its last LF and the next starts there.
    let i = start
    while (i < end) {
      const n = Math.min(end - i, WORK_WINDOW)
      const done = this.feedWindow(buf, i, i + n, offset + (i - start))
      if (i + n >= end) return done
      if (done > i) {
        i = done
        continue
      }
      // A line longer than the window: the general path, straight from the caller's bytes.
      const nl = buf.indexOf(0x0a, i + n)
      if (nl < 0 || nl >= end) return i
      this.feedLine(buf, i, nl, offset + (i - start), true)
      i = nl + 1
    }
    return i
  }

  /** {@link feedLines} for a range of at most WORK_WINDOW bytes, on the private copy. */
  private feedWindow(buf: Uint8Array, start: number, end: number, offset: number): number {
    const n = end - start
    if (this.work.length < n) {
      this.work = Buffer.allocUnsafe(Math.min(WORK_WINDOW, Math.max(n, this.work.length * 2, 4096)))
      this.workView = new DataView(this.work.buffer, this.work.byteOffset, this.work.length)
    }
    const w = this.work as FastBuffer
    const v = this.workView
    w.set(start === 0 && end === buf.length ? buf : buf.subarray(start, end), 0)
    const scanner = this.scanner(n)
    const done = scanner === null ? this.feedEach(w, v, n, offset) : this.feedScanned(scanner, w, v, n, offset)
    this.flush()
    return start + done
  }

  /** The addon for {@link feedScanned}, or null (not wanted, not built, or not yet worth loading). */
  private scanner(n: number): NativePassThrough | null {
    if (!this.nativeScan) return null
    return n >= NATIVE_MIN_CHUNK || nativePassThroughTried() ? loadNativePassThrough() : null
  }

  /** The lines of `w[0, n)` one at a time; returns where the unterminated rest begins. */
  private feedEach(w: FastBuffer, v: DataView, n: number, offset: number): number {
    let i = 0
    while (i < n) {
      const lf = this.batchLine(w, v, i, n, offset + i)
      if (lf >= 0) {
        i = lf + 1
        continue
      }
      const nl = w.indexOf(0x0a, i)
      if (nl < 0 || nl >= n) break
      this.flush()
      this.feedLine(w, i, nl, offset + i, true)
      i = nl + 1
    }
    return i
  }

  /**
   * {@link feedEach} with the byte-level half of {@link batchLine} done in C for many lines per
   * call (native/scanners.c): the same events, the per-byte work at SSE2 speed.
   */
  private feedScanned(scanner: NativePassThrough, w: FastBuffer, v: DataView, n: number, offset: number): number {
    const records = this.records
    let i = 0
    for (;;) {
      const filled = scanner.scanResultLines(w, i, n, records)
      for (let r = 0; r < filled; r += RESULT_RECORD) {
        const kind = records[r] as ResultLine
        const s = records[r + 1]!
        const lf = records[r + 2]!
        if (kind === ResultLine.Raw || kind === ResultLine.Escaped) {
          const q = records[r + 4]!
          const act = this.resultAct(w, q + ID_AFTER_PAYLOAD.length, records[r + 5]!, records[r + 6]!, records[r + 7]!)
          if (act !== null) {
            this.appendResult(act, w, v, s, lf, records[r + 3]!, q, kind === ResultLine.Escaped, offset + s)
            continue
          }
        } else if (kind === ResultLine.Ask && this.batchLine(w, v, s, n, offset + s) >= 0) continue
        this.flush()
        this.feedLine(w, s, lf, offset + s, true)
      }
      if (filled > 0) i = records[filled - RESULT_RECORD + 2]! + 1
      if (filled < records.length) return i
    }
  }

  /**
   * The running, visible activity whose id is the plain number `w[is, idEnd)` (`low`, `high`: its
   * value's 32-bit halves), or null. One of the last few to have build-log lines, compared as
   * numbers (see {@link recentActAt}), or looked up by its text.
   */
  private resultAct(w: FastBuffer, is: number, idEnd: number, low: number, high: number): Act | null {
    const digits = idEnd - is
    const recent = this.recentActs
    for (let k = 0; k < recent.length; k++) {
      const act = recent[k]!
      if (!act.done && act.idLow === low && act.idHigh === high && act.idDigits === digits) return act
    }
    idText(w, is, idEnd)
    const act = this.running.get(outId)
    return act === undefined || act.hidden ? null : act
  }

  /**
   * The hot path: `@nix {"action":"result","fields":["…"],"id":N,"type":101}` (or 107, with or
   * without the prefix) for a running, visible activity, starting at `w[s]`, its LF before `lim`.
   * Appends the payload, decoded to bytes, plus LF to the batch (moving it within `w`, over bytes
   * of lines already read) and returns the index of the line's LF. Returns -1, having changed
   * nothing, for any other line: it takes the general path, which gives the same result for the
   * lines this one accepts. (No step below reads past an LF without failing, so the line's end
   * need not be known first.)
   */
  private batchLine(w: FastBuffer, v: DataView, s: number, lim: number, offset: number): number {
    let e = lim
    let p = s
    if (w[p] === 0x40) {
      if (!isNixCandidate(w, p, e)) return -1
      p += 5
    }
    const L = RESULT_LINE
    if (p + L.length + 20 > e || !L.matches(v, p)) return -1
    const ps = p + L.length
    // The payload: up to its closing quote; escapes are checked here and decoded below.
    let q = plainRun(w, v, ps, e)
    if (q >= e) return -1
    const stop = w[q]!
    if (stop < 0x20) return -1
    const escaped = stop === 0x5c
    if (escaped) {
      q = escapedStringEnd(w, v, ps, q, e, sawNonAscii)
      if (q < 0) return -1
    }
    // `"],"id":N,"type":101}` (or 107), then only blanks up to the LF.
    if (q + 9 > e || !ID_AFTER_PAYLOAD.matches(v, q)) return -1
    const is = q + ID_AFTER_PAYLOAD.length
    let act = this.recentActAt(v, is, e)
    let i: number
    if (act !== null) {
      i = is + act.lineTail!.length
    } else {
      i = idText(w, is, e)
      if (i < 0) return -1
      i = lit(w, i, e, L_TYPE)
      if (i < 0) return -1
    }
    if (i + 4 > e) return -1
    const t = v.getInt32(i, true)
    if (t !== TYPE_101_END && t !== TYPE_107_END) return -1
    // `}`, then blanks up to the LF.
    for (i += 4; ; i++) {
      if (i >= lim) return -1
      const b = w[i]
      if (b === 0x0a) break
      if (b !== 0x20 && b !== 0x0d && b !== 0x09) return -1
    }
    if (act === null) {
      const a = this.running.get(outId)
      if (a === undefined || a.hidden) return -1
      act = a
    }
    this.appendResult(act, w, v, s, i, ps, q, escaped, offset)
    return i
  }

  /**
   * Takes the build-log line `w[s, e)` (e its LF; `offset` the raw offset of `w[s]`) of `act`,
   * its payload `w[ps, q)` checked (escapes included, when `escaped`): appends the payload,
   * decoded to bytes, plus LF to the batch, moving it within `w` over bytes of lines already read.
   */
  private appendResult(act: Act, w: FastBuffer, v: DataView, s: number, e: number, ps: number, q: number, escaped: boolean, offset: number): void {
    const rawEnd = offset + (e - s) + 1
    this.lineNo++
    this.lastEnd = rawEnd
    if (act !== this.batchAct || this.batchLines >= MAX_BATCH) {
      this.flush()
      this.batchAct = act
      this.batchStart = this.batchEnd = ps
      this.remember(act)
    }
    const o0 = this.batchEnd
    let o = o0
    if (!escaped) {
      if (o !== ps) w.copyWithin(o, ps, q)
      o += q - ps
    } else {
      o = decodeStringInPlace(w, v, ps, q, o)
    }
    w[o++] = 0x0a
    this.batchEnd = o
    this.batchLines++
    this.decoderOf(act)
    act.offsets!.add(o - o0, offset, rawEnd, false)
  }

  /**
   * The running activity among the last few to have build-log lines whose `<id>,"type":` is at
   * `v[is…]`, or null. Parallel builds interleave their lines, so the id of a line is nearly
   * always one of these, and matching it as words saves reading it as text and a map lookup.
   */
  private recentActAt(v: DataView, is: number, e: number): Act | null {
    const recent = this.recentActs
    for (let k = 0; k < recent.length; k++) {
      const act = recent[k]!
      const tail = act.lineTail!
      if (!act.done && is + tail.length + 4 <= e && tail.matches(v, is)) return act
    }
    return null
  }

  /** Makes `act` the first of the recent activities (see {@link recentActAt}). */
  private remember(act: Act): void {
    const tail = act.id + ',"type":'
    if (tail.length > ByteLiteral.MAX) return // not an id Nix writes: left to the general path
    act.noteLineTail(tail)
    const recent = this.recentActs
    let k = recent.indexOf(act)
    if (k === 0) return
    if (k < 0) k = recent.length < RECENT_ACTS ? recent.length : RECENT_ACTS - 1
    for (; k > 0; k--) recent[k] = recent[k - 1]!
    recent[0] = act
  }

  /** Writes the pending batch to its decoder. */
  private flush(): void {
    const act = this.batchAct
    if (act === null) return
    this.batchAct = null
    this.batchLines = 0
    act.decoder!.write(this.work.subarray(this.batchStart, this.batchEnd))
  }

  /**
   * Process one raw input line: `buf[start, end)` is the line without its LF; `offset` is the
   * absolute input offset of `buf[start]` (default `start`); `terminated` says whether an LF
   * followed (it is included in the raw range of the resulting events).
   */
  feedLine(buf: Uint8Array, start: number, end: number, offset: number = start, terminated = true): void {
    this.flush()
    const rawEnd = offset + (end - start) + (terminated ? 1 : 0)
    const s = jsonStart(buf, start, end)
    if (s < 0) {
      this.plainLine(buf.subarray(start, end), offset, rawEnd, terminated)
      return
    }
    const b = fastBuffer(buf)
    if (fastScan(b, s, end)) {
      // Hot path: a build-log line with a raw (unescaped) payload goes to its decoder as bytes.
      if (sc.action === 'result' && sc.fields === null && (sc.type === 101 || sc.type === 107)) {
        const act = this.running.get(sc.id)
        if (act !== undefined && !act.hidden) {
          this.lineNo++
          this.lastEnd = rawEnd
          const n = sc.payEnd - sc.payStart
          const line = Buffer.allocUnsafe(n + 1)
          b.copy(line, 0, sc.payStart, sc.payEnd)
          line[n] = 0x0a
          this.feedBytes(act, line, offset, rawEnd)
          return
        }
      }
      if (sc.action === 'result') {
        this.lineNo++
        this.lastEnd = rawEnd
        this.onResult(sc.id, sc.type, scFields(b), offset, rawEnd)
        return
      }
      this.consume(messageFromScan(b), offset, rawEnd)
      return
    }
    const msg = slowParse(b, s, end)
    if (msg === null) this.plainLine(buf.subarray(start, end), offset, rawEnd, terminated)
    else this.consume(msg, offset, rawEnd)
  }

  /** Process one parsed message whose raw line occupies [offset, end) (LF included). */
  consume(msg: InternalJsonMessage, offset: number, end: number): void {
    this.flush()
    this.lineNo++
    this.lastEnd = end
    switch (msg.action) {
      case 'result':
        this.onResult(msg.id, msg.type, msg.fields, offset, end)
        return
      case 'msg':
        this.onMsg(msg, offset, end)
        return
      case 'start':
        this.onStart(msg, offset)
        return
      case 'stop': {
        const act = this.running.get(msg.id)
        if (act) this.finish(act, act.failed ? 'failed' : 'ok', offset)
        return
      }
      default:
        return // unknown action: ignored (forward compatibility)
    }
  }

  /** A non-JSON line at the root, through the root-level build-log decoder. */
  plainLine(text: Uint8Array, offset: number, end: number, terminated = true): void {
    this.flush()
    this.lineNo++
    this.lastEnd = end
    if (this.rootDecoder === null) {
      const map = (this.rootOffsets = new OffsetMap())
      this.rootDecoder = this.factory((ev) => this.onRootDecoderEvent(ev, map), new DecodeContext())
    }
    const n = text.length
    const line = Buffer.allocUnsafe(terminated ? n + 1 : n)
    line.set(text, 0)
    if (terminated) line[n] = 0x0a
    this.rootOffsets!.add(line.length, offset, end, true)
    this.rootDecoder.write(line)
  }

  /** End of input at absolute offset `offset`: close everything still running ('interrupted'). */
  end(offset: number = this.lastEnd): void {
    this.flush()
    this.work = EMPTY_WORK
    this.workView = new DataView(EMPTY_WORK.buffer, EMPTY_WORK.byteOffset, 0)
    if (this.ended) return
    this.ended = true
    const acts = [...this.running.values()]
    for (let i = acts.length - 1; i >= 0; i--) {
      const act = acts[i]!
      if (!act.done) this.finish(act, act.failed ? 'failed' : 'interrupted', offset)
    }
    if (this.bucket !== 0) {
      this.sink({ type: 'close', id: this.bucket, offset })
      this.bucket = 0
    }
    if (this.rootDecoder) {
      this.rootOffsets!.endOffset = offset
      this.rootDecoder.end()
      this.rootDecoder = null
    }
  }

  // -------------------------------------------------------------------------------------------
  // activities

  private onStart(msg: InternalJsonStart, offset: number): void {
    const prev = this.running.get(msg.id)
    if (prev) this.finish(prev, prev.failed ? 'failed' : 'interrupted', offset) // id reuse
    let parentSection = 0
    if (msg.parent !== '0') {
      const p = this.running.get(msg.parent)
      if (p) parentSection = p.hidden ? p.parentSection : p.section
    }
    const hidden =
      msg.text === '' && (msg.type === 0 || msg.type === 102 || msg.type === 103 || msg.type === 104)
    const act = new Act(msg.id, msg.type, msg.level, msg.text, msg.fields, parentSection, hidden, offset)
    this.running.set(msg.id, act)
    if (msg.type === 105 && msg.fields.length > 0) this.builds.set(String(msg.fields[0]), act)
    if (!hidden) this.openAct(act, offset)
  }

  private openAct(act: Act, offset: number): void {
    act.hidden = false
    act.section = this.ctx.nextSectionId()
    const f = act.fields
    const attrs: Record<string, string | number | boolean> = {
      activityType: act.type,
      activityId: act.id,
      level: act.level,
      group: groupOf(act.type),
    }
    const tn = ACTIVITY_TYPE_NAMES[act.type]
    if (tn !== undefined) attrs['typeName'] = tn
    if (act.type === 105) {
      if (f.length > 0) attrs['drv'] = String(f[0])
      if (f.length > 1) attrs['machine'] = String(f[1])
    } else if (act.type === 101) {
      if (f.length > 0) attrs['uri'] = String(f[0])
    } else if (act.type === 100) {
      if (f.length > 0) attrs['path'] = String(f[0])
      if (f.length > 1) attrs['from'] = String(f[1])
      if (f.length > 2) attrs['to'] = String(f[2])
    } else if (act.type === 108 || act.type === 109) {
      if (f.length > 0) attrs['path'] = String(f[0])
      if (f.length > 1) attrs['substituter'] = String(f[1])
    } else if (act.type === 110 || act.type === 113) {
      if (f.length > 0) attrs['path'] = String(f[0])
    }
    let title = act.text
    if (act.orphan) {
      title = `activity ${act.id}`
      attrs['orphan'] = true
    } else if (title === '') {
      title = tn ?? `activity type ${act.type}`
      if (f.length > 0 && f[0] !== '') title += ` '${String(f[0])}'`
    }
    this.sink({
      type: 'open',
      id: act.section,
      parent: act.parentSection,
      kind: act.type === 105 ? 'build' : 'activity',
      title,
      priority: act.level <= 3 ? 1 : 3,
      offset,
      attrs,
    })
  }

  /** Stop (or end of input) for a running activity. */
  private finish(act: Act, status: ActivityStatus, offset: number): void {
    if (act.done) return
    act.done = true
    act.finalStatus = status
    this.running.delete(act.id)
    if (act.decoder) {
      const d = act.decoder
      act.decoder = null
      act.offsets!.endOffset = offset
      d.end() // its last events still arrive: the activity's sections are open until below
    }
    if (act.type === 105 && act.fields.length > 0) {
      const drv = String(act.fields[0])
      if (this.builds.get(drv) === act) this.builds.delete(drv)
      if (act.section !== 0) {
        this.finishedBuilds.set(drv, act.section)
        if (this.finishedBuilds.size > RECENT_BUILDS) {
          this.finishedBuilds.delete(this.finishedBuilds.keys().next().value as string)
        }
      }
    }
    if (act.hidden) return
    // Close what is open inside (innermost first; the last phase gets the activity's status).
    const st = act.stack
    while (st.length > 0) {
      const e = st.pop()!
      const ev: SectionCloseEvent = { type: 'close', id: e.id, offset }
      if (e.phase) ev.status = status
      this.sink(ev)
    }
    this.sink({ type: 'close', id: act.section, offset, status })
  }

  // -------------------------------------------------------------------------------------------
  // results

  private orphan(id: string, type: number, offset: number): Act {
    if (this.bucket === 0) {
      this.bucket = this.ctx.nextSectionId()
      this.sink({
        type: 'open',
        id: this.bucket,
        parent: 0,
        kind: 'activity',
        title: 'orphan results',
        priority: 1,
        offset,
        attrs: { orphans: true },
      })
    }
    this.sink({
      type: 'diagnostic',
      code: 'orphan-result',
      message: `result (type ${type}) for unknown activity ${id}`,
      offset,
      line: this.lineNo,
      column: 1,
    })
    const act = new Act(id, -1, 3, '', [], this.bucket, false, offset)
    act.orphan = true
    this.running.set(id, act)
    this.openAct(act, offset)
    return act
  }

  private onResult(id: string, type: number, f: NixField[], offset: number, end: number): void {
    let act = this.running.get(id)
    if (act === undefined) act = this.orphan(id, type, offset)
    switch (type) {
      case 101:
      case 107: {
        if (act.hidden) this.openAct(act, offset)
        const p = f.length > 0 ? f[0]! : ''
        this.feedBytes(act, Buffer.from((typeof p === 'string' ? p : String(p)) + '\n', 'utf8'), offset, end)
        return
      }
      case 104: {
        if (act.hidden) this.openAct(act, offset)
        this.onPhase(act, f.length > 0 ? String(f[0]) : '', offset)
        return
      }
      case 105: {
        const prev = act.last105
        act.last105 = f
        if (prev !== null && sameFields(prev, f)) return
        if (act.hidden) {
          const attrs = { done: f[0] ?? 0, expected: f[1] ?? 0, running: f[2] ?? 0, failed: f[3] ?? 0, activityId: act.id, activityType: act.type }
          this.sink({ type: 'status', id: 0, offset, attrs })
        } else {
          this.sink({ type: 'status', id: act.section, offset, attrs: { done: f[0] ?? 0, expected: f[1] ?? 0, running: f[2] ?? 0, failed: f[3] ?? 0 } })
        }
        return
      }
      case 106: {
        const t = f.length > 0 ? f[0]! : '?'
        if (this.unchanged(act, typeof t === 'number' ? 106000 + t : `106.${t}`, f)) return
        this.status(act, { [expectedKey(t)]: f[1] ?? 0 }, offset)
        return
      }
      case 100:
        act.bytesLinked += typeof f[0] === 'number' ? f[0] : 0
        act.blocksLinked += typeof f[1] === 'number' ? f[1] : 0
        this.status(act, { bytesLinked: act.bytesLinked, blocksLinked: act.blocksLinked }, offset)
        return
      case 102:
        this.status(act, { untrustedPath: String(f[0] ?? '') }, offset)
        return
      case 103:
        this.status(act, { corruptedPath: String(f[0] ?? '') }, offset)
        return
      case 108:
        if (this.unchanged(act, 108, f)) return
        this.status(act, { fetchStatus: String(f[0] ?? '') }, offset)
        return
      case 109:
        this.status(act, { storePath: String(f[0] ?? '') }, offset)
        return
      default:
        this.status(act, { [`result.${type}`]: f.map(String).join(' ') }, offset)
        return
    }
  }

  /** True when `f` repeats the last fields seen for `key` on this activity (nothing changes). */
  private unchanged(act: Act, key: number | string, f: NixField[]): boolean {
    const m = (act.lastFields ??= new Map())
    const prev = m.get(key)
    m.set(key, f)
    return prev !== undefined && sameFields(prev, f)
  }

  private status(act: Act, attrs: Record<string, string | number | boolean>, offset: number): void {
    if (act.hidden) {
      // Root/global status (id 0) for hidden activities (e.g. the "Builds" progress).
      attrs['activityId'] = act.id
      attrs['activityType'] = act.type
      this.sink({ type: 'status', id: 0, offset, attrs })
      return
    }
    this.sink({ type: 'status', id: act.section, offset, attrs })
  }

  // -------------------------------------------------------------------------------------------
  // build-log lines

  /** Feed one build-log line (payload bytes ending in LF, owned by the decoder) to the activity. */
  private feedBytes(act: Act, line: Buffer, offset: number, end: number): void {
    const decoder = this.decoderOf(act)
    act.offsets!.add(line.length, offset, end, false)
    decoder.write(line)
  }

  /** The activity's build-log decoder (created at its first line). */
  private decoderOf(act: Act): LineDecoder {
    if (act.decoder === null) {
      const map = (act.offsets = new OffsetMap())
      act.decoder = this.factory((ev) => this.onDecoderEvent(act, map, ev), new DecodeContext())
    }
    return act.decoder
  }

  private onDecoderEvent(act: Act, map: OffsetMap, ev: LogEvent): void {
    if (act.section === 0) return
    switch (ev.type) {
      case 'line': {
        ev.index = this.ctx.nextLineIndex()
        ev.offset = map.start(ev.offset)
        ev.end = map.end(ev.end)
        if (act.freshPhase !== null) {
          // D-17: a decoder that held `Running phase: P` back releases it after our phase P opened.
          if (!ev.head && isRunningPhaseHeader(ev.text, act.freshPhase)) ev.head = true
          act.freshPhase = null
        }
        ev.section = act.top()
        this.sink(ev)
        return
      }
      case 'open': {
        act.freshPhase = null
        const id = this.ctx.nextSectionId()
        act.decIds.set(ev.id, id)
        ev.id = id
        ev.offset = map.start(ev.offset)
        ev.parent = act.top()
        act.stack.push({ id, phase: ev.kind === 'phase' })
        this.sink(ev)
        return
      }
      case 'close': {
        const id = act.decIds.get(ev.id)
        if (id === undefined) return
        act.decIds.delete(ev.id)
        const st = act.stack
        let k = st.length - 1
        while (k >= 0 && st[k]!.id !== id) k--
        if (k < 0) return // already closed by a phase boundary
        ev.id = id
        ev.offset = map.start(ev.offset)
        while (st.length > k + 1) {
          const e = st.pop()!
          const c: SectionCloseEvent = { type: 'close', id: e.id, offset: ev.offset }
          if (e.phase) c.status = act.finalStatus ?? 'ok'
          this.sink(c)
        }
        st.pop()
        this.sink(ev)
        return
      }
      case 'status': {
        const id = act.decIds.get(ev.id)
        if (id === undefined) return
        ev.id = id
        ev.offset = map.start(ev.offset)
        this.sink(ev)
        return
      }
      case 'diagnostic':
        ev.offset = map.start(ev.offset)
        this.sink(ev)
        return
    }
  }

  private onRootDecoderEvent(ev: LogEvent, map: OffsetMap): void {
    const ids = this.rootIds
    switch (ev.type) {
      case 'line':
        ev.index = this.ctx.nextLineIndex()
        ev.section = ev.section === 0 ? 0 : (ids.get(ev.section) ?? 0)
        ev.offset = map.start(ev.offset)
        ev.end = map.end(ev.end)
        break
      case 'open': {
        const id = this.ctx.nextSectionId()
        ev.parent = ev.parent === 0 ? 0 : (ids.get(ev.parent) ?? 0)
        ids.set(ev.id, id)
        ev.id = id
        ev.offset = map.start(ev.offset)
        break
      }
      case 'close': {
        const id = ids.get(ev.id)
        if (id === undefined) return
        ids.delete(ev.id)
        ev.id = id
        ev.offset = map.start(ev.offset)
        break
      }
      case 'status': {
        const id = ids.get(ev.id)
        if (id === undefined) return
        ev.id = id
        ev.offset = map.start(ev.offset)
        break
      }
      default:
        ev.offset = map.start(ev.offset)
        break
    }
    this.sink(ev)
  }

  /** result 104: close the current phase (and what opened inside it), open the next (§5.4). */
  private onPhase(act: Act, name: string, offset: number): void {
    const st = act.stack
    let k = st.length - 1
    while (k >= 0 && !st[k]!.phase) k--
    if (k >= 0) {
      while (st.length > k) {
        const e = st.pop()!
        const ev: SectionCloseEvent = { type: 'close', id: e.id, offset }
        if (e.phase) ev.status = 'ok'
        this.sink(ev)
      }
    }
    const id = this.ctx.nextSectionId()
    const open: SectionOpenEvent = { type: 'open', id, parent: act.top(), kind: 'phase', title: name, priority: 1, offset }
    if (act.failed) open.attrs = { failed: true }
    st.push({ id, phase: true })
    this.sink(open)
    act.freshPhase = name
  }

  // -------------------------------------------------------------------------------------------
  // messages

  private onMsg(msg: InternalJsonMsg, offset: number, end: number): void {
    const text = msg.msg
    if (msg.level === 0) this.attributeFailure(text, offset)
    const error = msg.level === 0
    const warning = msg.level === 1
    const priority = msg.level <= 3 ? 1 : 3
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      const piece = nl < 0 ? (start === 0 ? text : text.slice(start)) : text.slice(start, nl)
      const st = stripAndStyle(piece)
      const ev: LineEvent = {
        type: 'line',
        index: this.ctx.nextLineIndex(),
        section: 0,
        text: st.text,
        head: false,
        priority,
        error,
        warning,
        offset,
        end,
        ended: 'lf',
        level: msg.level,
      }
      if (st.styles) ev.styles = st.styles
      this.sink(ev)
      if (nl < 0) break
      start = nl + 1
    }
  }

  /** D-19: an error naming a build's drv marks that build failed. */
  private attributeFailure(text: string, offset: number): void {
    const p = plain(text)
    const m = FAIL_RE_OLD.exec(p) ?? FAIL_RE_NEW.exec(p)
    if (m === null) return
    const drv = m[1]!
    const act = this.builds.get(drv)
    if (act !== undefined && !act.done) {
      act.failed = true
      this.sink({ type: 'status', id: act.section, offset, attrs: { failed: true } })
      const st = act.stack
      for (let k = st.length - 1; k >= 0; k--) {
        if (st[k]!.phase) {
          this.sink({ type: 'status', id: st[k]!.id, offset, attrs: { failed: true } })
          break
        }
      }
      return
    }
    const closed = this.finishedBuilds.get(drv)
    if (closed !== undefined) this.sink({ type: 'status', id: closed, offset, attrs: { failed: true } })
  }
}

function isRunningPhaseHeader(text: Buffer, phase: string): boolean {
  const expected = RUNNING_PHASE + phase
  if (text.length !== Buffer.byteLength(expected, 'utf8')) return false
  return text.toString('utf8') === expected
}

// ---------------------------------------------------------------------------------------------
// Chunked front end

export interface InternalJsonOptions {
  /** Let the C addon scan windows of lines where it is built (default true; false gives the JavaScript path, for tests). */
  nativeScan?: boolean
}

/**
 * Chunked byte-stream front end: splits the input at LF (carrying partial lines across chunks),
 * keeps absolute offsets, and feeds each line to an {@link ActivityTree}.
 */
export class InternalJsonDecoder {
  readonly tree: ActivityTree
  /** Pieces of an unterminated line (copies), joined once its LF arrives. */
  private carry: Buffer[] = []
  private carryLength = 0
  private base = 0

  constructor(sink: EventSink, ctx: DecodeContext, lineFactory: LineDecoderFactory, options: InternalJsonOptions = {}) {
    this.tree = new ActivityTree(sink, ctx, lineFactory, options)
  }

  write(chunk: Uint8Array): void {
    const buf = asBuffer(chunk)
    const n = buf.length
    let i = 0
    if (this.carryLength > 0) {
      const nl = buf.indexOf(0x0a)
      if (nl < 0) {
        this.carry.push(Buffer.from(buf)) // copy: the caller may reuse its chunk
        this.carryLength += n
        this.base += n
        return
      }
      this.carry.push(buf.subarray(0, nl))
      const line = Buffer.concat(this.carry, this.carryLength + nl)
      const off = this.base - this.carryLength
      this.carry = []
      this.carryLength = 0
      this.tree.feedLine(line, 0, line.length, off, true)
      i = nl + 1
    }
    if (i < n) {
      i = this.tree.feedLines(buf, i, n, this.base + i)
      if (i < n) {
        this.carry.push(Buffer.from(buf.subarray(i))) // copy: the caller may reuse its chunk
        this.carryLength = n - i
      }
    }
    this.base += n
  }

  end(): void {
    if (this.carryLength > 0) {
      const c = Buffer.concat(this.carry, this.carryLength)
      this.tree.feedLine(c, 0, c.length, this.base - c.length, false)
    }
    this.carry = []
    this.carryLength = 0
    this.tree.end(this.base)
  }
}
