import t from 'tap'
import { decode, type LineEvent, type SectionOpenEvent, type StyleMark } from '../dist/index.js'

// `nix build -L` lines with colour anywhere — in the `name> ` prefix, right after it, in the text —
// and names of every length up to the 255 bytes a prefix may have (and one more, which makes no
// prefix), against what the spec says the line is: the text after the prefix without its SGR
// sequences, the colours inside that text at their positions, and the one in force where the
// text starts (unless it is a reset).

function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789+._?=-'
const SGR = ['0', '', '2', '31', '1;33', '38;5;208']

interface Case {
  raw: string
  /** The build's name, undefined when the line has no prefix (a name over 255 bytes). */
  name: string | undefined
  text: string
  styles: StyleMark[] | undefined
}

function makeCase(next: () => number): Case {
  const pick = next()
  const length = pick < 0.1 ? 252 + Math.floor(next() * 5) : pick < 0.4 ? 29 + Math.floor(next() * 6) : 1 + Math.floor(next() * 40)
  let name = 'abcdefghijklmnopqrstuvwxyz'[Math.floor(next() * 26)]!
  while (name.length < length) name += NAME_CHARS[Math.floor(next() * NAME_CHARS.length)]
  const body = Array.from({ length: Math.floor(next() * 30) }, () => 'xyz %:/'[Math.floor(next() * 7)]).join('')
  const plain = `${name}> ${body}`
  const prefixed = name.length <= 255
  const skip = prefixed ? name.length + 2 : 0
  // SGR sequences at random text positions, in order (several may share one)
  const at = Array.from({ length: Math.floor(next() * 4) }, () => Math.floor(next() * (plain.length + 1))).sort((a, b) => a - b)
  let raw = ''
  let cursor = 0
  let carried: string | undefined
  const styles: StyleMark[] = []
  for (const pos of at) {
    const params = SGR[Math.floor(next() * SGR.length)]!
    raw += plain.slice(cursor, pos) + `\x1b[${params}m`
    cursor = pos
    if (prefixed && pos <= skip) carried = params
    else styles.push({ at: pos - skip, params })
  }
  raw += plain.slice(cursor) + '\n'
  if (carried !== undefined && carried !== '0' && carried !== '') styles.unshift({ at: 0, params: carried })
  return { raw, name: prefixed ? name : undefined, text: plain.slice(skip), styles: styles.length > 0 ? styles : undefined }
}

t.test('prefixed lines with colour anywhere and names of every length', async (t) => {
  const next = random(7)
  let checked = 0
  for (let n = 0; n < 400; n++) {
    const cases = Array.from({ length: 1 + Math.floor(next() * 4) }, () => makeCase(next))
    const events = decode(Buffer.from(cases.map((c) => c.raw).join('')), { dialect: 'prefixed' })
    const titles = new Map<number, string | undefined>()
    for (const e of events) if (e.type === 'open') titles.set(e.id, (e as SectionOpenEvent).title)
    const lines = events.filter((e): e is LineEvent => e.type === 'line')
    if (lines.length !== cases.length) {
      t.equal(lines.length, cases.length, `line count: ${JSON.stringify(cases.map((c) => c.raw))}`)
      return
    }
    for (let k = 0; k < cases.length; k++) {
      const line = lines[k]!
      const want = cases[k]!
      const got = { name: titles.get(line.section), text: line.text.toString('latin1'), styles: line.styles }
      const expected = { name: want.name, text: want.text, styles: want.styles }
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        t.same(got, expected, JSON.stringify(want.raw))
        return
      }
      checked++
    }
  }
  t.ok(checked >= 400, `${checked} lines as the spec says`)
})

t.test('the longest name, and colour at each edge of the prefix', async (t) => {
  const longest = 'n'.repeat(255)
  const cases: Array<[string, string | undefined, string]> = [
    [`${longest}\x1b[2m> x`, longest, 'x'],
    [`${longest}>\x1b[0m x`, longest, 'x'],
    [`${longest}> \x1b[0mx`, longest, 'x'],
    [`\x1b[2m${longest}>\x1b[0m x`, longest, 'x'],
    [`${longest}n> x`, undefined, `${longest}n> x`],
    [`${longest}n\x1b[2m> x`, undefined, `${longest}n> x`],
    [`\x1b[2mgo\x1b[0m\x1b[1m> x`, 'go', 'x'],
    [`\x1b[2m.go> x`, undefined, '.go> x'],
  ]
  for (const [raw, name, text] of cases) {
    const events = decode(Buffer.from(raw + '\n'), { dialect: 'prefixed' })
    const open = events.find((e): e is SectionOpenEvent => e.type === 'open')
    const line = events.find((e): e is LineEvent => e.type === 'line')!
    t.same({ name: open?.title, text: line.text.toString() }, { name, text }, JSON.stringify(raw))
  }
})

t.test('lines as Nix writes them (ESC[2mname> ESC[0m…) reach the span path when the C line mode runs', async (t) => {
  const { BuildLogDecoder } = await import('../dist/dialects/build-log.js')
  const { loadNativePassThrough } = await import('../dist/dialects/native-pass-through.js')
  t.ok(loadNativePassThrough(), 'the C addon is loaded (npm install builds it)')
  const lines = Array.from({ length: 3000 }, (_, i) => `\x1b[2m${['hello', 'world-2.0'][i % 2]}> \x1b[${i % 3 === 0 ? '' : '0'}mline ${i}\n`)
  const input = Buffer.from('these 2 derivations will be built:\n' + lines.join(''))
  let spanLines = 0
  class Counting extends BuildLogDecoder {
    override span(buf: Uint8Array, start: number, end: number, base: number): number {
      const n = super.span(buf, start, end, base)
      spanLines += n
      return n
    }
  }
  const events: LineEvent[] = []
  const decoder = new Counting((e) => e.type === 'line' && events.push(e), undefined, { prefixed: true })
  decoder.write(input)
  decoder.end()
  t.ok(spanLines >= 3000, `${spanLines} of 3,001 lines came in spans`)
  t.same(
    events.slice(1, 4).map((e) => [e.text.toString(), e.styles ?? null]),
    [['line 0', null], ['line 1', null], ['line 2', null]],
    'their text is what follows the prefix, with no style',
  )
  t.same(
    decode(input, { dialect: 'prefixed' }).filter((e): e is SectionOpenEvent => e.type === 'open').map((e) => e.title),
    ['hello', 'world-2.0'],
    'one build each name',
  )
})
