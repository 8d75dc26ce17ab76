import t from 'tap'
import { classifyNixLine, classifyNixObject, isNixCandidate } from '../lib/dialects/nix-line.js'
import { JSON_FAIL, isJsonObject, tryParseNixJson } from '../lib/dialects/nix-json.js'
import type { NixLine } from '../lib/dialects/nix-line.js'
import { hex, vectors } from './helpers/fixtures.js'

const cl = (s: string | Buffer): NixLine | null => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s
  return classifyNixLine(b, 0, b.length)
}

/** Exact expectations for every handled vector. */
const expected: Record<string, NixLine> = {
  J01: { kind: 'setPhase', phase: 'buildPhase' },
  J02: { kind: 'setPhase', phase: 'unpackPhase' },
  J03: { kind: 'msg', level: 3, msg: 'hello' },
  J04: { kind: 'msg', level: 0, msg: 'boom' },
  J05: { kind: 'start', id: '7', parent: '0', type: 101, level: 4, text: "downloading 'https://x'", fields: ['https://x'] },
  J06: { kind: 'start', id: '8', parent: '0', type: 105, level: 3, text: 'x', fields: [] },
  J07: { kind: 'result', id: '999', type: 101, fields: ['x'] },
  J08: { kind: 'stop', id: '7' },
  J09: { kind: 'unknown', action: 'frobnicate' },
  J20: { kind: 'setPhase', phase: 'x' },
  J22: { kind: 'setPhase', phase: 'x' },
  J24: { kind: 'start', id: '10', parent: '0', type: 101, level: 4, text: 't', fields: [] },
}

t.test('every nixJsonHandling vector: handled true ⇒ structural, false/null ⇒ ordinary', async (t) => {
  t.equal(vectors.nixJsonHandling.length, 25)
  const seen = new Set<string>()
  for (const v of vectors.nixJsonHandling) {
    const line = hex(v.line_hex)
    const got = classifyNixLine(line, 0, line.length)
    if (v.handled === true) {
      t.not(got, null, `${v.id} handled`)
      t.same(got, expected[v.id], `${v.id} value`)
      seen.add(v.id)
    } else {
      t.equal(got, null, `${v.id} ordinary (handled=${v.handled})`)
    }
  }
  t.same([...seen].sort(), Object.keys(expected).sort(), 'every handled vector has an exact expectation')
})

t.test('candidate test: exactly "@nix " at column 0, case-sensitive', async (t) => {
  const byId = new Map(vectors.nixJsonHandling.map((v) => [v.id, hex(v.line_hex)]))
  for (const id of ['J16', 'J17', 'J18']) {
    const b = byId.get(id)!
    t.equal(isNixCandidate(b, 0, b.length), false, id)
  }
  for (const id of ['J01', 'J11', 'J25']) {
    const b = byId.get(id)!
    t.equal(isNixCandidate(b, 0, b.length), true, id)
  }
  t.equal(isNixCandidate(Buffer.from('@nix'), 0, 4), false)
  t.equal(isNixCandidate(Buffer.from('x@nix {}'), 1, 8), true, 'range start honoured')
  t.equal(isNixCandidate(Buffer.from('@nix {}'), 0, 4), false, 'range end honoured')
  t.equal(isNixCandidate(Buffer.from('@nix\t{}'), 0, 7), false)
})

t.test('ranges inside a larger buffer', async (t) => {
  const buf = Buffer.from('junk\n@nix {"action":"setPhase","phase":"configurePhase"}\nmore')
  const s = 5
  const e = buf.indexOf('\n', s)
  t.same(classifyNixLine(buf, s, e), { kind: 'setPhase', phase: 'configurePhase' })
  t.equal(classifyNixLine(buf, s, e + 3), null, 'trailing bytes past the JSON')
  t.equal(classifyNixLine(buf, 0, 4), null)
})

