import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ASK_INTS, Flag, hasEveryFunction, IndexSlot, INDEX_SLOTS, loadNativePassThrough, NATIVE_PASS_THROUGH, Op, OPS_LENGTH, packPrefixes, Slot, STATE_SLOTS } from '../dist/dialects/native-pass-through.js'
import { NEEDLE_PAIRS, SCAN_NEEDLES } from '../dist/tree/severity-filter.js'
import { wordsAt } from '../dist/tree/index-record.js'
import { BuildLogDecoder, lineContent } from '../dist/dialects/build-log.js'
import { BuildLogFramer } from '../dist/dialects/build-log-framer.js'
import { cleanBuffer, createDecoder, decode } from '../dist/index.js'
import { IndexDecoder } from '../dist/tree/index-decoder.js'
import { LogTree } from '../dist/tree/tree.js'
import { runBin } from './helpers/cli.js'
import { addonOrNoHeaders, nodeApiHeaders, repoRoot, sample } from './helpers/fixtures.js'
import { fuzzInput, prng } from './helpers/random.js'

// The pass-through path is C (native/pass-through.c). test/fuzz.test.ts checks that it frames
// exactly as the line-by-line path; that check means something only if the addon is really there.

type Addon = NonNullable<ReturnType<typeof loadNativePassThrough>>

/**
 * The loaded addon with its passThrough watched for the test's duration: `watch` sees each call's
 * flags and how many bytes the run took. Null (and a check that this is a machine without Node's
 * headers) where the addon is not built.
 */
function watchedAddon(t: Tap.Test, watch: (flags: number, taken: number) => void): Addon | null {
  const native = addonOrNoHeaders(t, loadNativePassThrough())
  if (native === null) return null
  const run = native.passThrough
  native.passThrough = (buf, from, limit, flags, prefixes, state, ops) => {
    const boundary = run.call(native, buf, from, limit, flags, prefixes, state, ops)
    watch(flags, boundary - from)
    return boundary
  }
  t.teardown(() => {
    native.passThrough = run
  })
  return native
}

t.test('the addon is built by npm install and loads', async (t) => {
  if (!fs.existsSync(nodeApiHeaders)) {
    t.notOk(fs.existsSync(NATIVE_PASS_THROUGH), 'no Node-API headers, no addon: nixlog-clean frames every line in JavaScript')
    return
  }
  t.ok(fs.existsSync(NATIVE_PASS_THROUGH), NATIVE_PASS_THROUGH)
  t.ok(loadNativePassThrough(), 'loaded')
})

t.test('without a working compiler the install goes on, and no stale build stays', async (t) => {
  // The build script in a copy of the package layout, so the checkout's own builds stay.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-build-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  fs.mkdirSync(path.join(root, 'scripts'))
  fs.mkdirSync(path.join(root, 'native', 'build'), { recursive: true })
  fs.copyFileSync(path.join(repoRoot, 'scripts', 'build-native.mjs'), path.join(root, 'scripts', 'build-native.mjs'))
  for (const src of fs.readdirSync(path.join(repoRoot, 'native')).filter((f) => /\.[ch]$/.test(f))) fs.copyFileSync(path.join(repoRoot, 'native', src), path.join(root, 'native', src))
  const stale = path.join(root, 'native', 'build', 'pass-through.node')
  fs.writeFileSync(stale, 'an old build')
  const build = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs'), '--force', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, CC: 'false' } })
  const r = build()
  t.equal(r.status, 0, 'npm install does not fail for it')
  t.match(r.stderr, /compiling the pass-through addon failed; nixlog-clean will use its slower JavaScript path/)
  t.match(r.stderr, /compiling the sandbox helper failed/)
  t.notOk(fs.existsSync(stale), 'the old build is gone')
  t.equal(build('--strict').status, 1, '--strict fails')
})

t.test('an addon built before this code, without some of its functions, is not used', async (t) => {
  const native = addonOrNoHeaders(t, loadNativePassThrough())
  if (native === null) return
  const addon = { ...native } as Record<string, unknown>
  t.ok(hasEveryFunction(addon), 'this build has them all')
  for (const name of Object.keys(addon)) {
    const older = { ...addon }
    delete older[name]
    t.notOk(hasEveryFunction(older), `one without ${name} is refused`)
  }
})

