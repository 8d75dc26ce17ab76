/**
 * Counts owed to far ancestors (deferred-counts.ts): a tree that updates only a line's nearest
 * ancestors at once, and pays the rest when it is read, against one that updates them all, on
 * random logs nested hundreds deep — read in between writes, or only at the end.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { BuildLogDecoder } from '../dist/dialects/build-log.js'
import { DecodeContext } from '../dist/dialects/context.js'
import { IndexDecoder } from '../dist/tree/index-decoder.js'
import { loadNativePassThrough } from '../dist/dialects/native-pass-through.js'
import { decode } from '../dist/decoder.js'
import { StatsCollector } from '../dist/render/html/stats.js'
import { EventTreeBuilder, isErrorLine, type Counts, type TreeSection } from '../dist/tree/event-tree.js'
import { SearchJob } from '../dist/tree/search.js'
import { lineSeverity } from '../dist/tree/severity.js'
import { LogTree } from '../dist/tree/tree.js'
import { E, difference, random, randomLog } from './helpers/index-logs.js'

loadNativePassThrough()

/** A random log that nests deeper and deeper: opens outnumber closes, with runs of plain and flagged lines. */
function deepLog(next: () => number, pieces: number): Buffer {
  let s = ''
  for (let k = 0; k < pieces; k++) {
    const r = next()
    if (r < 0.3) s += `${E}[p` + (next() < 0.8 ? `level ${k}\n` : '')
    else if (r < 0.4) s += `${E}[q`
    else if (r < 0.5) for (let n = Math.floor(next() * 20); n > 0; n--) s += next() < 0.1 ? 'error: e\n' : next() < 0.1 ? 'warning: w\n' : 'x\n'
    else s += randomLog(next, 1).toString('latin1')
  }
  return Buffer.from(s, 'latin1')
}

type Build = 'index' | 'events'

/** What build() asked holdsFailure, and its answers, in order. */
let asked: string[] = []

/** The tree of `log` fed in random chunks; `peek` reads the tree between some of them. */
function build(log: Buffer, how: Build, tree: LogTree, next: () => number, peek: boolean): LogTree {
  const index = how === 'index' ? new IndexDecoder(tree) : undefined
  const decoder = how === 'events' ? new BuildLogDecoder((e) => tree.add(e), new DecodeContext()) : undefined
  for (let at = 0; at < log.length; ) {
    const size = 1 + Math.floor(next() * 600)
    const chunk = Buffer.from(log.subarray(at, at + size))
    if (index) index.write(chunk)
    else decoder!.write(chunk)
    at += size
    if (peek && next() < 0.3) {
      // a read in between: every count owed so far is paid, and later lines owe again
      const s = Math.floor(next() * tree.sections.length)
      tree.sections.get(s)
      if (next() < 0.3) void tree.rowCount
    } else if (peek && next() < 0.5) {
      // or what follow mode asks of a section: only what is owed inside it is paid
      const s = Math.floor(next() * (tree.current + 1))
      asked.push(`${s}:${tree.holdsFailure(s)}`)
    }
  }
  if (index) index.end()
  else decoder!.end()
  tree.finish()
  return tree
}

t.test('counts owed to far ancestors come out as counted at once', async (t) => {
  let deepest = 0
  let checked = 0
  let questions = 0
  for (let seed = 1; seed <= 40; seed++) {
    const log = deepLog(random(seed), 1500)
    for (const how of ['index', 'events'] as const) {
      for (const eagerLevels of [1, 3, 32]) {
        // the same reads of both trees (the same random draws), the answers compared
        asked = []
        const all = build(log, how, new LogTree({ eagerLevels: Infinity }), random(seed * 7), seed % 2 === 0)
        const allAsked = asked
        asked = []
        const some = build(log, how, new LogTree({ eagerLevels }), random(seed * 7), seed % 2 === 0)
        if (asked.join() !== allAsked.join()) {
          t.same(asked, allAsked, `seed ${seed}, ${how}, ${eagerLevels} levels at once: holdsFailure`)
          return
        }
        questions += asked.length
        const diff = difference(all, some)
        if (diff) {
          t.fail(`seed ${seed}, ${how}, ${eagerLevels} levels at once: ${diff}`)
          return
        }
        // the folds read the counts too: every row the same, all open
        all.setAll(true)
        some.setAll(true)
        if (all.rowCount !== some.rowCount) {
          t.fail(`seed ${seed}, ${how}: ${all.rowCount} rows vs ${some.rowCount}`)
          return
        }
        checked++
      }
    }
    const tree = build(log, 'index', new LogTree(), random(seed), false)
    for (let s = 1; s < tree.sections.length; s++) deepest = Math.max(deepest, tree.sections.depth(s))
  }
  t.ok(deepest > 64, `sections ${deepest} deep among them`)
  t.ok(questions > 1000, `${questions} subtrees asked whether they hold a failure, between writes`)
  t.equal(checked, 240, 'every log, both ways, three depths of counting at once')
})

