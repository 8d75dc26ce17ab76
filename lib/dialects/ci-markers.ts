/**
 * CI fold markers (spec §7): GitHub Actions, GitLab, Travis and TeamCity. Matched on a line's
 * escape-free text; GitLab and Travis markers sit before a CR, so the caller also passes the text
 * a carriage return discarded (`beforeCr`).
 *
 * A GitHub Actions log as one downloads it (the run page's "Download log archive", the REST API's
 * job logs) starts every line with the time it was written, `2024-05-01T00:00:00.0230000Z `: a
 * marker may follow such a stamp, which then dates it. (`gh run view --log` puts the job's and the
 * step's names before the stamp; those lines are not read as markers.)
 */
import { packPrefixes } from './native-pass-through.js'

export type CiSystem = 'github' | 'gitlab' | 'travis' | 'teamcity'

export interface CiMarker {
  system: CiSystem
  action: 'open' | 'close'
  /** Section name used to pair opens and closes (GitHub groups have none: they do not nest). */
  name: string
  /** What the section shows: GitHub's title, GitLab's header, TeamCity's description or name. */
  title: string
  /** When it was written, Unix seconds: GitLab's own stamp, else the line's timestamp. */
  time?: number
  /** GitLab's `[collapsed=true]`. */
  collapsed?: boolean
}

const GITHUB = /^(?:::(group|endgroup)::(.*)|##\[(group|endgroup)\](.*))$/is
const GITLAB = /^section_(start|end):(\d+):([A-Za-z0-9_.-]+)(?:\[(\w+=\w+(?:, ?\w+=\w+)*)\])?$/s
const TRAVIS = /^travis_fold:(start|end):([^\r\n\s]+)$/
const TEAMCITY = /^##teamcity\[(blockOpened|blockClosed)((?:\s+\w+='(?:[^'|]|\|.)*')*)\s*\]$/s
const TEAMCITY_ATTR = /(\w+)='((?:[^'|]|\|.)*)'/g

/** `::group::` titles are percent-encoded (`%25`, `%0D`, `%0A`). */
function percentDecode(s: string): string {
  return s.replace(/%25|%0D|%0A/gi, (m) => (m === '%25' ? '%' : m.toUpperCase() === '%0D' ? '\r' : '\n'))
}

/** TeamCity value escapes: |' |n |r || |[ |] |0xNNNN. */
function teamcityDecode(s: string): string {
  return s.replace(/\|(0x[0-9a-fA-F]{4}|.)/g, (_m, c: string) => {
    if (c.length === 6) return String.fromCharCode(parseInt(c.slice(2), 16))
    return c === 'n' ? '\n' : c === 'r' ? '\r' : c
  })
}

/** 1 for the ASCII digits, which may start a line timestamp. */
export const DIGIT = new Uint8Array(256).fill(1, 0x30, 0x3a)
const STAMP_SHAPE = Buffer.from('0000-00-00T00:00:00')

/**
 * The length of the line timestamp at buf[start] — `YYYY-MM-DDTHH:MM:SS`, an optional fraction of
 * 1 to 9 digits, `Z` and one space — or 0. native/pass-through.c has the same rule (timestamp_length).
 */
export function timestampLength(buf: Uint8Array, start: number, end: number): number {
  const after = stampEnd(buf, start, end)
  return after > 0 && stampDigits(buf, start) ? after - start : 0
}

/** Where a stamp at buf[start] would end, from its separators, fraction and `Z ` (not its date digits), or 0. */
function stampEnd(buf: Uint8Array, start: number, end: number): number {
  if (end - start < STAMP_SHAPE.length + 2 || DIGIT[buf[start]!] !== 1) return 0
  for (let k = 4; k < STAMP_SHAPE.length; k += 3) if (buf[start + k] !== STAMP_SHAPE[k]) return 0
  let at = start + STAMP_SHAPE.length
  if (buf[at] === 0x2e) {
    const digits = ++at
    while (at < end && at - digits < 9 && DIGIT[buf[at]!] === 1) at++
    if (at === digits) return 0
  }
  return at + 1 < end && buf[at] === 0x5a && buf[at + 1] === 0x20 ? at + 2 : 0
}

/** The date and time digits of a stamp at buf[start] are digits. */
function stampDigits(buf: Uint8Array, start: number): boolean {
  for (let k = 0; k < STAMP_SHAPE.length; k++) if (STAMP_SHAPE[k] === 0x30 && DIGIT[buf[start + k]!] !== 1) return false
  return true
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) /

