/**
 * The index's tree writes in C (native/tree-writer.c, lib/tree/native-tree.ts) against the same
 * records played in JavaScript: random words that reach every place the writer stops and leaves a
 * word to JavaScript — a new chunk of lines, a chunk whose offsets are absolute, a full section
 * code dictionary, sections past the columns' room, severity slots past theirs, errors deeper than
 * the tree counts at once, a stack deeper than the writer's — in records of any length, the tree
 * read between them; and real logs through the index.
 */
import t from 'tap'
import { loadNativePassThrough } from '../dist/dialects/native-pass-through.js'
import { IndexDecoder } from '../dist/tree/index-decoder.js'
import { TreeOutput } from '../dist/tree/index-output.js'
import { LogTree } from '../dist/tree/tree.js'
import { difference, random, randomLog, randomRunsLog } from './helpers/index-logs.js'
import { addonOrNoHeaders } from './helpers/fixtures.js'

const addon = loadNativePassThrough()

// index words (lib/tree/index-record.ts)
const LINE = -1
const HEAD = -2
const OPEN = -3
const CLOSE = -4
const CLOSE_HERE = -5
const packed = (length: number, head: boolean, flags: number): number => (length << 4) | (head ? 8 : 0) | flags

/** Random words of a nesting log: the calls the words stand for, and where records may end (after each call). */
function randomWords(next: () => number, calls: number, farGaps = 0.001): { words: Int32Array; ends: number[] } {
  const out: number[] = []
  const ends: number[] = []
  let depth = 0
  const flags = (): number => (next() < 0.08 ? 1 : next() < 0.08 ? 2 : 0) | (next() < 0.1 ? 4 : 0)
  for (let k = 0; k < calls; k++) {
    const r = next()
    if (r < 0.55) {
      // plain lines, in runs
      for (let n = Math.floor(next() * 12); n >= 0; n--) {
        // lines after a gap; a few far after one, so that some chunks of 65,536 lines span more than 4 GiB
        if (next() < 0.02) out.push(LINE, flags(), next() < farGaps ? 2 ** 31 - 1 : Math.floor(next() * 100), Math.floor(next() * 200))
        else out.push(packed(Math.floor(next() * 200), false, flags()))
      }
    } else if (r < 0.75 && depth < 200) {
      out.push(OPEN, 1 + Math.floor(next() * 3), Math.floor(next() * 5))
      depth++
      // most nests start with their head line; a few head lines come where none is taken
      if (next() < 0.8) out.push(next() < 0.05 ? HEAD : packed(1 + Math.floor(next() * 80), true, flags()))
      if (out.at(-1) === HEAD) out.push(flags(), Math.floor(next() * 4), 30)
    } else if (r < 0.95) {
      if (next() < 0.5) out.push(CLOSE_HERE)
      else out.push(CLOSE, Math.floor(next() * 6))
      depth = Math.max(0, depth - 1)
    } else out.push(packed(Math.floor(next() * 40), true, flags()))
    ends.push(out.length)
  }
  return { words: Int32Array.from(out), ends }
}

/**
 * The words played into `tree` in records cut at random call ends, as a replay does; read between
 * some, as the pager does while the index runs: what it read.
 */
function play(tree: LogTree, words: Int32Array, ends: number[], next: () => number, peek: boolean): string[] {
  const read: string[] = []
  const out = new TreeOutput(tree)
  let from = 0
  let cursor = 0
  for (let e = 0; e < ends.length; ) {
    e = Math.min(ends.length - 1, e + Math.floor(next() * 400))
    const to = ends[e++]!
    out.addWords(words.subarray(from, to), to - from, cursor)
    out.flush()
    cursor = tree.lines.lastEnd
    from = to
    if (peek && next() < 0.3) {
      read.push(JSON.stringify(tree.sections.get(Math.floor(next() * tree.sections.length))))
      if (next() < 0.5) {
        const rows = tree.rowCount
        read.push(`${rows} rows`, JSON.stringify(tree.rowAt(Math.floor(next() * rows))))
      }
    }
  }
  return read
}

