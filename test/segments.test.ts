import t from 'tap'
import { LogTree } from '../dist/tree/tree.js'
import { keyOf, lengthOf, startOf, type SegmentView } from '../dist/tree/segments.js'
import type { LogEvent } from '../dist/events.js'

// The content lists the fold model lays out: implied by the nesting while the log nests, explicit
// after the first line or section that does not. Both must give the lists the explicit store gives
// when it keeps them from the start. So must the sections' counts, implied by the nesting too
// (LogTree.writeImplied), which the explicit store's tree counts line by line.

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function line(offset: number, section: number | undefined, head: boolean, severity = 0): LogEvent {
  return { type: 'line', index: 0, section: section as number, text: Buffer.from('x'), head, priority: 1, error: severity === 1, warning: severity === 2, offset, end: offset + 2, ended: 'lf' }
}

/**
 * Events of a log: nested ones go to the innermost open section (legacy escapes); interleaved ones
 * name their section and parent, any open one (concurrent activities) from event `from` on.
 */
function events(seed: number, n: number, interleaveFrom = Infinity): LogEvent[] {
  const rnd = random(seed)
  const out: LogEvent[] = []
  const open: number[] = [] // decoder ids, innermost last
  let id = 0
  let offset = 0
  for (let k = 0; k < n; k++) {
    const interleaved = k >= interleaveFrom
    const pick = (): number | undefined => (open.length === 0 || rnd() < 0.2 ? 0 : open[Math.floor(rnd() * open.length)])
    const r = rnd()
    if (r < 0.18 && open.length < 40) {
      id++
      const parent = interleaved ? pick() : undefined
      out.push({ type: 'open', id, parent: parent as number, kind: 'nest', priority: 1, offset })
      if (interleaved && parent !== undefined && parent !== 0) open.splice(open.indexOf(parent) + 1, 0, id)
      else open.push(id)
      // most nests start with their head line; some are empty or start with a child
      if (rnd() < 0.7) out.push(line((offset += 2), interleaved ? id : undefined, true))
    } else if (r < 0.34 && open.length > 0) {
      const at = interleaved ? Math.floor(rnd() * open.length) : open.length - 1
      out.push({ type: 'close', id: open[at]!, offset })
      open.splice(at, 1)
    } else {
      const count = 1 + Math.floor(rnd() * 3)
      const section = interleaved ? pick() : undefined
      // one run in ten has an error or a warning among its lines
      const severity = rnd() < 0.1 ? 1 + Math.floor(rnd() * 2) : 0
      for (let j = 0; j < count; j++) out.push(line((offset += 2), section, false, j === count - 1 ? severity : 0))
    }
  }
  return out
}

function build(evs: LogEvent[], nestedSegments: boolean): LogTree {
  const tree = new LogTree({ nestedSegments })
  for (const e of evs) tree.add(e)
  return tree
}

/** Every section's list, children and own position, as plain data. */
function lists(tree: LogTree): unknown[] {
  const store = (tree as unknown as { segments: { view(s: number): SegmentView; positionIn(v: SegmentView, s: number): number } }).segments
  const out: unknown[] = []
  const each = (v: SegmentView, f: (v: SegmentView, i: number) => number): number[] => Array.from({ length: v.count }, (_, i) => f(v, i))
  for (let s = 0; s < tree.sections.length; s++) {
    const v = store.view(s)
    out.push({ s, start: each(v, startOf), length: each(v, lengthOf), key: each(v, keyOf), children: tree.children(s), hasChildren: tree.hasChildren(s) })
  }
  // each section found in its parent's list, where the list has it
  for (let s = 1; s < tree.sections.length; s++) {
    const v = store.view(tree.sections.parent.get(s))
    const at = store.positionIn(v, s)
    out.push({ s, position: at, there: at >= 0 && startOf(v, at) === -s })
  }
  return out
}

/** Every section's counts, lines and status, as plain data. */
function counts(tree: LogTree): unknown[] {
  return Array.from({ length: tree.sections.length }, (_, s) => tree.sections.get(s))
}

