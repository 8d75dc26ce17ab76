/**
 * The index on two threads (parallel-index.ts): the main thread's tree after playing the worker's
 * records is the tree one thread makes, wherever the split falls — inside a newline group, before
 * closes of nests the main thread never opened, before lines only the dialect's decoder reads —
 * and the records are really played where the worker's assumption holds.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { LogSource, type LogSourceOptions } from '../dist/tree/source.js'
import { IndexRecorder, playWords, replayIndex } from '../dist/tree/index-record.js'
import type { IndexOutput } from '../dist/tree/index-output.js'
import { E, difference, random, randomLog } from './helpers/index-logs.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-parallel-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

function write(name: string, log: Buffer | string): string {
  const p = path.join(dir, name)
  fs.writeFileSync(p, log)
  return p
}

async function indexed(p: string, options: LogSourceOptions): Promise<LogSource> {
  const src = LogSource.open(p, options)
  src.start()
  await new Promise<void>((r) => src.on('eof', () => r()))
  src.close()
  return src
}

const filler = (lines: number, text = 'a line of output'): string => `${text}\n`.repeat(lines)

/**
 * The worker starts once the dialect is known, which for these logs is after the sniffer's 64 KiB:
 * the split goes `share` of the way through what is left after that.
 */
const PREAMBLE = filler(4200)

/** One thread's tree and two threads' (split at `share`, records of `recordBytes`), and the difference. */
async function compare(p: string, share: number, recordBytes = 512): Promise<{ diff: string; two: LogSource; split: number }> {
  const one = await indexed(p, { split: false })
  const two = await indexed(p, { split: { share, minBytes: 0, recordBytes, force: true } })
  return { diff: difference(two.tree, one.tree), two, split: two.splitAt }
}

/**
 * A legacy log: nests opened and closed (some closes unbalanced), priorities, e/w, newline
 * groups, SGR and other escapes, carriage returns, severity text, and now and then a line only
 * the dialect's decoder reads, where the worker stops.
 */
