import t from 'tap'
import { JSON_FAIL, MAX_DEPTH, NixJsonError, parseNixJson, tryParseNixJson, tryParseNixJsonPrefix, lastPrefixEnd } from '../lib/dialects/nix-json.js'
import { hex, sample, vectors } from './helpers/fixtures.js'

const p = (s: string) => parseNixJson(Buffer.from(s, 'utf8'))
const fails = (s: string | Buffer) => tryParseNixJson(typeof s === 'string' ? Buffer.from(s, 'utf8') : s) === JSON_FAIL

t.test('plain values', async (t) => {
  t.same(p('null'), null)
  t.equal(p('true'), true)
  t.equal(p('false'), false)
  t.equal(p('0'), 0)
  t.equal(p('-12'), -12)
  t.equal(p('1.5'), 1.5)
  t.equal(p('-1.25e2'), -125)
  t.equal(p('1E+3'), 1000)
  t.ok(Object.is(p('-0'), -0))
  t.equal(p('"abc"'), 'abc')
  t.same(p('[]'), [])
  t.same(p('{}'), {})
  t.same(p('[1,"a",[true,null],{"k":[]}]'), [1, 'a', [true, null], { k: [] }])
  t.same(p(' \t\r\n{ "a" : 1 , "b" : [ 2 , 3 ] } \n'), { a: 1, b: [2, 3] })
})

t.test('integers: safe → number, unsafe → exact decimal string', async (t) => {
  t.equal(p('9007199254740991'), 9007199254740991)
  t.equal(p('-9007199254740991'), -9007199254740991)
  t.equal(p('9007199254740992'), '9007199254740992')
  t.equal(p('11780004371234839'), '11780004371234839')
  t.equal(p('-11780004371234839'), '-11780004371234839')
  t.equal(p('123456789012345678901234567890'), '123456789012345678901234567890')
  t.equal(p('123456789012345'), 123456789012345)
  t.equal(p('1000000000000000'), 1000000000000000)
  // Non-integers are numbers, whatever their length.
  t.equal(p('11780004371234839.5'), 11780004371234839.5)
  t.equal(p('1e300'), 1e300)
})

t.test('id and parent integers are always strings, at any depth', async (t) => {
  t.same(p('{"id":7,"parent":0,"other":7}'), { id: '7', parent: '0', other: 7 })
  t.same(p('{"id":11780004371234839,"parent":11780004371234816}'), { id: '11780004371234839', parent: '11780004371234816' })
  t.same(p('{"a":[{"id":-5}],"b":{"parent":42}}'), { a: [{ id: '-5' }], b: { parent: '42' } })
  // Only the direct value of the key: array elements and floats are not affected.
  t.same(p('{"id":[1,2],"parent":1.5}'), { id: [1, 2], parent: 1.5 })
  t.same(p('{"id":"x","parent":null}'), { id: 'x', parent: null })
  // The naive JSON.parse would merge these.
  const a = p('{"id":11780004371234816}') as { id: string }
  const b = p('{"id":11780004371234817}') as { id: string }
  t.not(a.id, b.id)
  t.equal((JSON.parse('{"id":11780004371234816}') as { id: number }).id, (JSON.parse('{"id":11780004371234817}') as { id: number }).id)
})

