import t from 'tap'
import { CONTEXT_LINES, FailureExtract, SCAN_LINES, TAIL_LINES } from '../dist/tree/extract.js'
import { LINE_ERROR, LINE_EXTRACT } from '../dist/tree/lines.js'
import { LogTree } from '../dist/tree/tree.js'
import { FilterModel } from '../dist/tui/view-model.js'
import { random } from './helpers/index-logs.js'

/**
 * A random log as tree events: nests up to six deep, a few sections at a time interleaving
 * (concurrent builds), error lines now and then, some sections closing as failed, some found
 * failed later.
 */
function grow(tree: LogTree, next: () => number, steps: number, state: { id: number; offset: number; open: number[] }): void {
  for (let k = 0; k < steps; k++) {
    const r = next()
    if (r < 0.08 && state.open.length < 6) {
      const id = ++state.id
      tree.add({ type: 'open', id, parent: state.open.at(-1) ?? 0, kind: 'nest', priority: 1, offset: state.offset })
      state.open.push(id)
    } else if (r < 0.14 && state.open.length > 0) {
      const id = state.open.pop()!
      tree.add({ type: 'close', id, offset: state.offset, ...(next() < 0.2 ? { status: 'failed' as const } : {}) })
    } else if (r < 0.145 && state.id > 0) {
      // a section found failed long after its lines (a build's result comes at the end)
      tree.add({ type: 'status', id: 1 + Math.floor(next() * state.id), offset: state.offset, attrs: { failed: true } })
    } else {
      // mostly the innermost section; now and then an outer one, as concurrent builds write
      const s = state.open.length === 0 ? 0 : next() < 0.85 ? state.open.at(-1)! : state.open[Math.floor(next() * state.open.length)]!
      tree.addLine(s, state.offset, state.offset + 4, next() < 0.03 ? LINE_ERROR : 0, false)
      state.offset += 4
    }
  }
}

/** A flat model's rows, to compare. */
const rowList = (m: FilterModel): string => Array.from({ length: m.rowCount }, (_, r) => JSON.stringify(m.rowAt(r))).join()

/** The extract of a whole tree, by its definition (extract.ts), line by line. */
function expected(tree: LogTree): Set<number> {
  const lines = tree.lines
  const want = new Set<number>()
  for (let e = 0; e < lines.length; e++) {
    if ((lines.flags(e) & LINE_ERROR) === 0) continue
    want.add(e)
    for (const dir of [-1, 1]) {
      let found = 0
      for (let i = e + dir, scanned = 0; i >= 0 && i < lines.length && found < CONTEXT_LINES && scanned < SCAN_LINES; i += dir, scanned++) {
        if (lines.section(i) === lines.section(e)) {
          want.add(i)
          found++
        }
      }
    }
  }
  for (let s = 1; s < tree.sections.length; s++) {
    if (tree.sections.status(s) !== 'failed') continue
    let found = 0
    for (let i = tree.sections.lastLine.get(s), scanned = 0; i >= tree.sections.firstLine.get(s) && found < TAIL_LINES && scanned < 10 * SCAN_LINES; i--, scanned++) {
      let x = lines.section(i)
      while (x > s) x = tree.sections.parent.get(x)
      if (x === s) {
        want.add(i)
        found++
      }
    }
  }
  return want
}

t.test('the failure extract marks errors in context and failed sections\' tails, the same while the index grows as at once', async (t) => {
  let bad = 0
  let rebuilt = 0
  for (let seed = 1; seed <= 30; seed++) {
    const next = random(seed)
    const tree = new LogTree()
    const state = { id: 0, offset: 0, open: [] as number[] }
    const extract = new FailureExtract(tree)
    const model = { rows: new FilterModel(tree, LINE_EXTRACT), rebuilt: 0 }
    // the index grows in steps of random size; the pager's rows follow as updateExtract() does
    for (let step = 0; step < 40; step++) {
      grow(tree, next, Math.floor(next() * 200), state)
      if (step === 39) tree.finish()
      const changedFrom = extract.update()
      if (changedFrom < model.rows.scanned) {
        model.rows = new FilterModel(tree, LINE_EXTRACT)
        model.rebuilt++
      }
      model.rows.extend(tree.lines.length)
    }
    const want = expected(tree)
    const got = new Set<number>()
    for (let i = 0; i < tree.lines.length; i++) if ((tree.lines.flags(i) & LINE_EXTRACT) !== 0) got.add(i)
    const missing = [...want].filter((i) => !got.has(i))
    const extra = [...got].filter((i) => !want.has(i))
    if ((missing.length > 0 || extra.length > 0) && bad++ < 3) t.fail(`seed ${seed}: lines missing ${missing.slice(0, 5).join()} extra ${extra.slice(0, 5).join()}`)
    // rows built as the index grew are those of the whole tree at once
    const once = new FilterModel(tree, LINE_EXTRACT)
    once.extend(tree.lines.length)
    if (rowList(model.rows) !== rowList(once) && bad++ < 3) t.fail(`seed ${seed}: rows built as the index grew differ from rows built at once`)
    if (seed === 30) t.ok(want.size > 0 && extract.errors > 0, `seed 30: ${want.size} lines in the extract, ${extract.errors} errors, ${extract.failedSections} failed sections`)
    rebuilt += model.rebuilt
  }
  t.equal(bad, 0, '30 random logs')
  t.ok(rebuilt > 0, `rows rebuilt ${rebuilt} times: marks landed before the rows built so far`)
})

