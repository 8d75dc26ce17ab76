import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { allSections } from './helpers/tree.js'
import { prng } from './helpers/random.js'
import { LogSource } from '../dist/tree/source.js'
import { SearchJob } from '../dist/tree/search.js'
import { LINE_ERROR, LineTable } from '../dist/tree/lines.js'
import { IdMap, LogTree } from '../dist/tree/tree.js'

const E = '\x1b'
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-tree-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

function write(name: string, text: string): string {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

async function indexed(p: string): Promise<LogSource> {
  const src = LogSource.open(p)
  src.start()
  await new Promise<void>((r) => src.on('eof', () => r()))
  return src
}

/** n sections, each with m lines; section k % every has an error line. */
function synthetic(n: number, m: number, every = 0): string {
  let s = ''
  for (let k = 0; k < n; k++) {
    s += `${E}[pbuilding pkg${k}\n${E}[pconfiguring\n`
    for (let i = 0; i < m; i++) s += `line ${i} of pkg${k}\n`
    if (every && k % every === every - 1) s += `error: pkg${k} failed\n`
    s += `${E}[q${E}[q`
  }
  return s
}

t.test('index: offsets, sections, counts, text on demand', async (t) => {
  const p = write('a.log', synthetic(3, 4, 2))
  const src = await indexed(p)
  const tree = src.tree
  t.equal(tree.sections.length, 1 + 6, 'root + 2 sections per package')
  t.equal(tree.lines.length, 3 * (2 + 4) + 1)
  t.equal(tree.sections.get(0).errors, 1)
  const pkg1 = allSections(tree.sections).find((s) => src.title(s.id) === 'building pkg1')!
  t.ok(pkg1, 'legacy nest titled by its head line')
  t.equal(pkg1.errors, 1)
  t.equal(pkg1.lines, 1 + 4 + 1, 'content lines incl. descendants, heads of children count, own head does not')
  // text read back from the file
  for (let i = 0; i < tree.lines.length; i++) t.notMatch(src.lineText(i).text.toString(), /\x1b/)
  t.equal(src.lineText(tree.sections.get(0).firstError).text.toString(), 'error: pkg1 failed')
  t.ok(tree.lines.flags(tree.sections.get(0).firstError) & LINE_ERROR)
  t.ok(tree.lines.byteSize / Math.max(tree.lines.length, 65536) <= 16, '≤ 16 bytes per line')
  src.close()
})

t.test('failure-aware default: a failed section without error lines opens with its ancestors', async (t) => {
  const tree = new LogTree()
  const line = (section: number, offset: number) => tree.add({ type: 'line', index: 0, section, text: Buffer.from('ok'), head: false, priority: 1, error: false, warning: false, offset, end: offset + 3, ended: 'lf' })
  tree.add({ type: 'open', id: 1, parent: 0, kind: 'build', title: 'outer', priority: 1, offset: 0 })
  tree.add({ type: 'open', id: 2, parent: 1, kind: 'phase', title: 'failed phase', priority: 1, offset: 0 })
  line(2, 0)
  tree.add({ type: 'close', id: 2, offset: 3, status: 'failed' })
  tree.add({ type: 'open', id: 3, parent: 1, kind: 'phase', title: 'clean phase', priority: 1, offset: 3 })
  line(3, 3)
  tree.add({ type: 'close', id: 3, offset: 6 })
  tree.add({ type: 'close', id: 1, offset: 6 })
  tree.finish()
  tree.foldDefault()
  t.equal(tree.sections.errors.get(2), 0, 'no error line in it')
  t.ok(tree.isOpen(2), 'the failed section opens')
  t.ok(tree.isOpen(1), 'and its ancestor')
  t.notOk(tree.isOpen(3), 'a clean sibling stays closed')

  // what the user toggles, automatic folding (follow) leaves alone, until the default fold
  tree.setOpen(3, true, true)
  t.ok(tree.isOpen(3) && tree.isManual(3), 'a toggle by hand is marked')
  tree.setAll((s) => s !== 2, false)
  t.ok(tree.isManual(3) && !tree.isOpen(2) && tree.isOpen(3), 'zR, zM and fold levels keep the mark')
  tree.foldDefault()
  t.ok(!tree.isManual(3) && !tree.isOpen(3), 'the failure-aware default (x) clears it')
})

t.test('a section found failed after the fact (a status event) is failed in the tree; a count of failures is not', async (t) => {
  // `nix build -L`: the build's lines, then Nix names its derivation as failed
  let log = ''
  for (let i = 0; i < 40; i++) log += `foo> compiling foo ${i}\n`
  for (let i = 0; i < 20; i++) log += `bar> compiling bar ${i}\n`
  log += "error: builder for '/nix/store/0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6-foo-1.0.drv' failed with exit code 2;\n"
  const src = await indexed(write('failed-later.log', log))
  const tree = src.tree
  const byTitle = (title: string): number => allSections(tree.sections).find((s) => src.title(s.id) === title)!.id
  const foo = byTitle('foo')
  const bar = byTitle('bar')
  t.equal(tree.sections.status(foo), 'failed', 'the build the error names failed')
  t.ok(tree.sections.failedBelow(0), 'the log holds a failure')
  t.not(tree.sections.status(bar), 'failed', 'the other build did not')
  src.close()
  // internal-json's progress status counts failed builds: a count, not a failure
  const counted = new LogTree()
  counted.add({ type: 'open', id: 1, parent: 0, kind: 'activity', title: 'building', priority: 1, offset: 0 })
  counted.add({ type: 'status', id: 1, offset: 1, attrs: { done: 1, expected: 2, running: 0, failed: 1 } })
  t.not(counted.sections.status(1), 'failed')
  counted.add({ type: 'status', id: 1, offset: 2, attrs: { failed: true } })
  t.equal(counted.sections.status(1), 'failed')
})

t.test('failure-aware default: the innermost section left unclosed by a failed build opens, with its ancestors', async (t) => {
  const tree = new LogTree()
  let offset = 0
  const line = (s: number, flags = 0): void => void tree.addLine(s, offset, (offset += 4), flags, false)
  const open = (id: number, parent: number): void => tree.add({ type: 'open', id, parent, kind: 'nest', priority: 1, offset })
  open(1, 0)
  line(1)
  open(2, 1)
  line(2, LINE_ERROR) // the failure, in a section that closes
  tree.add({ type: 'close', id: 2, offset })
  open(3, 1)
  open(4, 3)
  line(4)
  open(5, 0) // a clean section that closed
  line(5)
  tree.add({ type: 'close', id: 5, offset })
  open(6, 0)
  open(7, 6) // the innermost left open at the end
  line(7)
  tree.finish()
  tree.foldDefault()
  t.ok(tree.isOpen(7) && tree.isOpen(6), 'the innermost unclosed section and its ancestors open')
  t.notOk(tree.isOpen(4) || tree.isOpen(3), 'other unclosed sections stay closed')
  t.notOk(tree.isOpen(5), 'a clean section stays closed')
  t.ok(tree.isOpen(2) && tree.isOpen(1), 'the error\'s path opens')
  // its status changed after the end (its close came late): the newest section still unclosed opens instead
  tree.add({ type: 'close', id: 7, offset })
  tree.setAll(false)
  tree.foldDefault()
  t.equal(tree.sections.status(7), 'ok')
  t.ok(tree.isOpen(6), 'the next unclosed one, section 6, opens')
  t.notOk(tree.isOpen(7), 'not the one that closed')
})

t.test('fold model: failure-aware default, zR/zM, row mapping round-trips', async (t) => {
  const p = write('b.log', synthetic(50, 10, 7))
  const src = await indexed(p)
  const tree = src.tree
  tree.foldDefault()
  const failing = allSections(tree.sections).filter((s) => s.id > 0 && s.errors > 0)
  t.ok(failing.length > 0)
  for (const s of allSections(tree.sections).slice(1)) t.equal(tree.isOpen(s.id), s.errors > 0, `section ${s.id} open iff it holds an error`)
  // every visible row maps back to itself
  const check = (label: string) => {
    for (let r = 0; r < tree.rowCount; r++) {
      const row = tree.rowAt(r)!
      const back = row.header !== undefined ? tree.rowOfHeader(row.header) : tree.rowOfLine(row.line)
      if (back !== r) return t.fail(`${label}: row ${r} maps back to ${back}`)
    }
    t.pass(`${label}: ${tree.rowCount} rows round-trip`)
  }
  check('default')
  tree.setAll(() => true)
  t.equal(tree.rowCount, tree.lines.length, 'all open: every line is a row (heads are headers)')
  check('all open')
  tree.setAll(() => false)
  t.equal(tree.rowCount, 50)
  check('all closed')
  // reveal a line deep inside a closed fold
  const target = tree.sections.get(0).firstError
  t.notOk(tree.isVisibleLine(target))
  tree.revealLine(target)
  t.ok(tree.isVisibleLine(target))
  t.equal(tree.rowAt(tree.rowOfLine(target))!.line, target)
  src.close()
})

t.test('expand-all and collapse-all on 20,000 sections (zR, zM): every row where it belongs; sections made later start closed', async (t) => {
  // (how fast is the bench's business: bench/sections/pager.mjs)
  const p = write('c.log', synthetic(10000, 3))
  const src = await indexed(p)
  const tree = src.tree
  t.equal(tree.sections.length - 1, 20000)
  const roundTrip = (label: string): void => {
    for (let r = 0; r < tree.rowCount; r += 997) {
      const row = tree.rowAt(r)!
      const back = row.header !== undefined ? tree.rowOfHeader(row.header) : tree.rowOfLine(row.line)
      if (back !== r) return void t.fail(`${label}: row ${r} maps back to ${back}`)
    }
    t.pass(`${label}: rows map back`)
  }
  for (let k = 0; k < 3; k++) {
    tree.setAll(true)
    t.equal(tree.rowCount, tree.lines.length, 'all open: every line a row, heads as headers')
    roundTrip('all open')
    tree.setAll(false)
    t.equal(tree.rowCount, 10000, 'all closed: the top-level sections')
    t.same(tree.rowAt(9999), { header: tree.children(0)[9999] })
    roundTrip('all closed')
  }
  // a section that opens after zR is closed, as every new section is
  tree.setAll(true)
  const before = tree.sections.length
  tree.add({ type: 'open', id: 1e6, parent: 0, kind: 'nest', priority: 1, offset: 0 })
  t.notOk(tree.isOpen(before), 'a later section starts closed')
  t.ok(tree.isOpen(before - 1), 'the earlier ones stay open')
  src.close()
})

t.test('search: literal, regex, inverted; hits counted per section', async (t) => {
  const p = write('d.log', synthetic(20, 5, 5))
  const src = await indexed(p)
  const tree = src.tree
  const lit = new SearchJob(src.fd, tree, { source: 'of pkg1\n', literal: true })
  await lit.promise
  t.equal(lit.hits, 5)
  const re = new SearchJob(src.fd, tree, { source: 'error: pkg\\d+ failed', literal: false })
  await re.promise
  t.equal(re.hits, 4)
  t.equal(tree.sections.get(0).hits, 4)
  const pkg4 = allSections(tree.sections).find((s) => src.title(s.id) === 'building pkg4')!
  t.equal(pkg4.hits, 1, 'hit counted in the enclosing sections')
  const inv = new SearchJob(src.fd, tree, { source: 'line', literal: true, invert: true })
  await inv.promise
  t.equal(inv.hits, tree.lines.length - 20 * 5)
  t.equal(inv.error, undefined)
  src.close()
  // the file cannot be read any more (its descriptor is gone): the search ends, saying why
  const lost = new SearchJob(src.fd, tree, { source: 'of pkg1', literal: true })
  await lost.promise
  t.same([lost.hits, lost.done, lost.error], [0, true, 'read error (EBADF)'], 'a read error ends the search, no exception')
})

t.test('a growing file is followed', async (t) => {
  const p = write('e.log', `${E}[pbuilding x\nfirst\n`)
  const src = LogSource.open(p, { follow: true, pollMs: 20 })
  src.start()
  await new Promise<void>((r) => src.on('eof', () => r()))
  t.equal(src.tree.lines.length, 2)
  t.same(src.tree.running.length, 1, 'the section is running')
  fs.appendFileSync(p, `second\n${E}[q`)
  await new Promise<void>((r) => src.on('grow', () => r()))
  await new Promise<void>((r) => src.on('eof', () => r()))
  t.equal(src.tree.lines.length, 3)
  t.equal(src.tree.running.length, 0, 'closed')
  src.close()
})

t.test('a followed log that waits for its writer times the sections that arrive after the wait', async (t) => {
  const p = write('live.log', `${E}[pbuilding x\nfirst\n`)
  const src = LogSource.open(p, { follow: true, pollMs: 20 })
  src.start()
  await new Promise<void>((r) => src.on('eof', () => r()))
  // a poll that finds nothing new: the writer is slower than the reader
  await new Promise((r) => setTimeout(r, 80))
  fs.appendFileSync(p, `${E}[pbuilding y\n`)
  await new Promise<void>((r) => src.on('eof', () => r()))
  const written = Date.now()
  await new Promise((r) => setTimeout(r, 120))
  fs.appendFileSync(p, `done\n${E}[q`)
  await new Promise<void>((r) => src.on('eof', () => r()))
  const [x, y] = [src.tree.sections.get(1), src.tree.sections.get(2)]
  t.equal(x.startedAt, undefined, 'a section read at once has no arrival time')
  t.ok(y.startedAt !== undefined && y.startedAt <= written, 'the live section started when it arrived')
  t.ok(y.endedAt !== undefined && y.endedAt - y.startedAt! >= 120, `and ended when its close arrived (${y.endedAt! - y.startedAt!} ms later)`)
  src.close()
  // read at once: no section is timed
  const whole = LogSource.open(p)
  whole.start()
  await new Promise<void>((r) => whole.on('eof', () => r()))
  t.same([1, 2].map((s) => whole.tree.sections.get(s).startedAt), [undefined, undefined], 'a log read at once has no arrival times')
  whole.close()
})

t.test('fold model: rows stay right while the tree grows and folds change (against a brute-force flatten)', async (t) => {
  let seed = 12345
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  for (let round = 0; round < 4; round++) {
    const tree = new LogTree()
    // my own model of each section's content, in order: line index (>= 0) or -child
    const items: number[][] = [[]]
    const heads: number[] = [-1]
    const stack = [0]
    let nextId = 1
    let offset = 0
    const expected = (): Array<[string, number]> => {
      const out: Array<[string, number]> = []
      const walk = (s: number): void => {
        if (s !== 0) out.push(['h', s])
        if (s !== 0 && !tree.isOpen(s)) return
        for (const v of items[s]!) if (v >= 0) out.push(['l', v])
        else walk(-v)
      }
      walk(0)
      return out
    }
    const check = (label: string): boolean => {
      for (let s = 0; s < items.length; s++) {
        const children = items[s]!.filter((v) => v < 0).map((v) => -v)
        if (tree.children(s).join() !== children.join() || tree.hasChildren(s) !== children.length > 0) {
          t.fail(`${label}: children of ${s} are ${tree.children(s).join()}, want ${children.join()}`)
          return false
        }
      }
      const want = expected()
      if (tree.rowCount !== want.length) {
        t.fail(`${label}: rowCount ${tree.rowCount}, want ${want.length}`)
        return false
      }
      for (let r = 0; r < want.length; r++) {
        const row = tree.rowAt(r)!
        const [k, v] = want[r]!
        const got = row.header !== undefined ? ['h', row.header] : ['l', row.line]
        if (got[0] !== k || got[1] !== v) {
          t.fail(`${label}: row ${r} is ${got.join('')}, want ${k}${v}`)
          return false
        }
        const back = row.header !== undefined ? tree.rowOfHeader(row.header) : tree.rowOfLine(row.line!)
        if (back !== r) {
          t.fail(`${label}: row ${r} maps back to ${back}`)
          return false
        }
      }
      return true
    }
    let ok = true
    for (let step = 0; step < 1500 && ok; step++) {
      const op = rand(20)
      if (op < 3 && stack.length < 5) {
        const id = nextId++
        const parent = stack.at(-1)!
        tree.add({ type: 'open', id, parent, kind: 'nest', priority: 1, offset })
        const s = tree.sections.length - 1
        items[s] = []
        heads[s] = -1
        items[parent === 0 ? 0 : parent]!.push(-s)
        stack.push(s)
        if (rand(2) === 0) {
          // a head line: the section's title row, not content
          const i = tree.addLine(s, offset, offset + 5, 0, true)
          heads[s] = i
          offset += 5
        }
      } else if (op < 6 && stack.length > 1) {
        const s = stack.pop()!
        tree.add({ type: 'close', id: s, offset })
      } else if (op < 14) {
        // mostly the innermost section; sometimes an outer one, as concurrent sections interleave
        const s = rand(4) === 0 ? stack[rand(stack.length)]! : stack.at(-1)!
        const i = tree.addLine(s, offset, offset + 5, 0, false)
        items[s]!.push(i)
        offset += 5
      } else if (op < 18 && tree.sections.length > 1) {
        tree.setOpen(1 + rand(tree.sections.length - 1), rand(2) === 0, true)
      } else if (op === 18) {
        const k = rand(3)
        tree.setAll(k === 0 ? true : k === 1 ? false : (s) => s % 2 === 0, false)
      }
      if (step % 25 === 0 || op >= 14) ok = check(`round ${round} step ${step}`)
    }
    if (ok) t.pass(`round ${round}: ${tree.sections.length - 1} sections, ${tree.lines.length} lines, rows right after every fold change`)
  }
})

t.test('findFlag skips chunks without the flag and agrees with a scan', async (t) => {
  const table = new LineTable()
  const n = 300000 // several 64 Ki-line chunks
  const flags = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const f = i % 9973 === 0 ? 1 : i % 50021 === 7 ? 2 : 0
    flags[i] = f
    table.push(i, 0, f, i + 1)
  }
  table.setFlag(123456, 16)
  table.clearFlagAll(16)
  table.setFlag(250000, 16)
  flags[250000] = flags[250000]! | 16
  const scan = (from: number, dir: 1 | -1, bits: number): number => {
    if (dir === 1) for (let i = Math.max(0, from); i < n; i++) if (flags[i]! & bits) return i
    if (dir === -1) for (let i = Math.min(from, n - 1); i >= 0; i--) if (flags[i]! & bits) return i
    return -1
  }
  let seed = 7
  let bad = 0
  for (let k = 0; k < 2000; k++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const from = (seed % (n + 2000)) - 1000
    const dir = k % 2 === 0 ? 1 : -1
    const bits = [1, 2, 3, 16, 32][k % 5]!
    if (table.findFlag(from, dir, bits) !== scan(from, dir, bits)) bad++
  }
  t.equal(bad, 0, 'same answers as a line-by-line scan')
  t.equal(table.findFlag(0, 1, 16), 250000, 'a flag cleared everywhere is gone; one set later is found')
})

