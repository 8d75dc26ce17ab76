/**
 * A small, fast JSON parser for Nix log lines (`@nix {…}` in build logs, internal-json streams).
 *
 * Why not `JSON.parse`: Nix activity ids are 64-bit (`counter + (pid << 32)`, spec §6.3) and
 * `JSON.parse` silently rounds integers above 2^53, merging distinct activities. This parser:
 *
 * - works directly on a byte range of a `Uint8Array`/`Buffer` (or on a string, which is UTF-8
 *   encoded first), so callers never have to decode a whole line to a string first;
 * - returns plain JS values (`null`, booleans, numbers, strings, arrays, objects);
 * - returns an integer literal that is not a safe integer (|n| > 2^53-1, i.e. some 16-digit and
 *   every 17+-digit literal) as a decimal string holding its exact source text;
 * - returns any integer that is the direct value of a key named `id` or `parent` (at any depth)
 *   as a decimal string (its exact source text), so activity ids are uniformly strings. Non-integer
 *   numbers under those keys stay numbers;
 * - requires exactly one JSON value, surrounding JSON whitespace (space, TAB, LF, CR) allowed
 *   (spec J22); trailing garbage (J19), empty input (J25) and broken JSON (J11) fail;
 * - decodes strings with all JSON escapes, combining surrogate pairs. A lone surrogate escape is a
 *   parse failure (as in nlohmann::json, which Nix uses). Raw control characters (< 0x20) inside
 *   strings are a failure (JSON grammar). Invalid UTF-8 bytes inside strings decode to U+FFFD with
 *   WHATWG `TextDecoder` (non-fatal) semantics. NOTE: nlohmann::json rejects invalid UTF-8, so Nix
 *   itself would treat such an `@nix` line as "bad JSON"; we deliberately accept it (lead's choice);
 * - bounds nesting to {@link MAX_DEPTH} arrays/objects; deeper input is a parse failure, never a
 *   stack overflow;
 * - duplicate object keys: the last one wins (as nlohmann::json and JSON.parse). A key named
 *   `__proto__` becomes an ordinary own property.
 *
 * Failure reporting: {@link parseNixJson} throws a {@link NixJsonError} (message + byte offset).
 * {@link tryParseNixJson} returns the sentinel {@link JSON_FAIL} instead and never allocates an
 * Error (use it on hot paths). The parser is synchronous and not re-entrant (module-level state),
 * which is safe in JS because nothing it calls can call back into it.
 */

import { Buffer } from 'node:buffer'
import { asBuffer } from '../bytes.js'
import { hex4At } from './json-bytes.js'

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject
export interface JsonObject {
  [key: string]: JsonValue
}

/** Maximum nesting of arrays/objects. Deeper input fails to parse. */
export const MAX_DEPTH = 64