function legacyLog(next: () => number, lines: number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
  const texts = ['compiling foo.c', 'ok', '', 'error: it broke', 'warning: careful', `${E}[31mred${E}[0m text`, `gcc ${E}[1m-O2${E}[K`, 'x'.repeat(200), 'progress 10%\rprogress 100%', 'héllo ✓']
  let s = ''
  let depth = 0
  for (let k = 0; k < lines; k++) {
    const r = next()
    if (r < 0.12) {
      s += `${pick([`${E}[p`, `${E}[3p`, `${E}[1p`])}${pick(['building', 'unpacking', 'configuring'])} ${k}\n`
      depth++
    } else if (r < 0.22 && depth > 0) {
      s += `${E}[q`
      depth--
    } else if (r < 0.225) s += `${E}[q` // unbalanced now and then
    else if (r < 0.24) s += `${E}[a${pick(texts)} \\\n  more \\\n  end${E}[b\n`
    else if (r < 0.25) s += `${pick([`${E}[e`, `${E}[w`, `${E}[3s`])}${pick(texts)}\n`
    else if (r < 0.2505) s += pick(['@nix {"action":"setPhase","phase":"buildPhase"}', 'Running phase: checkPhase', '::group::G', `${E}]0;title\x07`]) + '\n'
    else s += pick(texts) + '\n'
  }
  return Buffer.from(s)
}

t.test('two threads make one thread\'s tree on random legacy logs, wherever the split falls', async (t) => {
  let differing = 0
  let replayed = 0
  let workerPart = 0
  let fellBack = 0
  for (let seed = 1; seed <= 30; seed++) {
    const next = random(seed)
    const log = Buffer.concat([Buffer.from(PREAMBLE), legacyLog(next, 200 + Math.floor(next() * 3000))])
    const p = write(`legacy-${seed}.log`, log)
    const { diff, two } = await compare(p, 0.05 + 0.9 * next(), 64 + Math.floor(next() * 2048))
    if (diff !== '') {
      differing++
      if (differing <= 3) t.fail(`seed ${seed}: ${diff}`)
    }
    replayed += two.replayedBytes
    workerPart += log.length - two.splitAt
    if (two.replayedRecords === 0) fellBack++
  }
  t.equal(differing, 0, '30 random legacy logs: no difference')
  t.ok(replayed > workerPart / 2, `${replayed} of the ${workerPart} bytes after the splits came from the worker's records`)
  t.ok(fellBack < 10, `${fellBack} of 30 splits played no record`)
})

t.test('two threads make one thread\'s tree on random logs of every piece the index knows', async (t) => {
  let differing = 0
  for (let seed = 1; seed <= 20; seed++) {
    const next = random(500 + seed)
    const p = write(`random-${seed}.log`, Buffer.concat([Buffer.from(PREAMBLE), randomLog(next, 100 + Math.floor(next() * 400))]))
    const { diff } = await compare(p, 0.1 + 0.8 * next(), 32 + Math.floor(next() * 256))
    if (diff !== '') {
      differing++
      if (differing <= 3) t.fail(`seed ${500 + seed}: ${diff}`)
    }
  }
  t.equal(differing, 0, '20 random logs: no difference')
})

t.test('a split inside a newline group: the main thread reads the group itself, then plays the records after it', async (t) => {
  // the group's LFs are text: the line at the split is the middle of one line
  const log = `${E}[pbuilding\n${PREAMBLE}${E}[a${filler(2000, 'cc -c x.c \\')}done${E}[b\n${filler(500)}${E}[q`
  const p = write('group.log', log)
  const { diff, two, split } = await compare(p, 0.5)
  t.ok(split > log.indexOf(`${E}[a`) && split < log.indexOf(`${E}[b`), 'the split is inside the group')
  t.equal(diff, '')
  const ranges = JSON.stringify(two.playedRanges)
  t.ok(two.playedRanges.length > 0 && two.playedRanges.every(([from]) => from > log.indexOf(`${E}[b`)), `records played, only after the group: ${ranges}`)
})

t.test('closes of nests the main thread has not opened: it reads that record itself', async (t) => {
  // one nest open at the split; the worker's part closes two, then a priority set at depth 0 must
  // survive the unbalanced close into the next line (a worker as deep as it likes resets it)
  const log = `${E}[pouter\n${PREAMBLE}${filler(400)}${filler(400, 'second half')}${E}[q${E}[q${E}[3s${E}[qdim line\n${filler(400)}`
  const p = write('closes.log', log)
  const { diff, two } = await compare(p, 0.2, 256)
  t.equal(diff, '')
  const closes = log.indexOf(`${E}[q${E}[q`)
  const ranges = JSON.stringify(two.playedRanges)
  t.ok(two.playedRanges.length === 2 && two.playedRanges[0]![1] <= closes && two.playedRanges[1]![0] > closes, `records played before and after the closes, not over them: ${ranges}`)
  const dim = two.tree.lines.length - 401
  t.equal(two.tree.lines.flags(dim) & 4, 4, 'the line after the unbalanced close is dim, as one thread has it')
})

t.test('a line only the decoder reads: the worker leaves a gap there, which the main thread reads', async (t) => {
  const log = `${E}[pbuilding\n${PREAMBLE}${filler(800)}@nix {"action":"setPhase","phase":"installPhase"}\n${filler(400, 'installing')}${E}[q`
  const p = write('nix.log', log)
  const { diff, two, split } = await compare(p, 0.1, 256)
  t.equal(diff, '')
  const nix = log.indexOf('@nix')
  const ranges = JSON.stringify(two.playedRanges)
  t.equal(two.playedRanges[0]![0], split, `played from the split: ${ranges}`)
  t.ok(two.playedRanges.length === 2 && two.playedRanges[0]![1] <= nix && two.playedRanges[1]![0] > nix, `records played before and after the @nix line, not over it: ${ranges}`)
  t.ok(two.tree.sections.length >= 3, 'the phase is a section')
})

t.test('a generated legacy log: nearly all of the worker\'s part is played', async (t) => {
  const p = path.join(dir, 'corpus.log')
  execFileSync(process.execPath, ['bench/corpus.mjs', '--flavour', 'legacy', '--size', '4M', '--out', p], { stdio: 'ignore' })
  const size = fs.statSync(p).size
  const { diff, two } = await compare(p, 0.5, 64 * 1024)
  t.equal(diff, '')
  t.ok(two.replayedBytes > 0.45 * size, `${two.replayedBytes} of ${size} bytes came from records`)
  t.ok(two.replayedRecords > 10, `${two.replayedRecords} records`)
  t.equal(two.workerEnd, size, 'the worker went to the end')
})

t.test('small files, follow mode and BUILDLOG_INDEX_THREADS=1 stay on one thread', async (t) => {
  const p = write('small.log', `${E}[pbuilding\n${PREAMBLE}${filler(1000)}${E}[q`)
  t.equal((await indexed(p, {})).replayedRecords, 0, 'below the size that pays for a worker')
  t.equal((await indexed(p, { split: { share: 0.5, minBytes: 0 } })).replayedRecords, 1, 'with a smaller threshold: one record')
  process.env['BUILDLOG_INDEX_THREADS'] = '1'
  try {
    t.equal((await indexed(p, { split: undefined })).replayedRecords, 0, 'the variable turns it off')
  } finally {
    delete process.env['BUILDLOG_INDEX_THREADS']
  }
  const src = LogSource.open(p, { follow: true, split: { share: 0.5, minBytes: 0 } })
  src.start()
  await new Promise<void>((r) => src.on('eof', () => r()))
  src.close()
  t.equal(src.replayedRecords, 0, 'a followed file may grow: no split')
})

t.test('a log with lines for the decoder from its start stays on one thread; a worker that can record little gives up', async (t) => {
  const nixStart = `@nix {"action":"setPhase","phase":"unpackPhase"}\nunpacking\n${PREAMBLE}`
  const every = Array.from({ length: 3000 }, (_, k) => `::group::step ${k}\nrunning\n::endgroup::\n`).join('')
  const p = write('dialect.log', nixStart + every)
  const plain = await indexed(p, { split: { share: 0.2, minBytes: 0 } })
  t.equal(plain.splitAt, -1, 'no split: an @nix line came before the split was decided')
  const forced = await indexed(p, { split: { share: 0.2, minBytes: 0, recordBytes: 256, force: true } })
  t.ok(forced.splitAt > 0, 'forced: split')
  t.ok(forced.workerEnd > forced.splitAt && forced.workerEnd < forced.splitAt + 8 * 256 + 64 * 1024, `the worker gave up after a trial (split ${forced.splitAt}, stopped at ${forced.workerEnd}, file ${nixStart.length + every.length})`)
  t.equal(difference(forced.tree, plain.tree), '', 'the same tree')
})

t.test('records: what is played is what was recorded', async (t) => {
  type Call = [string, ...number[]]
  class Calls implements IndexOutput {
    calls: Call[] = []
    plainLine(o: number, e: number, f: number): void { this.calls.push(['plain', o, e, f]) }
    headLine(o: number, e: number, f: number): void { this.calls.push(['head', o, e, f]) }
    open(p: number, o: number): void { this.calls.push(['open', p, o]) }
    close(o: number): void { this.calls.push(['close', o]) }
    diagnostic(): void { this.calls.push(['diagnostic']) }
    dialectLine(): void { this.calls.push(['dialect']) }
    addWords(w: Int32Array, n: number, from: number): void { playWords(w, n, from, this) }
    flush(): void {}
    end(): void {}
  }
  const next = random(3)
  const expected = new Calls()
  const recorder = new IndexRecorder(1000)
  let at = 1000
  for (let k = 0; k < 5000; k++) {
    const r = next()
    const gap = next() < 0.8 ? 0 : Math.floor(next() * 50)
    if (r < 0.6 || r >= 0.9) {
      const end = at + gap + Math.floor(next() * 300)
      // flags past the three a packed word holds take the long form
      const flags = next() < 0.05 ? 8 + Math.floor(next() * 8) : Math.floor(next() * 8)
      const head = r >= 0.9
      expected.calls.push([head ? 'head' : 'plain', at + gap, end, flags])
      if (head) recorder.headLine(at + gap, end, flags)
      else recorder.plainLine(at + gap, end, flags)
      at = end
    } else if (r < 0.75) {
      const priority = Math.floor(next() * 5)
      expected.calls.push(['open', priority, at + gap])
      recorder.open(priority, at + gap)
    } else {
      expected.calls.push(['close', at + gap])
      recorder.close(at + gap)
    }
  }
  const record = recorder.take(at)
  t.equal(record.from, 1000)
  t.equal(record.to, at)
  t.ok(record.count < 5000 * 3, `${record.count} words for 5000 calls`)
  const got = new Calls()
  replayIndex(record, got)
  t.same(got.calls, expected.calls)
  const depth = expected.calls.filter((c) => c[0] === 'open').length - expected.calls.filter((c) => c[0] === 'close').length
  t.equal(record.depth, depth, 'depth: opens less closes')
  let d = 0
  let min = 0
  for (const c of expected.calls) if (c[0] === 'open') d++
    else if (c[0] === 'close') min = Math.min(min, --d)
  t.equal(record.minDepth, min, 'the lowest depth reached')
  t.equal(recorder.take(at).count, 0, 'take() starts afresh')

  const far = new IndexRecorder(0)
  far.plainLine(0, 10, 0)
  t.notOk(far.broken)
  far.plainLine(10 + 2 ** 31, 2 ** 31 + 20, 0)
  t.ok(far.broken, 'a line further away than a word holds breaks the record')
  far.plainLine(2 ** 31 + 20, 2 ** 31 + 30, 0)
  t.equal(far.size, 1, 'nothing is written while it is broken')
  far.restartAt(5000)
  far.plainLine(5000, 5010, 1)
  const restarted = far.take(5010)
  t.same([restarted.from, restarted.count, restarted.words[0]], [5000, 1, (10 << 4) | 1], 'restartAt() drops the broken record and starts the next')
  const dialect = new IndexRecorder(0)
  dialect.dialectLine(undefined as never)
  t.ok(dialect.broken, 'a line for the decoder breaks it')
})
