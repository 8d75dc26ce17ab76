import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { float64Column, int32Column, uint8Column } from '../dist/tree/column.js'
import { SectionTable, TITLE_CHARS } from '../dist/tree/section-table.js'
import { LogSource } from '../dist/tree/source.js'

const E = '\x1b'

t.test('a column keeps every value across its chunks, and unset entries read as its initial value', async (t) => {
  const n = 20000 // several chunks
  const cols = [float64Column(-1), int32Column(-1), uint8Column()]
  for (const c of cols) c.reserve(n)
  let wrong = 0
  for (let i = 0; i < n; i += 3) {
    cols[0]!.set(i, i * 1.5 + 2 ** 40)
    cols[1]!.set(i, -i)
    cols[2]!.add(i, i & 0x7f)
  }
  for (let i = 0; i < n; i++) {
    const set = i % 3 === 0
    if (cols[0]!.get(i) !== (set ? i * 1.5 + 2 ** 40 : -1)) wrong++
    if (cols[1]!.get(i) !== (set ? -i : -1)) wrong++
    if (cols[2]!.get(i) !== (set ? i & 0x7f : 0)) wrong++
  }
  t.equal(wrong, 0, 'values read back; untouched entries hold the initial value')
  t.ok(cols[0]!.byteSize >= n * 8 && cols[0]!.byteSize < n * 8 + 4096 * 8, 'byteSize: the chunks held, at most one chunk spare')
  cols[2]!.fill(0)
  t.equal(cols[2]!.get(3), 0, 'fill reaches every chunk')
})

t.test('titles: cut at 300 characters, across the arena chunks', async (t) => {
  const table = new SectionTable()
  const cases = [
    'building foo',
    'é'.repeat(600), // 1,200 bytes: past the bytes kept
    '😀'.repeat(200), // surrogate pairs around the cut
    'x'.repeat(299) + '😀' + 'y', // a pair straddling character 300
    '\ufffd'.repeat(700), // what invalid bytes decode to
    '',
  ]
  const expected: string[] = []
  // enough titles of up to 1,024 bytes to fill several 256 KiB chunks
  for (let k = 0; k < 1500; k++) {
    const text = cases[k % cases.length]! + (k % cases.length === 5 ? '' : String(k))
    const s = table.add('nest', 0, 0)
    table.setTitle(s, text)
    expected.push(text.length > TITLE_CHARS ? text.slice(0, TITLE_CHARS) : text)
  }
  let wrong = 0
  for (let s = 0; s < expected.length; s++) {
    const want = expected[s]!
    if (table.title(s) !== want) {
      if (wrong++ < 3) t.fail(`title ${s}: ${JSON.stringify(table.title(s).slice(-8))} vs ${JSON.stringify(want.slice(-8))}`)
    }
  }
  t.equal(wrong, 0, `${expected.length} titles read back`)
  t.notOk(table.hasTitle(5), 'an empty title is no title')
  t.ok(table.byteSize > 256 * 1024 * 2, 'the titles took several arena chunks')

  const wide = table.add('nest', 0, 0)
  table.setTitle(wide, '\u20ac'.repeat(2000)) // 3 bytes each: the bytes kept end inside the text
  t.equal(table.title(wide), '\u20ac'.repeat(TITLE_CHARS), 'three-byte characters: cut at 300, none split')
  t.equal(table.title(wide - 1), expected[wide - 1], 'the title before it is untouched')
})

t.test('a snapshot is a copy: changing it leaves the table alone', async (t) => {
  const table = new SectionTable()
  const s = table.add('phase', -1, 0)
  table.setTitle(s, 'buildPhase')
  table.setTiming(s, 'startedAt', 1000)
  const snap = table.get(s)
  snap.errors = 5
  snap.startedAt = 2000
  t.equal(table.errors.get(s), 0)
  t.equal(table.get(s).startedAt, 1000)
  t.equal(table.get(s).kind, 'phase')
  t.equal(table.findStatus('failed'), -1)
  table.setStatus(s, 'failed')
  t.equal(table.findStatus('failed'), -1, 'the root (section 0) is never a failed section')
  const c = table.add('build', s, 0)
  table.setStatus(c, 'failed')
  t.equal(table.findStatus('failed'), c)
  t.equal(table.depth(c), 1)
  const g = table.add('nest', c, 0)
  t.equal(table.depth(g), 2)
})

t.test('search hits: a column made by the first search, covering sections before and after it', async (t) => {
  const table = new SectionTable()
  for (let k = 0; k < 8192; k++) table.add('nest', k === 0 ? -1 : 0, k)
  const before = table.byteSize
  t.equal(table.hits(5), 0, 'no search yet: no hits, and no column')
  const hits = table.hitColumn()
  t.ok(table.byteSize - before >= 8192 * 4, 'the column covers the sections made before it')
  hits.add(8191, 2)
  const late = table.add('nest', 0, 8192) // past the column's first chunks
  hits.add(late, 1)
  t.same([table.hits(8191), table.hits(late), table.get(late).hits, table.hits(3)], [2, 1, 1, 0])
  t.equal(table.hitColumn(), hits, 'one column, made once')
})

