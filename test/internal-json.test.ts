import t from 'tap'
import { DecodeContext } from '../lib/dialects/context.js'
import {
  ActivityTree,
  InternalJsonDecoder,
  internalJsonMessageFromObject,
  parseInternalJsonLine,
  stripAndStyle,
} from '../lib/dialects/internal-json.js'
import type { InternalJsonMessage, LineDecoder, LineDecoderFactory } from '../lib/dialects/internal-json.js'
import { JSON_FAIL, isJsonObject, parseNixJson, tryParseNixJson } from '../lib/dialects/nix-json.js'
import type { EventSink, LineEvent, LogEvent, SectionOpenEvent } from '../lib/events.js'
import { sample } from './helpers/fixtures.js'
import { prng } from './helpers/random.js'
import { activityLogDecoder } from '../lib/dialects/build-log.js'
import { loadNativePassThrough } from '../lib/dialects/native-pass-through.js'

const BENCH = 'nom-bench-nom-shell-452e7d5.head5000.internal-json.log'
const STANDARD = 'nom-integration-standard.stderr.json'
const FAIL = 'nom-integration-fail.stderr.json'

// ---------------------------------------------------------------------------------------------
// Stand-in line decoders (the real build-log decoder is wired in by the lead).

/** One `line` event per LF-terminated line; ids/indexes from ctx; offsets in its own input. */
const lineFactory: LineDecoderFactory = (sink: EventSink, ctx: DecodeContext): LineDecoder => {
  let carry: Buffer = Buffer.alloc(0)
  let pos = 0
  const emit = (text: Buffer, offset: number, end: number, ended: 'lf' | 'eof') =>
    sink({ type: 'line', index: ctx.nextLineIndex(), section: 0, text, head: false, priority: 1, error: false, warning: false, offset, end, ended })
  return {
    write(bytes: Uint8Array) {
      const base = pos - carry.length
      const buf = Buffer.concat([carry, bytes])
      pos += bytes.length
      let i = 0
      for (let nl = buf.indexOf(10, i); nl >= 0; nl = buf.indexOf(10, i)) {
        emit(Buffer.from(buf.subarray(i, nl)), base + i, base + nl + 1, 'lf')
        i = nl + 1
      }
      carry = Buffer.from(buf.subarray(i))
    },
    end() {
      if (carry.length > 0) emit(carry, pos - carry.length, pos, 'eof')
      carry = Buffer.alloc(0)
    },
  }
}

/**
 * Like lineFactory, plus: a line `OPEN <title>` opens a nest (section 0 = its root), `CLOSE`
 * closes the innermost one, and `Running phase: …` lines are held back until the next line (as
 * the real decoder does for D-17). `end()` closes what is still open.
 */
const nestFactory: LineDecoderFactory = (sink, ctx) => {
  const stack: number[] = []
  let held: LineEvent | null = null
  let pos = 0
  const release = () => {
    if (held) {
      held.index = ctx.nextLineIndex()
      sink(held)
      held = null
    }
  }
  return {
    write(bytes: Uint8Array) {
      const buf = Buffer.from(bytes)
      const base = pos
      pos += buf.length
      let i = 0
      for (let nl = buf.indexOf(10, i); nl >= 0; nl = buf.indexOf(10, i)) {
        const text = buf.toString('utf8', i, nl)
        const offset = base + i
        i = nl + 1
        if (text.startsWith('OPEN ')) {
          release()
          const id = ctx.nextSectionId()
          sink({ type: 'open', id, parent: stack.at(-1) ?? 0, kind: 'nest', title: text.slice(5), priority: 1, offset })
          stack.push(id)
        } else if (text === 'CLOSE') {
          release()
          const id = stack.pop()
          if (id !== undefined) sink({ type: 'close', id, offset })
        } else {
          release()
          const ev: LineEvent = { type: 'line', index: 0, section: stack.at(-1) ?? 0, text: Buffer.from(text), head: false, priority: 1, error: false, warning: false, offset, end: base + i, ended: 'lf' }
          if (text.startsWith('Running phase: ')) held = ev
          else {
            ev.index = ctx.nextLineIndex()
            sink(ev)
          }
        }
      }
    },
    end() {
      release()
      while (stack.length > 0) sink({ type: 'close', id: stack.pop()!, offset: pos })
    },
  }
}

// ---------------------------------------------------------------------------------------------
// helpers

function decodeAll(input: Buffer | string, factory: LineDecoderFactory = lineFactory, chunk = 0): LogEvent[] {
  const buf = typeof input === 'string' ? Buffer.from(input) : input
  const events: LogEvent[] = []
  const d = new InternalJsonDecoder((e) => events.push(e), new DecodeContext(), factory)
  if (chunk <= 0) d.write(buf)
  else for (let i = 0; i < buf.length; i += chunk) d.write(buf.subarray(i, i + chunk))
  d.end()
  return events
}

/**
 * Structural invariants of an event stream: ids unique, increasing and non-zero; every parent /
 * section is 0 or open; every close closes an open section that has no open children; nothing
 * left open; line indexes 1..n in emission order.
 */
function checkStream(t: Tap.Test, events: LogEvent[]): void {
  const open = new Map<number, number>() // id -> parent
  const children = new Map<number, number>() // id -> open child count
  let lastId = 0
  let lastIndex = 0
  let problems = 0
  const bad = (msg: string) => {
    if (problems++ < 5) t.fail(msg)
  }
  for (const e of events) {
    if (e.type === 'open') {
      if (e.id <= lastId) bad(`open id ${e.id} not increasing`)
      lastId = Math.max(lastId, e.id)
      if (open.has(e.id)) bad(`duplicate open ${e.id}`)
      if (e.parent !== 0 && !open.has(e.parent)) bad(`open ${e.id}: parent ${e.parent} not open`)
      open.set(e.id, e.parent)
      children.set(e.id, 0)
      if (e.parent !== 0) children.set(e.parent, children.get(e.parent)! + 1)
    } else if (e.type === 'close') {
      if (!open.has(e.id)) bad(`close of ${e.id}: not open`)
      else if (children.get(e.id)! > 0) bad(`close of ${e.id} with open children`)
      const parent = open.get(e.id)!
      open.delete(e.id)
      if (parent !== 0 && children.has(parent)) children.set(parent, children.get(parent)! - 1)
    } else if (e.type === 'line') {
      if (e.section !== 0 && !open.has(e.section)) bad(`line ${e.index} in section ${e.section}: not open`)
      if (e.index !== lastIndex + 1) bad(`line index ${e.index} after ${lastIndex}`)
      lastIndex = e.index
    }
  }
  if (open.size > 0) bad(`left open: ${[...open.keys()].join(',')}`)
  t.equal(problems, 0, 'well-formed event stream')
}

const opens = (events: LogEvent[]) => events.filter((e): e is SectionOpenEvent => e.type === 'open')
const lines = (events: LogEvent[]) => events.filter((e): e is LineEvent => e.type === 'line')
const closeOf = (events: LogEvent[], id: number) => events.find((e) => e.type === 'close' && e.id === id)
const text = (e: LineEvent) => e.text.toString('utf8')
const maskHashes = (s: string) => s.replace(/\/nix\/store\/[0-9a-z]{32}-/g, '/nix/store/HASH-')

function splitLines(buf: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let i = 0
  for (let nl = buf.indexOf(10, i); nl >= 0; nl = buf.indexOf(10, i)) {
    out.push([i, nl])
    i = nl + 1
  }
  if (i < buf.length) out.push([i, buf.length])
  return out
}