t.test('strings: escapes, surrogates, control characters', async (t) => {
  t.equal(p('"a\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti"'), 'a"b\\c/d\be\ff\ng\rh\ti')
  t.equal(p('"\\u0041\\u00e9\\u20AC"'), 'Aé€')
  t.equal(p('"\\u001b[31;1merror:\\u001b[0m x"'), '\x1b[31;1merror:\x1b[0m x')
  t.equal(p('"\\ud83d\\ude00!"'), '😀!')
  t.equal(p('"😀 é"'), '😀 é')
  t.ok(fails('"\\ud83d"'), 'lone high surrogate')
  t.ok(fails('"\\ud83dx"'), 'high surrogate followed by text')
  t.ok(fails('"\\ud83d\\u0041"'), 'high surrogate followed by non-low escape')
  t.ok(fails('"\\ude00"'), 'lone low surrogate')
  t.ok(fails('"\\x41"'), 'invalid escape')
  t.ok(fails('"\\u12"'), 'short \\u')
  t.ok(fails('"\\u12g4"'), 'bad hex')
  t.ok(fails('"a\nb"'), 'raw LF in string')
  t.ok(fails('"a\tb"'), 'raw TAB in string')
  t.ok(fails(Buffer.from([0x22, 0x00, 0x22])), 'raw NUL')
  t.ok(fails('"abc'), 'unterminated')
  t.ok(fails('"abc\\'), 'unterminated after backslash')
  t.equal(p('"\x7f"'), '\x7f', 'DEL is allowed')
})

t.test('invalid UTF-8 decodes like a non-fatal TextDecoder', async (t) => {
  const td = new TextDecoder()
  const cases = ['ff', 'c0af', 'e282', 'e28228', 'f09f98', 'eda080', 'f4908080', 'c3', 'e2ff82ac', '80bf', 'fe', 'e0808f']
  for (const h of cases) {
    const inner = Buffer.from(`41${h}42`, 'hex')
    const json = Buffer.concat([Buffer.from('"'), inner, Buffer.from('"')])
    t.equal(parseNixJson(json), td.decode(inner), h)
    // Also next to an escape (the slow path slices runs between escapes).
    const json2 = Buffer.concat([Buffer.from('"\\n'), inner, Buffer.from('\\t"')])
    t.equal(parseNixJson(json2), '\n' + td.decode(inner) + '\t', `${h} with escapes`)
  }
})

t.test('rejects what Nix calls bad JSON (J11, J19, J25) and allows surrounding whitespace (J22)', async (t) => {
  const byId = new Map(vectors.nixJsonHandling.map((v) => [v.id, hex(v.line_hex)]))
  const rest = (id: string) => byId.get(id)!.subarray(5)
  t.ok(fails(rest('J11')), 'J11 ][')
  t.ok(fails(rest('J19')), 'J19 trailing garbage')
  t.ok(fails(rest('J25')), 'J25 empty')
  t.same(parseNixJson(rest('J22')), { action: 'setPhase', phase: 'x' }, 'J22 whitespace around')
  t.same(parseNixJson(rest('J12')), 1, 'J12 is valid JSON (a number)')
  t.ok(fails('   '), 'whitespace only')
  t.ok(fails('{} {}'), 'two values')
  t.ok(fails('{"a":1,}'), 'trailing comma in object')
  t.ok(fails('[1,]'), 'trailing comma in array')
  t.ok(fails('{"a" 1}'), 'missing colon')
  t.ok(fails('{a:1}'), 'unquoted key')
  t.ok(fails("{'a':1}"), 'single quotes')
  t.ok(fails('01'), 'leading zero')
  t.ok(fails('-'), 'lone minus')
  t.ok(fails('1.'), 'empty fraction')
  t.ok(fails('.5'), 'no integer part')
  t.ok(fails('+1'), 'plus sign')
  t.ok(fails('1e'), 'empty exponent')
  t.ok(fails('tru'), 'truncated literal')
  t.ok(fails('nulll'), 'literal with garbage')
  t.ok(fails('NaN'), 'NaN')
  t.ok(fails('\u00a0{}'), 'NBSP is not JSON whitespace')
  t.ok(fails('\f{}'), 'form feed is not JSON whitespace')
})

t.test('errors: NixJsonError with offset, or the JSON_FAIL sentinel', async (t) => {
  t.equal(tryParseNixJson(Buffer.from('{"a":1} x')), JSON_FAIL)
  try {
    parseNixJson(Buffer.from('{"a":1} x'))
    t.fail('should throw')
  } catch (e) {
    t.ok(e instanceof NixJsonError)
    t.equal((e as NixJsonError).offset, 8)
    t.match((e as Error).message, /trailing garbage/)
  }
  try {
    parseNixJson(Buffer.from('@nix {"a":}'), 5)
    t.fail('should throw')
  } catch (e) {
    t.equal((e as NixJsonError).offset, 10, 'offsets are absolute in the buffer')
  }
})