/** Thrown by {@link parseNixJson}. `offset` is the absolute byte offset in the input where parsing failed. */
export class NixJsonError extends Error {
  readonly offset: number
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`)
    this.name = 'NixJsonError'
    this.offset = offset
  }
}

/** Returned by {@link tryParseNixJson} when the input is not exactly one JSON value. */
export const JSON_FAIL: unique symbol = Symbol('JSON_FAIL')
export type JsonFail = typeof JSON_FAIL

interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
}

const hasFastSlices =
  typeof (Buffer.prototype as Partial<FastBuffer>).latin1Slice === 'function' &&
  typeof (Buffer.prototype as Partial<FastBuffer>).utf8Slice === 'function'

// ---------------------------------------------------------------------------------------------
// Module-level parser state (not re-entrant; see header).
let buf: FastBuffer = Buffer.alloc(0) as FastBuffer
let pos = 0
let lim = 0
let depth = 0
let failMessage = ''
let failOffset = 0

/** Internal control-flow signal; a constant so that failing costs no stack capture. */
const FAIL_SIGNAL = { fail: true }

function fail(message: string, at: number): never {
  failMessage = message
  failOffset = at
  throw FAIL_SIGNAL
}

function latin1(s: number, e: number): string {
  return hasFastSlices ? buf.latin1Slice(s, e) : buf.toString('latin1', s, e)
}
function utf8(s: number, e: number): string {
  return hasFastSlices ? buf.utf8Slice(s, e) : buf.toString('utf8', s, e)
}

function toBuffer(input: Uint8Array): FastBuffer {
  return asBuffer(input) as FastBuffer
}

/** JSON whitespace (RFC 8259): space, TAB, LF, CR. */
export function isJsonSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

function skipWs(): void {
  while (pos < lim && isJsonSpace(buf[pos])) pos++
}

function parseValue(key: string | null): JsonValue {
  skipWs()
  if (pos >= lim) fail('unexpected end of input', pos)
  const c = buf[pos]!
  switch (c) {
    case 0x22: // "
      return key === 'action' ? parseWordString() : parseString()
    case 0x7b: // {
      return parseObject()
    case 0x5b: // [
      return parseArray()
    case 0x74: // t
      expectWord('true')
      return true
    case 0x66: // f
      expectWord('false')
      return false
    case 0x6e: // n
      expectWord('null')
      return null
    default:
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber(key === 'id' || key === 'parent')
      return fail('unexpected character', pos)
  }
}

function expectWord(word: string): void {
  const n = word.length
  if (pos + n > lim) fail('invalid literal', pos)
  for (let i = 0; i < n; i++) {
    if (buf[pos + i] !== word.charCodeAt(i)) fail('invalid literal', pos)
  }
  pos += n
}

function parseNumber(asIdString: boolean): number | string {
  const start = pos
  let i = pos
  let neg = false
  if (buf[i] === 0x2d) {
    neg = true
    i++
  }
  if (i >= lim) fail('invalid number', start)
  let c = buf[i]!
  let value = 0
  let digits = 0
  if (c === 0x30) {
    i++
    digits = 1
  } else if (c >= 0x31 && c <= 0x39) {
    while (i < lim) {
      c = buf[i]!
      if (c < 0x30 || c > 0x39) break
      if (digits < 15) value = value * 10 + (c - 0x30)
      digits++
      i++
    }
  } else {
    fail('invalid number', start)
  }
  let isInt = true
  if (i < lim && buf[i] === 0x2e) {
    isInt = false
    i++
    const fs = i
    while (i < lim && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++
    if (i === fs) fail('invalid number', start)
  }
  if (i < lim && (buf[i] === 0x65 || buf[i] === 0x45)) {
    isInt = false
    i++
    if (i < lim && (buf[i] === 0x2b || buf[i] === 0x2d)) i++
    const es = i
    while (i < lim && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++
    if (i === es) fail('invalid number', start)
  }
  pos = i
  if (!isInt) return Number(latin1(start, i))
  if (asIdString) return latin1(start, i)
  if (digits <= 15) return neg ? (value === 0 ? -0 : -value) : value
  // 16+ digits: exact when safe, otherwise the exact source text.
  const text = latin1(start, i)
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : text
}

function parseString(): string {
  // buf[pos] is the opening quote.
  const b = buf
  const s = pos + 1
  let i = s
  let ascii = true
  while (i < lim) {
    const c = b[i]!
    if (c === 0x22) {
      pos = i + 1
      return ascii ? latin1(s, i) : utf8(s, i)
    }
    if (c === 0x5c) break
    if (c < 0x20) fail('control character in string', i)
    if (c >= 0x80) ascii = false
    i++
  }
  if (i >= lim) fail('unterminated string', pos)
  return parseEscapedString(s, i, ascii)
}

function hex4(at: number): number {
  const v = hex4At(buf, at, lim)
  return v === -1 ? fail('invalid \\u escape', at) : v
}

/** Slow path: the string contains at least one escape; `i` is at the first backslash. */
function parseEscapedString(s: number, i: number, asciiSoFar: boolean): string {
  const b = buf
  let out = ''
  let runStart = s
  let ascii = asciiSoFar
  while (i < lim) {
    const c = b[i]!
    if (c === 0x22) {
      if (i > runStart) out += ascii ? latin1(runStart, i) : utf8(runStart, i)
      pos = i + 1
      return out
    }
    if (c === 0x5c) {
      if (i > runStart) out += ascii ? latin1(runStart, i) : utf8(runStart, i)
      ascii = true
      if (i + 1 >= lim) fail('unterminated string', i)
      const e = b[i + 1]!
      i += 2
      switch (e) {
        case 0x22:
          out += '"'
          break
        case 0x5c:
          out += '\\'
          break
        case 0x2f:
          out += '/'
          break
        case 0x62:
          out += '\b'
          break
        case 0x66:
          out += '\f'
          break
        case 0x6e:
          out += '\n'
          break
        case 0x72:
          out += '\r'
          break
        case 0x74:
          out += '\t'
          break
        case 0x75: {
          const u = hex4(i)
          i += 4
          if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 6 <= lim && b[i] === 0x5c && b[i + 1] === 0x75) {
              const lo = hex4(i + 2)
              if (lo < 0xdc00 || lo > 0xdfff) fail('high surrogate not followed by low surrogate', i)
              i += 6
              out += String.fromCharCode(u, lo)
            } else {
              fail('high surrogate not followed by low surrogate', i)
            }
          } else if (u >= 0xdc00 && u <= 0xdfff) {
            fail('lone low surrogate', i - 6)
          } else {
            out += String.fromCharCode(u)
          }
          break
        }
        default:
          fail('invalid escape', i - 2)
      }
      runStart = i
      continue
    }
    if (c < 0x20) fail('control character in string', i)
    if (c >= 0x80) ascii = false
    i++
  }
  return fail('unterminated string', s - 1)
}

function parseArray(): JsonValue[] {
  if (++depth > MAX_DEPTH) fail('nesting too deep', pos)
  pos++ // [
  const arr: JsonValue[] = []
  skipWs()
  if (pos < lim && buf[pos] === 0x5d) {
    pos++
    depth--
    return arr
  }
  for (;;) {
    arr.push(parseValue(null))
    skipWs()
    if (pos >= lim) fail('unterminated array', pos)
    const c = buf[pos]
    if (c === 0x2c) {
      pos++
      continue
    }
    if (c === 0x5d) {
      pos++
      depth--
      return arr
    }
    fail("expected ',' or ']'", pos)
  }
}

// Interned strings for the keys (and `action` values) of Nix log messages: comparing bytes is
// cheaper than slicing a new string, and interned keys keep object shapes monomorphic.
const INTERNED: Map<number, string[]> = new Map()
for (const w of [
  'action', 'fields', 'id', 'type', 'level', 'parent', 'text', 'msg', 'raw_msg', 'file', 'line', 'column',
  'phase', 'trace', 'result', 'start', 'stop', 'setPhase',
]) {
  const k = (w.length << 8) | w.charCodeAt(0)
  const list = INTERNED.get(k)
  if (list) list.push(w)
  else INTERNED.set(k, [w])
}

/** The interned string for `buf[s, e)` when it is a known word, else null. */
function interned(s: number, e: number): string | null {
  const n = e - s
  if (n > 8 || n === 0) return null
  const list = INTERNED.get((n << 8) | buf[s]!)
  if (list === undefined) return null
  outer: for (let j = 0; j < list.length; j++) {
    const w = list[j]!
    for (let k = 1; k < n; k++) if (buf[s + k] !== w.charCodeAt(k)) continue outer
    return w
  }
  return null
}

/** A string that is probably a known word (object keys, `action` values). */
function parseWordString(): string {
  const s = pos + 1
  let i = s
  while (i < lim && i - s <= 8) {
    const c = buf[i]!
    if (c === 0x22) {
      const w = interned(s, i)
      if (w !== null) {
        pos = i + 1
        return w
      }
      break
    }
    if (c === 0x5c || c < 0x20 || c >= 0x80) break
    i++
  }
  return parseString()
}

function parseKey(): string {
  skipWs()
  if (pos >= lim || buf[pos] !== 0x22) fail('expected string key', pos)
  return parseWordString()
}

function parseObject(): JsonObject {
  if (++depth > MAX_DEPTH) fail('nesting too deep', pos)
  pos++ // {
  const obj: JsonObject = {}
  skipWs()
  if (pos < lim && buf[pos] === 0x7d) {
    pos++
    depth--
    return obj
  }
  for (;;) {
    const key = parseKey()
    skipWs()
    if (pos >= lim || buf[pos] !== 0x3a) fail("expected ':'", pos)
    pos++
    const value = parseValue(key)
    if (key === '__proto__') {
      Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
    } else {
      obj[key] = value
    }
    skipWs()
    if (pos >= lim) fail('unterminated object', pos)
    const c = buf[pos]
    if (c === 0x2c) {
      pos++
      continue
    }
    if (c === 0x7d) {
      pos++
      depth--
      return obj
    }
    fail("expected ',' or '}'", pos)
  }
}

function run(input: Uint8Array | string, start: number | undefined, end: number | undefined): JsonValue {
  if (typeof input === 'string') {
    buf = Buffer.from(input, 'utf8') as FastBuffer
    pos = 0
    lim = buf.length
  } else {
    buf = toBuffer(input)
    pos = start ?? 0
    lim = end ?? input.length
    if (pos < 0) pos = 0
    if (lim > buf.length) lim = buf.length
  }
  depth = 0
  const value = parseValue(null)
  skipWs()
  if (pos < lim) fail('trailing garbage after JSON value', pos)
  return value
}

/**
 * Parse exactly one JSON value from `input[start, end)` (a byte range; defaults to the whole input)
 * or from a string. Returns {@link JSON_FAIL} on any failure. For string input, `start`/`end` are
 * ignored.
 */
export function tryParseNixJson(input: Uint8Array | string, start?: number, end?: number): JsonValue | JsonFail {
  try {
    return run(input, start, end)
  } catch (e) {
    if (e === FAIL_SIGNAL) return JSON_FAIL
    throw e
  } finally {
    buf = EMPTY // do not keep the caller's buffer alive
  }
}

/** Like {@link tryParseNixJson} but throws a {@link NixJsonError} on failure. */
export function parseNixJson(input: Uint8Array | string, start?: number, end?: number): JsonValue {
  try {
    return run(input, start, end)
  } catch (e) {
    if (e === FAIL_SIGNAL) throw new NixJsonError(failMessage, failOffset)
    throw e
  } finally {
    buf = EMPTY
  }
}

const EMPTY = Buffer.alloc(0) as FastBuffer

let prefixEnd = 0

/**
 * Parse one JSON value that *starts* at `input[start]` (leading whitespace skipped) and may be
 * followed by anything before `end`. `key` is the object key the value belongs to (so that `id` /
 * `parent` integers come back as strings). On success the position just after the value is
 * available from {@link lastPrefixEnd}. Returns {@link JSON_FAIL} on failure. Building block for
 * hand-written fast paths over known line layouts.
 */
export function tryParseNixJsonPrefix(
  input: Uint8Array,
  start: number,
  end: number,
  key: string | null = null,
): JsonValue | JsonFail {
  buf = toBuffer(input)
  pos = start
  lim = end > buf.length ? buf.length : end
  depth = 0
  try {
    const v = parseValue(key)
    prefixEnd = pos
    return v
  } catch (e) {
    if (e === FAIL_SIGNAL) return JSON_FAIL
    throw e
  } finally {
    buf = EMPTY
  }
}

/** End position of the last successful {@link tryParseNixJsonPrefix}. */
export function lastPrefixEnd(): number {
  return prefixEnd
}

/** True when `v` is a plain JSON object (not null, not an array). */
export function isJsonObject(v: JsonValue | JsonFail | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