// ---------------------------------------------------------------------------------------------
// parsing

t.test('parseInternalJsonLine: framings and plain text', async (t) => {
  const p = (s: string) => {
    const b = Buffer.from(s)
    return parseInternalJsonLine(b, 0, b.length)
  }
  const stop: InternalJsonMessage = { action: 'stop', id: '11780004371234839' }
  t.same(p('@nix {"action":"stop","id":11780004371234839}'), stop)
  t.same(p('{"action":"stop","id":11780004371234839}'), stop, 'json-log-path framing')
  t.same(p('@nix {"action":"stop","id":11780004371234839}\r'), stop, 'trailing CR')
  t.same(p('  {"id":11780004371234839, "action" : "stop"} '), stop, 'spaced, reordered: slow path')
  t.equal(p('plain text'), null)
  t.equal(p(''), null)
  t.equal(p('@nix '), null)
  t.equal(p('@nix {"action":"stop","id":1} x'), null)
  t.equal(p('@nix [1]'), null)
  t.equal(p('@nix {"action":"stop"}'), null, 'stop without id is not a usable message')
  t.equal(p('@nix {"action":7}'), null)
  t.same(p('@nix {"action":"setPhase","phase":"x"}'), { action: 'unknown', name: 'setPhase' })
  t.same(p('@nix {"action":"frobnicate","id":1}'), { action: 'unknown', name: 'frobnicate' })
  t.same(p('@nix {"action":"start","id":5}'), { action: 'start', id: '5', parent: '0', type: 0, level: 0, text: '', fields: [] }, 'lenient defaults')
  t.same(p('@nix {"action":"result","fields":["a\\tb\\u001b[1m"],"id":1,"type":101}'), { action: 'result', id: '1', type: 101, fields: ['a\tb\x1b[1m'] })
  t.same(p('@nix {"action":"result","fields":[1,"x",true,null],"id":1,"type":200}'), { action: 'result', id: '1', type: 200, fields: [1, 'x', 'true', 'null'] })
  t.same(p('@nix {"action":"result","fields":[12345678901234567890],"id":1,"type":105}'), { action: 'result', id: '1', type: 105, fields: ['12345678901234567890'] })
  t.same(p('@nix {"action":"msg","column":null,"file":null,"level":0,"line":null,"msg":"m","raw_msg":"r"}'), {
    action: 'msg',
    level: 0,
    msg: 'm',
    raw: 'r',
    file: null,
    line: null,
    column: null,
  })
  t.same(p('@nix {"action":"start","fields":["/nix/store/a.drv","",1,1],"id":5050881540101,"level":3,"parent":5050881540097,"text":"building \'/nix/store/a.drv\'","type":105}'), {
    action: 'start',
    id: '5050881540101',
    parent: '5050881540097',
    type: 105,
    level: 3,
    text: "building '/nix/store/a.drv'",
    fields: ['/nix/store/a.drv', '', 1, 1],
  })
})

t.test('fast path and general parser agree on every sample line and on re-serialised variants', async (t) => {
  let n = 0
  let mismatches = 0
  for (const name of [BENCH, STANDARD, FAIL]) {
    const buf = sample(name)
    for (const [s, e] of splitLines(buf)) {
      const fast = parseInternalJsonLine(buf, s, e)
      const obj = parseNixJson(buf, s + 5, e)
      const slow = isJsonObject(obj) ? internalJsonMessageFromObject(obj) : null
      if (JSON.stringify(fast) !== JSON.stringify(slow)) {
        if (mismatches++ < 3) t.same(fast, slow, buf.toString('utf8', s, e))
      }
      // A spaced variant with reversed key order must give the same message (general parser).
      if (isJsonObject(obj)) {
        const keys = Object.keys(obj).reverse()
        const json = '{ ' + keys.map((k) => `${JSON.stringify(k)} : ${k === 'id' || k === 'parent' ? obj[k] : JSON.stringify(obj[k])}`).join(' , ') + ' }'
        const v = Buffer.from('@nix ' + json)
        if (JSON.stringify(parseInternalJsonLine(v, 0, v.length)) !== JSON.stringify(fast)) {
          if (mismatches++ < 3) t.same(parseInternalJsonLine(v, 0, v.length), fast, json)
        }
      }
      n++
    }
  }
  t.equal(mismatches, 0)
  t.equal(n, 5000 + 77 + 608)
})

t.test('spec §6.3: the bench sample has 26 distinct 64-bit ids; cabal-fmt owns its 4 phases', async (t) => {
  const buf = sample(BENCH)
  const ids = new Set<string>()
  const naive = new Set<number>()
  const phasesOf = new Map<string, string[]>()
  for (const [s, e] of splitLines(buf)) {
    const m = parseInternalJsonLine(buf, s, e)
    t.not(m, null)
    if (m === null) continue
    if (m.action === 'start') {
      ids.add(m.id)
      naive.add((JSON.parse(buf.toString('utf8', s + 5, e)) as { id: number }).id)
    }
    if (m.action === 'result' && m.type === 104) {
      const list = phasesOf.get(m.id) ?? []
      list.push(String(m.fields[0]))
      phasesOf.set(m.id, list)
    }
  }
  t.equal(ids.size, 26)
  t.equal(naive.size, 14, 'JSON.parse would merge them (the hazard this guards against)')
  t.same([...phasesOf.keys()], ['11780004371234839'])
  t.same(phasesOf.get('11780004371234839'), ['setupCompilerEnvironmentPhase', 'unpackPhase', 'patchPhase', 'compileBuildDriverPhase'])

  // The same through the activity tree.
  for (const chunk of [0, 1, 4096]) {
    const events = decodeAll(buf, lineFactory, chunk)
    checkStream(t, events)
    const all = opens(events)
    const activityIds = new Set(all.filter((o) => o.attrs?.['activityId'] !== undefined).map((o) => o.attrs!['activityId']))
    // 6 of the 26 are hidden (types 102/103/104 with empty text): no section.
    t.equal(activityIds.size, 20, `chunk ${chunk}: visible activities`)
    const build = all.find((o) => o.attrs?.['activityId'] === '11780004371234839')!
    t.equal(build.kind, 'build')
    t.equal(build.attrs!['drv'], '/nix/store/glsbjhh6a9nnhz4xbs1072hcsyinl7kh-cabal-fmt-0.1.5.1.drv')
    const phases = all.filter((o) => o.kind === 'phase')
    t.same(phases.map((p) => p.title), ['setupCompilerEnvironmentPhase', 'unpackPhase', 'patchPhase', 'compileBuildDriverPhase'])
    t.ok(phases.every((p) => p.parent === build.id), 'all phases belong to the cabal-fmt build')
    const download = all.find((o) => o.attrs?.['activityId'] === '11780004371234840')!
    t.equal(download.title, "downloading 'https://cache.nixos.org/nar/0n9lb51429acj56af7vcgrj1bzdcnqhzr7harqp3ycyli6hmkxdn.nar.xz'")
    t.notOk(all.some((o) => o.parent === download.id), 'nothing attached to the download')
    // Header lines follow the phases (echo-era stdenv).
    const inPhase = (title: string) => lines(events).filter((l) => l.section === phases.find((p) => p.title === title)!.id).map(text)
    t.same(inPhase('unpackPhase'), [
      'unpacking sources',
      'unpacking source archive /nix/store/fpxv4wv4gmp8bi1xh1fwisskhmjnxsgb-cabal-fmt-0.1.5.1.tar.gz',
      'source root is cabal-fmt-0.1.5.1',
      'setting SOURCE_DATE_EPOCH to timestamp 1000000000 of file cabal-fmt-0.1.5.1/tests/Golden.hs',
    ])
    t.equal(inPhase('patchPhase').length, 12)
    // The log is cut off: the build is still running at EOF.
    t.equal((closeOf(events, build.id) as { status?: string }).status, 'interrupted')
    t.equal((closeOf(events, phases[3]!.id) as { status?: string }).status, 'interrupted')
    t.equal((closeOf(events, phases[0]!.id) as { status?: string }).status, 'ok')
    // Every build-log line's raw range is the JSON line it came from.
    for (const l of lines(events)) {
      const raw = buf.toString('utf8', l.offset, l.end)
      if (!raw.startsWith('@nix {') || !raw.endsWith('}\n')) {
        t.fail(`raw range of line ${l.index}: ${JSON.stringify(raw)}`)
        break
      }
    }
  }
})