t.test('a failed section without error lines shows its last lines; a log without failures has no extract', async (t) => {
  const tree = new LogTree()
  let offset = 0
  const line = (s: number, flags = 0): number => tree.addLine(s, offset, (offset += 10), flags, false)
  tree.add({ type: 'open', id: 1, parent: 0, kind: 'build', title: 'foo', priority: 1, offset })
  for (let k = 0; k < 30; k++) line(1)
  tree.add({ type: 'open', id: 2, parent: 0, kind: 'build', title: 'bar', priority: 1, offset })
  for (let k = 0; k < 30; k++) line(2)
  const extract = new FailureExtract(tree)
  t.equal(extract.update(), Infinity, 'nothing failed yet')
  t.equal(extract.errors + extract.failedSections, 0)
  tree.add({ type: 'close', id: 2, offset })
  tree.add({ type: 'close', id: 1, offset, status: 'failed' })
  tree.finish()
  t.equal(extract.update(), 20, 'the failed build\'s tail starts at its 21st line, long before the index\'s end')
  const marked = []
  for (let i = 0; i < tree.lines.length; i++) if ((tree.lines.flags(i) & LINE_EXTRACT) !== 0) marked.push(i)
  t.same(marked, Array.from({ length: TAIL_LINES }, (_, k) => 20 + k), 'its last ten lines, none of the build that succeeded')
  t.equal(extract.failedSections, 1)
  t.equal(extract.update(), Infinity, 'a section is marked once')
  // a build that failed without writing a line (internal-json, a builder that died at once) has nothing to show, and is not counted
  tree.add({ type: 'open', id: 3, parent: 0, kind: 'build', title: 'quiet', priority: 1, offset })
  tree.add({ type: 'close', id: 3, offset, status: 'failed' })
  t.equal(extract.update(), Infinity)
  t.equal(extract.failedSections, 1, 'only the build with lines counts')
})

t.test('the flat list of flagged lines: each under the headers of its sections, as a brute force lists them', async (t) => {
  let bad = 0
  for (let seed = 1; seed <= 20; seed++) {
    const next = random(100 + seed)
    const tree = new LogTree()
    const state = { id: 0, offset: 0, open: [] as number[] }
    for (let k = 0; k < 30; k++) {
      grow(tree, next, 50, state)
      // heads too: a section's first line
      if (state.open.length > 0 && next() < 0.3) {
        const id = ++state.id
        tree.add({ type: 'open', id, parent: state.open.at(-1)!, kind: 'nest', priority: 1, offset: state.offset })
        tree.addLine(id, state.offset, (state.offset += 4), 0, true)
        state.open.push(id)
      }
    }
    for (let i = 0; i < tree.lines.length; i++) if (next() < 0.3) tree.lines.setFlag(i, LINE_EXTRACT)
    const model = new FilterModel(tree, LINE_EXTRACT)
    model.extend(tree.lines.length)
    // brute force: the path of each flagged line, its headers from where it leaves the last one's
    const want: string[] = []
    let last: number[] = []
    for (let i = 0; i < tree.lines.length; i++) {
      if ((tree.lines.flags(i) & LINE_EXTRACT) === 0) continue
      const s = tree.lines.section(i)
      const path: number[] = []
      for (let p = s; p > 0; p = tree.sections.parent.get(p)) path.unshift(p)
      let k = 0
      while (k < path.length && k < last.length && path[k] === last[k]) k++
      for (const h of path.slice(k)) want.push(`h${h}`)
      if (tree.sections.head(s) !== i) want.push(`l${i}`)
      last = path
    }
    const got = Array.from({ length: model.rowCount }, (_, r) => {
      const row = model.rowAt(r)!
      return row.header !== undefined ? `h${row.header}` : `l${row.line}`
    })
    if (got.join() !== want.join() && bad++ < 3) t.fail(`seed ${seed}: rows ${got.slice(0, 12).join()} want ${want.slice(0, 12).join()}`)
  }
  t.equal(bad, 0, '20 random trees with flagged lines and heads')
})

t.test('in slices against the clock, the extract and its rows come out as at once', async (t) => {
  let bad = 0
  let slices = 0
  for (let seed = 1; seed <= 10; seed++) {
    const next = random(200 + seed)
    const tree = new LogTree()
    const state = { id: 0, offset: 0, open: [] as number[] }
    grow(tree, next, 20000, state)
    tree.finish()
    const extract = new FailureExtract(tree)
    let rows = new FilterModel(tree, LINE_EXTRACT)
    let rebuilt = 0
    // a deadline already past: each slice stops at its first look at the clock
    for (let k = 0; k < 10000 && !(extract.caughtUp && rows.scanned >= tree.lines.length); k++, slices++) {
      if (extract.update(0) < rows.scanned) {
        rows = new FilterModel(tree, LINE_EXTRACT)
        rebuilt++
      }
      // half the logs have their rows built as far as the marks are settled at once
      rows.extend(extract.settled, seed % 2 === 0 ? 0 : Infinity)
    }
    // rows stop short of what a later error may still mark; only the failed sections' tails, marked at the end, land before them
    if (rebuilt > 1 && bad++ < 3) t.fail(`seed ${seed}: rows built again ${rebuilt} times`)
    const want = expected(tree)
    const got = new Set<number>()
    for (let i = 0; i < tree.lines.length; i++) if ((tree.lines.flags(i) & LINE_EXTRACT) !== 0) got.add(i)
    if ([...want].some((i) => !got.has(i)) || got.size !== want.size) {
      if (bad++ < 3) t.fail(`seed ${seed}: marks differ`)
      continue
    }
    const once = new FilterModel(tree, LINE_EXTRACT)
    once.extend(tree.lines.length)
    if (rowList(rows) !== rowList(once) && bad++ < 3) t.fail(`seed ${seed}: rows differ`)
  }
  t.equal(bad, 0, '10 logs of 20,000 steps')
  t.ok(slices > 100, `${slices} slices`)
})
