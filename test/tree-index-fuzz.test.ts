/**
 * The index fast path (IndexDecoder writing into the tree) against the event path (BuildLogDecoder
 * events fed to the tree) on random logs cut into random chunks: the same lines, sections and rows.
 * The pieces are the ones the fast path treats specially — legacy opens and closes next to lines
 * and to each other, codes that change a line's flags (e, w, 3s, a/b), kept and removed escapes,
 * carriage returns, `@nix` lines, `Running phase:` lines, CI markers, severity text — so that every
 * shortcut meets the cases it must leave to the ordinary path.
 */
import t from 'tap'
import { BuildLogDecoder } from '../dist/dialects/build-log.js'
import { DecodeContext } from '../dist/dialects/context.js'
import { IndexDecoder } from '../dist/tree/index-decoder.js'
import { loadNativePassThrough } from '../dist/dialects/native-pass-through.js'
import { NeedleFinder, RULE_LITERALS, RULE_STARTS, SCAN_NEEDLES, holdsNeedle, startsLikeRule } from '../dist/tree/severity-filter.js'
import { looksLikeError, looksLikeWarning } from '../dist/tree/severity.js'
import { LogTree } from '../dist/tree/tree.js'
import { TreeOutput, type FramerDiagnostic } from '../dist/tree/index-output.js'
import { E, difference, random, randomLog, randomRunsLog } from './helpers/index-logs.js'

// The index takes lines from the framer's C line mode too, which small chunks use only once the
// addon is loaded: load it, so the random chunks below go through it.
loadNativePassThrough()

/** Feeds `log` in chunks of random sizes (small ones too: escapes and lines split anywhere; with `big`, up to 70,000 bytes). */
function chunked(log: Buffer, next: () => number, write: (chunk: Buffer) => void, big = false): void {
  for (let at = 0; at < log.length; ) {
    const size = big && next() < 0.5 ? 1 + Math.floor(next() * 70000) : next() < 0.3 ? 1 + Math.floor(next() * 8) : 1 + Math.floor(next() * 400)
    // a fresh copy each time: nothing may keep a view of a chunk after write() returns
    write(Buffer.from(log.subarray(at, at + size)))
    at += size
  }
}

function fastTree(log: Buffer, next: () => number, big = false): LogTree {
  const tree = new LogTree()
  const d = new IndexDecoder(tree)
  chunked(log, next, (c) => d.write(c), big)
  d.end()
  return tree
}

function eventTree(log: Buffer): LogTree {
  const tree = new LogTree()
  const d = new BuildLogDecoder((e) => tree.add(e), new DecodeContext())
  d.write(log)
  d.end()
  return tree
}

/**
 * Indexes `log` both ways (the fast path in chunks of up to 70,000 bytes too) and adds to `tally`
 * its lines, the lines the event path flags as errors or warnings, and a difference (the first
 * three are reported as failures, named `name`).
 */
function compareBig(t: Tap.Test, log: Buffer, next: () => number, name: string, tally: { lines: number; flagged: number; differing: number }): void {
  const fast = fastTree(log, next, true)
  const events = eventTree(log)
  tally.lines += fast.lines.length
  for (let i = 0; i < events.lines.length; i++) if ((events.lines.flags(i) & 3) !== 0) tally.flagged++
  const diff = difference(fast, events)
  if (diff !== '' && ++tally.differing <= 3) t.fail(`${name}: ${diff}`)
}

t.test('fast index = event index on random logs in random chunks', async (t) => {
  let differing = 0
  for (let seed = 1; seed <= 400; seed++) {
    const next = random(seed)
    const log = randomLog(next, 20 + Math.floor(next() * 200))
    const diff = difference(fastTree(log, next), eventTree(log))
    if (diff !== '') {
      differing++
      if (differing <= 3) t.fail(`seed ${seed}: ${diff}\n${JSON.stringify(log.toString('latin1'))}`)
    }
  }
  t.equal(differing, 0, '400 random logs: no difference')
})

t.test('fast index = event index on random logs with long runs of short lines, in big chunks too', async (t) => {
  const tally = { lines: 0, flagged: 0, differing: 0 }
  for (let seed = 1; seed <= 60; seed++) {
    const next = random(1000 + seed)
    compareBig(t, randomRunsLog(next, 10 + Math.floor(next() * 60)), next, `seed ${1000 + seed}`, tally)
  }
  t.ok(tally.lines > 300000, `${tally.lines} lines compared`)
  t.equal(tally.differing, 0, '60 random logs with long runs: no difference')
})

t.test('the comparison sees a difference when there is one', async (t) => {
  const next = random(7)
  const log = Buffer.from(`${E}[pbuilding\nerror: x\n${E}[q${E}[pnext\nline\n${E}[q`)
  const a = fastTree(log, next)
  const b = eventTree(Buffer.from(`${E}[pbuilding\nerror: x\n${E}[q${E}[pnext\nline\nmore\n${E}[q`))
  t.not(difference(a, b), '')
  const c = eventTree(Buffer.from(`${E}[pbuildin\nerror: x\n${E}[q${E}[pnext\nline\n${E}[q`))
  t.not(difference(fastTree(Buffer.from(`${E}[pbuilding\nerror: x\n${E}[q${E}[pnext\nline\n${E}[q`), next), c), '')
})