t.test('nom-integration-standard: 4 builds, each with its own output line, as in the plain log', async (t) => {
  const buf = sample(STANDARD)
  const events = decodeAll(buf)
  checkStream(t, events)
  const builds = opens(events).filter((o) => o.kind === 'build')
  t.equal(builds.length, 4)
  t.same(
    builds.map((b) => b.attrs!['drv']),
    [
      '/nix/store/w5afkqmj662l56mcwmw5ijh1kfllxsap-build1.drv',
      '/nix/store/nb5zj9zqm90jfly39s6v125zw8mvscqg-build2.drv',
      '/nix/store/6l98vj7vfhdlvkxjprpbhixgla14nnil-build3.drv',
      '/nix/store/x3009ywhj0gp826ysrghm5j4b7vx59lr-build4.drv',
    ],
  )
  for (const [k, b] of builds.entries()) {
    t.equal(b.parent, 0)
    t.equal(b.attrs!['machine'], '')
    t.equal(b.attrs!['group'], 'builds')
    const own = lines(events).filter((l) => l.section === b.id)
    t.equal(own.length, 1)
    t.match(text(own[0]!), new RegExp(`^output for /nix/store/[0-9a-z]{32}-build${k + 1}$`))
    t.equal((closeOf(events, b.id) as { status?: string }).status, 'ok')
  }
  // Hidden activities (102/103/104 with empty text) report progress at the root.
  const rootStatus = events.filter((e) => e.type === 'status' && e.id === 0)
  const last104 = rootStatus.filter((e) => e.type === 'status' && e.attrs['activityType'] === 104).at(-1)
  t.same(last104 && last104.type === 'status' ? last104.attrs : null, { done: 4, expected: 4, running: 0, failed: 0, activityId: '5050881540098', activityType: 104 })
  // Render what a plain `nix build` shows: Info-level messages, "building …" per build, build lines.
  const shown: string[] = []
  for (const e of events) {
    if (e.type === 'line' && e.section === 0 && (e.level ?? 3) <= 3) shown.push(text(e))
    else if (e.type === 'open' && e.kind === 'build') shown.push(`${e.title}...`)
    else if (e.type === 'line' && e.section !== 0) shown.push(text(e))
  }
  const plain = sample('nom-integration-standard.stderr.txt').toString('utf8').trimEnd().split('\n')
  t.same(shown.map(maskHashes), plain.map(maskHashes))
})

t.test('nom-integration-fail: the error message is flagged, the failed build marked failed', async (t) => {
  const buf = sample(FAIL)
  const events = decodeAll(buf)
  checkStream(t, events)
  const errors = lines(events).filter((l) => l.error)
  t.equal(errors.length, 2)
  const first = errors[0]!
  t.equal(first.level, 0)
  t.equal(first.section, 0)
  t.equal(first.warning, false)
  t.equal(text(first), "error: builder for '/nix/store/k4670x0hpqh34hak8jwhjgffkjj64jml-build-fail.drv' failed with exit code 1")
  t.same(first.styles, [
    { at: 0, params: '31;1' },
    { at: 6, params: '0' },
    { at: 20, params: '35;1' },
    { at: 78, params: '0' },
  ])
  t.ok(buf.toString('utf8', first.offset, first.end).startsWith('@nix {"action":"msg","column":null,'))
  t.ok(buf.toString('utf8', first.offset, first.end).endsWith('exit code 1"}\n'))
  const builds = opens(events).filter((o) => o.kind === 'build')
  t.same(builds.map((b) => b.title), [
    "building '/nix/store/k4670x0hpqh34hak8jwhjgffkjj64jml-build-fail.drv'",
    "building '/nix/store/sq2ja6hs0bsqmkfjdz8i5bwx43ip9pdh-build-long.drv'",
  ])
  const [failed, long] = builds
  t.equal((closeOf(events, failed!.id) as { status?: string }).status, 'failed')
  t.equal((closeOf(events, long!.id) as { status?: string }).status, 'ok')
  t.ok(events.some((e) => e.type === 'status' && e.id === failed!.id && e.attrs['failed'] === true))
  t.notOk(events.some((e) => e.type === 'status' && e.id === long!.id && e.attrs['failed'] === true))
  // All 164 type-0 activities ("copying … to the store", "querying info …") have text: visible.
  t.equal(opens(events).filter((o) => o.attrs?.['activityType'] === 0).length, 164)
  // Compare with the plain counterpart up to the first error.
  const shown: string[] = []
  for (const e of events) {
    if (e.type === 'line' && e.section === 0 && (e.level ?? 3) <= 3) shown.push(text(e))
    else if (e.type === 'open' && e.kind === 'build') shown.push(`${e.title}...`)
  }
  const plain = sample('nom-integration-fail.stderr.txt').toString('utf8').trimEnd().split('\n')
  t.equal(shown.length, plain.length)
  t.same(shown.slice(0, 7).map(maskHashes), plain.slice(0, 7).map(maskHashes))
  t.match(shown[7], /^error: build of '.*' failed$/)
})

t.test('decoder ids and indexes are renumbered: a factory with its own contexts gives the same events', async (t) => {
  const own: LineDecoderFactory = (sink) => nestFactory(sink, new DecodeContext())
  const input =
    start('1', 105, 'a', ['/nix/store/a.drv', '', 1, 1]) +
    start('2', 105, 'b', ['/nix/store/b.drv', '', 1, 1]) +
    result('1', 101, ['OPEN n1']) +
    result('2', 101, ['OPEN n2']) +
    result('1', 101, ['x']) +
    result('2', 101, ['y']) +
    'plain\n' +
    result('1', 101, ['CLOSE']) +
    stop('1') +
    stop('2')
  const ref = decodeAll(input, nestFactory)
  checkStream(t, ref)
  t.equal(JSON.stringify(decodeAll(input, own)), JSON.stringify(ref))
  const o = opens(ref)
  t.same(o.map((x) => [x.id, x.parent, x.title]), [
    [1, 0, 'a'],
    [2, 0, 'b'],
    [3, 1, 'n1'],
    [4, 2, 'n2'],
  ])
  t.same(lines(ref).map((l) => [l.index, l.section, text(l)]), [
    [1, 3, 'x'],
    [2, 4, 'y'],
    [3, 0, 'plain'],
  ])
})

