import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { allSections } from './helpers/tree.js'
import { LogSource } from '../dist/tree/source.js'
import { SearchJob, requiredLiteral } from '../dist/tree/search.js'
import { LINE_DIM, LINE_ERROR, LINE_WARNING } from '../dist/tree/lines.js'
import { LogTree } from '../dist/tree/tree.js'
import { IndexDecoder } from '../dist/tree/index-decoder.js'
import { BuildLogDecoder } from '../dist/dialects/build-log.js'
import { DecodeContext } from '../dist/dialects/context.js'
import { bytesSeverity, lineSeverity, looksLikeError, looksLikeWarning } from '../dist/tree/severity.js'
import { prng } from './helpers/random.js'
import { decode } from '../dist/decoder.js'
import type { LineEvent } from '../dist/events.js'

const E = '\x1b'
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-tree-index-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

function write(name: string, text: string | Buffer): string {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

async function indexed(p: string, index: 'fast' | 'events'): Promise<LogSource> {
  const src = LogSource.open(p, { index })
  src.start()
  await new Promise<void>((r) => src.on('eof', () => r()))
  return src
}

/**
 * The fast index without the addon's index words (IndexDecoder.takeOps): the C line mode's ops
 * handed to line() and span() one by one, as where the words stop.
 */
async function indexedWithoutWords(p: string): Promise<LogSource> {
  const proto = IndexDecoder.prototype as { takeOps?: IndexDecoder['takeOps'] }
  const takeOps = proto.takeOps
  proto.takeOps = undefined
  try {
    return await indexed(p, 'fast')
  } finally {
    proto.takeOps = takeOps
  }
}

/**
 * The fast index (with the addon's index words and without) and the event index of a file,
 * compared line by line and section by section; returns the first.
 */
async function same(t: typeof import("tap").default, p: string): Promise<LogSource> {
  const a = await indexed(p, 'fast')
  const b = await indexed(p, 'events')
  const c = await indexedWithoutWords(p)
  for (const [name, fast] of [['', a], [' (no words)', c]] as const) {
    const A = fast.tree
    const B = b.tree
    t.equal(A.lines.length, B.lines.length, `${path.basename(p)}${name}: line count`)
    let bad = -1
    for (let i = 0; i < Math.min(A.lines.length, B.lines.length) && bad < 0; i++) {
      if (A.lines.offset(i) !== B.lines.offset(i) || A.lines.end(i) !== B.lines.end(i) || A.lines.section(i) !== B.lines.section(i) || A.lines.flags(i) !== B.lines.flags(i)) bad = i
    }
    t.equal(bad, -1, `${path.basename(p)}${name}: every line's offset, end, section and flags`)
    t.same(allSections(A.sections), allSections(B.sections), `${path.basename(p)}${name}: sections`)
    t.equal(A.rowCount, B.rowCount)
  }
  b.close()
  c.close()
  return a
}

t.test('fast index = event index on the samples', async (t) => {
  const samples = path.resolve('test/fixtures/samples')
  for (const f of fs.readdirSync(samples)) (await same(t, path.join(samples, f))).close()
})

t.test('fast index = event index on generated logs of every flavour', async (t) => {
  for (const flavour of ['legacy', 'modern', 'plain', 'prefixed', 'internal-json']) {
    const p = path.join(dir, `${flavour}.log`)
    execFileSync(process.execPath, ['bench/corpus.mjs', '--flavour', flavour, '--size', '3M', '--out', p], { stdio: 'ignore' })
    const src = await same(t, p)
    if (flavour === 'legacy' || flavour === 'modern' || flavour === 'plain') {
      t.ok(src.indexDecoder, `${flavour}: the fast path was used`)
      const { spanLines, wordLines, fastLines } = src.indexDecoder!
      t.ok(spanLines + wordLines > 9 * fastLines, `${flavour}: runs of lines went as spans (${spanLines}) or as the C run's index words (${wordLines}), not line by line (${fastLines})`)
      // the C run goes first: a chunk's first plain lines do not go as a JavaScript span
      if (flavour === 'legacy') t.equal(spanLines, 0, 'legacy: the C run took the plain lines between escapes too')
    } else t.notOk(src.indexDecoder, `${flavour}: the event path was used`)
    src.close()
  }
})

t.test('fast index: edge cases of the dialect', async (t) => {
  const log = [
    `plain\nerror: at line start\nnot an error\n`,
    `${E}[pbuilding foo\nline in foo\n${E}[3spriority three\n`,
    `err${E}[0mor: joined by removing SGR\n`,
    `${E}[31mwarning:${E}[0m styled warning\n`,
    `x${E}[ecoded error\n`,
    `Running phase: buildPhase\n@nix {"action":"setPhase","phase":"buildPhase"}\nbuilding\n`,
    `Running phase: checkPhase\nnot followed by setPhase\n`,
    `::group::Group title\nin group\n::endgroup::\n`,
    `##[group]Other\nin other\n##[endgroup]\n`,
    `section_start:1700000000:gl[collapsed=true]\r${E}[0KGitLab header\nin gitlab\nsection_end:1700000010:gl\r${E}[0K\n`,
    `progress 1\rprogress 2\rdone\n`,
    `${E}[q${E}[q`,
    `@nix {"action":"msg","level":0,"msg":"nix error message"}\n`,
    `@nix not json\n`,
    `FAIL: a test\n  *** make error\n[WARN] w\n[ERROR] e\n`,
    'tail without newline',
  ].join('')
  const src = await same(t, write('edge.log', log))
  const tree = src.tree
  const text = (i: number): string => src.lineText(i).text.toString()
  const flagsOf = (needle: string): number => {
    for (let i = 0; i < tree.lines.length; i++) if (text(i).includes(needle)) return tree.lines.flags(i)
    return -1
  }
  t.ok(flagsOf('error: at line start') & LINE_ERROR)
  t.equal(flagsOf('not an error') & (LINE_ERROR | LINE_WARNING), 0)
  t.ok(flagsOf('priority three') & LINE_DIM)
  t.ok(flagsOf('joined by removing SGR') & LINE_ERROR, 'a needle split by SGR is found')
  t.ok(flagsOf('styled warning') & LINE_WARNING)
  t.ok(flagsOf('[ERROR] e') & LINE_ERROR)
  t.ok(flagsOf('[WARN] w') & LINE_WARNING)
  t.ok(allSections(tree.sections).some((s) => s.kind === 'phase' && s.title === 'buildPhase' && s.head >= 0), 'Running phase line adopted as the phase head')
  t.ok(allSections(tree.sections).some((s) => s.kind === 'ci' && s.title === 'Group title'))
  src.close()
})

t.test('fast index: lines that keep their removed escapes in place (gcc\'s erase-lines)', async (t) => {
  // big enough for the framer's C line mode, which hands such lines over with the escapes in place
  const lines: string[] = []
  for (let k = 0; k < 400; k++) {
    lines.push(`f${k}.c:${k}:5: ${E}[01;35m${E}[Kwarning: ${E}[m${E}[Kunused variable ${E}[01m${E}[K\u2018x\u2019${E}[m${E}[K\n`)
    if (k % 40 === 3) lines.push(`${E}[Kerr${E}[Kor: joined by removing an erase-line ${k}\n`, `${E}[3p${E}[Khead ${k}\nin ${k}\n${E}[q`, `${E}[KRunning phase: buildPhase\n`)
    // a needle that only leaving out an escape makes, past the line's start
    if (k % 40 === 5) lines.push(`f${k}.c: in err${E}[Kor: mid-line ${k}\n`, `f${k}.c:1: war${E}[1mning: mid-line ${k}${E}[m\n`)
  }
  // (counted: the index takes them in place too, not copied)
  let inPlace = 0
  const line = IndexDecoder.prototype.line
  IndexDecoder.prototype.line = function (view) {
    if (view.marks !== view.sgr) inPlace++
    line.call(this, view)
  }
  t.teardown(() => {
    IndexDecoder.prototype.line = line
  })
  const src = await same(t, write('gcc.log', lines.join('')))
  t.ok(inPlace > 300, `without the index words, line() took ${inPlace} lines with their erase-lines in place`)
  t.ok(src.indexDecoder!.wordLines > 400, `the index words took ${src.indexDecoder!.wordLines} lines`)
  const tree = src.tree
  let joined = 0
  for (let i = 0; i < tree.lines.length; i++) if (src.lineText(i).text.toString().startsWith('error: joined') && (tree.lines.flags(i) & LINE_ERROR) !== 0) joined++
  t.equal(joined, 10, 'a needle split by a removed escape is found')
  let mid = 0
  for (let i = 0; i < tree.lines.length; i++) if (/mid-line/.test(src.lineText(i).text.toString()) && (tree.lines.flags(i) & (LINE_ERROR | LINE_WARNING)) !== 0) mid++
  t.equal(mid, 20, 'so is one that leaving out an escape makes past the line\'s start')
  t.ok(allSections(tree.sections).some((s) => src.title(s.id) === 'head 363'), 'a head line with an erase-line names its section')
  src.close()
})

t.test('regex search: required literal pre-filter', async (t) => {
  t.equal(requiredLiteral('not[- ]present\\d{3}x'), 'present')
  t.equal(requiredLiteral('error: pkg\\d+ failed'), 'error: pkg')
  t.equal(requiredLiteral('a|bc'), null, 'alternation: no filter')
  t.equal(requiredLiteral('colou?r'), 'colo')
  t.equal(requiredLiteral('(foo)?barx'), 'barx', 'groups are not required')
  t.equal(requiredLiteral('ab*c'), null)
  t.equal(requiredLiteral('\\.so\\.1'), '.so.1')
  t.equal(requiredLiteral('x{0,3}yz'), 'yz')
})

t.test('regex and literal search agree with a per-line scan', async (t) => {
  const p = path.join(dir, 'search.log')
  execFileSync(process.execPath, ['bench/corpus.mjs', '--flavour', 'legacy', '--size', '2M', '--out', p], { stdio: 'ignore' })
  const src = await indexed(p, 'fast')
  const raw = fs.readFileSync(p)
  const lines = src.tree.lines
  const patterns = [
    { source: 'warning: [a-z]+', literal: false },
    { source: '^make', literal: false },
    { source: 'error', literal: true },
    { source: 'gcc.*-O2', literal: false },
    { source: 'c(c|\\+\\+) ', literal: false },
    { source: '\\.so\\b', literal: false },
  ]
  for (const pattern of patterns) {
    const job = new SearchJob(src.fd, src.tree, pattern)
    await job.promise
    const re = pattern.literal ? null : new RegExp(pattern.source, 'm')
    let expected = 0
    for (let i = 0; i < lines.length; i++) {
      const s = raw.toString('latin1', lines.offset(i), lines.end(i))
      if (re ? re.test(s) : s.includes(pattern.source)) expected++
    }
    t.equal(job.hits, expected, `${pattern.source}: ${expected} lines`)
  }
  src.close()
})

t.test('fast index: structure and severity inside long plain runs, CRs, read-slice boundaries', async (t) => {
  const kinds = [
    (k: number) => `plain line ${k} ${'x'.repeat(k % 97)}\n`,
    (k: number) => `progress ${k}\rprogress done ${k}\n`,
    (k: number) => `Running phase: phase${k}\n@nix {"action":"setPhase","phase":"phase${k}"}\n`,
    (k: number) => `::group::g${k}\nin group ${k}\n::endgroup::\n`,
    (k: number) => `section_start:1700000000:s${k}\r${E}[0Kheader ${k}\nsection_end:1700000001:s${k}\r${E}[0K\n`,
    (k: number) => `section_not_a_marker ${k}\n@ not nix ${k}\n@nix not json ${k}\n`,
    (k: number) => `! LaTeX Error: ${k}\nBUILD FAILED ${k}\nFAILURE ${k}\nfatal error: ${k}\n`,
    (k: number) => `WARNING: ${k}\nfile.c:1: warning: ${k}\nno Error here ${k}\nERRORS are not ERROR ${k}\n`,
    (k: number) => `${E}[pbuilding pkg${k}\n${'y'.repeat(k % 61)} inside ${k}\n${E}[q`,
  ]
  let log = ''
  for (let k = 0; log.length < 1.2e6; k++) log += kinds[(k * 7 + (k >> 3)) % kinds.length]!(k)
  const src = await same(t, write('runs.log', log))
  t.ok(src.indexDecoder!.spanLines > 1000, 'most plain lines went as spans')
  src.close()
})

t.test('fast index: thousands of short lines in one read, with the C walk and without', async (t) => {
  // A read of 64 KiB holds up to 32 Ki lines of `x`: the walk over a run of plain lines keeps
  // more line ends than it first has room for. Structure and stamped markers come after that.
  let log = 'start\n' + 'x\n'.repeat(5000) + '\n'.repeat(5000)
  log += '@nix {"action":"setPhase","phase":"buildPhase"}\n' + 'y\n'.repeat(3000)
  log += '2024-05-01T00:00:00.1234567Z ::group::stamped\n' + 'z\n'.repeat(3000) + '2024-05-01T00:00:01Z ::endgroup::\n'
  log += 'Running phase: checkPhase\n' + 'error: e\n'.repeat(2000) + 'end\n'
  const p = write('short-lines.log', log)
  const lines = log.split('\n').length - 1 - 3 // the @nix line and the two markers are structure, not lines
  const src = await same(t, p)
  t.equal(src.tree.lines.length, lines, 'every line indexed')
  t.ok(src.indexDecoder!.spanLines > 15000, 'the runs went as spans')
  src.close()
  // the same comparison where the addon is not loaded: the walk in JavaScript
  const script = `
    const { LogSource } = await import(${JSON.stringify(path.resolve('dist/tree/source.js'))})
    const out = {}
    for (const index of ['fast', 'events']) {
      const src = LogSource.open(${JSON.stringify(p)}, { index })
      src.start()
      await new Promise((r) => src.on('eof', r))
      const l = src.tree.lines
      out[index] = Array.from({ length: l.length }, (_, i) => [l.offset(i), l.end(i), l.section(i), l.flags(i)].join()).join(' ')
    }
    process.stdout.write(JSON.stringify(out))`
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, BUILDLOG_NATIVE: '0' }, encoding: 'utf8' }))
  t.equal(out.fast.split(' ').length, lines, 'BUILDLOG_NATIVE=0: every line indexed')
  t.ok(out.fast === out.events, 'BUILDLOG_NATIVE=0: the fast index equals the event index, line by line')
})