t.test('bad arguments are a TypeError, not a crash', async (t) => {
  const native = addonOrNoHeaders(t, loadNativePassThrough())
  if (native === null) return
  const state = new Int32Array(STATE_SLOTS)
  const ops = new Int32Array(OPS_LENGTH)
  const buf = Buffer.from('line\n')
  const none = new Uint8Array(0)
  t.throws(() => native.passThrough(buf, 0, 6, 0, none, state, ops), TypeError, 'limit past the end')
  t.throws(() => native.passThrough(buf, 3, 2, 0, none, state, ops), TypeError, 'limit before from')
  t.throws(() => native.passThrough(buf, 0, 5, 0, none, new Int32Array(3), ops), TypeError, 'short state')
  t.throws(() => native.passThrough(buf, 0, 5, 0, none, state, new Int32Array(30)), TypeError, 'short operation list')
  t.throws(() => (native.passThrough as (...a: unknown[]) => number)(buf, 0, 5), TypeError, 'missing arguments')
  t.equal(native.passThrough(buf, 0, 5, 0, none, state, ops), 5, 'and a good call runs over the line')
  const needles = packPrefixes([Buffer.from('rror'), Buffer.from('WARN')])
  const found = new Int32Array(2)
  t.throws(() => native.findNeedles(buf, 6, needles, found), TypeError, 'findNeedles: from past the end')
  t.throws(() => native.findNeedles(buf, 0, needles, new Int32Array(0)), TypeError, 'findNeedles: no room')
  t.throws(() => (native.findNeedles as (...a: unknown[]) => number)(buf, 0, needles), TypeError, 'findNeedles: missing arguments')
  t.equal(native.findNeedles(Buffer.from('an error, a WARNing, an erro'), 0, needles, found), 2, 'a good call fills the list')
  t.strictSame([...found], [4, 12], 'with the positions in order')
  t.equal(native.findNeedles(Buffer.from('an error, a WARNing, an erro'), 5, needles, found), 1, 'one cut by the end is not there')
  t.strictSame([...found.subarray(0, 1)], [12])
  const text = Buffer.from('a\nbb\n@nix\nc\n')
  const markers = packPrefixes([Buffer.from('::')])
  const lfs = new Int32Array(8)
  t.throws(() => native.plainLineEnds(text, 0, 5, 4, markers, lfs), TypeError, 'plainLineEnds: stop past end')
  t.throws(() => native.plainLineEnds(text, 3, 2, 12, markers, lfs), TypeError, 'plainLineEnds: stop before from')
  t.throws(() => native.plainLineEnds(text, 0, 12, 13, markers, lfs), TypeError, 'plainLineEnds: end past the buffer')
  t.throws(() => native.plainLineEnds(text, 0, 12, 12, markers, new Int32Array(0)), TypeError, 'plainLineEnds: no room')
  t.throws(() => (native.plainLineEnds as (...a: unknown[]) => number)(text, 0, 12), TypeError, 'plainLineEnds: missing arguments')
  t.equal(native.plainLineEnds(text, 0, 12, 12, markers, lfs), 2, 'a good call walks the lines before `@`')
  t.strictSame([...lfs.subarray(0, 3)], [1, 4, 5], 'their LFs, then where it stopped')
  t.equal(native.plainLineEnds(text, 0, 12, 12, markers, new Int32Array(2)), 1, 'a full list stops the walk')
  t.equal(native.plainLineEnds(Buffer.from('x\ny'), 0, 3, 3, markers, lfs), 1, 'a line without its LF is not walked')
  t.strictSame([...lfs.subarray(0, 2)], [1, 3], 'the walk stops at `stop`')
  // indexOps: the ops of a line-mode run as index words (native-index.ts)
  const log = Buffer.from(`plain\n\x1b[3phead\nerror: x\n\x1b[31m${'y'.repeat(1100)} error: z\x1b[0m\n\x1b[q@nix {}\n`)
  const io = new Int32Array(INDEX_SLOTS)
  const words = new Int32Array(64)
  const asks = new Int32Array(4 * ASK_INTS)
  state.fill(0)
  state[Slot.AfterLf] = 1
  state[Slot.Priority] = 1
  const boundary = native.passThrough(log, 0, log.length, Flag.KeepSgr | Flag.Lines, none, state, ops)
  const count = state[Slot.OpCount]!
  const index = (o: Int32Array, from = 0, to = count): number => {
    io.fill(0)
    io[IndexSlot.From] = from
    io[IndexSlot.Count] = to
    return native.indexOps(log, o, needles, packPrefixes([Buffer.from('error')]), markers, NEEDLE_PAIRS, io, words, asks)
  }
  t.ok(boundary > 0 && count > 0, 'a line-mode run')
  t.throws(() => index(ops, 0, OPS_LENGTH + 3), TypeError, 'indexOps: ops past the list')
  t.throws(() => native.indexOps(log, ops, needles, none, markers, new Uint8Array(3), io, words, asks), TypeError, 'indexOps: no pair table')
  t.throws(() => native.indexOps(log, ops, needles, none, markers, NEEDLE_PAIRS, new Int32Array(3), words, asks), TypeError, 'indexOps: short io')
  const stop = index(ops)
  t.ok(stop > 0 && stop < count, `a good call takes the ops up to the @nix line (${stop} of ${count} int32)`)
  t.strictSame([io[IndexSlot.Lines], io[IndexSlot.Asks], io[IndexSlot.Level], io[IndexSlot.Depth]], [4, 1, 0, 0], 'four lines, one asked about, a nest opened and closed')
  // the lines' flag bits, and where each line's word is (index-record.ts)
  const lineFlags: number[] = []
  const lineAt: number[] = []
  for (let k = 0; k < io[IndexSlot.Words]!; k += wordsAt(words, k)) {
    if (words[k]! >= 0) lineFlags.push(words[k]! & 3), lineAt.push(k)
    else if (words[k] === -1 || words[k] === -2) lineFlags.push(words[k + 1]! & 3), lineAt.push(k + 1)
  }
  t.strictSame(lineFlags, [0, 0, 1, 0], 'the rules found `error: x` an error in C')
  t.ok(asks[1]! >= 0 && asks[0] === lineAt[3], 'and left the coloured line whose text is too long to JavaScript: the ask names its Line op and word')
  // ops that do not fit the run they claim to be from are left to JavaScript, never read past
  for (const [what, bad] of [
    ['a span whose LFs lie past the buffer', [Op.Span, 0, 6, 1, 10_000]],
    ['a span longer than the list', [Op.Span, 0, 6, 1_000_000, 5]],
    ['a line whose text lies past the buffer', [Op.Line, 9_000, 0, 8_000, 1, 0, 0]],
    ['a line with a mark outside it', [Op.Line, 6, 0, 5, 1, 0, 1, -70_000, 3]],
    ['a line with more marks than the list', [Op.Line, 6, 0, 5, 1, 0, 1 << 30]],
    ['an open past the buffer', [Op.Open, 1, 1 << 30]],
    ['a close with no nest open', [Op.Close, 0, 4]],
  ] as const) {
    const o = Int32Array.from(bad)
    t.equal(index(o, 0, o.length), 0, `indexOps stops at ${what}`)
    t.equal(io[IndexSlot.Words], 0, `and writes nothing for it`)
  }
})