t.test('ordinary lines', async (t) => {
  for (const s of [
    '@nix null',
    '@nix []',
    '@nix "setPhase"',
    '@nix {"phase":"x"}',
    '@nix {"action":["setPhase"],"phase":"x"}',
    '@nix {"action":"setPhase","phase":null}',
    '@nix {"action":"setPhase","phase":["x"]}',
    '@nix {"action":"msg","msg":"no level"}',
    '@nix {"action":"msg","level":"3","msg":"string level"}',
    '@nix {"action":"msg","level":3,"msg":42}',
    '@nix {"action":"msg","level":3}',
    '@nix {"action":"stop"}',
    '@nix {"action":"stop","id":null}',
    '@nix {"action":"stop","id":"abc"}',
    '@nix {"action":"start","id":1,"level":3,"text":"t"}', // type missing
    '@nix {"action":"start","id":1,"level":3,"text":"t","type":"105"}',
    '@nix {"action":"start","id":1,"level":3,"type":101}', // 101 needs text
    '@nix {"action":"start","level":3,"text":"t","type":101}', // 101 needs id
    '@nix {"action":"start","id":1,"text":"t","type":101}', // 101 needs level
    '@nix {"action":"start","id":1,"level":3,"text":"t","type":105,"fields":[-1]}',
    '@nix {"action":"start","id":1,"level":3,"text":"t","type":105,"fields":[1.5]}',
    '@nix {"action":"start","id":1,"level":3,"text":"t","type":105,"fields":[null]}',
    '@nix {"action":"start","id":1,"level":3,"text":"t","type":105,"fields":[{"a":1}]}',
    '@nix {"action":"start","id":1,"level":3,"text":"t","type":105,"fields":"x"}',
    '@nix {"action":"result","id":1,"type":101,"fields":[true]}',
    '@nix {"action":"result","id":1,"type":101,"fields":[-0]}',
    '@nix {"action":"setPhase","phase":"x"}}',
    '@nix {"action":"setPhase","phase":"\\ud800"}', // lone surrogate: bad JSON
    '@nix {"action":"setPhase","phase":"a\tb"}', // raw TAB: bad JSON
    '@nix\u00a0{"action":"setPhase","phase":"x"}',
    '',
    'plain text',
  ]) {
    t.equal(cl(s), null, s)
  }
})

t.test('handled lines beyond the vectors', async (t) => {
  t.same(cl('@nix {"action":"setPhase","phase":""}'), { kind: 'setPhase', phase: '' })
  t.same(cl('@nix {"action":"setPhase","phase":"x"}\r'), { kind: 'setPhase', phase: 'x' }, 'CR is JSON whitespace')
  t.same(cl('@nix {"phase":"fixupPhase","action":"setPhase","extra":{"deep":[1,{"a":null}]}}'), { kind: 'setPhase', phase: 'fixupPhase' })
  t.same(cl('@nix {"action":"msg","level":3.9,"msg":"truncated level"}'), { kind: 'msg', level: 3, msg: 'truncated level' })
  t.same(cl('@nix {"action":"msg","level":9,"msg":"above vomit"}'), { kind: 'msg', level: 9, msg: 'above vomit' })
  t.same(
    cl('@nix {"action":"msg","column":null,"file":null,"level":0,"line":null,"msg":"\\u001b[31;1merror:\\u001b[0m x","raw_msg":"x"}'),
    { kind: 'msg', level: 0, msg: '\x1b[31;1merror:\x1b[0m x', raw: 'x', file: null, line: null, column: null },
  )
  t.same(cl('@nix {"action":"msg","column":7,"file":"/a.nix","level":1,"line":3,"msg":"w"}'), {
    kind: 'msg',
    level: 1,
    msg: 'w',
    file: '/a.nix',
    line: 3,
    column: 7,
  })
  // 64-bit ids stay exact.
  t.same(cl('@nix {"action":"start","fields":["/nix/store/x.drv","",1,1],"id":11780004371234839,"level":3,"parent":11780004371234816,"text":"building","type":105}'), {
    kind: 'start',
    id: '11780004371234839',
    parent: '11780004371234816',
    type: 105,
    level: 3,
    text: 'building',
    fields: ['/nix/store/x.drv', '', 1, 1],
  })
  t.same(cl('@nix {"action":"stop","id":11780004371234817}'), { kind: 'stop', id: '11780004371234817' })
  t.same(cl('@nix {"action":"result","fields":[18446744073709551615],"id":1,"type":105}'), {
    kind: 'result',
    id: '1',
    type: 105,
    fields: ['18446744073709551615'],
  })
  // Swallowed without anything to act on (Nix reads nothing more from untrusted builders).
  t.same(cl('@nix {"action":"start","type":105}'), { kind: 'unknown', action: 'start' })
  t.same(cl('@nix {"action":"result"}'), { kind: 'unknown', action: 'result' })
  t.same(cl('@nix {"action":"result","id":1}'), { kind: 'unknown', action: 'result' })
  t.same(cl('@nix {"action":""}'), { kind: 'unknown', action: '' })
  t.same(cl('@nix {"action":"setphase","phase":"x"}'), { kind: 'unknown', action: 'setphase' })
  // Unknown activity and result types are fine.
  t.same(cl('@nix {"action":"start","fields":["/src",0],"id":3,"level":4,"parent":0,"text":"fetching","type":113}'), {
    kind: 'start',
    id: '3',
    parent: '0',
    type: 113,
    level: 4,
    text: 'fetching',
    fields: ['/src', 0],
  })
  t.same(cl('@nix {"action":"result","fields":["/nix/store/p"],"id":3,"type":109}'), { kind: 'result', id: '3', type: 109, fields: ['/nix/store/p'] })
  t.same(cl('@nix {"action":"msg","level":3,"msg":"caf\u00e9 \\u00e9"}'), { kind: 'msg', level: 3, msg: 'café é' })
  const invalid = Buffer.concat([Buffer.from('@nix {"action":"msg","level":3,"msg":"a'), Buffer.from([0xff]), Buffer.from('b"}')])
  t.same(cl(invalid), { kind: 'msg', level: 3, msg: 'a\ufffdb' }, 'invalid UTF-8 → U+FFFD')
})