t.test('chunking does not change the events', async (t) => {
  for (const name of [STANDARD, FAIL]) {
    const buf = sample(name)
    const ref = JSON.stringify(decodeAll(buf, nestFactory))
    for (const chunk of [1, 2, 7, 100, 4096]) t.equal(JSON.stringify(decodeAll(buf, nestFactory, chunk)), ref, `${name} chunk ${chunk}`)
  }
})

// ---------------------------------------------------------------------------------------------
// synthetic streams

const L = (o: Record<string, unknown>) => '@nix ' + JSON.stringify(o).replace(/"(id|parent)":"(\d+)"/g, '"$1":$2') + '\n'
const start = (id: string, type: number, text: string, fields: unknown[] = [], parent = '0', level = 3) =>
  L({ action: 'start', fields, id, level, parent, text, type })
const result = (id: string, type: number, fields: unknown[]) => L({ action: 'result', fields, id, type })
const stop = (id: string) => L({ action: 'stop', id })
const msg = (level: number, m: string) => L({ action: 'msg', level, msg: m })

t.test('interleaved builds with phases, nested activities, 64-bit ids', async (t) => {
  const A = '11780004371234816'
  const B = '11780004371234817' // JSON.parse would merge A and B
  const input =
    start(A, 105, "building '/nix/store/a.drv'", ['/nix/store/a.drv', '', 1, 1]) +
    start(B, 105, "building '/nix/store/b.drv'", ['/nix/store/b.drv', 'ssh://m', 1, 1]) +
    result(A, 101, ['a1']) +
    result(B, 101, ['b1']) +
    result(A, 104, ['unpackPhase']) +
    result(B, 101, ['b2']) +
    result(A, 101, ['a2 é']) +
    start('7', 101, "downloading 'x'", ['https://x'], A, 4) +
    result(A, 104, ['buildPhase']) +
    result(A, 101, ['a3']) +
    stop('7') +
    stop(A) +
    result(B, 101, ['b3']) +
    stop(B)
  const events = decodeAll(input)
  checkStream(t, events)
  const o = opens(events)
  const a = o.find((x) => x.attrs?.['activityId'] === A)!
  const b = o.find((x) => x.attrs?.['activityId'] === B)!
  t.not(a.id, b.id)
  t.equal(b.attrs!['machine'], 'ssh://m')
  const [unpack, build] = o.filter((x) => x.kind === 'phase')
  t.equal(unpack!.parent, a.id)
  t.equal(build!.parent, a.id)
  const dl = o.find((x) => x.attrs?.['activityId'] === '7')!
  t.equal(dl.parent, a.id, 'parent activity → parent section')
  t.equal(dl.priority, 3, 'level 4 → unimportant')
  t.equal(dl.attrs!['uri'], 'https://x')
  t.equal(dl.attrs!['group'], 'transfers')
  const where = (s: string) => lines(events).find((l) => text(l) === s)!.section
  t.equal(where('a1'), a.id, 'lines before the first phase stay in the build (implicit preamble)')
  t.equal(where('a2 é'), unpack!.id)
  t.equal(where('a3'), build!.id)
  t.equal(where('b1'), b.id)
  t.equal(where('b3'), b.id)
  t.equal((closeOf(events, unpack!.id) as { status?: string }).status, 'ok')
  t.equal((closeOf(events, build!.id) as { status?: string }).status, 'ok')
  // Raw offsets.
  const buf = Buffer.from(input)
  const l = lines(events).find((x) => text(x) === 'a2 é')!
  t.equal(buf.toString('utf8', l.offset, l.end), result(A, 101, ['a2 é']))
})

t.test('phase boundaries close decoder nests; late closes are ignored; D-17 header adoption', async (t) => {
  const X = '42'
  const input =
    start(X, 105, 'building x', ['/nix/store/x.drv', '', 1, 1]) +
    result(X, 101, ['OPEN outer']) +
    result(X, 101, ['in outer']) +
    result(X, 104, ['configurePhase']) + // opens inside the nest
    result(X, 101, ['in configure']) +
    result(X, 101, ['Running phase: buildPhase']) +
    result(X, 104, ['buildPhase']) + // closes configurePhase only
    result(X, 101, ['OPEN make']) +
    result(X, 101, ['compiling']) +
    result(X, 101, ['Running phase: notThisOne']) +
    result(X, 104, ['installPhase']) + // closes buildPhase and the make nest
    result(X, 101, ['CLOSE']) + // closes … the make nest? already closed: ignored by the tree
    result(X, 101, ['installing']) +
    stop(X)
  const events = decodeAll(input, nestFactory)
  checkStream(t, events)
  const o = opens(events)
  const build = o.find((x) => x.kind === 'build')!
  const outer = o.find((x) => x.title === 'outer')!
  const configure = o.find((x) => x.title === 'configurePhase')!
  const buildPhase = o.find((x) => x.title === 'buildPhase')!
  const make = o.find((x) => x.title === 'make')!
  const install = o.find((x) => x.title === 'installPhase')!
  t.equal(outer.parent, build.id)
  t.equal(configure.parent, outer.id, 'a phase opens inside the innermost open section')
  t.equal(buildPhase.parent, outer.id)
  t.equal(make.parent, buildPhase.id)
  t.equal(install.parent, outer.id)
  const seq = events.filter((e) => e.type === 'close').map((e) => e.id)
  t.ok(seq.indexOf(make.id) < seq.indexOf(buildPhase.id), 'make nest closed before its phase')
  const byText = (s: string) => lines(events).find((l) => text(l) === s)!
  t.equal(byText('in outer').section, outer.id)
  t.equal(byText('in configure').section, configure.id)
  const header = byText('Running phase: buildPhase')
  t.equal(header.section, buildPhase.id, 'header adopted into its phase')
  t.equal(header.head, true)
  t.equal(byText('compiling').section, make.id)
  const other = byText('Running phase: notThisOne')
  t.equal(other.head, false, 'a header that does not match the phase is not adopted')
  t.equal(byText('installing').section, install.id, 'the CLOSE went to the nest the decoder thought open; install still open')
  t.equal((closeOf(events, install.id) as { status?: string }).status, 'ok')
})

