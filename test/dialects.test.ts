import t from 'tap'
import { decode } from '../dist/index.js'
import type { LogEvent } from '../dist/events.js'
import { brief, invariantProblems } from './helpers/events.js'
import { splits } from './helpers/fixtures.js'

const events = (input: string, dialect?: 'prefixed' | 'build') => decode(Buffer.from(input, 'latin1'), dialect ? { dialect } : {})

t.test('phases: both setPhase spellings, header adoption, nests inside phases', async (t) => {
  const log = 'pre\nRunning phase: unpackPhase\n@nix { "action": "setPhase", "phase": "unpackPhase" }\nunpacking\n@nix {"action":"setPhase","phase":"buildPhase"}\nmake\n\x1b[pnest\ninner\n\x1b[q@nix {"action":"msg","level":0,"msg":"boom"}\n'
  t.same(brief(events(log)), [
    'line 0 "pre"',
    'open 1<0 phase "unpackPhase"',
    'line 1 "Running phase: unpackPhase" head',
    'line 1 "unpacking"',
    'close 1',
    'open 2<0 phase "buildPhase"',
    'line 2 "make"',
    'open 3<2 nest',
    'line 3 "nest" head',
    'line 3 "inner"',
    'close 3',
    'line 2 "boom" error',
    'close 2',
  ])
})

t.test('a Running phase line for another phase is not adopted', async (t) => {
  t.same(brief(events('Running phase: configurePhase\n@nix {"action":"setPhase","phase":"buildPhase"}\n')), [
    'line 0 "Running phase: configurePhase"',
    'open 1<0 phase "buildPhase"',
    'close 1',
  ])
})

t.test('a Running phase line is adopted only by the phase it names, byte for byte', async (t) => {
  const adopted = (header: string, phase: string): boolean => {
    // (the input is read as latin1: the name goes in JSON escapes)
    const name = JSON.stringify(phase).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    const line = events(`${header}\n@nix {"action":"setPhase","phase":${name}}\n`).find((e) => e.type === 'line')
    return line?.type === 'line' && line.head
  }
  t.ok(adopted('Running phase: buildPhase', 'buildPhase'))
  t.notOk(adopted('Running phase: buildPhasX', 'buildPhase'), 'same length, one byte differs')
  t.notOk(adopted('Running phase: buildPhase2', 'buildPhase'), 'longer')
  t.notOk(adopted('Running phase: build', 'buildPhase'), 'shorter')
  t.notOk(adopted('Running phasE: buildPhase', 'buildPhase'), 'not the header')
  t.ok(adopted('Running phase: caf\xc3\xa9', 'café'), 'a name in UTF-8')
  t.notOk(adopted('Running phase: caf\xc3\xa9', 'cafe'))
  t.ok(adopted('Running phase: x\xff', 'x\ufffd'), 'an invalid byte reads as U+FFFD, as Nix prints it')
})

t.test('CI markers: GitHub, GitLab, Travis, TeamCity (spec §7)', async (t) => {
  const log =
    '::group::Build %25 it\nx\n::GROUP::Two\ny\n::endgroup::\n' +
    '\x1b[0Ksection_start:1700000000:tests[collapsed=true]\r\x1b[0KRunning tests\n\x1b[pleg\nt1\n\x1b[0Ksection_end:1700000060:tests\r\x1b[0K\n' +
    'travis_fold:start:inst\r\x1b[0K\nz\ntravis_fold:end:inst\n' +
    "##teamcity[blockOpened name='b1' description='Block |'one|'']\nw\n##teamcity[blockClosed name='b1']\n" +
    '::endgroup::\nsection_end:1:nothing\r\x1b[0K\n'
  const ev = events(log)
  t.same(brief(ev), [
    'open 1<0 ci "Build % it"',
    'line 1 "x"',
    'close 1',
    'open 2<0 ci "Two"',
    'line 2 "y"',
    'close 2',
    'open 3<0 ci "Running tests"',
    'open 4<3 nest',
    'line 4 "leg" head',
    'line 4 "t1"',
    'status 3 {"endTime":1700000060}',
    'close 4',
    'close 3',
    'open 5<0 ci "inst"',
    'line 5 "z"',
    'close 5',
    'open 6<0 ci "Block \'one\'"',
    'line 6 "w"',
    'close 6',
    'diagnostic unclosed-at-eof', // the legacy stream itself never closed the nest the CI close ended
  ], 'a GitHub group ends the open one (D-20); a CI close ends legacy nests inside it; unmatched closes vanish (D-21)')
  const gitlab = ev.find((e) => e.type === 'open' && e.id === 3)
  t.same(gitlab?.type === 'open' && gitlab.attrs, { system: 'gitlab', name: 'tests', startTime: 1700000000, collapsed: true })
  t.same(invariantProblems(ev), [])
})

