/**
 * The fold model's sizes (fold-passes.ts): the addon's pass and the JavaScript one against a
 * reference that sums each section's children, on random trees over several column chunks, and
 * expand-all on a log big enough to take the addon's way; the failure-aware default's open flags
 * (SectionTable.holdsFailureAll) both ways against holdsFailure() of each section; and random fold
 * commands on a tree big enough for the addon, the model's rows against a count from the flags.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { loadNativePassThrough } from '../dist/dialects/native-pass-through.js'
import { COLUMN_CHUNK_SHIFT, ColumnGroup, int32Column, uint8Column } from '../dist/tree/column.js'
import { foldLevels, foldLevelsInJs, foldSizes, foldSizesInJs, NATIVE_FOLD_SECTIONS, type FoldColumns } from '../dist/tree/fold-passes.js'
import { LogSource } from '../dist/tree/source.js'
import { LogTree } from '../dist/tree/tree.js'
import { addonOrNoHeaders } from './helpers/fixtures.js'
import { random } from './helpers/index-logs.js'

const HEAD = 0x80
const native = loadNativePassThrough()

/** A random tree of `count` sections: parents below their children, some far back (other chunks). */
function randomTree(count: number, rnd: () => number): FoldColumns {
  const columns: FoldColumns = { parent: int32Column(), lines: int32Column(), flags: uint8Column(), open: uint8Column(), size: int32Column(1), sizeOk: uint8Column() }
  new ColumnGroup(Object.values(columns)).reserve(count)
  columns.parent.set(0, -1)
  columns.open.set(0, 1)
  for (let s = 1; s < count; s++) {
    const r = rnd()
    // mostly the section before or its parent (a log's nesting), sometimes anywhere before
    const p = r < 0.4 ? s - 1 : r < 0.8 ? Math.max(0, columns.parent.get(s - 1)) : Math.floor(rnd() * s)
    columns.parent.set(s, p)
    columns.open.set(s, rnd() < 0.6 ? 1 : 0)
    if (rnd() < 0.7) columns.flags.set(s, HEAD | 3) // other bits set too: only HEAD counts
  }
  // a section's lines: its own and those of the sections below it, their heads included
  for (let s = count - 1; s >= 0; s--) {
    columns.lines.add(s, Math.floor(rnd() * 4))
    const p = columns.parent.get(s)
    if (p >= 0) columns.lines.add(p, columns.lines.get(s) + ((columns.flags.get(s) & HEAD) !== 0 ? 1 : 0))
  }
  return columns
}

/** The rows of each open section, from its children's lists (sections closed or under a closed one: undefined). */
function reference(columns: FoldColumns, count: number): Array<number | undefined> {
  const children: number[][] = Array.from({ length: count }, () => [])
  for (let s = 1; s < count; s++) children[columns.parent.get(s)]!.push(s)
  const rows: Array<number | undefined> = new Array(count)
  const held = (s: number): number => columns.lines.get(s) + ((columns.flags.get(s) & HEAD) !== 0 ? 1 : 0)
  for (let s = count - 1; s >= 0; s--) {
    if (s !== 0 && columns.open.get(s) !== 1) continue
    let n = (s === 0 ? 0 : 1) + columns.lines.get(s)
    for (const c of children[s]!) n += (columns.open.get(c) === 1 ? rows[c]! : 1) - held(c)
    rows[s] = n
  }
  return rows
}

function differences(columns: FoldColumns, count: number, want: Array<number | undefined>): string[] {
  const bad: string[] = []
  for (let s = 0; s < count && bad.length < 5; s++) {
    const open = s === 0 || columns.open.get(s) === 1
    if (columns.sizeOk.get(s) !== (open ? 1 : 0)) bad.push(`section ${s}: sizeOk ${columns.sizeOk.get(s)}`)
    else if (open && columns.size.get(s) !== want[s]) bad.push(`section ${s}: ${columns.size.get(s)} rows, not ${want[s]}`)
  }
  return bad
}