t.test('orphan results, hidden activities, unknown types, plain text, unknown actions', async (t) => {
  const input =
    'plain line before\n' +
    start('1', 104, '') +
    result('1', 105, [0, 2, 0, 0]) +
    result('1', 105, [0, 2, 0, 0]) + // identical: suppressed
    result('1', 105, [1, 2, 1, 0]) +
    result('99', 101, ['lost line']) +
    result('99', 104, ['buildPhase']) +
    result('99', 101, ['lost 2']) +
    result('98', 105, [1, 1, 0, 0]) +
    start('2', 113, '', ['/src', 0], '1') +
    result('2', 109, ['/nix/store/p']) +
    result('2', 200, ['future', 1]) +
    L({ action: 'frobnicate', id: 2 }) +
    start('3', 0, '', [], '0') +
    result('3', 101, ['hidden but talking']) +
    stop('99') +
    stop('2') +
    stop('1') +
    '@nix {broken\n' +
    'tail without LF'
  const buf = Buffer.from(input)
  const events = decodeAll(buf)
  checkStream(t, events)
  const o = opens(events)
  // Plain text at the root with exact raw ranges.
  const plain = lines(events).filter((l) => l.section === 0)
  t.same(plain.map(text), ['plain line before', '@nix {broken', 'tail without LF'])
  t.equal(buf.toString('utf8', plain[0]!.offset, plain[0]!.end), 'plain line before\n')
  t.equal(buf.toString('utf8', plain[2]!.offset, plain[2]!.end), 'tail without LF')
  t.equal(plain[2]!.ended, 'eof')
  // Hidden Builds activity: root status, deduplicated.
  const rs = events.filter((e) => e.type === 'status' && e.id === 0)
  t.equal(rs.length, 2)
  t.notOk(o.some((x) => x.attrs?.['activityId'] === '1'))
  // Orphans.
  const bucket = o.find((x) => x.attrs?.['orphans'] === true)!
  t.equal(bucket.title, 'orphan results')
  t.equal(bucket.parent, 0)
  const o99 = o.find((x) => x.attrs?.['activityId'] === '99')!
  const o98 = o.find((x) => x.attrs?.['activityId'] === '98')!
  t.equal(o99.parent, bucket.id)
  t.equal(o99.attrs!['orphan'], true)
  t.equal(o98.parent, bucket.id)
  const diags = events.filter((e) => e.type === 'diagnostic')
  t.same(diags.map((d) => d.type === 'diagnostic' && [d.code, d.line]), [
    ['orphan-result', 6],
    ['orphan-result', 9],
  ])
  t.equal(lines(events).find((l) => text(l) === 'lost line')!.section, o99.id)
  const orphanPhase = o.find((x) => x.kind === 'phase')!
  t.equal(orphanPhase.parent, o99.id)
  t.equal(lines(events).find((l) => text(l) === 'lost 2')!.section, orphanPhase.id)
  t.equal((closeOf(events, o99.id) as { status?: string }).status, 'ok')
  t.equal((closeOf(events, o98.id) as { status?: string }).status, 'interrupted')
  t.ok(closeOf(events, bucket.id))
  // Type 113 with empty text is visible (only 0/102/103/104 hide); parent 1 is hidden → root.
  const fetch = o.find((x) => x.attrs?.['activityId'] === '2')!
  t.equal(fetch.parent, 0)
  t.equal(fetch.title, "fetchToStore '/src'")
  t.equal(fetch.attrs!['path'], '/src')
  t.ok(events.some((e) => e.type === 'status' && e.id === fetch.id && e.attrs['storePath'] === '/nix/store/p'))
  t.ok(events.some((e) => e.type === 'status' && e.id === fetch.id && e.attrs['result.200'] === 'future 1'))
  // A hidden activity that gets lines becomes visible.
  const talking = o.find((x) => x.attrs?.['activityId'] === '3')!
  t.equal(talking.title, 'unknown')
  t.equal(lines(events).find((l) => text(l) === 'hidden but talking')!.section, talking.id)
  t.equal((closeOf(events, talking.id) as { status?: string }).status, 'interrupted')
})

t.test('messages: LF splitting, SGR styles, other escapes stripped, levels', async (t) => {
  const input =
    msg(1, 'warn\u001b[33m é\u001b[0m\nsecond\u001b]0;title\u0007 line\u001b[K') +
    msg(4, 'talk') +
    msg(0, "\u001b[31;1merror:\u001b[0m Cannot build '\u001b[35;1m/nix/store/y.drv\u001b[0m'.\n       Reason: builder failed")
  const events = decodeAll(start('5', 105, 'building y', ['/nix/store/y.drv', '', 1, 1]) + input + stop('5'))
  checkStream(t, events)
  const ls = lines(events)
  t.same(ls.map(text), ['warn é', 'second line', 'talk', "error: Cannot build '/nix/store/y.drv'.", '       Reason: builder failed'])
  t.same(ls.map((l) => [l.level, l.error, l.warning, l.priority]), [
    [1, false, true, 1],
    [1, false, true, 1],
    [4, false, false, 3],
    [0, true, false, 1],
    [0, true, false, 1],
  ])
  t.same(ls[0]!.styles, [
    { at: 4, params: '33' },
    { at: 7, params: '0' },
  ], 'style offsets are byte offsets (é is 2 bytes)')
  t.equal(ls[1]!.styles, undefined)
  t.ok(ls[0]!.offset === ls[1]!.offset && ls[0]!.end === ls[1]!.end, 'both pieces carry the JSON line range')
  const build = opens(events).find((o) => o.kind === 'build')!
  t.equal((closeOf(events, build.id) as { status?: string }).status, 'failed', 'Cannot build … marks the build failed (D-19)')
})

t.test('failure after stop, end of input, id reuse', async (t) => {
  const input =
    start('1', 105, 'building z', ['/nix/store/z.drv', '', 1, 1]) +
    start('2', 105, 'building w', ['/nix/store/w.drv', '', 1, 1]) +
    result('2', 104, ['buildPhase']) +
    stop('1') +
    msg(0, "error: builder for '/nix/store/z.drv' failed with exit code 2") +
    msg(0, "error: builder for '/nix/store/w.drv' failed with exit code 1") +
    msg(1, "warning: builder for '/nix/store/never.drv' failed") +
    start('3', 0, 'first use of 3') +
    start('3', 0, 'second use of 3')
  const events = decodeAll(input)
  checkStream(t, events)
  const o = opens(events)
  const z = o.find((x) => x.title === 'building z')!
  const w = o.find((x) => x.title === 'building w')!
  t.equal((closeOf(events, z.id) as { status?: string }).status, 'ok')
  const zi = events.findIndex((e) => e === closeOf(events, z.id))
  const late = events.findIndex((e) => e.type === 'status' && e.id === z.id && e.attrs['failed'] === true)
  t.ok(late > zi, 'a failure reported after stop arrives as a status on the closed section')
  t.equal((closeOf(events, w.id) as { status?: string }).status, 'failed', 'failed + EOF → failed')
  const phase = o.find((x) => x.kind === 'phase')!
  t.equal((closeOf(events, phase.id) as { status?: string }).status, 'failed', 'its last phase too')
  t.ok(events.some((e) => e.type === 'status' && e.id === phase.id && e.attrs['failed'] === true))
  const [first, second] = o.filter((x) => x.attrs?.['activityId'] === '3')
  t.equal((closeOf(events, first!.id) as { status?: string }).status, 'interrupted')
  t.equal((closeOf(events, second!.id) as { status?: string }).status, 'interrupted')
})

t.test('payload bytes reach the decoder exactly (raw fast path, escapes, non-ASCII, CRLF framing)', async (t) => {
  const seen: Buffer[] = []
  const recorder: LineDecoderFactory = (sink, ctx) => {
    const inner = lineFactory(sink, ctx)
    return {
      write(b) {
        seen.push(Buffer.from(b))
        inner.write(b)
      },
      end: () => inner.end(),
    }
  }
  const input =
    start('1', 105, 'b', ['/nix/store/b.drv', '', 1, 1]) +
    result('1', 101, ['plain ascii']) +
    result('1', 101, ['caf\u00e9 \u2603']) +
    result('1', 101, ['esc \u001b[1mbold\u001b[0m\ttab "q" \\']) +
    result('1', 101, ['']) +
    '@nix {"action":"result","fields":["crlf"],"id":1,"type":101}\r\n' +
    stop('1')
  const events = decodeAll(input, recorder)
  checkStream(t, events)
  t.same(Buffer.concat(seen).toString('utf8'), 'plain ascii\ncafé ☃\nesc \x1b[1mbold\x1b[0m\ttab "q" \\\n\ncrlf\n')
  t.same(lines(events).map(text), ['plain ascii', 'café ☃', 'esc \x1b[1mbold\x1b[0m\ttab "q" \\', '', 'crlf'])
})