t.test('severity pre-filter: every line a rule flags starts like one or holds a scan needle; the walk finds what indexOf finds', async (t) => {
  const next = random(99)
  const fragments = ['error', 'rror', 'Error', 'ERROR', 'RROR', 'FAIL', 'FAIL:', 'FAI', ' *** ', '***', '**', 'LaTeX Error', 'LaTeX', 'warning', 'arning', 'WARNING', 'WARN', 'WAR',
    '[WARN]', '[ERROR]', '[ERR', 'BUILD FAILED', 'FAILURE', ': ', ' ', 'e', 'r', 'w', 'x', '_', 'fatal ', 'fatal error', 'rror: ', 'rning: ', '\n']
  let flagged = 0
  let byStart = 0
  for (let k = 0; k < 20000; k++) {
    let s = ''
    for (let n = Math.floor(next() * 6); n >= 0; n--) s += fragments[Math.floor(next() * fragments.length)]
    const b = Buffer.from(`..${s}..`, 'latin1')
    const expected = SCAN_NEEDLES.some((n) => s.includes(n))
    if (holdsNeedle(b, 2, b.length - 2) !== expected) return t.fail(`holdsNeedle(${JSON.stringify(s)})`)
    const starts = RULE_STARTS.some((p) => s.startsWith(p))
    if (startsLikeRule(b, 2, b.length - 2) !== starts) return t.fail(`startsLikeRule(${JSON.stringify(s)})`)
    if (looksLikeError(s) || looksLikeWarning(s)) {
      flagged++
      if (!expected && !starts) return t.fail(`${JSON.stringify(s)} is flagged but neither starts like a rule nor holds a scan needle`)
      if (!expected) byStart++
    }
  }
  t.ok(flagged > 1000 && byStart > 100, `${flagged} flagged lines checked, ${byStart} let through by their start alone`)
  for (const n of RULE_LITERALS) t.ok(SCAN_NEEDLES.some((m) => n.includes(m)), `${n} holds a scan needle`)
  t.notOk(holdsNeedle(Buffer.from('[WAR'), 0, 3), 'bytes past the end are not read')
  t.notOk(startsLikeRule(Buffer.from('error'), 0, 4), 'nor by the start check')
})

t.test('the needle finder (one C pass for all needles) finds what a Buffer#indexOf per needle finds', async (t) => {
  t.ok(loadNativePassThrough(), 'the addon is loaded, so the finder takes its C pass')
  const next = random(17)
  const fragments = [...SCAN_NEEDLES, 'rror:', 'rror', 'rning:', 'rnin', 'LaTe', '[ER', '[WA', 'FAI', '**', 'r', ':', ' ', 'x', '*', '[', 'L', '\n', 'é']
  const needles = SCAN_NEEDLES.map((n) => Buffer.from(n, 'latin1'))
  let hits = 0
  for (let k = 0; k < 3000; k++) {
    let s = ''
    // now and then more needles than one C call hands back
    for (let n = Math.floor(next() * (k % 10 === 0 ? 400 : 40)); n >= 0; n--) s += fragments[Math.floor(next() * fragments.length)]
    const buf = Buffer.from(s, 'latin1')
    const finder = new NeedleFinder()
    // questions that move forward, as the index asks them, and some that go back
    for (let from = 0; from <= buf.length; from += 1 + Math.floor(next() * 12)) {
      const asked = next() < 0.1 ? Math.floor(from / 2) : from
      // the text asked about ends at `until`: the chunk's end, or a line's (at an LF, which no needle holds)
      const lf = buf.indexOf(0x0a, asked + Math.floor(next() * 30))
      const until = next() < 0.5 || lf === -1 ? buf.length : lf
      const inside = needles.map((n) => buf.subarray(0, until).indexOf(n, asked)).filter((at) => at >= 0)
      const expected = inside.length > 0 ? Math.min(...inside) : until
      const got = finder.next(buf, asked, 1000 * k, until)
      if (expected < until ? got !== expected : got < until) return t.fail(`next(${asked}, until ${until}) in ${JSON.stringify(s)}: ${got}, indexOf says ${expected}`)
      if (got < until) hits++
    }
  }
  t.ok(hits > 10000, `${hits} needles found where indexOf found them`)
})