t.test('the line table keeps offsets past 4 GiB and out of order, 9 bytes a line where they fit', async (t) => {
  const CHUNK = 65536
  const table = new LineTable()
  const offsets: number[] = []
  // chunk 0: ordinary lines; chunk 1: a line 5 GiB after the chunk's first (a run of escapes
  // alone); chunk 2: starts past 8 GiB, ordinary again
  for (let i = 0; i < 3 * CHUNK; i++) {
    let offset = i * 80
    if (i >= CHUNK) offset += 2 ** 32 // past 4 GiB, but less than 4 GiB apart within the chunk
    if (i >= CHUNK + 1000) offset += 5 * 2 ** 30
    if (i >= 2 * CHUNK) offset += 2 ** 33
    offsets.push(offset)
    table.push(offset, i % 7, 0, offset + 80)
  }
  let bad = -1
  for (let i = 0; i < offsets.length && bad < 0; i++) if (table.offset(i) !== offsets[i]) bad = i
  t.equal(bad, -1, bad < 0 ? 'every offset as pushed' : `line ${bad}: ${table.offset(bad)}, pushed ${offsets[bad]}`)
  t.equal(table.end(CHUNK + 999), offsets[CHUNK + 1000], 'a line ends where the next begins, across the gap')
  t.equal(table.section(CHUNK + 1000), (CHUNK + 1000) % 7)
  t.equal(table.lineAtByte(offsets[CHUNK + 1000]! - 1), CHUNK + 999, 'a byte in the gap belongs to the line before it')
  t.equal(table.lineAtByte(offsets[2 * CHUNK + 12345]! + 3), 2 * CHUNK + 12345)
  // chunk 1 holds its offsets as Float64, chunks 0 and 2 as Uint32
  // 7 bytes a line (offset, section code, flags), 4 more where offsets are Float64, and the section
  // dictionaries: seven ids in each full chunk, room for 256 in the last
  t.equal(table.byteSize, 3 * CHUNK * 7 + CHUNK * 4 + 2 * 7 * 4 + 256 * 4)
  // a line before its chunk's first (no decoder pushes one; the table still keeps it)
  const unordered = new LineTable()
  for (const offset of [100, 50, 2 ** 40, 7]) unordered.push(offset, 0, 0, offset + 1)
  t.same([0, 1, 2, 3].map((i) => unordered.offset(i)), [100, 50, 2 ** 40, 7])
})