t.test('findNeedles finds every needle a byte-by-byte search finds, in order, up to the room given', async (t) => {
  const native = addonOrNoHeaders(t, loadNativePassThrough())
  if (native === null) return
  const rnd = prng(0x7edd1e)
  // the index's needles (paired, scanned 32 positions a step with AVX2), sets that share first
  // bytes or pairs, more needles than the paired scan takes, and a one-byte needle (byte by byte)
  const sets = [
    SCAN_NEEDLES,
    ['ab', 'ac', 'ba', 'abc', 'bb'],
    ['\xff\x80', '\x80\xff', '\x00\x00', '\x0f\xf0', '\xf0\x0f'],
    ['aa', 'ab', 'ac', 'ad', 'ba', 'bb', 'bc', 'bd', 'ca'],
    ['a', 'bc'],
  ].map((set) => set.map((n) => Buffer.from(n, 'latin1')))
  let checked = 0
  for (let round = 0; round < 3000; round++) {
    const needles = sets[round % sets.length]!
    // bytes that make needles, their near misses (same low or high nibble) and anything
    const alphabet = Buffer.concat([...needles, Buffer.from('\x00\x0f\xf0\xff \n\x1brRnN*:LlFf[', 'latin1')])
    const length = rnd(4) === 0 ? rnd(40) : rnd(300)
    // a view whose bytes go on past its end: a needle cut off by the end is not there
    const whole = Buffer.alloc(length + 8)
    for (let i = 0; i < whole.length; i++) whole[i] = rnd(3) === 0 ? rnd(256) : alphabet[rnd(alphabet.length)]!
    for (let k = rnd(4); k > 0 && length > 0; k--) {
      const n = needles[rnd(needles.length)]!
      n.copy(whole, rnd(2) === 0 ? rnd(length) : Math.max(0, length - 1 - rnd(n.length)))
    }
    const buf = whole.subarray(0, length)
    const from = rnd(length + 1)
    const expected: number[] = []
    for (let i = from; i < length; i++) if (needles.some((n) => i + n.length <= length && buf.subarray(i, i + n.length).equals(n))) expected.push(i)
    const found = new Int32Array(1 + rnd(40))
    const count = from < length ? native.findNeedles(buf, from, packPrefixes(needles), found) : 0
    if (!t.strictSame([...found.subarray(0, count)], expected.slice(0, found.length), `round ${round}: ${length} bytes from ${from}, room for ${found.length}`)) break
    checked += count
  }
  t.ok(checked > 5000, `${checked} needles found in all`)
})