t.test('ActivityTree.consume with parsed messages; stripAndStyle', async (t) => {
  const events: LogEvent[] = []
  const tree = new ActivityTree((e) => events.push(e), new DecodeContext(), lineFactory)
  tree.consume({ action: 'start', id: '1', parent: '0', type: 105, level: 3, text: 'b', fields: ['/d.drv'] }, 0, 10)
  tree.consume({ action: 'result', id: '1', type: 101, fields: ['x'] }, 10, 20)
  tree.consume({ action: 'unknown', name: 'later' }, 20, 30)
  tree.end(30)
  checkStream(t, events)
  t.same(events.map((e) => e.type), ['open', 'line', 'close'])
  const l = events[1] as LineEvent
  t.same([l.offset, l.end, l.section], [10, 20, (events[0] as SectionOpenEvent).id])
  t.equal((events[2] as { status?: string }).status, 'interrupted')

  t.same(stripAndStyle('plain'), { text: Buffer.from('plain') })
  t.same(stripAndStyle('\u001b[1;31mred\u001b[m'), { text: Buffer.from('red'), styles: [{ at: 0, params: '1;31' }, { at: 3, params: '' }] })
  t.same(stripAndStyle('a\u001b[2Kb\u001b(Bc\u001b]8;;http://x\u001b\\d\u001b'), { text: Buffer.from('abcd') })
  t.same(stripAndStyle('a\u001b[?25lb\u001b[38:2::1:2:3mc'), { text: Buffer.from('abc'), styles: [{ at: 2, params: '38:2::1:2:3' }] })
})

t.test('batched build-log lines give the events of line-by-line feeding (real build-log decoder)', async (t) => {
  const { BuildLogDecoder } = await import('../lib/dialects/build-log.js')
  const real: LineDecoderFactory = (sink) => new BuildLogDecoder(sink, new DecodeContext())
  const raw = (id: string, payloadJson: string, type = 101) => `@nix {"action":"result","fields":[${payloadJson}],"id":${id},"type":${type}}\n`
  const big = '18446744073709551615'
  const parts: Array<string | Buffer> = [
    start('1', 105, "building '/nix/store/a.drv'", ['/nix/store/a.drv', '', 1, 1]),
    start(big, 105, "building '/nix/store/b.drv'", ['/nix/store/b.drv', '', 1, 1]),
    start('3', 0, ''), // hidden until its first line
    start('-4', 110, 'post-build hook', ['/nix/store/a.drv']),
    raw('1', '"plain ascii"'),
    raw('1', '"caf\u00e9 \u2603 raw UTF-8"'),
    raw('1', '"esc \\"q\\" \\\\ \\/ \\b\\f\\t tab"'),
    raw('1', '"two\\nlines\\r\\nand CR"'),
    raw('1', '"\\u00e9\\u2603\\u0041\\u0000\\ud83d\\ude00 and \\u001b[1mbold\\u001b[0m"'),
    raw('1', '"\\u001b[32m\u2713\\u001b[39m raw UTF-8 next to escapes ‘q’"'),
    raw(big, '"other build"'),
    raw('1', '"back"'),
    raw('3', '"hidden activity opens"'),
    raw('-4', '"post-build line"', 107),
    raw('99', '"orphan"'),
    raw('1', '"Running phase: buildPhase"'),
    result('1', 104, ['buildPhase']),
    raw('1', '"after the phase"'),
    raw('1', '"@nix {\\"action\\":\\"setPhase\\",\\"phase\\":\\"checkPhase\\"}"'),
    raw('1', '"\\u001b[3pnest head"'),
    raw('1', '"in the nest"'),
    raw('1', '"\\u001b[q"'),
    raw('1', '"\\u001b[aignore LF on"'),
    raw('1', '"still the same line"'),
    raw('1', '"\\u001b[b off"'),
    // Lines the hot path must leave to the general one (same result either way).
    raw('1', '"lone \\ud83d surrogate"'),
    raw('1', '"lone low \\ude00"'),
    raw('1', '"bad \\x escape"'),
    raw('1', '"raw\ttab"'),
    raw('1', '"two", "fields"'),
    raw('1', '"type 999"', 999),
    '@nix {"action":"result","fields":["unprefixed? no: spaced"] ,"id":1,"type":101}\n',
    '{"action":"result","fields":["unprefixed json-log-path line"],"id":1,"type":101}\n',
    '@nix {"action":"result","fields":["crlf"],"id":1,"type":101}\r\n',
    '@nix {"action":"result","fields":["trailing blanks"],"id":1,"type":101}  \t\n',
    '@nix  {"action":"result","fields":["two spaces"],"id":1,"type":101}\n',
    '@nix {"action":"result","fields":["id 1.5"],"id":1.5,"type":101}\n',
    '@nix {"action":"result","fields":["unterminated],"id":1,"type":101}\n',
    'plain text line\n',
  ]
  // Invalid UTF-8 next to an escape, and raw.
  parts.push(Buffer.concat([Buffer.from('@nix {"action":"result","fields":["escape \\n then invalid UTF-8 '), Buffer.from([0xff, 0xc3]), Buffer.from('"],"id":1,"type":101}\n')]))
  parts.push(Buffer.concat([Buffer.from('@nix {"action":"result","fields":["raw invalid '), Buffer.from([0xed, 0xa0, 0x80, 0xc0, 0xaf]), Buffer.from('"],"id":1,"type":101}\n')]))
  for (let k = 0; k < 150; k++) parts.push(raw(k % 3 === 0 ? big : '1', `"run line ${k}${k % 5 === 0 ? ' \\u001b[31mred\\u001b[0m' : ''}"`))
  parts.push(raw('1', JSON.stringify('long '.repeat(30000))))
  parts.push(raw('1', JSON.stringify('long escaped \u001b[1m'.repeat(5000))))
  // Longer than the window the decoder copies at a time (a whole log written at once is not copied whole).
  parts.push(raw('1', JSON.stringify('longer than the window '.repeat(15000))))
  parts.push(raw(big, '"after the longest line"'))
  parts.push(stop(big), stop('1'), stop('-4'), raw('1', '"after stop"'))
  parts.push(raw('1', '"no LF at the end"').trimEnd())
  const input = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)))

  // Reference: one feedLine per line (no batching).
  const ref: LogEvent[] = []
  const tree = new ActivityTree((e) => ref.push(e), new DecodeContext(), real)
  let offset = 0
  for (const [s, e] of splitLines(input)) {
    const terminated = e < input.length && input[e] === 0x0a
    tree.feedLine(input, s, e, s, terminated)
    offset = terminated ? e + 1 : e
  }
  tree.end(offset)
  checkStream(t, ref)
  t.ok(lines(ref).some((l) => text(l) === 'é☃A\u0000😀 and bold'), 'escapes decoded')
  const want = JSON.stringify(ref)
  for (const chunk of [0, 1, 3, 64, 1000, 65536]) {
    t.equal(JSON.stringify(decodeAll(input, real, chunk)), want, `chunk ${chunk}`)
  }
  // The same with a decoder that records what it was given: the bytes are the same too.
  const seen = (batched: boolean) => {
    const out: Buffer[] = []
    const rec: LineDecoderFactory = (sink, ctx) => {
      const inner = real(sink, ctx)
      return { write: (b) => (out.push(Buffer.from(b)), inner.write(b)), end: () => inner.end() }
    }
    if (batched) decodeAll(input, rec, 4096)
    else {
      const tr = new ActivityTree(() => {}, new DecodeContext(), rec)
      for (const [s, e] of splitLines(input)) tr.feedLine(input, s, e, s, e < input.length)
      tr.end()
    }
    return Buffer.concat(out)
  }
  t.ok(seen(true).equals(seen(false)), 'decoders get the same bytes')
})