t.test('the line table gives back every line\'s section, whatever the pattern of ids', async (t) => {
  const CHUNK = 65536
  const table = new LineTable()
  const want: number[] = []
  const push = (section: number): void => {
    want.push(section)
    table.push(want.length * 10, section, 0, want.length * 10 + 10)
  }
  // a nest and its parent, back and forth (codes reused)
  for (let k = 0; push(k % 3 === 1 ? 5 : 7 + k), want.length < CHUNK - 100; k++);
  // a new section on every line, across a chunk boundary and through a whole chunk: 65,536 codes
  for (let k = 0; k < CHUNK + 200; k++) push(1_000_000 + k)
  // twelve sections in turn: more than the recent codes looked at, so ids come back with new codes
  for (let k = 0; k < 3000; k++) push(k % 12)
  // large ids, and lines that stay long in one section
  for (let k = 0; k < 2 * CHUNK; k++) push(2 ** 31 - 2 - (k >> 10))
  let bad = -1
  for (let i = 0; i < want.length && bad < 0; i++) if (table.section(i) !== want[i]) bad = i
  t.equal(bad, -1, bad < 0 ? `${want.length} lines read back` : `line ${bad}: ${table.section(bad)}, pushed ${want[bad]}`)
})

t.test('the index reads end at line ends: a line goes through the framer\'s JavaScript path only when it must', async (t) => {
  // 4 MiB of lines of every length (a read's end falls anywhere), a line longer than a read, and
  // a last line without its LF: the tree has every line, and only those two lines were not taken
  // in a run (a line cut by a read's end would be: one a read)
  let log = ''
  const ends: number[] = []
  for (let i = 0; log.length < 4 << 20; i++) ends.push((log += `line ${i} ${'y'.repeat(i % 97)}\n`).length)
  ends.push((log += `${'z'.repeat(300 << 10)}\n`).length)
  ends.push((log += 'the last line, without its LF').length)
  const src = await indexed(write('reads.log', log))
  const lines = src.tree.lines
  t.equal(lines.length, ends.length, 'every line')
  let wrong = 0
  for (let i = 0; i < lines.length; i++) if (lines.end(i) !== ends[i] || lines.offset(i) !== (i === 0 ? 0 : ends[i - 1])) wrong++
  t.equal(wrong, 0, 'each where it is in the file')
  t.equal(src.indexDecoder?.fastLines, 2, 'the long line and the last went line by line; no other line was cut')
  src.close()
})