/** Sections that positionIn does not find in their parent's list. */
function misplaced(tree: LogTree): number {
  let n = 0
  for (const item of lists(tree)) if ((item as { there?: boolean }).there === false) n++
  return n
}

const nesting = (tree: LogTree): boolean => (tree as unknown as { segments: { nesting: boolean } }).segments.nesting

t.test('nested logs: the implied lists are the explicit ones, and stay implied', async (t) => {
  let wrong = 0
  for (let seed = 1; seed <= 60; seed++) {
    const evs = events(seed, 400)
    const implied = new LogTree({ nestedSegments: true })
    const explicit = new LogTree({ nestedSegments: false })
    for (let k = 0; k < evs.length; k++) {
      implied.add(evs[k]!)
      explicit.add(evs[k]!)
      if (k % 25 !== 24 && k !== evs.length - 1) continue
      if (JSON.stringify(lists(implied)) !== JSON.stringify(lists(explicit))) {
        if (wrong++ < 3) t.same(lists(implied), lists(explicit), `seed ${seed}, event ${k}`)
      }
      if (JSON.stringify(counts(implied)) !== JSON.stringify(counts(explicit))) {
        if (wrong++ < 3) t.same(counts(implied), counts(explicit), `seed ${seed}, event ${k}: counts`)
      }
    }
    if (!nesting(implied)) t.fail(`seed ${seed}: stopped nesting`)
    if (misplaced(implied) + misplaced(explicit) > 0) t.fail(`seed ${seed}: a section not found in its parent's list`)
  }
  t.equal(wrong, 0, '60 random nested logs, read every 25 events: lists and counts')
})

t.test('logs that stop nesting part way: the lists replayed and kept explicit from there', async (t) => {
  let wrong = 0
  let switched = 0
  for (let seed = 1; seed <= 60; seed++) {
    const evs = events(seed, 400, seed * 5)
    const implied = new LogTree({ nestedSegments: true })
    const explicit = new LogTree({ nestedSegments: false })
    // as the pager reads them: while the events come, not only at the end
    for (let k = 0; k < evs.length; k++) {
      implied.add(evs[k]!)
      explicit.add(evs[k]!)
      // every event for some logs, every 25th for the others
      if (seed > 15 && k % 25 !== 24 && k !== evs.length - 1) continue
      if (JSON.stringify(lists(implied)) !== JSON.stringify(lists(explicit))) {
        if (wrong++ < 3) t.same(lists(implied), lists(explicit), `seed ${seed}, event ${k}`)
      }
      if (JSON.stringify(counts(implied)) !== JSON.stringify(counts(explicit))) {
        if (wrong++ < 3) t.same(counts(implied), counts(explicit), `seed ${seed}, event ${k}: counts`)
      }
    }
    if (!nesting(implied)) switched++
    if (misplaced(implied) + misplaced(explicit) > 0) t.fail(`seed ${seed}: a section not found in its parent's list`)
  }
  t.equal(wrong, 0, '60 random logs, read after every event or every 25th: lists and counts')
  t.ok(switched >= 50, `${switched} of them stopped nesting`)
})

t.test('the fold model reads the same rows from either store, folds open and closed', async (t) => {
  const evs = events(7, 3000)
  const trees = [build(evs, true), build(evs, false)]
  const rows = (tree: LogTree): string => {
    const out: string[] = []
    for (let r = 0; r < tree.rowCount; r++) out.push(JSON.stringify(tree.rowAt(r)))
    return out.join(' ')
  }
  const rnd = random(3)
  for (let step = 0; step < 20; step++) {
    const s = 1 + Math.floor(rnd() * (trees[0]!.sections.length - 1))
    const open = rnd() < 0.6
    for (const tree of trees) tree.setOpen(s, open)
    t.equal(rows(trees[0]!), rows(trees[1]!), `step ${step}`)
    const line = Math.floor(rnd() * trees[0]!.lines.length)
    t.equal(trees[0]!.rowOfLine(line), trees[1]!.rowOfLine(line))
  }
})