t.test('the framer counts lines the same on both paths: diagnostics give the same line and column', async (t) => {
  // The index's C conversion (index_ops) counts the LFs of the lines it takes — newline groups'
  // LFs inside a line too — for the positions of the framer's diagnostics (a close with no
  // section open), as the event path's framer counts them.
  type Diagnostic = { code: string; offset: number; line: number; column: number }
  class Watched extends TreeOutput {
    readonly seen: Diagnostic[] = []
    override diagnostic(code: FramerDiagnostic, message: string, offset: number, line: number, column: number): void {
      this.seen.push({ code, offset, line, column })
      super.diagnostic(code, message, offset, line, column)
    }
  }
  const group = (n: number): string => `${E}[a${Array.from({ length: n }, (_, k) => `grouped ${k}`).join('\n')}${E}[b\n`
  let compared = 0
  for (let seed = 1; seed <= 200; seed++) {
    const next = random(5000 + seed)
    let s = ''
    for (let k = 0; k < 40; k++) s += next() < 0.3 ? group(1 + Math.floor(next() * 5)) : next() < 0.2 ? `${E}[q` : randomLog(next, 1).toString('latin1')
    const log = Buffer.from(s, 'latin1')
    const out = new Watched(new LogTree())
    const d = new IndexDecoder(out)
    chunked(log, next, (c) => d.write(c), true)
    d.end()
    const expected: Diagnostic[] = []
    const events = new BuildLogDecoder((e) => {
      if (e.type === 'diagnostic') expected.push({ code: e.code, offset: e.offset, line: e.line, column: e.column })
    }, new DecodeContext())
    events.write(log)
    events.end()
    if (!t.strictSame(out.seen, expected, `seed ${5000 + seed}`)) break
    compared += expected.length
  }
  t.ok(compared > 500, `${compared} diagnostics compared`)
})

t.test('severity decided in C = the rules in JavaScript, on lines made of near misses', async (t) => {
  // index_ops answers the pre-filter's questions itself (text_severity in native/pass-through.c);
  // lines of rule fragments and their near misses, plain or with colours and removed escapes
  // between them (the text is read between the marks), some longer than it reads (left to
  // JavaScript), against the event path, whose lines go through severity.ts.
  const fragments = [
    'error', 'errors', 'error:', 'error_', 'error-', 'error9', 'fatal error', 'fatal errors', 'fatal', 'ERROR', 'ERRORS', 'ERROR:',
    'FAIL:', 'FAIL', ' *** ', ' ** ', '***', 'LaTeX Error', 'LaTeX error', 'BUILD FAILED', 'BUILD FAIL', 'FAILURE', 'FAILUR',
    '[ERROR]', '[ERROR', ' error: ', ' error:', 'error: ', 'warning', 'warning:', 'warning ', 'warnings', 'WARNING:', 'WARNING ',
    'WARNINGS', ': warning: ', ': warning:', '[WARN]', '[WARNING]', '[WARNI]', '[WARN', 'x', ' ', ':', '[', '\xe9', '9', '_',
  ]
  const escapes = [`${E}[31m`, `${E}[0m`, `${E}[1;33m`, `${E}[K`]
  const tally = { lines: 0, flagged: 0, differing: 0 }
  for (let seed = 1; seed <= 150; seed++) {
    const next = random(7000 + seed)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
    let s = ''
    for (let n = 0; n < 300; n++) {
      const styled = next() < 0.4
      let line = ''
      for (let k = 1 + Math.floor(next() * 4); k > 0; k--) line += (styled && next() < 0.5 ? pick(escapes) : '') + pick(fragments)
      if (next() < 0.03) line = 'y'.repeat(1000 + Math.floor(next() * 100)) + line
      s += line + '\n'
    }
    compareBig(t, Buffer.from(s, 'latin1'), next, `seed ${7000 + seed}`, tally)
  }
  t.ok(tally.flagged > 10000 && tally.lines - tally.flagged > 10000, `${tally.lines} lines, ${tally.flagged} of them errors or warnings`)
  t.equal(tally.differing, 0, 'no difference')
})

t.test('needles are found past the C scan\'s window: runs longer than 16 KiB, needles anywhere in them', async (t) => {
  // index_ops looks for needles a window past the line it is asked about, to an LF; lines whose
  // only sign of trouble is a needle inside them (not a rule's start) fall on every side of where
  // a window ends, in chunks of up to 70,000 bytes
  const tally = { lines: 0, flagged: 0, differing: 0 }
  for (let seed = 1; seed <= 40; seed++) {
    const next = random(9000 + seed)
    let s = ''
    for (let i = 0; s.length < 200000; i++) {
      const r = next()
      // (rare enough that a window holds fewer needles than one scan hands back; `[WARN]` ends its line with a needle)
      s += r < 0.015 ? `step ${i}: compile error: ${i}\n` : r < 0.025 ? `src/f${i}.c:1: warning: careful\n` : r < 0.035 ? `build ${i} [WARN]\n` : r < 0.06 ? `${E}[31mred ${i}${E}[0m\n` : `line ${i} of output ${'x'.repeat(Math.floor(next() * 60))}\n`
    }
    compareBig(t, Buffer.from(s, 'latin1'), next, `seed ${9000 + seed}`, tally)
  }
  t.ok(tally.flagged > 5000, `${tally.flagged} lines flagged by a needle`)
  t.equal(tally.differing, 0, '40 logs of 200 KB: no difference')
})