t.test('every open section gets its rows, the closed none, in JavaScript and in C', async (t) => {
  addonOrNoHeaders(t, native)
  const rnd = random(7)
  for (const count of [1, 2, 100, (1 << COLUMN_CHUNK_SHIFT) - 1, 1 << COLUMN_CHUNK_SHIFT, 3 * (1 << COLUMN_CHUNK_SHIFT) + 17, 40000]) {
    const columns = randomTree(count, rnd)
    const want = reference(columns, count)
    foldSizesInJs(columns, count, HEAD)
    t.same(differences(columns, count, want), [], `${count} sections, JavaScript`)
    if (native === null) continue
    columns.size.fill(7)
    columns.sizeOk.fill(9)
    foldSizes(columns, count, HEAD, native)
    t.same(differences(columns, count, want), [], `${count} sections, C`)
  }
})

t.test('the addon refuses columns it cannot read', async (t) => {
  if (addonOrNoHeaders(t, native) === null) return
  const columns = randomTree(5000, random(3))
  const { parent, lines, flags, open, size, sizeOk } = columns
  const call = (over: Partial<Record<keyof FoldColumns, readonly (Int32Array | Uint8Array)[]>>, count = 5000): void =>
    native!.foldSizes(
      (over.parent ?? parent.chunkList) as Int32Array[], (over.lines ?? lines.chunkList) as Int32Array[], (over.flags ?? flags.chunkList) as Uint8Array[],
      (over.open ?? open.chunkList) as Uint8Array[], (over.size ?? size.chunkList) as Int32Array[], (over.sizeOk ?? sizeOk.chunkList) as Uint8Array[], count, COLUMN_CHUNK_SHIFT, HEAD,
    )
  t.throws(() => call({ parent: flags.chunkList }), TypeError, 'a column of the wrong type')
  t.throws(() => call({ size: [size.chunkList[0]!.subarray(1), size.chunkList[1]!] }), TypeError, 'a chunk of the wrong length')
  t.throws(() => call({}, 3 << COLUMN_CHUNK_SHIFT), TypeError, 'more sections than chunks')
  t.throws(() => call({}, -1), TypeError, 'a negative count')
  call({})
  t.same(differences(columns, 5000, reference(columns, 5000)), [], 'and reads those it can')
  const values = int32Column()
  new ColumnGroup([values]).reserve(30)
  t.throws(() => native!.foldFailures(flags.chunkList, parent.chunkList, [new Uint8Array(1 << COLUMN_CHUNK_SHIFT)], open.chunkList, 5000, 30, COLUMN_CHUNK_SHIFT, 0x40), TypeError, 'foldFailures: values of the wrong type')
  t.throws(() => native!.foldFailures(flags.chunkList, parent.chunkList, values.chunkList, open.chunkList, 5000, 5000, COLUMN_CHUNK_SHIFT, 0x40), TypeError, 'foldFailures: more values than chunks')
  t.throws(() => native!.foldFailures(flags.chunkList, lines.chunkList, values.chunkList, open.chunkList, 3 << COLUMN_CHUNK_SHIFT, 30, COLUMN_CHUNK_SHIFT, 0x40), TypeError, 'foldFailures: more sections than chunks')
})