t.test('CI markers after a line timestamp (a downloaded GitHub Actions log) are markers, dated by it', async (t) => {
  const log =
    '2024-05-01T00:00:00.0230000Z ##[group]Run npm ci\n' +
    '2024-05-01T00:00:01.5Z added 12 packages\n' +
    '2024-05-01T00:00:03.0230000Z ##[endgroup]\n' +
    '2024-05-01T00:00:04Z ::group::Build\n' +
    '2024-05-01T00:01:04.25Z ::group::Test\n' + // ends Build (D-20), at its own time
    '2024-05-01T00:00:05.0000000000Z ::endgroup::\n' + // ten fraction digits: not a stamp
    '2024-05-01T00:00:06.Z ::endgroup::\n' + // no fraction digits: not a stamp
    'x 2024-05-01T00:00:07Z ::endgroup::\n' + // a stamp not at the line's start
    '2024-13-01T00:00:08Z ::endgroup::\n' // the shape of a stamp, but no date: a marker without a time
  const ev = events(log)
  t.same(brief(ev), [
    'open 1<0 ci "Run npm ci"',
    'line 1 "2024-05-01T00:00:01.5Z added 12 packages"',
    'status 1 {"endTime":1714521603.023}',
    'close 1',
    'open 2<0 ci "Build"',
    'status 2 {"endTime":1714521664.25}',
    'close 2',
    'open 3<0 ci "Test"',
    'line 3 "2024-05-01T00:00:05.0000000000Z ::endgroup::"',
    'line 3 "2024-05-01T00:00:06.Z ::endgroup::"',
    'line 3 "x 2024-05-01T00:00:07Z ::endgroup::"',
    'close 3',
  ])
  const opens = ev.filter((e) => e.type === 'open')
  t.same(opens.map((e) => e.type === 'open' && e.attrs?.startTime), [1714521600.023, 1714521604, 1714521664.25], 'each group starts at its line\'s time')
  t.same(invariantProblems(ev), [])
  const { createDecoder } = await import('../dist/decoder.js')
  for (const chunks of splits(Buffer.from(log, 'latin1'), 0)) {
    const out: LogEvent[] = []
    const d = createDecoder((e) => out.push(e))
    for (const c of chunks) d.write(c)
    d.end()
    if (JSON.stringify(out) !== JSON.stringify(ev)) return t.fail(`differs when split: ${chunks.map((c) => c.length).join('+')}`)
  }
  t.pass('the same at every split point')
})

t.test('a legacy close after a CI close ended its nest closes nothing else', async (t) => {
  const ev = events('\x1b[pouter\n::group::g\n\x1b[pinner\n::endgroup::\nafter\n\x1b[q\x1b[q')
  t.same(invariantProblems(ev), [])
  t.same(brief(ev).filter((l) => l.startsWith('open') || l.startsWith('close')), ['open 1<0 nest', 'open 2<1 ci "g"', 'open 3<2 nest', 'close 3', 'close 2', 'close 1'])
})

