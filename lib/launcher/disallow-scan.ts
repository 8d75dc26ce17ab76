import { constants } from 'node:fs'
import { lstat, open, readdir, readlink } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { hashPartOf } from './spec-encoding.js'

/**
 * --disallow (Nix's disallowedReferences, NixOS/nix src/libstore/references.cc): after a
 * successful build, search the outputs in the build directory for the 32-character hash part
 * of each forbidden store path: in file contents, symlink targets and names.
 *
 * Done in Node rather than in the C helper: it runs after the sandbox is gone, needs no
 * privilege or namespace, and keeps the security-critical C small; it is also easy to unit-test
 * (chunk boundaries).  Files are opened with O_NOFOLLOW and symlinks are never followed, so a
 * build cannot point the scan at host files.
 */

export interface DisallowedHit {
  /** the offending file, relative to the scanned directory */
  file: string
  /** where the hash was found */
  where: 'contents' | 'name' | 'symlink-target'
  /** the disallowed store path it refers to */
  path: string
}

const CHUNK = 64 * 1024

/** Searches a stream of chunks for any of the needles, across chunk boundaries. */
export class ChunkedSearcher {
  readonly #needles: Buffer[]
  readonly #keep: number
  #carry: Buffer = Buffer.alloc(0)
  readonly found = new Set<number>()

  constructor(needles: string[]) {
    this.#needles = needles.map(n => Buffer.from(n, 'latin1'))
    // carry len-1 bytes so a needle straddling two chunks is seen (Nix keeps up to 32)
    this.#keep = Math.max(0, ...this.#needles.map(n => n.length - 1))
  }

  push(chunk: Buffer): void {
    const buf = this.#carry.length ? Buffer.concat([this.#carry, chunk]) : chunk
    this.#needles.forEach((n, i) => {
      if (!this.found.has(i) && buf.indexOf(n) !== -1) this.found.add(i)
    })
    this.#carry = Buffer.from(buf.subarray(Math.max(0, buf.length - this.#keep)))
  }
}

/** Scans DIR recursively; returns one hit per (file, where, path). */
export async function scanForDisallowed(dir: string, disallowed: string[], chunkSize = CHUNK): Promise<DisallowedHit[]> {
  const items = disallowed.map(p => ({ path: p, hash: hashPartOf(p) })).filter((x): x is { path: string; hash: string } => x.hash !== undefined)
  if (items.length === 0) return []
  const hashes = items.map(x => x.hash)
  const hits: DisallowedHit[] = []
  const record = (file: string, where: DisallowedHit['where'], found: Iterable<number>) => {
    for (const i of found) hits.push({ file: relative(dir, file) || '.', where, path: (items[i] as { path: string }).path })
  }
  const searchString = (s: string): number[] => hashes.flatMap((h, i) => (s.includes(h) ? [i] : []))

  const walk = async (p: string, isRoot: boolean): Promise<void> => {
    const st = await lstat(p)
    if (!isRoot) record(p, 'name', searchString(p.slice(p.lastIndexOf('/') + 1)))
    if (st.isSymbolicLink()) {
      record(p, 'symlink-target', searchString(await readlink(p)))
    } else if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) await walk(join(p, name), false)
    } else if (st.isFile()) {
      const s = new ChunkedSearcher(hashes)
      const fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
      try {
        const buf = Buffer.alloc(chunkSize)
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, chunkSize, null)
          if (bytesRead === 0) break
          s.push(buf.subarray(0, bytesRead))
          if (s.found.size === hashes.length) break
        }
      } finally {
        await fh.close()
      }
      record(p, 'contents', [...s.found].sort((a, b) => a - b))
    }
  }
  await walk(dir, true)
  return hits
}

/** A one-line summary naming the files, for the result message. */
export function describeHits(hits: DisallowedHit[]): string {
  return hits.map(h => `${h.file} refers to disallowed ${h.path} (in its ${h.where})`).join('; ')
}