/** What a CI marker line starts with (hasCiMarkerPrefix). */
export const CI_MARKER_PREFIXES: readonly Buffer[] = ['::', '##', 'section_start:', 'section_end:', 'travis_fold:'].map((p) => Buffer.from(p))
/** The same packed for the addon (its plain-line walk and index words, lib/tree/). */
export const PACKED_CI_MARKER_PREFIXES = packPrefixes(CI_MARKER_PREFIXES)

/**
 * 1 for the bytes a marker line may start with: a prefix's first byte or a timestamp's first
 * digit. Hot callers test it before calling hasCiMarkerPrefix(), which most lines then cost
 * nothing more than the lookup.
 */
export const MARKER_START = DIGIT.slice()
for (const prefix of CI_MARKER_PREFIXES) MARKER_START[prefix[0]!] = 1

/** How many of a line's first text bytes hasCiMarkerPrefix() may read: the longest stamp (a 9-digit fraction) and prefix. */
export const MARKER_HEAD_BYTES = STAMP_SHAPE.length + '.123456789Z '.length + Math.max(...CI_MARKER_PREFIXES.map((p) => p.length))

/**
 * Cheap pre-check on the bytes a line starts with, so ordinary lines cost a comparison or two and
 * no string: only lines starting like a marker (after a timestamp or not) are matched.
 */
export function hasCiMarkerPrefix(buf: Uint8Array, start: number, end: number): boolean {
  if (MARKER_START[buf[start]!] !== 1) return false
  if (startsLikeMarker(buf, start, end)) return true
  // every line of a timestamped log has a stamp: what follows it decides before its digits are read
  const after = stampEnd(buf, start, end)
  return after > 0 && startsLikeMarker(buf, after, end) && stampDigits(buf, start)
}

function startsLikeMarker(buf: Uint8Array, start: number, end: number): boolean {
  const first = buf[start]
  if (first !== 0x3a && first !== 0x23 && first !== 0x73 && first !== 0x74) return false
  next: for (const prefix of CI_MARKER_PREFIXES) {
    if (prefix[0] !== first || end - start < prefix.length) continue
    for (let k = 1; k < prefix.length; k++) if (buf[start + k] !== prefix[k]) continue next
    return true
  }
  return false
}

/**
 * Matches a marker. `text` is the line as displayed (after carriage returns), `beforeCr` the text
 * before the line's first carriage return when it had one.
 */
export function matchCiMarker(text: string, beforeCr: string | null): CiMarker | null {
  // a stamp starts the line: what the CR left (the display text) starts after it only without a CR
  const stamp = STAMP.exec(beforeCr ?? text)
  if (stamp === null) return matchUnstamped(text, beforeCr)
  const marker = beforeCr !== null ? matchUnstamped(text, beforeCr.slice(stamp[0].length)) : matchUnstamped(text.slice(stamp[0].length), null)
  const ms = Date.parse(stamp[1]!) // NaN for a stamp of the right shape but no date (month 13)
  if (marker !== null && marker.time === undefined && Number.isFinite(ms)) marker.time = ms / 1000
  return marker
}

function matchUnstamped(text: string, beforeCr: string | null): CiMarker | null {
  const head = beforeCr ?? text
  let m: RegExpExecArray | null
  if ((m = GITLAB.exec(head))) {
    const options = m[4] ?? ''
    const marker: CiMarker = {
      system: 'gitlab',
      action: m[1] === 'start' ? 'open' : 'close',
      name: m[3]!,
      title: beforeCr !== null ? text : m[3]!,
      time: Number(m[2]),
    }
    if (/(?:^|,\s?)collapsed=true(?:,|$)/.test(options)) marker.collapsed = true
    // GitLab requires the `\r ESC[0K` suffix: a marker without a CR is ordinary text.
    return beforeCr !== null ? marker : null
  }
  if ((m = TRAVIS.exec(head))) return { system: 'travis', action: m[1] === 'start' ? 'open' : 'close', name: m[2]!, title: m[2]! }
  if ((m = GITHUB.exec(text))) {
    const command = (m[1] ?? m[3]!).toLowerCase()
    const title = m[1] !== undefined ? percentDecode(m[2]!) : m[4]!
    return { system: 'github', action: command === 'group' ? 'open' : 'close', name: '', title }
  }
  if ((m = TEAMCITY.exec(text))) {
    const attrs = new Map<string, string>()
    for (const a of m[2]!.matchAll(TEAMCITY_ATTR)) attrs.set(a[1]!, teamcityDecode(a[2]!))
    const name = attrs.get('name')
    if (name === undefined) return null
    return { system: 'teamcity', action: m[1] === 'blockOpened' ? 'open' : 'close', name, title: attrs.get('description') || name }
  }
  return null
}