t.test('fast index: the tree is whole after every write, not only at the end', async (t) => {
  // The fast path counts plain lines into their sections a run at a time; the pager reads the tree
  // between reads of the file, so each write must leave every count as the event path leaves it.
  const parts = [
    `${E}[pbuilding foo\n`,
    `error: one\nplain\nplain\n`,
    `${E}[31mwarning:${E}[0m styled\nmore\n`,
    `${E}[3pminor head\nminor line\nerror: two\n`,
    `${E}[qafter minor\n${E}[q`,
    `top line\nFAIL: three\n`,
  ]
  const fast = new LogTree()
  const fastDecoder = new IndexDecoder(fast)
  const slow = new LogTree()
  const slowDecoder = new BuildLogDecoder((e) => slow.add(e), new DecodeContext())
  for (const [k, part] of parts.entries()) {
    fastDecoder.write(Buffer.from(part))
    slowDecoder.write(Buffer.from(part))
    t.equal(fast.lines.length, slow.lines.length, `after write ${k + 1}: line count`)
    t.same(allSections(fast.sections), allSections(slow.sections), `after write ${k + 1}: sections`)
  }
  t.ok(fastDecoder.fastLines > 0, 'lines went the fast way')
})

t.test('severity: a flag decides before the text, in both index paths and for the other faces', async (t) => {
  // ESC[w marks a warning whose text says `error:`, ESC[e an error whose text says `warning:`; the
  // exports (lineSeverity) and the pager's index must agree on both.
  const p = write('flag-vs-text.log', `${E}[werror: flagged as a warning\n${E}[ewarning: flagged as an error\nerror: by its text\nwarning: by its text\nplain\n`)
  const expected = [LINE_WARNING, LINE_ERROR, LINE_ERROR, LINE_WARNING, 0]
  for (const index of ['fast', 'events'] as const) {
    const src = await indexed(p, index)
    const flags = Array.from({ length: src.tree.lines.length }, (_, i) => src.tree.lines.flags(i) & (LINE_ERROR | LINE_WARNING))
    t.same(flags, expected, `${index} index`)
    src.close()
  }
  const severities = decode(fs.readFileSync(p)).filter((e) => e.type === 'line').map((e) => lineSeverity(e as LineEvent))
  t.same(severities, ['warning', 'error', 'error', 'warning', undefined], 'lineSeverity (exports, HTML)')
  // bytesSeverity answers as the text rules do, whether or not the bytes are valid UTF-8
  t.equal(bytesSeverity(Buffer.from('\xff\xfe error: x', 'latin1')), 'error')
  t.equal(bytesSeverity(Buffer.from('errors are not ERROR', 'latin1')), undefined)
  t.equal(bytesSeverity(Buffer.from('x [WARN] y'), 2, 8), 'warning')
})

