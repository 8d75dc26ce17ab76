/**
 * CI fold markers (spec §7): GitHub Actions, GitLab, Travis and TeamCity. Matched on a line's
 * escape-free text; GitLab and Travis markers sit before a CR, so the caller also passes the text
 * a carriage return discarded (`beforeCr`).
 */

export type CiSystem = 'github' | 'gitlab' | 'travis' | 'teamcity'

export interface CiMarker {
  system: CiSystem
  action: 'open' | 'close'
  /** Section name used to pair opens and closes (GitHub groups have none: they do not nest). */
  name: string
  /** What the section shows: GitHub's title, GitLab's header, TeamCity's description or name. */
  title: string
  /** GitLab's Unix timestamp (seconds). */
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

/** What a CI marker line starts with (hasCiMarkerPrefix). */
export const CI_MARKER_PREFIXES: readonly Buffer[] = ['::', '##', 'section_start:', 'section_end:', 'travis_fold:'].map((p) => Buffer.from(p))

/**
 * Cheap pre-check on the bytes a line starts with, so ordinary lines cost a comparison or two and
 * no string: only lines starting like a marker are matched.
 */
export function hasCiMarkerPrefix(buf: Uint8Array, start: number, end: number): boolean {
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
