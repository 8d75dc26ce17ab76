import t from 'tap'
import { ByteLiteral, decodeStringInPlace, escapedStringEnd, plainRun, sawNonAscii } from '../lib/dialects/json-bytes.js'

const viewOf = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.length)

t.test('plainRun stops at the first quote, backslash or control byte, wherever it sits in a word', async (t) => {
  let wrong = 0
  for (const filler of [0x61, 0x7f, 0x80, 0xc3, 0xff]) {
    for (let c = 0; c < 256; c++) {
      for (let at = 0; at < 19; at++) {
        const b = Buffer.alloc(19, filler)
        b[at] = c
        const stops = c === 0x22 || c === 0x5c || c < 0x20
        const want = stops ? at : 19
        const got = plainRun(b, viewOf(b), 0, 19)
        const nonAscii = (filler >= 0x80 && want > 0) || (c >= 0x80 && at < want)
        if (got !== want || sawNonAscii !== nonAscii) {
          if (wrong++ < 5) t.fail(`filler ${filler} byte ${c} at ${at}: ${got} (non-ASCII ${sawNonAscii}), want ${want} (${nonAscii})`)
        }
      }
    }
  }
  t.equal(wrong, 0)
  const b = Buffer.from('xxabc"def')
  t.equal(plainRun(b, viewOf(b), 2, 4), 4, 'stops at the end given')
})

t.test('ByteLiteral compares every byte, for every length it holds', async (t) => {
  let wrong = 0
  for (let n = 4; n <= ByteLiteral.MAX; n++) {
    const text = Array.from({ length: n }, (_, k) => String.fromCharCode(0x21 + ((k * 7) % 90))).join('')
    const lit = new ByteLiteral(text)
    const b = Buffer.from('..' + text + '..', 'latin1')
    if (!lit.matches(viewOf(b), 2) || lit.length !== n) wrong++
    for (let k = 0; k < n; k++) {
      const c = Buffer.from(b)
      c[2 + k] ^= 0x01
      if (lit.matches(viewOf(c), 2)) wrong++
    }
  }
  t.equal(wrong, 0)
  t.throws(() => new ByteLiteral('abc'))
  t.throws(() => new ByteLiteral('x'.repeat(ByteLiteral.MAX + 1)))
})

t.test('escaped strings: the end found and the bytes decoded are those of JSON.parse', async (t) => {
  const cases = ['a\\nb', '\\u001b[1mx\\u001B[0m', 'q \\"x\\" \\\\ \\/ \\b\\f\\r\\t', '\\u00e9\\u2603\\ud83d\\ude00 é ☃', '\\u0000', 'x\\\\']
  for (const body of cases) {
    const b = Buffer.from(`@@"${body}"],`)
    const v = viewOf(b)
    const first = b.indexOf(0x5c)
    const q = escapedStringEnd(b, v, 3, first, b.length, /[^\x00-\x7f]/.test(body))
    t.equal(q, b.length - 3, `end of ${body}`)
    const o = decodeStringInPlace(b, v, 3, q, 1)
    t.equal(b.toString('utf8', 1, o), JSON.parse(`"${body}"`), `decoded ${body}`)
  }
  for (const body of ['\\x', '\\u12g4', '\\ud83d', '\\ude00', 'a\\nb\tc', '\\']) {
    const b = Buffer.from(`"${body}"`)
    t.equal(escapedStringEnd(b, viewOf(b), 1, b.indexOf(0x5c), b.length, false), -1, `rejects ${JSON.stringify(body)}`)
  }
  const bad = Buffer.concat([Buffer.from('"\\n'), Buffer.from([0xff]), Buffer.from('"')])
  t.equal(escapedStringEnd(bad, viewOf(bad), 1, 1, bad.length, false), -1, 'malformed UTF-8 next to an escape')
})