/** What the parser makes of a line: classifyNixLine without its shortcut for setPhase as written. */
const parsed = (b: Buffer): NixLine | null => {
  if (!isNixCandidate(b, 0, b.length)) return null
  const v = tryParseNixJson(b, 5, b.length)
  return v === JSON_FAIL || !isJsonObject(v) ? null : classifyNixObject(v)
}

t.test('setPhase as stdenv and Nix write it: the shortcut answers as the parser does', async (t) => {
  const spellings = ['@nix { "action": "setPhase", "phase": "NAME" }', '@nix {"action":"setPhase","phase":"NAME"}']
  const names = ['unpackPhase', '', 'x', ' spaced name ', 'a/b-c.d_e+f', '\\"q\\"', 'tab\\tname', '\\u0041', 'caf\u00e9', '\u4e2d',
    ...Array.from({ length: 95 }, (_, k) => 'p' + String.fromCharCode(0x20 + k) + 'q')]
  const ends = ['', ' ', '\r', '\t', '\n', ' \r ', 'x', '}', ',', ' }', '\u000b']
  let cases = 0
  let fast = 0
  const check = (b: Buffer, what: string): void => {
    const want = parsed(b)
    const got = classifyNixLine(b, 0, b.length)
    if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, what)
    if (want?.kind === 'setPhase') fast++
    cases++
  }
  for (const spelling of spellings) {
    for (const name of names) {
      const line = Buffer.from(spelling.replace('NAME', name), 'utf8')
      for (const end of ends) check(Buffer.concat([line, Buffer.from(end, 'latin1')]), `${JSON.stringify(line.toString())} + ${JSON.stringify(end)}`)
      // every cut, and every byte replaced by a few that matter to the shortcut
      for (let at = 0; at < line.length; at++) {
        check(line.subarray(0, at), `cut at ${at}`)
        for (const c of [0x22, 0x5c, 0x20, 0x7d, 0x7b, 0x00, 0x1f, 0x7f, 0x80, 0xff, 0x41, 0x3a]) {
          const m = Buffer.from(line)
          m[at] = c
          check(m, `${JSON.stringify(line.toString())} byte ${at} → ${c}`)
        }
      }
      // inside a larger buffer, with the line's bytes running on past its end
      const wide = Buffer.concat([Buffer.from('xx'), line, Buffer.from('"} more')])
      const end = 2 + line.length
      t.same(classifyNixLine(wide, 2, end), parsed(line), `${JSON.stringify(line.toString())} in a larger buffer`)
    }
  }
  t.ok(cases > 10000 && fast > 200, `${cases} lines compared, ${fast} of them setPhase`)
})