t.test('nix build -L output: one section per build, interleaved lines stay in order', async (t) => {
  const log =
    'these 2 derivations will be built:\n' +
    'hello> Running phase: unpackPhase\nworld> a\nhello> b\n\x1b[2mhello> \x1b[0m\x1b[31mred\x1b[0m\nworld> c\n' +
    "error: builder for '/nix/store/0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6-hello-2.12.drv' failed with exit code 1\n"
  const ev = events(log)
  t.same(brief(ev), [
    'line 0 "these 2 derivations will be built:"',
    'open 1<0 build "hello"',
    'open 2<1 phase "unpackPhase"',
    'line 2 "Running phase: unpackPhase" head',
    'open 3<0 build "world"',
    'line 3 "a"',
    'line 2 "b"',
    'line 2 "red"',
    'line 3 "c"',
    'status 1 {"failed":true}',
    `line 0 "error: builder for '/nix/store/0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6-hello-2.12.drv' failed with exit code 1"`,
    'close 2',
    'close 1 failed',
    'close 3',
  ], 'detected automatically; the failed build is marked')
  const red = ev.find((e) => e.type === 'line' && e.text.toString() === 'red')
  t.same(red?.type === 'line' && red.styles, [{ at: 0, params: '31' }, { at: 3, params: '0' }], 'styles after the prefix are kept and shifted')
  t.same(invariantProblems(ev), [])
  t.same(brief(events('hello> x\n', 'build')), ['line 0 "hello> x"'], '--dialect build turns demultiplexing off')
  const cannot = events("hello> a\nworld> b\nerror: Cannot build '/nix/store/0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6-world-1.0.drv'.\n")
  t.same(brief(cannot).filter((l) => l.startsWith('close')), ['close 1', 'close 2 failed'], "Nix's `Cannot build` marks that build failed")
})

t.test('nix build -L: a build opened inside a section ends with it; its next line opens a new build', async (t) => {
  const log =
    '::group::first\nhello> a\nworld> b\nhello> c\n::endgroup::\n' +
    'hello> d\n\x1b[pnest\nhello> e\nworld> f\n\x1b[qhello> g\nworld> h\n'
  const ev = events(log, 'prefixed')
  t.same(invariantProblems(ev), [])
  t.same(brief(ev), [
    'open 1<0 ci "first"',
    'open 2<1 build "hello"',
    'line 2 "a"',
    'open 3<1 build "world"',
    'line 3 "b"',
    'line 2 "c"',
    'close 2',
    'close 3',
    'close 1',
    'open 4<0 build "hello"',
    'line 4 "d"',
    'open 5<0 nest',
    'line 5 "nest" head',
    // hello (4) was opened at the top level: it lives on; world is new inside the nest
    'line 4 "e"',
    'open 6<5 build "world"',
    'line 6 "f"',
    'close 6',
    'close 5',
    'line 4 "g"',
    'open 7<0 build "world"',
    'line 7 "h"',
    'close 4',
    'close 7',
  ])
})

t.test('nix build -L: styles and removed escapes inside the prefix', async (t) => {
  const lines = events('\x1b[2mgo> \x1b[33mwarm\x1b[0m\n\x1b[1mgo\x1b[K> \x1b[2Kx\x1b[m\n\x1b[2mgo> \x1b[0mplain\n', 'prefixed').filter((e) => e.type === 'line')
  t.same(
    lines.map((e) => e.type === 'line' && [e.text.toString(), e.styles ?? null, e.removed ?? null]),
    [
      ['warm', [{ at: 0, params: '33' }, { at: 4, params: '0' }], null],
      // bold set inside the prefix is still in force where the text starts; the ESC[K inside the
      // prefix goes with it, the ESC[2K after it stays, at text position 0
      ['x', [{ at: 0, params: '1' }, { at: 1, params: '' }], [0]],
      ['plain', null, null],
    ],
    'the style in force where the text starts is kept at 0, a reset is not; the rest shift back',
  )
})