t.test('nixlog-clean writes the same bytes with BUILDLOG_NATIVE=0', async (t) => {
  const rnd = prng(777)
  const parts = [sample('synthetic-legacy-stdenv-nesting.log')]
  for (let n = 0; n < 400; n++) parts.push(fuzzInput(rnd, 1 + rnd(40)), Buffer.from(`plain line ${n}\n\x1b[pheader ${n}\n\x1b[31mred\x1b[0m\x1b[K\n\x1b[q`))
  const input = Buffer.concat(parts)
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-native-')), 'log')
  fs.writeFileSync(file, input)
  t.teardown(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }))
  for (const color of ['always', 'never']) {
    for (const operand of [file, '-']) {
      const options = { input: operand === '-' ? input : '' }
      const native = await runBin('nixlog-clean', [`--color=${color}`, operand], { ...options, env: { PATH: process.env.PATH } })
      const js = await runBin('nixlog-clean', [`--color=${color}`, operand], { ...options, env: { PATH: process.env.PATH, BUILDLOG_NATIVE: '0' } })
      t.equal(native.code, 0)
      t.ok(native.stdout.length > input.length / 2, `${color} ${operand}: output`)
      t.ok(native.stdout.equals(js.stdout), `${color} ${operand}: same bytes`)
    }
  }
})