t.test('the index stops whole at its row limit, from the background or the first screen', async (t) => {
  // ROW_LIMIT (2^31 − 1) is out of a test's reach: the same stop with a smaller limit. A step adds
  // at most 1,179,648 rows (source.ts), so a limit of 1,400,000 stops after about 220,000.
  const p = write('limit.log', synthetic(140000, 8)) // 140,000 × (2 heads + 8 lines) = 1,400,000 lines, 280,000 sections
  const check = async (src: LogSource, how: string): Promise<void> => {
    const tree = src.tree
    const rows = tree.lines.length + tree.sections.length
    t.match(src.stopped, /^index full at \d{1,2}%$/, `${how}: stopped, full`)
    t.notOk(src.indexing, `${how}: no longer indexing`)
    t.ok(tree.done, `${how}: the tree is finished`)
    t.ok(rows > 1400000 - 1179648 && rows <= 1400000, `${how}: ${rows} rows, within the limit`)
    t.ok(src.indexedBytes < src.fileSize, `${how}: the file was not read to its end`)
    // the same index as that of the file cut where reading stopped
    const cut = write('limit-cut.log', fs.readFileSync(p).subarray(0, src.indexedBytes).toString('latin1'))
    const whole = await indexed(cut)
    t.equal(JSON.stringify(allSections(tree.sections)), JSON.stringify(allSections(whole.tree.sections)), `${how}: the sections of the file cut there`)
    const lineOf = (x: LogSource, i: number) => [x.tree.lines.offset(i), x.tree.lines.end(i), x.tree.lines.section(i), x.tree.lines.flags(i)]
    let differ = 0
    for (let i = 0; i < Math.max(tree.lines.length, whole.tree.lines.length); i++) if (JSON.stringify(lineOf(src, i)) !== JSON.stringify(lineOf(whole, i))) differ++
    t.equal(differ, 0, `${how}: its ${tree.lines.length} lines`)
    whole.close()
  }
  const bg = LogSource.open(p, { rowLimit: 1400000 })
  const eof = new Promise<void>((r) => bg.on('eof', () => r()))
  bg.start()
  await eof
  await check(bg, 'background')
  const before = [bg.tree.lines.length, bg.indexedBytes]
  bg.start() // nothing more to read: it only says so again
  await new Promise<void>((r) => bg.on('eof', () => r()))
  t.same([bg.tree.lines.length, bg.indexedBytes], before, 'start() after the stop reads nothing')
  bg.close()

  const fg = LogSource.open(p, { rowLimit: 1400000 })
  fg.indexSync(fg.fileSize)
  await check(fg, 'first screen')
  const lines = fg.tree.lines.length
  const again = new Promise<void>((r) => fg.on('eof', () => r()))
  fg.start()
  await again
  t.equal(fg.tree.lines.length, lines, 'start() after indexSync filled it reads nothing and still says eof')
  fg.close()
})