t.test('SGR parameters come out as written, however alike their bytes', async (t) => {
  // Short parameter strings are shared between lines by a key made of their bytes: strings that
  // differ only in leading zeros, length or a separator must still come out as written.
  const paramByte = Array.from({ length: 16 }, (_, k) => String.fromCharCode(0x30 + k)).filter((c) => !'<=>?'.includes(c)) // those four first are private
  const anyPair = Array.from({ length: 256 }, (_, k) => String.fromCharCode(0x30 + (k >> 4), 0x30 + (k & 15))).filter((p) => !'<=>?'.includes(p[0]!))
  const params = ['01;35', '1;35', '001;35', '0;1;32', '38;5;1', '38:5:1', '1;31', '01;31', '001', '01', '1', '0', '', '1;', ';1', '38;5;208', '48;2;1;2;3', '1;3', '13', '1:3', ...paramByte, ...anyPair]
  const input = params.map((p, i) => `\x1b[${p}m${i}\n`).join('')
  for (const round of [1, 2]) {
    const got = events(input).flatMap((e) => (e.type === 'line' ? (e.styles ?? []).map((s) => s.params) : []))
    t.same(got, params, `round ${round}: every parameter string as in the input`)
  }
})

t.test('events do not depend on chunking (every split of a mixed log)', async (t) => {
  const input = Buffer.from('pre\nRunning phase: buildPhase\n@nix {"action":"setPhase","phase":"buildPhase"}\n::group::G\r\n\x1b[pH\nx\x1b[31my\x1b[0m\r\n::endgroup::\n\x1b[0Ksection_start:1:s\r\x1b[0KS\nz\n\x1b[0Ksection_end:2:s\r\x1b[0K\n', 'latin1')
  const serialise = (ev: unknown) => JSON.stringify(ev)
  const whole = serialise(decode(input))
  let bad = 0
  for (const chunks of splits(input, 0)) {
    const out: unknown[] = []
    const { createDecoder } = await import('../dist/decoder.js')
    const d = createDecoder((e) => out.push(e))
    for (const c of chunks) d.write(c)
    d.end()
    if (serialise(out) !== whole) bad++
  }
  t.equal(bad, 0)
})

t.test('line events say where escapes were removed (placeholders), across carriage returns', async (t) => {
  const lines = decode(Buffer.from('a\x1b]0;t\x07b\x1b[31mc\x1b[2Kd\r\nxx\x1b[Ky\rz\x1b[1Aw\nplain\n', 'latin1')).filter((e) => e.type === 'line')
  t.same(lines.map((e) => e.type === 'line' && [e.text.toString(), e.removed]), [
    ['abcd', [1, 3]],
    ['zw', [1]],
    ['plain', undefined],
  ])
})

t.test('detection reads its 200 lines past the first slices of the sniff window', async (t) => {
  const { detect } = await import('../dist/dialects/detect.js')
  // lines of ~100 bytes: the 200 that decide span 20 KiB, several of the slices detection frames
  const plain = (k: number) => `plain build output line ${k} `.padEnd(99, '.') + '\n'
  const json = (k: number) => `@nix {"action":"msg","level":3,"msg":"${'m'.repeat(60)} ${k}"}\n`
  const prefixed = (k: number) => `hello-2.12> compiling ${k} `.padEnd(99, '.') + '\n'
  const log = (...parts: Array<[number, (k: number) => string]>) => Buffer.from(parts.map(([n, f]) => Array.from({ length: n }, (_, k) => f(k)).join('')).join(''))
  t.same(detect(log([15, plain], [300, json]), false), { dialect: 'internal-json', prefixed: false }, '185 of the first 200 lines are internal-json')
  t.same(detect(log([25, plain], [300, json]), false), { dialect: 'build', prefixed: false }, '175 of 200 are too few')
  t.same(detect(log([100, plain], [300, prefixed]), false), { dialect: 'build', prefixed: true }, 'half of the first 200 lines carry a prefix')
  t.same(detect(log([110, plain], [300, prefixed]), false), { dialect: 'build', prefixed: false }, 'lines past the 200th do not count')
  t.same(detect(log([40, (k) => '\n'], [15, plain], [200, json]), false), { dialect: 'internal-json', prefixed: false }, 'empty lines are not counted')
})