// ---------------------------------------------------------------------------------------------
// differential: the fast paths against the general parser, on mutated lines

/** xorshift32, so that every run mutates the same way. */
function randomSource(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1
  return (n) => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s % n
  }
}

/** What a line means to the general parser alone (the path every fast path must agree with). */
function generalMessage(buf: Buffer, s: number, e: number): InternalJsonMessage | null {
  let i = e - s >= 5 && buf.toString('latin1', s, s + 5) === '@nix ' ? s + 5 : s
  while (i < e && (buf[i] === 0x20 || buf[i] === 0x09)) i++
  if (i >= e || buf[i] !== 0x7b) return null
  const v = tryParseNixJson(buf, i, e)
  return v !== JSON_FAIL && isJsonObject(v) ? internalJsonMessageFromObject(v) : null
}

/** Events of `input` with every line read by the general parser and fed to the tree one by one. */
function generalEvents(input: Buffer, factory: LineDecoderFactory): LogEvent[] {
  const events: LogEvent[] = []
  const tree = new ActivityTree((e) => events.push(e), new DecodeContext(), factory)
  for (const [s, e] of splitLines(input)) {
    const terminated = e < input.length
    const end = terminated ? e + 1 : e
    const m = generalMessage(input, s, e)
    if (m === null) tree.plainLine(input.subarray(s, e), s, end, terminated)
    else tree.consume(m, s, end)
  }
  tree.end(input.length)
  return events
}

/**
 * Line mutations: the shapes real producers never write but a log may still hold (hand-written
 * `@nix` lines, other JSON writers, cut-off files). Every one keeps the text valid UTF-8; how raw
 * malformed UTF-8 is read is pinned down by the next test.
 */
const MUTATIONS: Array<[string, (line: string, r: (n: number) => number) => string]> = [
  ['cut short', (l, r) => l.slice(0, r(l.length + 1))],
  ['blanks between tokens', (l, r) => l.replace(/[{,:[]/g, (m) => (r(3) ? m : m + [' ', '\t', '  ', '\r'][r(4)]))],
  ['blanks before closers', (l, r) => l.replace(/[}\],]/g, (m) => (r(3) ? m : [' ', '\t'][r(2)] + m))],
  ['after the object', (l, r) => l + [' ', '\t', '\r', ' \r', 'x', '}', ' {}', ','][r(8)]],
  ['prefix', (l, r) => ['', ' ', '@nix  ', '@nix', '@nixx ', ' @nix ', '@NIX ', '@nix \t'][r(8)] + l.replace(/^@nix /, '')],
  ['ids', (l, r) => l.replace(/"(id|parent)":(-?\d+)/g, (_m, k: string, id: string) => `"${k}":${[id, `0${id}`, `00${id}`, `-${id}`, `${id}.0`, `${id}e0`, `"${id}"`, '18446744073709551615', '9007199254740993', '-0', '0', '00', 'null', '1E3', `${id}9`, `${id} `][r(16)]}`)],
  ['numbers', (l, r) => l.replace(/"(type|level)":(\d+)/g, (_m, k: string) => `"${k}":${['101', '107', '104', '105', '106', '0101', '01', '101.0', '1e2', '-1', '"101"', 'null', '3', '7', '99999999999', '4294967397'][r(16)]}`)],
  ['fields', (l, r) => l.replace(/"fields":\[[^\]]*\]/, () => `"fields":${['[]', '{}', '"x"', 'null', '[1,2]', '["a","b"]', '["a",1]', '[true]', '[null]', '[["x"]]', '[{"id":1}]', '[1.5]', '[-1]', '[01]', '[12345678901234567890]', '["x",]', '[,]', '[ "x" ]', '["x" ]', '["\\u001b[1mx"]'][r(20)]}`)],
  ['re-escaped text', (l, r) => l.replace(/"((?:[^"\\]|\\.)*)"(,"id"|}$|\])/, (_m, body: string, after: string) => {
    let out = ''
    for (const ch of body) {
      if (r(10) === 0 && ch !== '\\' && ch !== '"' && ch.length === 1) out += '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')[r(2) ? 'toLowerCase' : 'toUpperCase']()
      else out += ch
    }
    const extra = ['\\u001b[31m', '\\u001B[0m', '\\"', '\\\\', '\\/', '\\b\\f\\n\\r\\t', '\\u0000', '\\u00e9', '\\ud83d\\ude00', '\\ud83d', '\\ude00 x', '\\x', '\\u12', '\\', 'é☃😀', '\t', '\u001b', '\u007f', '\u0085'][r(19)]
    const at = r(out.length + 1)
    return `"${out.slice(0, at)}${extra}${out.slice(at)}"${after}`
  })],
  ['missing key', (l, r) => l.replace([/"fields":\[[^\]]*\],?/, /,?"id":-?\d+/, /,"type":\d+/, /"level":\d+,?/, /"parent":\d+,/, /,?"text":"(?:[^"\\]|\\.)*"/, /,"msg":"(?:[^"\\]|\\.)*"/][r(7)]!, '')],
  ['keys out of order or extra', (l, r) => [l.replace(/^(@nix )?\{/, '$1{"zzz":[1,{"a":"b"}],'), l.replace(/\}$/, ',"extra":true}'), l.replace(/\}$/, ',"id":1}'), l.replace(/"action":"(\w+)",/, '').replace(/\}$/, ',"action":"$1"}')][r(4)]!],
  ['action', (l, r) => l.replace(/"action":"\w+"/, `"action":${['"result"', '"start"', '"stop"', '"msg"', '"setPhase"', '1', 'null', '"Result"'][r(8)]}`)],
  ['error-info msg', (l) => l.replace(/"action":"msg","level":(\d+),"msg":/, '"action":"msg","column":null,"file":null,"level":$1,"line":3,"msg":')],
]