t.test('a file that shrinks or cannot be read under the index: it stops, says why, keeps what it had', async (t) => {
  // the end, or a failure after 5 s (a source that never stops would spin at 100 % CPU)
  const eof = (src: LogSource): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no end of indexing within 5 s')), 5000)
      src.once('eof', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  const big = 'line of text\n'.repeat(400000) // 5.2 MB: many background steps

  const p = write('shrinks.log', big)
  const cut = LogSource.open(p)
  cut.indexSync(65536)
  const before = cut.tree.lines.length
  fs.truncateSync(p, 1000)
  const ended = eof(cut)
  cut.start()
  await ended
  t.equal(cut.stopped, 'file truncated', 'truncated below what was indexed: said so, instead of waiting for bytes that are gone')
  t.notOk(cut.indexing, 'no longer indexing')
  t.equal(cut.tree.lines.length, before + 1, 'the lines indexed before stay, and the one the last read cut ends there')
  t.equal(cut.lineText(before - 1).text.length, 0, 'a line past the new end reads as empty, without an error')
  cut.close()

  const q = write('followed.log', 'one\ntwo\n')
  const followed = LogSource.open(q, { follow: true, pollMs: 10 })
  const first = eof(followed)
  followed.start()
  await first
  fs.truncateSync(q, 3)
  await until(() => followed.stopped !== undefined)
  t.equal(followed.stopped, 'file truncated', 'following: a file cut shorter is noticed at the next poll')
  followed.close()

  const r = write('unreadable.log', big)
  const lost = LogSource.open(r)
  lost.indexSync(65536)
  const lines = lost.tree.lines.length
  fs.closeSync(lost.fd) // as if the disk went away: every read now fails
  const stopped = eof(lost)
  lost.start()
  await stopped
  t.equal(lost.stopped, 'read error (EBADF)', 'a read error stops the index with its code, no exception')
  t.equal(lost.tree.lines.length, lines + 1, 'the lines indexed before stay, and the one the last read cut')
  t.ok(lost.tree.done)
  t.equal(lost.readRange({ offset: 0, end: 10 }).length, 0, 'reading a line then gives nothing, no exception')
})

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now()
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

t.test('decoder ids: the identity while they count 1, 2, 3 …, a lookup table after the first that does not', async (t) => {
  const map = new IdMap()
  for (let id = 1; id <= 5000; id++) map.set(id, id)
  t.equal(map.byteSize, 0, 'the identity holds nothing')
  t.equal(map.get(5000), 5000)
  t.equal(map.get(0), undefined, '0 is the root\'s, never a decoder section')
  t.equal(map.get(5001), undefined, 'ids not yet seen')
  t.equal(map.get(1.5), undefined)
  map.set(7000, 5001) // a decoder skipping ids
  t.ok(map.byteSize > 0, 'now a dense array')
  t.equal(map.get(7000), 5001)
  t.equal(map.get(5001), undefined)
  t.equal(map.get(4321), 4321, 'the ids before it still map to themselves')
  map.set(2 ** 40, 5002)
  t.equal(map.get(2 ** 40), 5002, 'ids past the dense range')

  // the tree follows a decoder whose ids are not its own numbers
  const tree = new LogTree()
  tree.add({ type: 'open', id: 9, parent: 0, kind: 'phase', title: 'outer', priority: 1, offset: 0 })
  tree.add({ type: 'open', id: 3, parent: 9, kind: 'phase', title: 'inner', priority: 1, offset: 0 })
  tree.add({ type: 'line', index: 0, section: 9, text: Buffer.from('x'), head: false, priority: 1, error: false, warning: false, offset: 0, end: 2, ended: 'lf' })
  tree.add({ type: 'close', id: 3, offset: 2 })
  tree.add({ type: 'close', id: 9, offset: 2, status: 'failed' })
  t.equal(tree.sections.title(1), 'outer')
  t.equal(tree.sections.parent.get(2), 1, 'the inner section under the outer one')
  t.equal(tree.lines.section(0), 1, 'the line in the outer section, by its decoder id')
  t.equal(tree.sections.status(2), 'ok')
  t.equal(tree.sections.status(1), 'failed')
})

t.test('rowAt starts from its last descent, and forgets it when the folds or the content change', async (t) => {
  // a log nested up to eight deep, with runs of lines between the sections
  const tree = new LogTree()
  let seed = 11
  const rnd = (m: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % m)
  let id = 0
  let depth = 0
  let offset = 0
  const line = (section?: number): void => {
    tree.add({ type: 'line', index: 0, section: section as number, text: Buffer.from('x'), head: false, priority: 1, error: false, warning: false, offset, end: offset + 2, ended: 'lf' })
    offset += 2
  }
  const grow = (steps: number): void => {
    for (let k = 0; k < steps; k++) {
      const r = rnd(10)
      if (r < 3 && depth < 8) {
        tree.add({ type: 'open', id: ++id, parent: undefined as unknown as number, kind: 'nest', priority: 1, offset })
        depth++
      } else if (r < 5 && depth > 0) {
        tree.add({ type: 'close', id: tree.current, offset })
        depth--
      } else line()
    }
  }
  grow(3000)
  tree.setAll(() => true) // deep paths to descend
  const fresh = (r: number): string => {
    ;(tree as unknown as { pathVersion: number }).pathVersion = -1 // a descent from the root
    return JSON.stringify(tree.rowAt(r))
  }
  let wrong = 0
  let asked = 0
  for (let step = 0; step < 150; step++) {
    // a descent to somewhere deep, which the change below makes out of date
    tree.rowAt(rnd(tree.rowCount))
    const what = rnd(10)
    if (what < 4) tree.setOpen(1 + rnd(tree.sections.length - 1), rnd(8) !== 0)
    else if (what < 5) tree.setAll((s) => s % 50 !== 0)
    else if (what < 6) tree.setAll(() => true)
    else if (what < 7) grow(20) // more lines and sections while the pager reads
    else for (let k = 0; k < 5; k++) line(1 + rnd(id)) // lines of earlier sections, as concurrent builds write them
    // a frame's worth of consecutive rows, and a few anywhere, as the pager asks for them
    const rows: number[] = []
    const top = rnd(Math.max(1, tree.rowCount))
    for (let r = top; r < top + 20; r++) rows.push(r)
    for (let k = 0; k < 5; k++) rows.push(rnd(tree.rowCount + 2))
    const got = rows.map((r) => JSON.stringify(tree.rowAt(r)))
    rows.forEach((r, k) => {
      asked++
      if (got[k] !== fresh(r) && wrong++ < 3) t.fail(`step ${step}: row ${r} is ${got[k]}, a descent from the root says ${fresh(r)}`)
    })
  }
  t.equal(wrong, 0, `${asked} rows, after folds, zR-like folding and new content`)
  t.ok(tree.rowCount > 1000, `${tree.rowCount} rows at the end`)
})

t.test('a log hundreds of sections deep: rows of headers and lines, depths and folded ancestors, asked in any order', async (t) => {
  // chains of nests up to 400 deep (past the strides depth() leaves behind), lines at every level
  const tree = new LogTree()
  const rnd = prng(29)
  let id = 0
  let depth = 0
  let offset = 0
  const grow = (steps: number): void => {
    for (let k = 0; k < steps; k++) {
      const r = rnd(20)
      if (r < 9 && depth < 400) {
        tree.add({ type: 'open', id: ++id, parent: undefined as unknown as number, kind: 'nest', priority: 1, offset })
        depth++
        if (rnd(2) === 0) tree.addLine(tree.current, offset, (offset += 2), 0, true)
      } else if (r < 12 && depth > 0) {
        tree.add({ type: 'close', id: tree.current, offset })
        depth--
      } else tree.addLine(tree.current, offset, (offset += 2), 0, false)
    }
  }
  const parent = tree.sections.parent
  const naiveDepth = (s: number): number => {
    let d = 0
    for (let p = s; p > 0; p = parent.get(p)) d++
    return d
  }
  const naiveClosed = (s: number): number => {
    let closed = -1
    for (let p = s; p > 0; p = parent.get(p)) if (!tree.isOpen(p)) closed = p
    return closed
  }
  /**
   * Where every visible header and line is, by a flatten of my own: a section's content is its
   * lines (not its head) and its children, in line order, a child at its first line and before a
   * line with the same index (it opened before that line came).
   */
  const flatten = (): { headerRow: Map<number, number>; lineRow: Map<number, number> } => {
    const content: number[][] = Array.from({ length: tree.sections.length }, () => [])
    for (let s = 1; s < tree.sections.length; s++) content[parent.get(s)]!.push(-s)
    for (let i = 0; i < tree.lines.length; i++) {
      const s = tree.lines.section(i)
      if (tree.sections.head(s) !== i) content[s]!.push(i)
    }
    const key = (v: number): number => (v >= 0 ? v + 0.5 : tree.sections.firstLine.get(-v))
    const headerRow = new Map<number, number>()
    const lineRow = new Map<number, number>()
    let row = 0
    // depth first with a stack of iterators: the chains are deeper than the call stack likes
    const stack: Array<{ items: number[]; at: number }> = [{ items: content[0]!.sort((a, b) => key(a) - key(b) || b - a), at: 0 }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      if (top.at === top.items.length) {
        stack.pop()
        continue
      }
      const v = top.items[top.at++]!
      if (v >= 0) lineRow.set(v, row++)
      else {
        headerRow.set(-v, row++)
        if (tree.isOpen(-v)) stack.push({ items: content[-v]!.sort((a, b) => key(a) - key(b) || b - a), at: 0 })
      }
    }
    if (row !== tree.rowCount) t.fail(`the flatten has ${row} rows, the tree ${tree.rowCount}`)
    return { headerRow, lineRow }
  }
  let wrong = 0
  let asked = 0
  const expect = (what: string, got: number, want: number): void => {
    asked++
    if (got !== want && wrong++ < 5) t.fail(`${what} is ${got}, want ${want}`)
  }
  grow(4000)
  let deepest = 0
  for (let step = 0; step < 60; step++) {
    const what = rnd(6)
    if (what < 3) for (let k = 0; k < 10; k++) tree.setOpen(1 + rnd(tree.sections.length - 1), rnd(4) !== 0)
    else if (what < 4) tree.setAll((s) => s % 7 !== 0)
    else if (what < 5) tree.setAll(() => true)
    else grow(200)
    let { headerRow, lineRow } = flatten()
    let visible = [...headerRow.keys()]
    // questions in any order, each leaving the descent where it went, and now and then a fold
    for (let q = 0; q < 300; q++) {
      const kind = rnd(6)
      if (kind === 0) tree.rowAt(rnd(tree.rowCount))
      else if (kind === 5) {
        tree.setOpen(visible.length > 0 && rnd(2) === 0 ? visible[rnd(visible.length)]! : 1 + rnd(tree.sections.length - 1), rnd(3) !== 0)
        ;({ headerRow, lineRow } = flatten())
        visible = [...headerRow.keys()]
      } else if (kind === 1 && visible.length > 0) {
        const s = visible[rnd(visible.length)]!
        expect(`step ${step}: row of header ${s}`, tree.rowOfHeader(s), headerRow.get(s)!)
      } else if (kind === 2) {
        const line = rnd(tree.lines.length)
        const s = tree.lines.section(line)
        const isHead = tree.sections.head(s) === line
        const closed = naiveClosed(isHead ? parent.get(s) : s)
        const want = closed > 0 ? headerRow.get(closed)! : isHead ? headerRow.get(s)! : lineRow.get(line)!
        expect(`step ${step}: row of line ${line}`, tree.rowOfLine(line), want)
        expect(`step ${step}: line ${line} visible`, tree.isVisibleLine(line) ? 1 : 0, closed > 0 ? 0 : 1)
      } else {
        const s = rnd(tree.sections.length)
        const d = naiveDepth(s)
        deepest = Math.max(deepest, d)
        expect(`step ${step}: depth of ${s}`, tree.sections.depth(s), d)
        expect(`step ${step}: outermost closed of ${s}`, tree.outermostClosed(s), naiveClosed(s))
      }
    }
  }
  t.equal(wrong, 0, `${asked} answers right`)
  t.ok(deepest > 200, `sections ${deepest} deep among those asked`)
})