t.test('a chain nested 30,000 deep: its counts are paid once a level, when read', async (t) => {
  // (before, each line walked every ancestor: seconds for this log)
  let log = ''
  for (let k = 0; k < 30000; k++) log += `${E}[plevel ${k}\n` + (k % 7 === 0 ? `line at ${k}\n` : '')
  log += 'error: the innermost failed\n'
  for (let k = 0; k < 30000; k++) log += `${E}[q`
  const tree = new LogTree()
  const d = new IndexDecoder(tree)
  d.write(Buffer.from(log))
  d.end()
  tree.finish()
  const sections = tree.sections
  t.equal(sections.lines.get(0), 34287, 'the root counts every line')
  t.equal(sections.errors.get(1), 1, 'the outermost nest holds the error')
  t.equal(sections.firstError.get(1), tree.lines.length - 1, 'and knows where it is')
  t.equal(sections.lastLine.get(1), tree.lines.length - 1, 'its last line is the last')
  const paid = (tree as unknown as { deferred: { paid: number } }).deferred.paid
  t.ok(paid > 0 && paid < 30000, `${paid} debts paid, each level's at most once`)
})

/** A chain `depth` nests deep, a hit line in each, then `tail` plain lines: a search over it takes several chunks. */
function chainLog(depth: number, tail: number): Buffer {
  let log = ''
  for (let k = 0; k < depth; k++) log += `${E}[plevel ${k}\nhit ${k}\n`
  for (let k = 0; k < tail; k++) log += `plain line ${k} with some text to make the search read several chunks, hit or not\n`
  for (let k = 0; k < depth; k++) log += `${E}[q`
  return Buffer.from(log)
}

t.test('search hits are counted in every enclosing section whenever the search lets the screen look', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-deferred-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'chain.log')
  const log = chainLog(3000, 40000)
  fs.writeFileSync(file, log)
  const fd = fs.openSync(file, 'r')
  t.teardown(() => fs.closeSync(fd))

  // a whole tree, and a clock that makes every chunk a slice of its own: the job stops after each
  const tree = new LogTree()
  const d = new IndexDecoder(tree)
  d.write(log)
  d.end()
  tree.finish()
  const now = performance.now
  let clock = 0
  performance.now = () => (clock += 20)
  const seen: string[] = []
  let job: SearchJob
  try {
    job = new SearchJob(fd, tree, { source: 'hit', literal: true })
    job.onProgress(() => seen.push(`${tree.sections.hits(0)}/${job.hits}`))
    await job.promise
  } finally {
    performance.now = now
  }
  t.ok(seen.length >= 3, `${seen.length} looks in between`)
  t.same(seen.filter((x) => x.split('/')[0] !== x.split('/')[1]), [], 'every look: the root counts every hit found so far')
  t.equal(job!.hits, 3000 + 40000, 'hits')
  t.equal(tree.sections.hits(3000), 1 + 40000, 'the innermost section counts its own')
  t.equal(tree.sections.hits(1), 3000 + 40000, 'the outermost counts all')

  // a tree still being indexed: the search waits for it, its hits counted while it waits
  const half = log.lastIndexOf(10, log.length >> 1) + 1
  const growing = new LogTree()
  const g = new IndexDecoder(growing)
  g.write(log.subarray(0, half))
  const waiting = new SearchJob(fd, growing, { source: 'hit', literal: true })
  await new Promise((r) => setTimeout(r, 200))
  t.equal(waiting.done, false, 'the search waits for more lines')
  t.equal(growing.sections.hits(0), waiting.hits, 'what it found so far is counted')
  t.ok(waiting.hits > 3000, `${waiting.hits} hits in the first half`)
  g.write(log.subarray(half))
  g.end()
  growing.finish()
  await waiting.promise
  t.equal(growing.sections.hits(0), 3000 + 40000, 'and the rest once it is indexed')
})

t.test("the exports' event tree: counts above a line's nearest sections are paid when its root is read", async (t) => {
  let checked = 0
  for (let seed = 1; seed <= 20; seed++) {
    const builder = new EventTreeBuilder()
    const next = random(seed)
    const log = deepLog(next, 1500)
    // read in between too: a root read mid-stream pays what is owed so far
    const events = decode(log)
    events.forEach((e, k) => {
      builder.sink(e)
      if (k % 97 === 0) void builder.root
    })
    // every section's counts, recounted from its lines and its children's
    const recount = (s: TreeSection): Counts => {
      const c: Counts = { lines: 0, errors: 0, warnings: 0 }
      for (const child of s.children) {
        const d = child.type === 'section' ? recount(child) : { lines: 1, errors: isErrorLine(child.event) ? 1 : 0, warnings: lineSeverity(child.event) === 'warning' ? 1 : 0 }
        c.lines += d.lines
        c.errors += d.errors
        c.warnings += d.warnings
      }
      if (JSON.stringify(c) !== JSON.stringify(s.counts)) throw new Error(`seed ${seed}: section ${s.id} counts ${JSON.stringify(s.counts)}, its lines ${JSON.stringify(c)}`)
      checked++
      return c
    }
    recount(builder.root)
  }
  t.ok(checked > 20 * 200, `${checked} sections' counts as their lines make them`)
})

t.test("the HTML page's section stats: counts above a line's nearest sections are paid at finish", async (t) => {
  let sections = 0
  for (let seed = 1; seed <= 20; seed++) {
    const events = decode(deepLog(random(seed), 1500))
    const plans = [Infinity, 1, 3, 32].map((levels) => {
      const c = new StatsCollector(levels)
      for (const e of events) c.event(e)
      return c.finish()
    })
    for (const plan of plans.slice(1)) {
      if (JSON.stringify(plan) !== JSON.stringify(plans[0])) {
        t.same(plan, plans[0], `seed ${seed}`)
        return
      }
    }
    sections += plans[0]!.sections.length
  }
  t.ok(sections > 20 * 200, `${sections} sections' stats the same, however many levels count at once`)
})
