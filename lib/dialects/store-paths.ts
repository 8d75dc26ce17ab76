/**
 * Store-path recognisers (spec §8). The lenient one is nix-log2xml's (§2.5), which the XML output
 * must reproduce; the strict one follows Nix's own grammar and is what displays highlight.
 */

const STORE_DIR = Buffer.from('/nix/store/')
const HASH_LENGTH = 32

/** Bytes that end a log2xml store-path name: NUL / LF CR TAB space ( ) [ ] : ; ? < > */
const LOG2XML_STOP = new Uint8Array(256)
for (const c of [0x00, 0x2f, 0x0a, 0x0d, 0x09, 0x20, 0x28, 0x29, 0x5b, 0x5d, 0x3a, 0x3b, 0x3f, 0x3c, 0x3e]) LOG2XML_STOP[c] = 1

/** A store reference found by the log2xml recogniser: byte indexes into the scanned buffer. */
export interface Log2xmlStoreRef {
  /** Index of the leading `/` of `/nix/store/`. */
  start: number
  /** Index of the `-` that ends the hash (the name starts there, dash included, as log2xml did). */
  nameStart: number
  /** End of the name, where the sub-path starts. */
  pathStart: number
  /** End of the sub-path. */
  end: number
}

/**
 * nix-log2xml's recogniser at index `i`: `/nix/store/`, 32 unvalidated bytes, a `-`, and at least
 * one more byte. Returns undefined when there is no reference at `i`.
 */
export function log2xmlStoreRefAt(buf: Uint8Array, i: number, end: number): Log2xmlStoreRef | undefined {
  const dash = i + STORE_DIR.length + HASH_LENGTH
  if (dash + 1 >= end || buf[dash] !== 0x2d) return undefined
  for (let k = 0; k < STORE_DIR.length; k++) if (buf[i + k] !== STORE_DIR[k]) return undefined
  let j = dash
  while (j < end && LOG2XML_STOP[buf[j]!] === 0) j++
  let k = j
  while (k < end && (buf[k] === 0x2f || LOG2XML_STOP[buf[k]!] === 0)) k++
  return { start: i, nameStart: dash, pathStart: j, end: k }
}

/** Index of the next `/nix/store/` candidate at or after `from`, or -1. */
export function nextStoreDir(buf: Uint8Array, from: number, end: number): number {
  const at = Buffer.prototype.indexOf.call(buf, STORE_DIR, from) as number
  return at === -1 || at >= end ? -1 : at
}

/**
 * Nix's strict grammar: 32 nix32 characters, a name of 1–211 characters from [0-9A-Za-z+-._?=],
 * an optional sub-path; a single trailing `.` is punctuation (D-23).
 */
export const STRICT_STORE_PATH = /\/nix\/store\/([0-9a-df-np-sv-z]{32})-([0-9A-Za-z+\-._?=]{1,211})((?:\/[^\s'"`()[\]{}<>:;,]*)?)/g

export interface StorePathMatch {
  /** Character index in the string where the path starts, and where it ends. */
  start: number
  end: number
  hash: string
  name: string
  subPath: string
}

/** Finds store paths in displayed text with the strict grammar. */
export function findStorePaths(text: string): StorePathMatch[] {
  const found: StorePathMatch[] = []
  if (!text.includes('/nix/store/')) return found
  for (const m of text.matchAll(STRICT_STORE_PATH)) {
    let name = m[2]!
    let subPath = m[3]!
    if (subPath === '' && name.length > 1 && name.endsWith('.')) name = name.slice(0, -1)
    else if (subPath.endsWith('.')) subPath = subPath.slice(0, -1)
    const start = m.index!
    found.push({ start, end: start + 44 + name.length + subPath.length, hash: m[1]!, name, subPath })
  }
  return found
}

/** How displays show a store path: store dir and hash elided, `…-name/sub/path` (spec §8, §9). */
export function shortStorePath(match: StorePathMatch): string {
  return `…-${match.name}${match.subPath}`
}