t.test('expand-all on a log of more sections than the JavaScript pass takes: every line a row', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fold-passes-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'many.log')
  let log = ''
  for (let k = 0; k < NATIVE_FOLD_SECTIONS; k++) log += `\x1b[pbuilding ${k}\n\x1b[pphase\nline ${k}\n\x1b[q\x1b[q`
  fs.writeFileSync(file, log)
  const src = LogSource.open(file)
  t.teardown(() => src.close())
  src.start()
  await new Promise((r) => src.on('eof', r))
  const tree = src.tree
  t.equal(tree.sections.length, 2 * NATIVE_FOLD_SECTIONS + 1, 'the sections')
  tree.setAll(true)
  t.equal(tree.rowCount, tree.lines.length, 'all open: each line a row (a head as its section\'s header)')
  tree.setAll(false)
  t.equal(tree.rowCount, NATIVE_FOLD_SECTIONS, 'all closed: the outer sections\' headers')
  tree.setOpen(1, true)
  t.equal(tree.rowCount, NATIVE_FOLD_SECTIONS + 1, 'one opened: its child\'s header too')
  tree.setAll(true)
  tree.setOpen(2, false)
  t.equal(tree.rowCount, tree.lines.length - 1, 'all open but one: its line hidden')
})

t.test('the failure-aware default opens what holds an error line or a failed section, in C and in JavaScript', async (t) => {
  for (const count of [3000, NATIVE_FOLD_SECTIONS + 5000]) {
    const rnd = random(count)
    const tree = new LogTree()
    let id = 0
    let offset = 0
    const open: number[] = [0]
    // random nesting; error lines in one section of 50, warnings in one of 20, failed closes in one of 200
    while (id < count) {
      const r = rnd()
      if (r < 0.3 || open.length === 1) {
        tree.add({ type: 'open', id: ++id, parent: open.at(-1)!, kind: 'build', title: `s${id}`, priority: 1, offset })
        open.push(id)
      } else if (r < 0.55) {
        tree.add({ type: 'close', id: open.pop()!, offset, status: rnd() < 0.005 ? 'failed' : 'ok' })
      } else {
        const e = rnd()
        tree.add({ type: 'line', index: 0, section: open.at(-1)!, text: Buffer.from('x'), head: false, priority: 1, error: e < 0.02, warning: e > 0.95, offset, end: offset + 2, ended: 'lf' })
        offset += 2
      }
    }
    const table = tree.sections
    t.equal(table.length, count + 1, `${count} sections`)
    const want: number[] = []
    for (let s = 1; s <= count; s++) if (table.holdsFailure(s)) want.push(s)
    t.ok(want.length > 20 && want.length < count / 2, `${want.length} of them hold a failure`)
    const got = (column: ReturnType<typeof uint8Column>): number[] => {
      const out: number[] = []
      for (let s = 1; s <= count; s++) if (column.get(s) === 1) out.push(s)
      return out
    }
    const flags = uint8Column(7)
    new ColumnGroup([flags]).reserve(count + 1)
    table.holdsFailureAll(flags)
    t.same(got(flags), want, count >= NATIVE_FOLD_SECTIONS && native !== null ? 'in C' : 'in JavaScript')
  }
})

t.test('fold levels: zr opens down to a depth, zm closes below it, the rest as it was; in C and in JavaScript', async (t) => {
  const count = 3 * (1 << COLUMN_CHUNK_SHIFT) + 5
  addonOrNoHeaders(t, native)
  const columns = randomTree(count, random(11))
  // a reference depth by walking up (a parent far back, in another chunk, included)
  const depth = (s: number): number => {
    let d = 0
    for (let x = s; x > 0; x = columns.parent.get(x)) d++
    return d
  }
  const before = Array.from({ length: count }, (_, s) => columns.open.get(s))
  const deepest = Math.max(...Array.from({ length: count }, (_, s) => depth(s)))
  t.ok(deepest > 4, `sections down to depth ${deepest}`)
  for (const [level, opening] of [[2, true], [3, false], [0, false], [deepest, true]] as const) {
    const want = before.map((o, s) => (s === 0 ? o : opening && depth(s) <= level ? 1 : !opening && depth(s) > level ? 0 : o))
    for (const [how, run] of [['JavaScript', () => foldLevelsInJs(columns.parent, columns.open, count, level, opening)], ['C', () => foldLevels(columns.parent, columns.open, count, level, opening, native)]] as const) {
      if (how === 'C' && native === null) continue
      before.forEach((o, s) => columns.open.set(s, o))
      run()
      const got = Array.from({ length: count }, (_, s) => columns.open.get(s))
      const bad = got.findIndex((o, s) => o !== want[s])
      t.equal(bad, -1, `${opening ? 'zr' : 'zm'} to level ${level}, ${how}${bad >= 0 ? `: section ${bad} at depth ${depth(bad)} is ${got[bad]}` : ''}`)
    }
  }
})