t.test('random words: the tree the writer makes is the one JavaScript makes, where it stops and goes on', async (t) => {
  if (!addonOrNoHeaders(t, addon)) return
  let checked = 0
  let inC = 0
  let all = 0
  for (let seed = 1; seed <= 24; seed++) {
    const { words, ends } = randomWords(random(seed), 6000 + 2000 * (seed % 4))
    for (const eagerLevels of [3, 32]) {
      const js = new LogTree({ nativeWrites: false, eagerLevels })
      const c = new LogTree({ eagerLevels })
      const jsRead = play(js, words, ends, random(seed * 3), seed % 2 === 0)
      const writer = c.nativeWriter()!
      const before = writer.played
      const cRead = play(c, words, ends, random(seed * 3), seed % 2 === 0)
      inC += writer.played - before
      all += words.length
      const read = jsRead.findIndex((x, k) => x !== cRead[k])
      if (read >= 0) {
        t.equal(cRead[read], jsRead[read], `seed ${seed}, ${eagerLevels} levels at once: read ${read} between records`)
        return
      }
      // the same line table: its section codes too
      const diff = difference(js, c) || (js.byteSize !== c.byteSize ? `${c.byteSize} bytes vs ${js.byteSize}` : '')
      if (diff) {
        t.fail(`seed ${seed}, ${eagerLevels} levels at once: ${diff}`)
        return
      }
      checked++
    }
  }
  t.equal(checked, 48, 'every seed, errors counted 3 and 32 levels up at once')
  t.ok(inC > 0.9 * all, `${inC} of ${all} words played in C`)
})

t.test('the bounds the writer stops at are reached', async (t) => {
  if (!addonOrNoHeaders(t, addon)) return
  const { words, ends } = randomWords(random(7), 50000, 0.004)
  const js = new LogTree({ nativeWrites: false, eagerLevels: 3 })
  const c = new LogTree({ eagerLevels: 3 })
  play(js, words, ends, random(1), false)
  play(c, words, ends, random(1), false)
  t.equal(difference(js, c), '', 'the same tree')
  t.ok(c.lines.length > 2 * 65536, `${c.lines.length} lines: new chunks of lines`)
  t.ok(c.sections.length > 2 * 4096, `${c.sections.length} sections: columns out of room`)
  const wide = Array.from({ length: Math.ceil(c.lines.length / 65536) }, (_, k) => c.lines.offset(Math.min(c.lines.length - 1, 65536 * k + 65535)) - c.lines.offset(65536 * k))
  t.ok(wide.some((d) => d > 2 ** 32), 'a chunk whose offsets span more than 4 GiB (absolute offsets)')
  let deepest = 0
  for (let s = 1; s < c.sections.length; s++) deepest = Math.max(deepest, c.sections.depth(s))
  t.ok(deepest > 64, `sections ${deepest} deep: deeper than the writer's first stack`)
})

t.test('logs through the index, in chunks: the same tree whether records are played in C or not', async (t) => {
  if (!addonOrNoHeaders(t, addon)) return
  for (let seed = 1; seed <= 30; seed++) {
    const next = random(seed)
    const log = seed % 2 === 0 ? randomLog(next, 3000) : randomRunsLog(next, 60)
    const trees = [false, true].map((nativeWrites) => {
      const tree = new LogTree({ nativeWrites })
      const index = new IndexDecoder(tree)
      const chunks = random(seed * 5)
      for (let at = 0; at < log.length; ) {
        const size = 1 + Math.floor(chunks() * 5000)
        index.write(log.subarray(at, at + size))
        at += size
      }
      index.end()
      tree.finish()
      return tree
    })
    const diff = difference(trees[0]!, trees[1]!)
    if (diff) {
      t.fail(`seed ${seed}: ${diff}`)
      return
    }
  }
  t.pass('30 random logs')
})

t.test('the addon refuses a state that does not fit the columns, never reading past them', async (t) => {
  if (!addonOrNoHeaders(t, addon)) return
  const tree = new LogTree()
  // the section table's columns and, for the fold state's and the segment store's, none at all
  const columns = [...tree.sections.writerColumns(), [], [], [], []]
  const state = (sections: number, shift = 12): Float64Array => {
    const st = new Float64Array(25)
    st[11] = sections // TreeSlot.Sections
    st[12] = sections // TreeSlot.SectionRoom
    st[16] = 1 // TreeSlot.Depth
    st[24] = shift // TreeSlot.Shift
    return st
  }
  const call = (st: Float64Array, cols: unknown[] = columns): void =>
    addon!.playTree(addon!.treeWriter(), new Int32Array(1), st, new Int32Array(4), new Uint32Array(0), new Uint8Array(0), new Uint16Array(0), new Int32Array(0), ...(cols as Int32Array[][]))
  t.throws(() => call(state(1e6)), TypeError, 'a million sections in columns of none')
  t.throws(() => call(state(1)), TypeError, 'columns without a chunk')
  t.throws(() => call(state(1, 2)), TypeError, 'chunks of 4 entries')
  t.throws(() => call(state(1), columns.slice(0, 10)), TypeError, 'ten columns')
  t.throws(() => call(state(1), [...columns.slice(0, 10), [new Uint8Array(4096)]]), TypeError, 'a chunk of the wrong type')
})
