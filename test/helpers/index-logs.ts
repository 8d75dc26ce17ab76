/**
 * Random build logs made of the pieces the index treats specially, and a comparison of two trees
 * (the index fast path against the event path, one thread against two).
 */
import type { LogTree } from '../../dist/tree/tree.js'
import { prng } from './random.js'

export const E = '\x1b'

/** The seeded generator of helpers/random.ts as numbers in [0, 1), so a failure names its seed. */
export function random(seed: number): () => number {
  const next = prng(seed)
  return () => next(4294967296) / 4294967296
}

const TEXTS = [
  'plain text', '', 'building foo', 'error: it broke', 'fatal error: x.h', 'ERROR here', 'warning: careful',
  'a.c:1: warning: unused', '[WARN] w', '[ERROR] e', 'FAIL: t1', 'make *** [all] Error 2', 'BUILD FAILED', 'FAILURE',
  'no Error here', 'err', 'or: joined', 'Running phase: buildPhase', 'Running phase: checkPhase', 'R', '@', '@nix',
  '@nix {"action":"setPhase","phase":"buildPhase"}', '@nix {"action":"msg","level":0,"msg":"nix error"}',
  '@nix {"action":"msg","level":1,"msg":"nix warning"}', '@nix not json', '::group::G', '::endgroup::', '##[group]H',
  '##[endgroup]', 'section_start:1700000000:s1\r', 'section_end:1700000001:s1\r', '--- bk', '+++ bk', '^^^ +++',
  'travis_fold:start:x\r', 'héllo wörld ✓', 'x'.repeat(300),
  '2024-05-01T00:00:00.0230000Z ##[group]Run npm ci', '2024-05-01T00:00:03Z ##[endgroup]', '2024-05-01T00:00:04.5Z ::group::G',
  '2024-05-01T00:00:05.0230000Z error: it broke', '2024-13-01T00:00:06Z ::endgroup::', '2024-05-01T00:00:07Z',
]

const ESCAPES = [
  `${E}[p`, `${E}[3p`, `${E}[1p`, `${E}[q`, `${E}[q`, `${E}[e`, `${E}[w`, `${E}[3s`, `${E}[a`, `${E}[b`, `${E}[31m`,
  `${E}[0m`, `${E}[K`, `${E}[2J`, `${E}]0;title\x07`, `${E}(B`, '\r', '\r\n',
]

export function randomLog(next: () => number, pieces: number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
  let s = ''
  for (let k = 0; k < pieces; k++) {
    const r = next()
    if (r < 0.45) s += pick(TEXTS) + '\n'
    else if (r < 0.55) s += pick(TEXTS)
    else if (r < 0.7) s += `${pick([`${E}[p`, `${E}[3p`])}${pick(TEXTS)}\n`
    else if (r < 0.8) s += `${E}[q`
    else s += pick(ESCAPES)
  }
  return Buffer.from(s)
}

/**
 * A random log with long runs of short lines among the pieces: runs the index walks as one span,
 * in C from 512 bytes on, with more lines than its list of line ends first holds, and the lines
 * a walk must stop before (`@`, `Running phase:`, markers, stamped or not) inside them.
 */
export function randomRunsLog(next: () => number, pieces: number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
  const short = ['', 'x', '.', 'ok', 'error: e', 'warning: w', 'R', '@', 'Running phase: buildPhase', 'Running phase: buildPhase\n@nix {"action":"setPhase","phase":"buildPhase"}', '::group::G', '::endgroup::', '2024-05-01T00:00:04Z ::group::S', '2024-05-01T00:00:05Z x', '##[endgroup]', 'section_end:1700000001:s1', 'travis_fold:end:x']
  let s = ''
  for (let k = 0; k < pieces; k++) {
    if (next() < 0.2) {
      const common = pick(['', 'x', '.', 'ok'])
      const others = next() < 0.5 ? 0 : 0.03 // half the runs unbroken: more lines than a walk takes at once
      for (let n = Math.floor(next() * 3000); n > 0; n--) s += (next() < others ? pick(short) : common) + '\n'
    } else s += randomLog(next, 1).toString('latin1')
  }
  return Buffer.from(s, 'latin1')
}

/** Every line, every section field and every row (all sections open) of the two trees; the first difference, or ''. */
export function difference(a: LogTree, b: LogTree): string {
  if (a.lines.length !== b.lines.length) return `line count ${a.lines.length} vs ${b.lines.length}`
  for (let i = 0; i < a.lines.length; i++) {
    const x = [a.lines.offset(i), a.lines.end(i), a.lines.section(i), a.lines.flags(i)]
    const y = [b.lines.offset(i), b.lines.end(i), b.lines.section(i), b.lines.flags(i)]
    if (x.join() !== y.join()) return `line ${i}: ${x.join()} vs ${y.join()}`
  }
  if (a.sections.length !== b.sections.length) return `section count ${a.sections.length} vs ${b.sections.length}`
  for (let s = 0; s < a.sections.length; s++) {
    const x = JSON.stringify(a.sections.get(s))
    const y = JSON.stringify(b.sections.get(s))
    if (x !== y) return `section ${s}: ${x} vs ${y}`
  }
  a.setAll(() => true)
  b.setAll(() => true)
  if (a.rowCount !== b.rowCount) return `row count ${a.rowCount} vs ${b.rowCount}`
  for (let r = 0; r < a.rowCount; r++) {
    const x = JSON.stringify(a.rowAt(r))
    const y = JSON.stringify(b.rowAt(r))
    if (x !== y) return `row ${r}: ${x} vs ${y}`
  }
  for (let i = 0; i < a.lines.length; i++) if (a.rowOfLine(i) !== b.rowOfLine(i)) return `row of line ${i}`
  return ''
}