t.test('random fold commands on a tree the addon folds: the rows the model counts, and each row found again', async (t) => {
  const rnd = random(5)
  const tree = new LogTree()
  let id = 0
  let offset = 0
  const open: number[] = [0]
  const line = (section: number, head: boolean, error: boolean): void => {
    tree.add({ type: 'line', index: 0, section, text: Buffer.from('x'), head, priority: 1, error, warning: false, offset, end: offset + 2, ended: 'lf' })
    offset += 2
  }
  while (id < NATIVE_FOLD_SECTIONS + 4000) {
    const r = rnd()
    if (r < 0.3 || open.length === 1) {
      tree.add({ type: 'open', id: ++id, parent: open.at(-1)!, kind: 'build', title: `s${id}`, priority: 1, offset })
      open.push(id)
      if (rnd() < 0.7) line(id, true, false)
    } else if (r < 0.55 && open.length > 1) tree.add({ type: 'close', id: open.pop()!, offset, status: rnd() < 0.01 ? 'failed' : 'ok' })
    else line(open.at(-1)!, false, rnd() < 0.01)
  }
  tree.finish()
  const sections = tree.sections
  const count = sections.length
  // the reference: a header shows when every section above it is open; a line, when its own is too
  const expected = (): number => {
    const shown = new Uint8Array(count) // the section's content shows
    shown[0] = 1
    let rows = 0
    for (let s = 1; s < count; s++) {
      const above = shown[sections.parent.get(s)]!
      if (above === 1) rows++
      shown[s] = above === 1 && tree.isOpen(s) ? 1 : 0
    }
    for (let i = 0; i < tree.lines.length; i++) {
      const s = tree.lines.section(i)
      if (sections.head(s) !== i && shown[s] === 1) rows++
    }
    return rows
  }
  const commands: Array<[string, () => void]> = [
    ['zR', () => tree.setAll(true)],
    ['zM', () => tree.setAll(false)],
    ['zx', () => tree.foldDefault()],
    ['zr', () => tree.setLevel(1 + Math.floor(rnd() * 6), true)],
    ['zm', () => tree.setLevel(Math.floor(rnd() * 6), false)],
    ['toggle', () => { const s = 1 + Math.floor(rnd() * (count - 1)); tree.setOpen(s, !tree.isOpen(s), true) }],
  ]
  const bad: string[] = []
  const done: string[] = []
  for (let k = 0; k < 60 && bad.length === 0; k++) {
    const [name, run] = commands[Math.floor(rnd() * commands.length)]!
    run()
    done.push(name)
    const want = expected()
    if (tree.rowCount !== want) bad.push(`after ${done.join(' ')}: ${tree.rowCount} rows, not ${want}`)
    for (let j = 0; j < 20 && bad.length === 0; j++) {
      const r = Math.floor(rnd() * tree.rowCount)
      const row = tree.rowAt(r)!
      const back = row.header !== undefined ? tree.rowOfHeader(row.header) : tree.rowOfLine(row.line!)
      if (back !== r) bad.push(`after ${done.join(' ')}: row ${r} is ${JSON.stringify(row)}, found again at ${back}`)
    }
  }
  t.ok(count >= NATIVE_FOLD_SECTIONS, `${count} sections (${tree.lines.length} lines): the addon's way where it is built`)
  t.same(bad, [], '60 commands, each followed by the row count and 20 rows looked up both ways')
})