t.test('the event decoder and the pager index frame lines with escapes in the line mode', async (t) => {
  // Count what the framer asks of the addon (test/fuzz.test.ts checks that the events are the
  // ones the JavaScript path gives; this checks that the check covers the C path).
  let lineModeBytes = 0
  let otherCalls = 0
  const native = watchedAddon(t, (flags, taken) => {
    if (flags & Flag.Lines) lineModeBytes += taken
    else otherCalls++
  })
  if (!native) return
  const logs = {
    '`nix build -L` output': (k: number) => `\x1b[2m${k % 3 === 0 ? 'hello' : 'world'}> \x1b[0m${k % 7 === 0 ? '\x1b[31merror:\x1b[0m ' : ''}line ${k}\n`,
    'a CI log with coloured words': (k: number) => `step ${k}: \x1b[32mok\x1b[0m in ${k} ms${k % 5 === 0 ? '\r\n' : '\n'}`,
    // patched make: a command over several lines as one newline group
    'a legacy log of multi-line commands': (k: number) => `\x1b[3s\x1b[agcc -c \\\n    -o f${k}.o f${k}.c\x1b[b\n`,
    // progress redraws: bare CRs, with an erase-line after each (ninja) and colour kept across them
    'progress lines': (k: number) => `[${k}/500] f${k}.o\r\x1b[K[${k}/500] g${k}.o\r\x1b[K\x1b[32m${k % 2 ? 'ok' : 'done'}\x1b[0m\r\n`,
    // gcc's coloured diagnostics: an erase-line (`ESC[K`, removed) after every colour
    'gcc diagnostics': (k: number) => `f${k}.c:${k}:5: \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kunused variable \x1b[01m\x1b[K\u2018x\u2019\x1b[m\x1b[K\n`,
  }
  for (const [name, line] of Object.entries(logs)) {
    lineModeBytes = 0
    const input = Buffer.from(Array.from({ length: 500 }, (_, k) => line(k)).join(''))
    t.equal(decode(input).filter((e) => e.type === 'line').length, 500, `${name}: every line`)
    t.ok(lineModeBytes > input.length * 0.9, `${name}: the C run took ${lineModeBytes} of ${input.length} bytes`)
  }
  t.equal(otherCalls, 0, 'the decoder never uses pass-through mode')
  // Where the erase-lines were stays known (the pager shows a placeholder there), as the
  // JavaScript path records it.
  const gcc = decode('a.c:1:5: \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kunused\n'.repeat(500)).find((e) => e.type === 'line')
  t.same(gcc && gcc.type === 'line' && { text: gcc.text.toString(), styles: gcc.styles, removed: gcc.removed }, {
    text: 'a.c:1:5: warning: unused',
    styles: [{ at: 9, params: '01;35' }, { at: 18, params: '' }],
    removed: [9, 18],
  })
  // A long line copied from line mode (a bare CR discarded its start) gives its buffer back, as
  // the ordinary path does after a line.
  const long = new BuildLogDecoder(() => {})
  long.write(Buffer.from('x\x1b[1my\n'.repeat(20) + 'c\r' + 'a'.repeat(500_000) + '\x1b[Kb\n' + 'x\x1b[1my\n'.repeat(20)))
  t.equal((long as unknown as { framer: { buffer: { bytes: Buffer } } }).framer.buffer.bytes.length, 4096, 'the line buffer is small again after a 500 KB line')
  // What a bare CR discards goes; an erase-line right after it keeps its mark at the line's start.
  const ninja = decode('[1/2] a.o\r\x1b[K[2/2] b.o\r\x1b[K\x1b[1mlinked\x1b[0m\n'.repeat(500)).find((e) => e.type === 'line')
  t.same(ninja && ninja.type === 'line' && { text: ninja.text.toString(), styles: ninja.styles, removed: ninja.removed }, {
    text: 'linked',
    styles: [{ at: 0, params: '1' }, { at: 6, params: '0' }],
    removed: [0, 0],
  })
  // The pager's index takes lines from line mode too.
  lineModeBytes = 0
  const legacy = Buffer.from(Array.from({ length: 500 }, (_, k) => logs['a legacy log of multi-line commands'](k)).join(''))
  const tree = new LogTree()
  const index = new IndexDecoder(tree)
  index.write(legacy)
  index.end()
  t.equal(tree.lines.length, 500, 'the index: every line')
  t.ok(lineModeBytes > legacy.length * 0.9, `the index: the C run took ${lineModeBytes} of ${legacy.length} bytes`)
  // internal-json: each build's log lines reach its decoder in batches (here of ten: two builds
  // interleave), which use line mode too.
  lineModeBytes = 0
  const payload = (k: number) => `\\u001b[32m[${k}/900]\\u001b[0m cc f${k}.c\\r\\u001b[K\\u001b[1mlinked\\u001b[0m f${k}`
  const results = Array.from({ length: 900 }, (_, k) => `@nix {"action":"result","fields":["${payload(k)}"],"id":${Math.floor(k / 10) % 2 ? 7 : 8},"type":101}\n`)
  const start = (id: number) => `@nix {"action":"start","fields":["/nix/store/${id}-x.drv","",1,1],"id":${id},"level":3,"parent":0,"text":"building x","type":105}\n`
  const internalJson = Buffer.from(start(7) + start(8) + results.join(''))
  const payloadBytes = results.reduce((n, _, k) => n + Buffer.byteLength(JSON.parse(`"${payload(k)}"`)) + 1, 0)
  t.equal(decode(internalJson).filter((e) => e.type === 'line').length, 900, 'internal-json: every build line')
  t.ok(lineModeBytes > payloadBytes * 0.8, `internal-json: the C run took ${lineModeBytes} of the ${payloadBytes} bytes of build lines`)
})

