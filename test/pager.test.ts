import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { openHeadless, until, type Headless } from '../dist/tui/headless.js'
import { parseAnchor } from '../dist/render/anchors.js'
import { renderHtml } from '../dist/render/html/index.js'
import { decode } from '../dist/decoder.js'
import { anchorTarget, sectionAnchorOf } from '../dist/tui/anchor-rows.js'
import { loadNativePassThrough } from '../dist/dialects/native-pass-through.js'
import type { NativeTreeWriter } from '../dist/tree/native-tree.js'
import { addonOrNoHeaders } from './helpers/fixtures.js'
import { LogSource } from '../dist/tree/source.js'

const E = '\x1b'
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-pager-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

function write(name: string, text: string | Buffer): string {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

const HASH = '0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6'

/** A build of n packages; package `bad` fails in its build phase. */
function buildLog(n: number, bad: number): string {
  let s = ''
  for (let k = 0; k < n; k++) {
    s += `${E}[pbuilding /nix/store/${HASH}-pkg${k}-1.0\n${E}[pconfiguring\n`
    for (let i = 0; i < 30; i++) s += `checking feature ${i} of pkg${k}... yes\n`
    s += `${E}[q${E}[pbuilding\n`
    for (let i = 0; i < 30; i++) s += `cc -c file${i}.c # pkg${k}\n`
    if (k === bad) s += `file7.c:3: error: boom in pkg${k}\n`
    s += `${E}[q${E}[q`
  }
  return s
}

async function open(p: string, opts: Parameters<typeof openHeadless>[1] = {}): Promise<Headless> {
  const h = await openHeadless(p, { cols: 100, rows: 20, ...opts })
  await until(() => !h.pager.source.indexing)
  await new Promise((r) => setTimeout(r, 70)) // the throttled render after indexing
  await h.settle()
  return h
}

const text = (h: Headless): string => h.screen().join('\n')
const body = (h: Headless): string[] => h.screen().slice(1, -1)

t.test('failure-aware folding: starts at the first error, breadcrumb shows the path', async (t) => {
  const h = await open(write('fail.log', buildLog(30, 12)))
  const s = h.screen()
  t.match(s[0], /…-pkg12-1\.0 › building/, 'breadcrumb: build › phase')
  t.ok(body(h).some((l) => /error: boom in pkg12/.test(l)), 'the error line is on screen')
  t.ok(body(h).some((l) => /▸ building …-pkg13-1\.0 ∙ 62 lines/.test(l)), 'a clean build is a closed header with its line count')
  t.notOk(text(h).includes(HASH), 'store hashes are elided')
  t.match(s[s.length - 1], /1 error/)
  t.equal(await h.close(), 0)
})

t.test('keys: g, G, j/k, Tab toggles, zR/zM, -N, -H, help', async (t) => {
  const h = await open(write('keys.log', buildLog(30, 12)))
  await h.press('g')
  t.match(body(h)[0], /^▸ building …-pkg0-1\.0/)
  await h.press('j')
  t.match(body(h)[0], /^▸ building …-pkg1-1\.0/)
  await h.press('k\t')
  t.match(body(h)[0], /^▾ building …-pkg0-1\.0/, 'Tab opens')
  t.match(body(h)[1], /^ {2}▸ configuring ∙ 30 lines/)
  await h.press('\t')
  t.match(body(h)[1], /^▸ building …-pkg1-1\.0/, 'Tab closes')
  await h.press('zR')
  t.match(body(h)[2], /checking feature 0 of pkg0/, 'zR opens everything')
  await h.press('zM')
  t.equal(body(h).filter((l) => /^▸ building/.test(l)).length, 18, 'zM: only top-level headers')
  await h.press('gzr')
  t.match(body(h)[0], /^▾ building …-pkg0-1\.0/, 'zr opens one level more: the builds')
  t.match(body(h)[1], /^ {2}▸ configuring ∙ 30 lines/, 'and not their phases')
  await h.press('zr')
  t.match(body(h)[2], /checking feature 0 of pkg0/, 'zr again: the phases too')
  await h.press('zmzm')
  t.match(body(h)[1], /^▸ building …-pkg1-1\.0/, 'zm twice: back to the top level')
  await h.press('G')
  t.match(body(h).at(-1)!, /pkg29-1\.0/, 'G: the last row at the bottom')
  await h.press('-H')
  t.ok(text(h).includes(HASH), '-H shows hashes')
  await h.press('-N')
  t.match(body(h).at(-1)!, /^\s*\d+ ▸ building/, '-N numbers rows')
  await h.press('H')
  t.match(text(h), /buildlog view — keys/)
  await h.press('q')
  t.notMatch(text(h), /buildlog view — keys/, 'q closes help, not the pager')
  await h.press('5g')
  t.match(h.screen().at(-1)!, /L5\//)
  await h.press('=')
  t.match(h.screen().at(-1)!, /#L5 ∙ 1,891 lines ∙ 90 sections ∙ 1 errors ∙ \d{1,3},\d{3}/, '= tells the counts, digits grouped')
  t.equal(await h.close(), 0)
})

t.test('headers show durations from the log\'s own clock: GitHub line stamps, GitLab section stamps', async (t) => {
  const log =
    '2024-05-01T00:00:00.0230000Z ##[group]Run npm ci\n2024-05-01T00:00:01Z added 12 packages\n2024-05-01T00:00:03.5230000Z ##[endgroup]\n' +
    '2024-05-01T00:00:04Z ::group::Build\n2024-05-01T00:02:34Z built\n2024-05-01T00:02:34Z ::endgroup::\n' +
    '\x1b[0Ksection_start:1700000000:tests\r\x1b[0KRunning tests\nt1\n\x1b[0Ksection_end:1700000042:tests\r\x1b[0K\n' +
    '2024-05-01T00:03:00Z ::group::Unfinished\nstill going\n'
  const h = await open(write('stamped.log', log))
  const rows = body(h)
  t.match(rows[0], /^▸ Run npm ci ∙ 1 line ∙ 3\.5 s/, 'a GitHub group: 3.5 s between its stamps')
  t.match(rows[1], /^▸ Build ∙ 1 line ∙ 2 min 30 s/)
  t.match(rows[2], /^▸ Running tests ∙ 1 line ∙ 42 s/, 'a GitLab section: its start and end stamps')
  t.match(rows[3], /^[▸▾] Unfinished ∙ 1 line$/, 'unclosed: no duration (the log\'s clock is not now)')
  t.equal(await h.close(), 0)
})

t.test('search reveals hits inside closed folds; n/N; headers count hits', async (t) => {
  const h = await open(write('search.log', buildLog(40, 3)))
  await h.press('zM')
  await h.press('g/file5\\.c # pkg2[0-9]\r')
  await until(() => /file5\.c # pkg20/.test(text(h)))
  t.match(body(h)[0], /cc -c file5\.c # pkg20/, 'first hit at the top, its folds opened')
  t.match(h.screen()[0], /pkg20-1\.0 › building/)
  await h.press('n')
  t.match(body(h)[0], /file5\.c # pkg21/)
  await h.press('N')
  t.match(body(h)[0], /file5\.c # pkg20/)
  t.ok(body(h).some((l) => /pkg20-1\.0 .*⌕ 1/.test(l)) || /⌕ 10/.test(h.screen().at(-1)!), 'hit counts shown')
  t.match(h.screen().at(-1)!, /⌕ 10/)
  // backward search from the end
  await h.press('G?checking feature 2 of pkg5\\.\r')
  await until(() => /checking feature 2 of pkg5\./.test(body(h)[0] ?? ''))
  t.match(body(h)[0], /checking feature 2 of pkg5\./)
  await h.press('/no such thing\r')
  await until(() => /Pattern not found/.test(text(h)))
  t.match(h.screen().at(-1)!, /Pattern not found/)
  t.equal(await h.close(), 0)
})

t.test('error jump e/E and x; filter &', async (t) => {
  const log = buildLog(20, 4) + `${E}[pbuilding extra\nwarning: careful\nerror: second failure\n${E}[q`
  const h = await open(write('err.log', log))
  await h.press('g')
  await h.press('e')
  t.match(body(h)[0], /error: boom in pkg4/)
  await h.press('e')
  t.match(body(h).join('\n'), /error: second failure/)
  await h.press('E')
  t.match(body(h)[0], /error: boom in pkg4/)
  await h.press('gx')
  t.match(body(h)[0], /error: boom in pkg4/, 'x: first failure')
  await h.press('&pkg1[0-9]$\r')
  await until(() => /& \d+$|& \d+ /.test(h.screen().at(-1)!))
  await h.press('g')
  const rows = body(h).filter((l) => l.trim() !== '~')
  t.ok(rows.every((l) => /pkg1\d|∙ building/.test(l)), 'only matching lines and their headers')
  await h.press('&\r')
  t.notMatch(h.screen().at(-1)!, /&/)
  t.equal(await h.close(), 0)
})

t.test('X: the failure extract, errors in context and a failed build\'s last lines; X again shows the line in the tree', async (t) => {
  // pkg4's build phase fails, and pkg6's
  const h = await open(write('extract.log', buildLog(8, 4) + buildLog(1, 0).replace(/pkg0/g, 'pkg6')), { rows: 40 })
  await h.press('X')
  const lines = (): string[] => body(h).filter((l) => l !== '~' && !l.trimStart().startsWith('∙'))
  t.match(h.screen().at(-1)!, /^extract: 2 errors .*∙ extract ∙/, 'what the extract holds, in its mode')
  t.same(lines().map((l) => l.trim()), [
    'cc -c file27.c # pkg4', 'cc -c file28.c # pkg4', 'cc -c file29.c # pkg4', 'file7.c:3: error: boom in pkg4',
    'cc -c file27.c # pkg6', 'cc -c file28.c # pkg6', 'cc -c file29.c # pkg6', 'file7.c:3: error: boom in pkg6',
  ], 'each error with the three lines before it in its section (none comes after it there)')
  t.ok(body(h).some((l) => /^ {2}∙ building ∙ 31 lines ∙ 1 error/.test(l)) && body(h).some((l) => /^∙ building …-pkg4-1.0/.test(l)), 'under the headers of their sections')
  t.equal(await h.close(), 0)
  // every section closed, then on a short screen down to the first error in the extract, and back
  // to the tree: that line is on top, its folds opened
  const short = await open(write('extract.log', buildLog(8, 4) + buildLog(1, 0).replace(/pkg0/g, 'pkg6')), { rows: 9 })
  await short.press('zMXjjjjj')
  t.match(body(short)[0], /file7.c:3: error: boom in pkg4/)
  const at = /L[\d,]+\//.exec(short.screen().at(-1)!)![0]
  await short.press('X')
  t.ok(body(short).some((l) => /file7.c:3: error: boom in pkg4/.test(l)), 'the tree shows the line the extract showed')
  t.equal(/L[\d,]+\//.exec(short.screen().at(-1)!)![0], at, 'it is the focus')
  t.match(short.screen()[0], /building …-pkg4-1.0 › building/, 'inside its sections, opened')
  t.notMatch(short.screen().at(-1)!, /extract/)
  // a filter replaces the extract, and the extract a filter
  await short.press('X&checking\r')
  await until(() => /& \d+$|& \d+ /.test(short.screen().at(-1)!))
  t.notMatch(short.screen().at(-1)!, /extract/, '& leaves the extract')
  await short.press('X')
  t.match(short.screen().at(-1)!, /∙ extract ∙/)
  t.notMatch(short.screen().at(-1)!, /& \d/, 'X leaves the filter')
  t.equal(await short.close(), 0)

  // `nix build -L`: a build fails without an error line of its own; Nix names its derivation
  let log = ''
  for (let i = 0; i < 40; i++) log += `foo> compiling foo ${i}\n`
  for (let i = 0; i < 20; i++) log += `bar> compiling bar ${i}\n`
  log += `error: builder for '/nix/store/${HASH}-foo-1.0.drv' failed with exit code 2;\n`
  const built = await open(write('extract-L.log', log), { rows: 30, cols: 160 })
  await built.press('X')
  const status = built.screen().at(-1)!
  t.match(status, new RegExp(`^extract: 1 error, 1 failed section ∙ nix log /nix/store/${HASH}-foo-1.0.drv`), 'the failed build, and the command for its whole log')
  t.same(body(built).filter((l) => l !== '~').map((l) => l.trim()), [
    '∙ foo ∙ 40 lines ∙ failed',
    ...Array.from({ length: 10 }, (_, k) => `compiling foo ${30 + k}`),
    "error: builder for '…-foo-1.0.drv' failed with exit code 2;",
  ], 'the failed build\'s last ten lines, then the error; nothing of the build that did not fail')
  t.equal(await built.close(), 0)

  // the extract follows the index: an error appended to a followed log joins it
  const grows = write('extract-grows.log', buildLog(2, 0))
  const followed = await open(grows, { follow: true })
  await followed.press('X')
  t.match(followed.screen().at(-1)!, /^extract: 1 error/)
  // its context comes first, then the error (the extract's rows already went past that context)
  const before = followed.pager.source.tree.lines.length
  fs.appendFileSync(grows, `${E}[pbuilding late\nstep 1\nstep 2\n`)
  t.ok(await until(() => followed.pager.source.tree.lines.length === before + 3), 'the context is indexed')
  await followed.settle()
  fs.appendFileSync(grows, `error: late failure\n${E}[q`)
  t.ok(await until(() => body(followed).some((l) => /error: late failure/.test(l))), 'the new error is in the extract')
  t.ok(body(followed).some((l) => /step 2/.test(l)) && body(followed).some((l) => /∙ building late/.test(l)), 'with its context, under its header')
  t.equal(await followed.close(), 0)

  // internal-json: a build that failed without a line, beside the errors Nix wrote
  const json = await open(path.join(import.meta.dirname, '..', 'examples', 'internal-json-failed.log'), { cols: 160 })
  await json.press('X')
  t.match(json.screen().at(-1)!, /^extract: 2 errors ∙ nix log \/nix\/store\/k4670x0hpqh34hak8jwhjgffkjj64jml-bui/, 'the lineless failed build is not counted')
  t.equal(await json.close(), 0)

  const clean = await open(write('clean.log', buildLog(3, -1)))
  await clean.press('X')
  t.match(clean.screen().at(-1)!, /^no failure in this log/, 'no failure: the tree stays')
  t.notMatch(clean.screen().at(-1)!, /extract/)
  t.equal(await clean.close(), 0)
})

t.test('a log past the index\'s row limit: what was indexed is shown, and the status line says the index is full', async (t) => {
  // a small limit stands for ROW_LIMIT (2^31 − 1 rows); a step adds at most 393,216
  const h = await open(write('full.log', buildLog(2000, 1999)), { source: { rowLimit: 500000 } })
  const status = h.screen().at(-1)!
  t.match(status, /index full at \d{1,2}%/, 'the status line says where it stopped')
  t.notMatch(status, /indexing|\+/, 'and that it is not still indexing')
  await h.press('G')
  t.match(body(h).at(-1)!, /\S/, 'G reaches the last indexed line')
  t.equal(await h.close(), 0)
})

t.test('the pager\'s index goes through the addon\'s tree writer; the tree hears of each section only while following', async (t) => {
  if (addonOrNoHeaders(t, loadNativePassThrough()) === null) return
  // 4 MiB of nests: a tree with listeners to opens and closes is written in JavaScript, twice as slow
  const h = await open(write('writer.log', buildLog(2000, 7)))
  const tree = h.pager.source.tree
  const writer = (tree as unknown as { writer: NativeTreeWriter | null | undefined }).writer
  t.ok(writer && writer.played > 100000, `the writer played the index's words (${writer?.played})`)
  t.equal(tree.onOpen, undefined, 'no listener while not following')
  await h.press('F')
  t.type(tree.onOpen, 'function', 'following: opens are heard')
  t.type(tree.onClose, 'function', 'and closes')
  await h.press('\x03')
  t.equal(tree.onOpen, undefined, 'stopped: not any more')
  t.equal(tree.onClose, undefined)
  t.equal(await h.close(), 0)
})

t.test('while a file is indexed its progress renders at most every 200 ms, and the end at once', async (t) => {
  const p = write('slow.log', buildLog(3000, 2900))
  // a slow machine's index: each read of the file (24 of 256 KiB) takes 25 ms more
  const proto = LogSource.prototype as unknown as { step(max: number): boolean }
  const step = proto.step
  proto.step = function (this: unknown, max: number) {
    const until = performance.now() + 25
    while (performance.now() < until);
    return step.call(this, max)
  }
  t.teardown(() => {
    proto.step = step
  })
  const h = await openHeadless(p, { cols: 100, rows: 20 })
  const pager = h.pager
  const renders: number[] = []
  const render = pager.render.bind(pager)
  pager.render = () => {
    renders.push(performance.now())
    render()
  }
  const t0 = performance.now()
  await until(() => !pager.source.indexing, 60000)
  const ended = performance.now()
  const during = renders.filter((at) => at < ended)
  // (a render waits for the index's slice to end)
  const gaps = during.slice(1).map((at, k) => at - during[k]!)
  t.ok(ended - t0 > 400, `the index took a while (${(ended - t0).toFixed(0)} ms more)`)
  t.ok(during.length >= 2 && gaps.every((g) => g > 180), `renders while indexing ${gaps.map((g) => g.toFixed(0)).join(', ')} ms apart`)
  t.ok(await until(() => renders.some((at) => at >= ended), 120), 'the end renders within the usual 50 ms throttle')
  await h.settle()
  t.ok(body(h).some((l) => /error: boom in pkg2900/.test(l)), 'showing the first failure')
  t.equal(await h.close(), 0)
})

t.test('follow: new lines arrive, running section open, finished clean sections close', async (t) => {
  const p = write('follow.log', `${E}[pbuilding a\n` + 'a1\n'.repeat(3))
  const h = await open(p, { source: { pollMs: 20 } })
  await h.press('F')
  t.match(h.screen().at(-1)!, /FOLLOW/)
  // a poll finds nothing new: what arrives from now on is timed by its arrival
  await new Promise((r) => setTimeout(r, 80))
  fs.appendFileSync(p, `a-last\n${E}[q${E}[pbuilding b\nb-first\n`)
  t.ok(await until(() => /b-first/.test(text(h))), 'new lines shown')
  const s = body(h)
  t.ok(s.some((l) => /^▸ building a ∙ 4 lines$/.test(l)), 'finished clean section folded (it arrived with the file: no time)')
  t.ok(s.some((l) => /^▾ building b ∙ 1 line ∙ (?:\d+ ms|\d+\.\d s)$/.test(l)), 'running section open, with its time so far')
  fs.appendFileSync(p, `error: b broke\n${E}[q`)
  t.ok(await until(() => /error: b broke/.test(text(h))), 'an error keeps its section open')
  await h.press('\x03')
  t.notMatch(h.screen().at(-1)!, /FOLLOW/, '^C stops following')
  t.equal(await h.close(), 0)
})

t.test('following a file that is cut shorter: the status line says so, and the pager goes on', async (t) => {
  const p = write('rewritten.log', `${E}[pbuilding a\n` + 'a1\n'.repeat(30))
  const h = await open(p, { source: { pollMs: 20 } })
  await h.press('F')
  fs.truncateSync(p, 5) // a new build writing over the same log
  t.ok(await until(() => /file truncated/.test(h.screen().at(-1)!)), 'the status line says the file was truncated')
  await h.press('g')
  t.match(body(h)[0], /^[▸▾] .* ∙ 30 lines/, 'the tree indexed before is still there to move through')
  t.equal(await h.close(), 0)
})

t.test('a file that can no longer be read: search and index say so on the status line, the pager goes on', async (t) => {
  const h = await open(write('gone.log', buildLog(30, 1)))
  fs.closeSync(h.pager.source.fd) // as if the disk went away
  await h.press('/boom\r')
  await until(() => /read error/.test(h.screen().at(-1)!))
  t.match(h.screen().at(-1)!, /⌕ 0 \(read error \(EBADF\)\)/, 'the search stopped, saying why')
  await h.press('G')
  t.match(h.screen().at(-1)!, /read error \(EBADF\) ∙ ⌕ 0/, 'rows read from the file show empty, and the status line says why')
  t.equal(await h.close(), 0)
})

t.test('a log nested 30,000 deep: the pager opens it, moves, searches and folds, without running out of stack', async (t) => {
  const deep = 30000
  for (const [name, end] of [['deep-lf.log', '\n'], ['deep-cut.log', '']] as const) {
    // opens that never close (an unterminated log closes them all at its end), then a failure at the bottom
    const h = await open(write(name, `${E}[p`.repeat(deep) + `deep line\nerror: at the bottom${end}`))
    t.equal(h.pager.source.tree.sections.length, deep + 1, `${name}: every section indexed`)
    t.match(h.screen()[0], /^…[a-z]* › (nest › )+deep line/, `${name}: the breadcrumb is cut at its left`)
    await h.press('x')
    t.match(h.screen().at(-1)!, /1 error/, `${name}: x finds the failure`)
    await h.press('gjG')
    await h.press('zM')
    t.match(body(h)[0], /^▸ nest ∙ 2 lines/, `${name}: zM folds it to one header`)
    await h.press('zR/bottom\r')
    await until(() => /⌕ 1\b/.test(h.screen().at(-1)!))
    t.match(h.screen().at(-1)!, /⌕ 1\b/, `${name}: the search finds the line`)
    t.equal(await h.close(), 0)
  }
})

t.test('zO and zC on a log of 200,000 top-level sections open and close them all', async (t) => {
  const h = await open(write('wide.log', `top line\n` + `${E}[pbuilding x\nin x\n${E}[q`.repeat(200000)))
  await h.press('g')
  t.match(body(h)[0], /^top line/, 'the focus is on a line of the top level')
  await h.press('zO')
  t.match(body(h)[2], /^ {2}in x/, 'zO: every section below opened')
  t.match(h.screen().at(-1)!, /L1\/400,001/)
  await h.press('zC')
  t.match(body(h)[2], /^▸ building x/, 'zC: closed again')
  t.equal(await h.close(), 0)
})

/** Every kind of escape a log should not pass to a terminal, and colours it may. */
const hostile = Buffer.concat([
    Buffer.from(`${E}[pbuilding evil\n`),
    Buffer.from(`title ${E}]0;PWNED-TITLE\x07 after\n`),
    Buffer.from(`clip ${E}]52;c;Y3VybCBldmlsfHNo\x07 after\n`),
    Buffer.from(`clear ${E}[2J${E}[H${E}[10;10H moved\n`),
    Buffer.from(`link ${E}]8;;http://evil/${E}\\click${E}]8;;${E}\\\n`),
    Buffer.from(`dcs ${E}P1$qm${E}\\ done\n`),
    Buffer.from('c1 \u009b31mRED\u009d0;C1TITLE\u0007 done\n'),
    Buffer.from(`bel \x07 nul \x00 del \x7f cr-overwrite\rVISIBLE\n`),
    Buffer.from(`colour ${E}[31mred${E}[0m ${E}[38;5;208morange${E}[m ${E}[38:2::1:2:3mtc${E}[0m\n`),
    Buffer.from(`error: make it open\n${E}[q`),
])

/** What the terminal got holds none of them but allow-listed SGR. */
function assertInert(t: Tap.Test, h: Headless): void {
  const out = Buffer.concat(h.written).toString('latin1')
  t.notOk(out.includes('\x1b]'), 'no OSC introducer written')
  t.notOk(out.includes('\x1bP'), 'no DCS written')
  t.notOk(out.includes('\x07'), 'no BEL written')
  t.notOk(/[\x80-\x9f]/.test(Buffer.concat(h.written).toString('utf8')), 'no C1 control written')
  t.notOk(out.includes('PWNED-TITLE\x07'), 'title payload not terminated as OSC')
}

t.test('hostile escapes never reach the terminal', async (t) => {
  const h = await open(write('hostile.log', hostile), { cols: 120 })
  await h.press('gzR')
  assertInert(t, h)
  const out = Buffer.concat(h.written).toString('latin1')
  const sgr = out.match(/\x1b\[[0-9;]*m/g) ?? []
  t.ok(sgr.length > 0)
  t.ok(/\x1b\[[0-9;]*38;5;208/.test(out) || /\x1b\[[0-9;]*38;5;20[0-9]/.test(out), 'allow-listed 256-colour SGR passes')
  const screen = text(h)
  t.match(screen, /title ␛ after/, 'OSC text removed, a placeholder where it was')
  t.match(screen, /clear ␛␛␛ moved/, 'each removed cursor movement leaves a placeholder')
  t.match(screen, /␛|␇|␀|␡/, 'residue shown as placeholders')
  t.match(screen, /VISIBLE/)
  t.notMatch(screen, /PWNED-TITLE/, 'OSC payload not shown as text either')
  t.equal(h.term.buffer.active.getLine(0) !== undefined, true)
  t.equal(await h.close(), 0)
})

t.test('X on a log of 60,000 errors: the extract builds in slices, the screen answering between them', async (t) => {
  let log = ''
  for (let k = 0; k < 60; k++) {
    log += `${E}[pbuilding part${k}\n`
    for (let i = 0; i < 1000; i++) log += `error: e${k}-${i}\nok ${i}\n`
    log += `${E}[q`
  }
  const h = await open(write('many-errors.log', log))
  await h.press('X')
  t.match(h.screen().at(-1)!, /^extract: [\d,]+… errors/, 'the first slice: its count so far')
  // between every two slices: the count without its … only once the rows are all there too
  const pager = h.pager as unknown as { message: string; extractRows: { scanned: number } }
  let early = ''
  for (const t0 = Date.now(); pager.message.includes('…') && Date.now() - t0 < 20000; ) await new Promise((r) => setImmediate(r))
  if (pager.extractRows.scanned < h.pager.source.tree.lines.length) early = `${pager.message} with ${pager.extractRows.scanned} lines scanned`
  t.equal(early, '', 'the count loses its … when the rows have caught up, not before')
  t.ok(await until(() => /^extract: 60,000 errors/.test(h.screen().at(-1)!), 20000), 'then all of them')
  await h.press('G')
  t.match(body(h).filter((l) => l !== '~').at(-1)!, /ok 999$/, 'the last error\'s context at the end')
  t.equal(await h.close(), 0)
})

t.test('--at: opens at a line or a section the HTML page and = name, once the index reaches it', async (t) => {
  // 400 packages of 63 lines, and pkg2's error: line 20,000 lies far past the first screen's bytes
  const p = write('at.log', buildLog(400, 2))
  const start = (k: number): number => 63 * k + (k > 2 ? 1 : 0) // pkg k's first line (0-based)
  t.equal(start(317) + 28, 20000, 'line 20,000 is pkg317\'s 26th checking line')
  const at = async (anchor: string, rows = 20): Promise<Headless> => open(p, { at: parseAnchor(anchor), rows })
  const h = await at('L20000')
  t.match(h.screen().at(-1)!, /L20,000\//, 'the line, not the first error')
  t.match(body(h)[0], /checking feature 25 of pkg317/)
  t.match(h.screen()[0], /…-pkg317-1.0 › configuring/, 'its sections opened (the index\'s end folds the clean ones)')
  await h.press('=')
  t.match(h.screen().at(-1)!, /^#L20000 ∙ 25,201 lines/)
  t.equal(await h.close(), 0)

  const s = await at('#S318.2')
  t.match(body(s)[0], /^  ▾ building ∙ 30 lines$/, 'a section: its header on top, opened')
  t.match(s.screen()[0], /…-pkg317-1.0/)
  await s.press('=')
  t.match(s.screen().at(-1)!, new RegExp(`^#S318\\.2 ∙ #L${start(317) + 33} ∙`), '= names it so, and its head line')
  t.equal(await s.close(), 0)

  const none = await at('L25202')
  t.match(none.screen().at(-1)!, /^no line 25,202: the log has 25,201/)
  t.match(body(none).join('\n'), /error: boom in pkg2/, 'the first failure instead')
  t.equal(await none.close(), 0)
  const noSection = await at('S3.4')
  t.match(noSection.screen().at(-1)!, /^no section S3\.4 in this log/)
  t.equal(await noSection.close(), 0)
})

t.test('s FILE saves the input as read so far; an existing file is left alone; a failure is said', async (t) => {
  const p = write('save.log', buildLog(30, 3))
  const h = await open(p)
  const target = path.join(dir, 'saved.log')
  await h.press(`s${target}`)
  t.match(h.screen().at(-1)!, new RegExp(`^save to: ${target}`), 'the prompt')
  await h.press('\r')
  t.ok(await until(() => /^saved [\d,]+ bytes/.test(h.screen().at(-1)!)), 'saved, it says')
  t.ok(fs.readFileSync(target).equals(fs.readFileSync(p)), 'the same bytes')
  fs.writeFileSync(target, 'mine')
  await h.press(`s${target}\r`)
  t.ok(await until(() => /exists: not overwritten/.test(h.screen().at(-1)!)), 'an existing file: not overwritten, it says')
  t.equal(fs.readFileSync(target, 'utf8'), 'mine', 'untouched')
  await h.press(`s${path.join(dir, 'no', 'such', 'dir', 'x.log')}\r`)
  t.ok(await until(() => /cannot save to .*: ENOENT/.test(h.screen().at(-1)!)), 'the reason')
  await h.press('s\r')
  t.match(h.screen().at(-1)!, /^not saved/)
  t.equal(await h.close(), 0)
})

t.test('= and --at name sections and lines as the HTML page does', async (t) => {
  // a legacy log nested three deep, and a `nix build -L` log whose builds interleave
  let interleaved = ''
  for (let i = 0; i < 30; i++) interleaved += `${['foo', 'bar', 'baz'][i % 3]}> step ${i}\n`
  interleaved += `error: builder for '/nix/store/${HASH}-bar-1.0.drv' failed with exit code 1;\n`
  for (const [name, log] of [['nested', buildLog(12, 5)], ['interleaved', interleaved]] as const) {
    const p = write(`agree-${name}.log`, log)
    // the page: each section anchor with the line anchor that comes next (its head or first line)
    const html = renderHtml(decode(fs.readFileSync(p)))
    const pairs = [...html.matchAll(/id="(S[\d.]+)"[\s\S]*?id="L(\d+)"/g)].map((m) => [m[1]!, Number(m[2])] as const)
    t.ok(pairs.length >= 3, `${name}: ${pairs.length} sections on the page`)
    const h = await open(p)
    const tree = h.pager.source.tree
    let wrong = 0
    for (const [anchor, line] of pairs) {
      const target = anchorTarget(tree, parseAnchor(anchor)!)
      const s = typeof target === 'object' ? target.row.header! : -1
      const first = s > 0 ? (tree.sections.head(s) >= 0 ? tree.sections.head(s) : tree.sections.firstLine.get(s)) + 1 : -1
      if ((first !== line || sectionAnchorOf(tree, s) !== anchor) && wrong++ < 3) t.fail(`${name}: ${anchor} is section ${s} from line ${first} here, line ${line} on the page`)
    }
    t.equal(wrong, 0, `${name}: every section anchor points where the page's does, and back`)
    t.equal(await h.close(), 0)
  }
})

t.test('box-drawing characters and · reach the terminal as UTF-8, not through the line-drawing set', async (t) => {
  const line = 'nix-store --tree ┌─┬─┐ │ ├── └── · ° ± ▒ ◆ ≤ ≥ π £'
  const h = await open(write('boxes.log', `${E}[pbuilding x\n${line}\nerror: here\n${E}[q`))
  const out = Buffer.concat(h.written).toString('utf8')
  t.notOk(out.includes('\x1b(0'), 'no switch to the DEC line-drawing set')
  t.ok(out.includes('┌─┬─┐') && out.includes('·'), 'the characters themselves')
  t.ok(body(h).some((l) => l.includes(line)), 'shown as they are')
  t.equal(await h.close(), 0)
})

t.test('-R shows the escapes as their text, dimmed, and still writes none of them', async (t) => {
  const h = await open(write('hostile-R.log', hostile), { cols: 140 })
  await h.press('gzR-R')
  t.match(h.screen().at(-1)!, /^escapes shown as text/)
  const screen = text(h)
  t.match(screen, /title ␛\]0;PWNED-TITLE␇ after/, 'an OSC as its text')
  t.match(screen, /clear ␛\[2J␛\[H␛\[10;10H moved/, 'cursor movements as their text')
  t.match(screen, /colour ␛\[31mred␛\[0m/, 'colours as their text, not applied')
  t.match(screen, /cr-overwrite␍VISIBLE/, 'a carriage return shown, not applied')
  t.match(screen, /dcs ␛P1\$qm␛\\ done/, 'a DCS string')
  assertInert(t, h)
  const row = h.term.buffer.active.getLine(h.screen().findIndex((l) => l.includes('clear ␛[2J')))!
  const x = row.translateToString(true).indexOf('[2J')
  t.equal(row.getCell(x)!.getFgColor(), 242, 'a sequence\'s text is dim grey')
  t.ok(row.getCell(x - 3)!.isFgDefault(), 'the text before it is not')
  t.equal(row.getCell(x - 3)!.getChars(), 'r')
  await h.press('-R')
  t.match(h.screen().at(-1)!, /^escapes shown as placeholders/)
  t.match(text(h), /clear ␛␛␛ moved/, 'placeholders again')
  t.equal(await h.close(), 0)
})

t.test('resize reflows; wheel scrolls', async (t) => {
  const h = await open(write('resize.log', buildLog(30, 12)))
  await h.press('g')
  await h.resize(50, 8)
  t.equal(h.screen().length, 8)
  t.match(body(h)[0], /^▸ building …-pkg0/)
  t.ok(h.screen().every((l) => l.length <= 50))
  await h.press('\x1b[<65;10;3M')
  t.match(body(h)[0], /^▸ building …-pkg3/, 'wheel down scrolls 3 rows')
  await h.press('\x1b[<64;10;3M')
  t.match(body(h)[0], /^▸ building …-pkg0/)
  t.equal(await h.close(), 0)
})

/** Our own non-SGR sequences: the first screen's fixed set, and blessed's terminal control. */
function withoutSgr(bytes: string): string {
  return bytes.replace(/\x1b\[[0-9;]*m/g, '')
}

t.test('first screen: drawn before the pager, the same frame, only allow-listed SGR; then the pager takes over', async (t) => {
  const hostile = Buffer.concat([
    Buffer.from(`${E}[pbuilding /nix/store/${HASH}-evil-1.0\n`),
    Buffer.from(`error: make it open\n`),
    Buffer.from(`title ${E}]0;PWNED-TITLE\x07 after\n`),
    Buffer.from(`clip ${E}]52;c;Y3VybCBldmlsfHNo\x07 after\n`),
    Buffer.from(`clear ${E}[2J${E}[H${E}[10;10H moved\n`),
    Buffer.from(`dcs ${E}P1$qm${E}\\ done\n`),
    Buffer.from('c1 \u009b31mRED\u009d0;C1TITLE\u0007 done\n'),
    Buffer.from(`colour ${E}[31mred${E}[0m ${E}[38;5;208morange${E}[m\n${E}[q`),
    Buffer.from(buildLog(40, 99)),
  ])
  const p = write('first.log', hostile)
  const h = await openHeadless(p, { cols: 100, rows: 20, firstScreen: true })
  const first = h.first!
  t.ok(first, 'a first screen was painted')
  const bytes = first.written.toString('latin1')
  // the only non-SGR sequences are the fixed ones: alternate screen, hide cursor, clear, cursor position
  const rest = withoutSgr(bytes).replace(/\x1b\[\?1049h|\x1b\[\?25l|\x1b\[H|\x1b\[2J|\x1b\[\d+;1H/g, '')
  t.notOk(/[\x1b\x07]/.test(rest), 'no escape but allow-listed SGR and our own positioning')
  t.notOk(/[\x80-\x9f]/.test(first.written.toString('utf8')), 'no C1 control written')
  t.ok(/\x1b\[[0-9;]*38;5;208/.test(bytes), 'allow-listed 256-colour SGR passes')
  const s = first.screen
  t.match(s[0], /…-evil-1\.0/, 'breadcrumb of the first error')
  t.ok(s.some((l) => /title ␛ after/.test(l)), 'removed OSC shown as a placeholder')
  t.ok(s.some((l) => /clear ␛␛␛ moved/.test(l)))
  t.ok(s.some((l) => /error: make it open/.test(l)), 'failure-aware: the error in the first bytes is open')
  t.ok(s.some((l) => /^▸ building …-pkg0-1\.0/.test(l)), 'the next build is a closed header')
  t.notOk(s.join('\n').includes('PWNED'), 'OSC payload not shown')
  t.notOk(s.join('\n').includes(HASH), 'store hashes elided')
  // the pager takes over and draws the same body
  await until(() => !h.pager.source.indexing)
  await new Promise((r) => setTimeout(r, 70))
  await h.settle()
  const after = h.screen()
  t.same(after.slice(1, 8), s.slice(1, 8), 'the pager shows the same top rows')
  t.match(after[0], /…-evil-1\.0/)
  await h.press('g')
  t.match(body(h)[0], /^▾ building …-evil-1\.0/, 'keys go to the pager')
  t.equal(await h.close(), 0)
})

t.test('first screen: a log of long lines (under 200 in the first bytes) shows its top, not an empty screen', async (t) => {
  let log = ''
  for (let i = 0; i < 1000; i++) log += `gcc -c -o obj/unit${i}.o ${'-Iinclude/deep/path '.repeat(20)}src/unit${i}.c\n`
  const p = write('first-long-lines.log', log)
  const h = await openHeadless(p, { cols: 100, rows: 20, firstScreen: true })
  const s = h.first!.screen
  t.match(s[1], /^gcc -c -o obj\/unit0\.o/, 'the first line, although the dialect needed more than the first bytes')
  t.equal(await h.close(), 0)
})

t.test('first screen: a file larger than the first bytes shows its top at once; the pager then starts at the first error', async (t) => {
  const p = write('first-big.log', buildLog(400, 390))
  const h = await openHeadless(p, { cols: 100, rows: 20, firstScreen: true })
  const s = h.first!.screen
  t.match(s[1], /^▸ building …-pkg0-1\.0/, 'top of the file (the error is not indexed yet)')
  t.match(s.at(-1)!, /indexing \d+%/, 'the status line shows indexing progress')
  await until(() => !h.pager.source.indexing)
  await new Promise((r) => setTimeout(r, 70))
  await h.settle()
  t.ok(body(h).some((l) => /error: boom in pkg390/.test(l)), 'once indexed, the pager jumps to the first error')
  t.equal(await h.close(), 0)
})

t.test('a log indexed on two threads: the same screens as on one, the first error in the worker\'s part found', async (t) => {
  const p = write('two-threads.log', buildLog(400, 390))
  const one = await open(p, { source: { split: false } })
  const two = await open(p, { source: { split: { share: 0.3, minBytes: 0, recordBytes: 16 * 1024 } } })
  const source = two.pager.source
  t.ok(source.splitAt > 0 && source.splitAt < fs.readFileSync(p).indexOf('pkg390'), 'the error lies in the worker\'s part')
  t.ok(source.replayedBytes > fs.statSync(p).size / 2, `${source.replayedBytes} bytes played from records`)
  t.ok(body(two).some((l) => /error: boom in pkg390/.test(l)), 'the pager starts at the first error')
  t.same(two.screen(), one.screen(), 'the first screens are the same')
  for (const keys of ['zR', 'G', 'g', '/pkg200\r']) {
    await one.press(keys)
    await two.press(keys)
    t.same(two.screen(), one.screen(), `the same screen after ${JSON.stringify(keys)}`)
  }
  t.equal(await one.close(), 0)
  t.equal(await two.close(), 0)
})