t.test('severity: the rules, written as a start and an anywhere pattern each, say what the rules say', async (t) => {
  // the rules as the spec lists them (§9, D-24), one pattern each
  const ERROR_RULE = /^(?:error|fatal error|ERROR)(?:\b|:)|^FAIL:| \*\*\* |LaTeX Error|BUILD FAILED|FAILURE|\[ERROR\]| error: /
  const WARNING_RULE = /^(?:warning|WARNING)(?::| )|: warning: |\[WARN(?:ING)?\]/
  const pieces = ['error', 'fatal error', 'ERROR', 'FAIL:', 'FAIL', ' *** ', '***', 'LaTeX Error', 'BUILD FAILED', 'FAILURE', '[ERROR]', ' error: ',
    'warning', 'WARNING', ': warning: ', '[WARN]', '[WARNING]', '[WARN', ':', ' ', 'x', '_', '7', 'é', '\n', 's', 'LaTeX ']
  const rnd = prng(24)
  let errors = 0
  let warnings = 0
  let wrong = 0
  for (let k = 0; k < 20_000; k++) {
    let text = ''
    for (let n = rnd(6); n > 0; n--) text += pieces[rnd(pieces.length)]
    const error = ERROR_RULE.test(text)
    const warning = WARNING_RULE.test(text)
    if (looksLikeError(text) !== error || looksLikeWarning(text) !== warning) {
      if (wrong++ < 5) t.fail(`${JSON.stringify(text)}: error ${looksLikeError(text)}, warning ${looksLikeWarning(text)}`)
    }
    if (error) errors++
    else if (warning) warnings++
  }
  t.equal(wrong, 0, 'no text answered otherwise')
  t.ok(errors > 2000 && warnings > 2000, `both kinds among the texts (${errors} errors, ${warnings} warnings)`)
})