t.test('timing: columns made at the first timed section, for every section before and after it', async (t) => {
  const table = new SectionTable()
  const n = 8192 // two whole column chunks before the first timing: the next section needs a third
  for (let k = 0; k < n; k++) table.add('nest', 0, k)
  const untimed = table.byteSize
  t.same([table.get(5).startedAt, table.get(5).endedAt, table.timedByLog(5)], [undefined, undefined, false], 'no timing yet')
  table.setTiming(n - 1, 'startedAt', 1.7e12 + 0.5)
  t.ok(table.byteSize - untimed >= n * 17, 'the columns cover the sections made before them (two Float64, one byte)')
  const late = table.add('ci', 0, n)
  table.setTiming(late, 'startedAt', 1.7e12, true)
  table.setTiming(late, 'endedAt', 1.7e12 + 42000)
  t.equal(table.get(n - 1).startedAt, 1.7e12 + 0.5, 'a time in ms keeps its fraction')
  t.equal(table.get(n - 1).endedAt, undefined, 'an end not set is unknown')
  t.notOk(table.timedByLog(n - 1), 'arrival time')
  t.same([table.get(late).startedAt, table.get(late).endedAt, table.timedByLog(late)], [1.7e12, 1.7e12 + 42000, true], 'a section added after the columns were made: the log\'s clock')
  t.same([table.get(3).startedAt, table.timedByLog(3)], [undefined, false], 'the others stay unknown')
})

t.test('the pager index of a section-dense log: sections cost their columns, not JS objects', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-section-table-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  let text = ''
  const n = 30000
  for (let k = 0; k < n; k++) text += `${E}[pbuilding pkg${k}\nline of pkg${k}\n${E}[q`
  const p = path.join(dir, 'dense.log')
  fs.writeFileSync(p, text)
  const src = LogSource.open(p)
  src.start()
  await new Promise<void>((r) => src.on('eof', () => r()))
  const tree = src.tree
  t.equal(tree.sections.length, n + 1)
  t.equal(src.title(n), `building pkg${n - 1}`, 'the last title: its head line\'s text')
  t.equal(tree.sections.title(n), '', 'which the table does not keep')
  t.equal(tree.sections.lines.get(0), 2 * n, 'the root counts every line: its children\'s heads are its content')
  t.equal(tree.sections.lines.get(n), 1, 'a section does not count its own head')
  const perSection = tree.sections.byteSize / tree.sections.length
  t.ok(perSection < 50, `${perSection.toFixed(0)} B per section in the table, titles included`)
  src.close()
})

t.test('the title column: none while no section has a title, then one that covers every section', async (t) => {
  const table = new SectionTable()
  const n = 10000
  for (let k = 0; k < n; k++) table.add('nest', 0, k)
  const untitled = table.byteSize
  t.equal(table.title(n - 1), '', 'no title')
  t.notOk(table.hasTitle(0))
  table.setTitle(n - 1, 'late')
  t.ok(table.byteSize - untitled >= n * 8, 'the first title brings a Float64 reference for every section made before it')
  t.equal(table.title(n - 1), 'late')
  t.equal(table.title(0), '', 'sections before it still have none')
  const s = table.add('nest', 0, n)
  t.equal(table.title(s), '', 'nor do sections made after it')
  table.setTitle(s, 'next')
  t.equal(table.title(s), 'next')
  t.equal(table.title(n - 1), 'late')
})

t.test('error and warning counts: kept only for the sections that have some, read as zero elsewhere', async (t) => {
  const table = new SectionTable()
  const n = 20000
  for (let k = 0; k < n; k++) table.add('nest', 0, k)
  const bare = table.byteSize
  t.equal(table.errors.get(n - 1), 0)
  t.equal(table.firstError.get(n - 1), -1, 'no first error')
  const want = new Map<number, [number, number, number]>()
  let seed = 5
  const rnd = (m: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % m)
  for (let k = 0; k < 3000; k++) {
    const s = rnd(n)
    const w = want.get(s) ?? [0, 0, -1]
    const what = rnd(3)
    if (what === 0) {
      table.errors.add(s, 2)
      w[0] += 2
      if (table.firstError.get(s) < 0) {
        table.firstError.set(s, k)
        w[2] = k
      }
    } else if (what === 1) {
      table.warnings.add(s, 1)
      w[1]++
    } else {
      table.firstError.set(s, k)
      w[2] = k
    }
    want.set(s, w)
  }
  let wrong = 0
  for (let s = 0; s < n; s++) {
    const w = want.get(s) ?? [0, 0, -1]
    if (table.errors.get(s) !== w[0] || table.warnings.get(s) !== w[1] || table.firstError.get(s) !== w[2]) wrong++
  }
  t.equal(wrong, 0, `${n} sections read back, ${want.size} with values`)
  const grown = table.byteSize - bare
  t.ok(grown >= want.size * 12 && grown < want.size * 12 + 4096 * 4, `${grown} bytes for ${want.size} sections with values: 12 each`)
})