t.test('plain lines in a C run come with their LFs, and each line gets its own', async (t) => {
  t.ok(loadNativePassThrough(), 'the C addon is loaded (npm install builds it)')
  // 2.5 MiB in one write; a coloured line now and then starts a run of the C line mode, which
  // goes on over the plain lines after it (plain text alone is framed by the JavaScript path)
  const texts = Array.from({ length: 40_000 }, (_, k) => (k % 100 === 0 ? `\x1b[1mline ${k}\x1b[0m` : `line ${k} ${'x'.repeat((k * 37) % 101)}`))
  const input = Buffer.from(texts.join('\n') + '\n')
  let withEnds = 0
  let without = 0
  class Watching extends BuildLogDecoder {
    override span(buf: Uint8Array, start: number, end: number, base: number, lfs?: { data: Int32Array; at: number }): number {
      const n = super.span(buf, start, end, base, lfs)
      if (lfs) withEnds += n
      else without += n
      return n
    }
  }
  const lines: Array<{ text: string; offset: number; end: number }> = []
  const decoder = new Watching((e) => e.type === 'line' && lines.push({ text: e.text.toString(), offset: e.offset, end: e.end }))
  decoder.write(input)
  decoder.end()
  t.ok(withEnds > 35_000, `${withEnds} lines came with their LFs (${without} without)`)
  let offset = 0
  const want = texts.map((raw) => ({ text: raw.replace(/\x1b\[[01]m/g, ''), offset, end: (offset += raw.length + 1) }))
  t.equal(lines.length, want.length)
  const bad = lines.findIndex((l, k) => l.text !== want[k]!.text || l.offset !== want[k]!.offset || l.end !== want[k]!.end)
  t.equal(bad, -1, bad < 0 ? 'every line' : `line ${bad}: ${JSON.stringify(lines[bad])}, want ${JSON.stringify(want[bad])}`)
})

t.test('line mode hands over gcc\'s lines with their erase-lines in place, meaning what the copied lines mean', async (t) => {
  t.ok(loadNativePassThrough(), 'the C addon is loaded (npm install builds it)')
  // gcc follows every colour with `ESC[K` (removed); now and then a progress redraw, whose bare CR
  // still makes the framer copy the line
  const gccLine = (k: number) => k % 50 === 7 ? `[${k}/900] cc\r\x1b[K\x1b[32mok\x1b[0m ${k}\n` : `\x1b[Kf${k}.c:${k}:5: \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kunused \x1b[01m\x1b[K\u2018x${k}\u2019\x1b[m\x1b[K${k % 3 ? '' : '\x1b[K'}\n`
  const input = Buffer.from(Array.from({ length: 900 }, (_, k) => gccLine(k)).join(''))
  const framed = (removedInPlace: boolean) => {
    const lines: string[] = []
    let inPlace = 0
    const framer = new BuildLogFramer(
      {
        line(view) {
          if (view.marks !== view.sgr) inPlace++
          const { offset, rawEnd, textLength, head, priority, error, warning, atLineStart, ended } = view
          lines.push(JSON.stringify({ ...lineContent(view), offset, rawEnd, textLength, head, priority, error, warning, atLineStart, ended }))
        },
        open() {},
        close() {},
        diagnostic() {},
        nativeLines: true,
        removedInPlace,
      },
      { markRemoved: true },
    )
    framer.write(input)
    framer.end()
    return { lines, inPlace }
  }
  const inPlace = framed(true)
  const copied = framed(false)
  t.equal(inPlace.lines.length, 900)
  t.ok(inPlace.inPlace > 850, `${inPlace.inPlace} of 900 lines came with their erase-lines in place`)
  t.equal(copied.inPlace, 0, 'without removedInPlace, none')
  // the event decoder takes them so
  let decoderInPlace = 0
  class Watching extends BuildLogDecoder {
    override line(view: Parameters<BuildLogDecoder['line']>[0]): void {
      if (view.marks !== view.sgr) decoderInPlace++
      super.line(view)
    }
  }
  const decoder = new Watching(() => {})
  decoder.write(input)
  decoder.end()
  t.ok(decoderInPlace > 850, `the event decoder took ${decoderInPlace} of them in place`)
  const bad = inPlace.lines.findIndex((line, k) => line !== copied.lines[k])
  t.equal(bad, -1, bad < 0 ? 'every line means the same' : `line ${bad}: ${inPlace.lines[bad]}, copied ${copied.lines[bad]}`)
  t.same(JSON.parse(inPlace.lines[3]!), {
    text: { type: 'Buffer', data: [...Buffer.from('f3.c:3:5: warning: unused \u2018x3\u2019')] },
    styles: [{ at: 10, params: '01;35' }, { at: 19, params: '' }, { at: 26, params: '01' }, { at: 34, params: '' }],
    removed: [0, 10, 19, 26, 34, 34],
    offset: input.indexOf('\x1b[Kf3.c'),
    rawEnd: input.indexOf('\x1b[Kf4.c'),
    textLength: 34,
    head: false,
    priority: 1,
    error: false,
    warning: false,
    atLineStart: false,
    ended: 'lf',
  })
})

t.test('a decode inside another decode\'s sink leaves the outer run\'s operations alone', async (t) => {
  // Runs share a pool of operation lists; one lent twice would have the inner run overwrite the
  // ops the outer one is still replaying. Count runs that start while another is replaying.
  let depth = 0
  let nested = 0
  if (!watchedAddon(t, () => (nested += depth > 0 ? 1 : 0))) return
  const outer = Buffer.from(Array.from({ length: 2000 }, (_, k) => `\x1b[3s\x1b[agcc -c f${k}.c\x1b[b\n\x1b[33mwarning:\x1b[0m w${k}\n`).join(''))
  const inner = Buffer.from(Array.from({ length: 300 }, (_, k) => `\x1b[31mother ${k}\x1b[0m\n`).join(''))
  const shape = (e: import('../dist/index.js').LogEvent) => (e.type === 'line' ? `${e.offset} ${e.text.toString('latin1')} ${JSON.stringify(e.styles)}` : `${e.type} ${e.offset}`)
  const got: string[] = []
  let innerLines = 0
  const decoder = createDecoder((e) => {
    got.push(shape(e))
    if (e.type !== 'line') return
    depth++
    innerLines += decode(inner).filter((x) => x.type === 'line').length
    depth--
  })
  decoder.write(outer)
  decoder.end()
  t.ok(nested > 1000, `${nested} runs started inside another's replay`)
  t.equal(innerLines, 4000 * 300, 'every inner decode saw its lines')
  t.strictSame(got, decode(outer).map(shape), 'the outer events are those of a decode on its own')
})

t.test('nixlog-clean takes timestamped coloured lines in the C run (a downloaded GitHub Actions log)', async (t) => {
  let taken = 0
  if (!watchedAddon(t, (_flags, bytes) => (taken += bytes))) return
  let input = ''
  for (let k = 0; k < 2000; k++) {
    const stamp = `2024-05-01T00:00:${String(k % 60).padStart(2, '0')}.0230000Z `
    input += k % 100 === 0 ? `${stamp}\x1b[36;1m##[group]step ${k}\n` : `${stamp}\x1b[36;1mshell:\x1b[0m \x1b[32mline ${k}\x1b[0m\n`
  }
  for (const color of [true, false]) {
    taken = 0
    const out = cleanBuffer(Buffer.from(input), { color }).toString()
    t.ok(taken > input.length * 0.9, `color ${color}: the C run took ${taken} of ${input.length} bytes`)
    t.notMatch(out, /##\[group\]/, `color ${color}: the markers behind colour went`)
    t.match(out, /Z (\x1b\[36;1m)?shell:/, `color ${color}: the other lines stayed`)
  }
})

t.test('small input does not load the addon; a chunk of 4 KiB does', async (t) => {
  // In a fresh process: this one has loaded it already. Loading costs ~3 ms, which the pager's
  // first screen (single lines re-decoded) would pay for nothing.
  const script = `
    const { decode } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))})
    const { nativePassThroughTried } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'dialects', 'native-pass-through.js'))})
    const { IndexDecoder } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'tree', 'index-decoder.js'))})
    const { LogTree } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'tree', 'tree.js'))})
    decode(Buffer.from('\\x1b[31mone line\\x1b[0m\\n'))
    // (the pager's index too: a decoder made for a short file)
    const index = new IndexDecoder(new LogTree())
    index.write(Buffer.from('\\x1b[3phead\\none line\\n\\x1b[q'))
    index.end()
    const small = nativePassThroughTried()
    decode(Buffer.from('\\x1b[31mline\\x1b[0m\\n'.repeat(300)))
    console.log(JSON.stringify({ small, big: nativePassThroughTried() }))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout), { small: false, big: true })
})