t.test('differential: fast paths and the general parser agree on mutated lines (messages and events)', async (t) => {
  const { BuildLogDecoder } = await import('../lib/dialects/build-log.js')
  const real: LineDecoderFactory = (sink) => new BuildLogDecoder(sink, new DecodeContext())
  const base: string[] = []
  for (const name of [BENCH, STANDARD, FAIL]) base.push(...sample(name).toString('utf8').split('\n').filter((l) => l !== ''))
  // Build-log lines as Nix writes them: escapes, quotes, non-ASCII, an id above 2^53.
  base.push(start('18446744073709551615', 105, "building '/nix/store/x.drv'", ['/nix/store/x.drv', '', 1, 1]).trimEnd())
  for (const p of ['plain', 'esc \u001b[1mbold\u001b[0m', 'q "x" \\ /', 'é ☃ 😀', 'tab\there', '\u001b[31;1merror:\u001b[0m ‘x’']) base.push(result('18446744073709551615', 101, [p]).trimEnd())
  const used = new Map<string, number>()
  const mutated: string[] = []
  for (const seed of [1, 2]) {
    const r = randomSource(seed)
    for (const line of base) {
      if (r(3) !== 0) {
        mutated.push(line)
        continue
      }
      let l = line
      for (let k = 1 + r(2); k > 0; k--) {
        const [name, mutate] = MUTATIONS[r(MUTATIONS.length)]!
        const next = mutate(l, r)
        if (next !== l) used.set(name, (used.get(name) ?? 0) + 1)
        l = next
      }
      mutated.push(l)
    }
  }
  for (const [name] of MUTATIONS) t.ok((used.get(name) ?? 0) >= 20, `mutation '${name}' applied (${used.get(name) ?? 0} times)`)

  // Messages: every line, fast scan against the general parser (key order included).
  let differ = 0
  let plainText = 0
  for (const line of mutated) {
    const b = Buffer.from(line, 'utf8')
    const fast = JSON.stringify(parseInternalJsonLine(b, 0, b.length))
    const general = JSON.stringify(generalMessage(b, 0, b.length))
    if (fast !== general && differ++ < 5) t.equal(fast, general, line)
    if (general === 'null') plainText++
  }
  t.equal(differ, 0, 'same message for every line')
  t.ok(plainText > 500 && plainText < mutated.length / 2, `both outcomes occur (${plainText} of ${mutated.length} lines are plain text)`)

  // Events: the batched hot path, the per-line fast scan and chunking against the general path alone.
  const input = Buffer.from(mutated.join('\n') + '\n', 'utf8')
  const want = JSON.stringify(generalEvents(input, real))
  for (const chunk of [0, 4096, 777]) t.equal(JSON.stringify(decodeAll(input, real, chunk)), want, `same events (chunk ${chunk || 'whole'})`)
})

t.test('broken JSON is plain text on every path: numbers with leading zeros', async (t) => {
  const { BuildLogDecoder } = await import('../lib/dialects/build-log.js')
  const real: LineDecoderFactory = (sink) => new BuildLogDecoder(sink, new DecodeContext())
  const p = (s: string) => {
    const b = Buffer.from(s)
    return parseInternalJsonLine(b, 0, b.length)
  }
  t.equal(p('@nix {"action":"stop","id":007}'), null)
  t.equal(p('@nix {"action":"start","id":5,"level":03,"parent":0,"text":"x","type":0}'), null)
  t.equal(p('@nix {"action":"result","fields":[01],"id":5,"type":106}'), null)
  t.equal(p('@nix {"action":"result","fields":["x"],"id":5,"type":0101}'), null)
  t.same(p('@nix {"action":"stop","id":0}'), { action: 'stop', id: '0' })
  const input = start('7', 105, 'b', ['/nix/store/b.drv']) + '@nix {"action":"result","fields":["zero-padded id"],"id":07,"type":101}\n' + '@nix {"action":"result","fields":["zero-padded type"],"id":7,"type":0101}\n'
  const got = lines(decodeAll(input, real)).map((l) => [text(l), l.section])
  t.same(got, [
    ['@nix {"action":"result","fields":["zero-padded id"],"id":07,"type":101}', 0],
    ['@nix {"action":"result","fields":["zero-padded type"],"id":7,"type":0101}', 0],
  ])
})

t.test('an escape-free payload reaches the decoder byte for byte, even malformed UTF-8', async (t) => {
  // The fast paths pass such a payload through untouched; with an escape in it the line is read
  // by the general parser, which (like Nix's JSON writer) turns malformed UTF-8 into U+FFFD.
  const line = (payload: Buffer) => Buffer.concat([Buffer.from('@nix {"action":"result","fields":["'), payload, Buffer.from('"],"id":1,"type":101}\n')])
  const input = Buffer.concat([
    Buffer.from(start('1', 105, 'b', ['/nix/store/b.drv'])),
    line(Buffer.from([0x61, 0xff, 0x62])),
    line(Buffer.from([0x61, 0xff, 0x62, 0x5c, 0x6e])),
  ])
  for (const chunk of [0, 1, 50]) {
    const got = lines(decodeAll(input, lineFactory, chunk)).map((l) => l.text.toString('hex'))
    t.same(got, ['61ff62', '61efbfbd62', ''], `chunk ${chunk}`)
  }
})

t.test('the C scan of result lines gives the events of the JavaScript path (mutated build-log lines)', async (t) => {
  t.ok(loadNativePassThrough(), 'the addon is loaded, so windows take the C scan')
  const ids = ['1', '42', '9223372036854775807', '18446744073709551615', '1234567890123456789', '12345678901234567890', '0', '77']
  const pieces = ['abc', ' ', 'x'.repeat(21), 'é', '\xff', '\xc3', '\\n', '\\t', '\\"', '\\\\', '\\/', '\\u001b[31m', '\\u00e9', '\\ud83d\\ude00', '\\ud83d', '\\ude00x', '\\x', '\\u12', '\t', '"', '\x1b[0m', '€']
  const pick = <T>(r: (n: number) => number, list: readonly T[]): T => list[r(list.length)]!
  const resultLine = (r: (n: number) => number): string => {
    let payload = ''
    for (let k = r(8); k > 0; k--) payload += pick(r, pieces)
    const id = r(10) === 0 ? pick(r, ['-5', '007', '1e3', '12.0', '3', '1234567890123456789012']) : pick(r, ids)
    return (
      pick(r, ['@nix ', '@nix ', '', '@nix', '@ni ']) +
      pick(r, ['{"action":"result","fields":["', '{"action":"result","fields":["', '{"action":"result", "fields":["']) +
      payload +
      pick(r, ['"],"id":', '"],"id":', '"], "id":', '"]}']) +
      id +
      pick(r, [',"type":101}', ',"type":107}', ',"type":101}', ',"type":104}', ',"type":101 }', ',"type":1010}']) +
      pick(r, ['', '', ' ', '\r', '\t ', ' x']) +
      '\n'
    )
  }
  const starts = ids.map((id) => (id === '77' ? `@nix {"action":"start","id":77,"level":0,"parent":0,"text":"","type":0}\n` : start(id, 105, `b${id}`, [`/nix/store/${id}.drv`])))
  let compared = 0
  for (let seed = 1; seed <= 150; seed++) {
    const r = prng(seed)
    let log = starts.join('')
    for (let k = 0; k < 300; k++) {
      if (r(60) === 0) log += `@nix {"action":"stop","id":${pick(r, ids)}}\n`
      else if (r(40) === 0) log += pick(r, ['plain text\n', '@nix {"action":"msg","level":3,"msg":"m"}\n', '\n'])
      else log += resultLine(r)
    }
    const input = Buffer.from(log, 'latin1')
    const decoded = (nativeScan: boolean, chunk: number): string => {
      const events: LogEvent[] = []
      const d = new InternalJsonDecoder((e) => events.push(e), new DecodeContext(), activityLogDecoder, { nativeScan })
      for (let i = 0; i < input.length; i += chunk) d.write(input.subarray(i, i + chunk))
      d.end()
      return JSON.stringify(events, (_k, v: unknown) => (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v))
    }
    const chunk = pick(r, [input.length, 1 + r(300), 4096])
    const expected = decoded(false, chunk)
    if (decoded(true, chunk) !== expected) return t.fail(`seed ${seed}, chunks of ${chunk}: the C scan differs`)
    compared++
  }
  t.equal(compared, 150, 'every seed gave the same events')
})