t.test('bounded depth: deeper input fails instead of crashing', async (t) => {
  const nest = (n: number) => '['.repeat(n) + ']'.repeat(n)
  t.same(p(nest(MAX_DEPTH)).constructor, Array)
  t.ok(fails(nest(MAX_DEPTH + 1)))
  t.ok(fails(nest(200000)))
  t.ok(fails('{"a":'.repeat(100000)))
  const objs = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
  t.ok(tryParseNixJson(Buffer.from(objs(MAX_DEPTH))) !== JSON_FAIL)
  t.ok(fails(objs(MAX_DEPTH + 1)))
})

t.test('ranges, string input, Uint8Array input', async (t) => {
  const buf = Buffer.from('xx@nix {"id":12345678901234567,"t":"é"}\nyy')
  const start = buf.indexOf('{')
  const end = buf.indexOf('\n')
  t.same(parseNixJson(buf, start, end), { id: '12345678901234567', t: 'é' })
  t.equal(tryParseNixJson(buf, start, end + 1) !== JSON_FAIL, true, 'LF is whitespace')
  t.equal(tryParseNixJson(buf, start, end + 2), JSON_FAIL, 'y after the value')
  t.same(parseNixJson('{"id":99999999999999999,"s":"😀"}'), { id: '99999999999999999', s: '😀' })
  const u8 = new Uint8Array(Buffer.from('  [1,{"parent":3}] '))
  t.same(parseNixJson(u8), [1, { parent: '3' }])
  const sub = new Uint8Array(Buffer.from('zz"ok"zz')).subarray(2, 6)
  t.equal(parseNixJson(sub), 'ok')
})

t.test('objects: duplicate keys, __proto__', async (t) => {
  t.same(p('{"a":1,"a":2}'), { a: 2 })
  const o = p('{"__proto__":{"polluted":true},"x":1}') as Record<string, unknown>
  t.equal(Object.getPrototypeOf(o), Object.prototype)
  t.same(Object.keys(o), ['__proto__', 'x'])
  t.same(o['__proto__'], { polluted: true })
  t.equal(({} as Record<string, unknown>)['polluted'], undefined)
})

t.test('prefix parsing', async (t) => {
  const buf = Buffer.from('["a",1],"id":5')
  t.same(tryParseNixJsonPrefix(buf, 0, buf.length), ['a', 1])
  t.equal(lastPrefixEnd(), 7)
  t.equal(tryParseNixJsonPrefix(buf, 13, buf.length, 'id'), '5')
  t.equal(tryParseNixJsonPrefix(buf, 7, buf.length), JSON_FAIL)
})

t.test('agrees with JSON.parse on every sample line (ids compared as exact strings)', async (t) => {
  let lines = 0
  for (const name of ['nom-bench-nom-shell-452e7d5.head5000.internal-json.log', 'nom-integration-standard.stderr.json', 'nom-integration-fail.stderr.json']) {
    const text = sample(name).toString('utf8')
    for (const line of text.split('\n')) {
      if (line === '') continue
      t.equal(line.slice(0, 5), '@nix ')
      const json = line.slice(5)
      // Reference: JSON.parse after quoting the id/parent digit runs (spec §6.3 method b).
      const reference = JSON.parse(json.replace(/"(id|parent)":(-?\d+)/g, '"$1":"$2"'))
      const mine = parseNixJson(Buffer.from(line), 5)
      if (JSON.stringify(mine) !== JSON.stringify(reference)) t.same(mine, reference, line)
      lines++
    }
  }
  t.equal(lines, 5000 + 77 + 608)
})
