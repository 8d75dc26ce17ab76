import t from 'tap'
import ansiRegex from 'ansi-regex'
import { MAX_CSI_PARAM_BYTES, MAX_STRING_PAYLOAD, Tokenizer, type CsiSequence, type DroppedKind, type TokenHandler } from '../dist/index.js'

type Token = ['text', string] | ['csi', string, string] | ['dropped', DroppedKind, number, number]

/** Records tokens, merging adjacent text so that results can be compared across chunkings. */
function tokenize(chunks: Array<Buffer | string>): { tokens: Token[]; tokenizer: Tokenizer; seq: { overflow: boolean; paramLength: number }[] } {
  const tokens: Token[] = []
  const seq: { overflow: boolean; paramLength: number }[] = []
  const handler: TokenHandler = {
    text(buf, start, end) {
      const s = Buffer.from(buf.subarray(start, end)).toString('latin1')
      const last = tokens[tokens.length - 1]
      if (last && last[0] === 'text') last[1] += s
      else tokens.push(['text', s])
    },
    csi(sq: CsiSequence) {
      tokens.push(['csi', sq.paramText() + Buffer.from(sq.intermediates.subarray(0, sq.intermediateLength)).toString('latin1'), String.fromCharCode(sq.final)])
      seq.push({ overflow: sq.overflow, paramLength: sq.paramLength })
    },
    dropped(kind, start, end) {
      tokens.push(['dropped', kind, start, end])
    },
    chunkEnd() {},
  }
  const tokenizer = new Tokenizer(handler)
  for (const c of chunks) tokenizer.write(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)
  tokenizer.end()
  return { tokens, tokenizer, seq }
}

t.test('sequence families (spec §2.9)', async (t) => {
  t.same(tokenize(['a\x1b[31;1mb']).tokens, [['text', 'a'], ['csi', '31;1', 'm'], ['text', 'b']], 'CSI with parameters')
  t.same(tokenize(['\x1b[38:2::255:0:0m']).tokens, [['csi', '38:2::255:0:0', 'm']], 'colon sub-parameters')
  t.same(tokenize(['\x1b[ q']).tokens, [['csi', ' ', 'q']], 'intermediate byte')
  t.same(tokenize(['\x1b[2~X']).tokens, [['csi', '2', '~'], ['text', 'X']], '~ is a final byte (fixes Q3)')
  t.same(tokenize(['\x1b]0;title\x07T']).tokens, [['dropped', 'osc', 0, 10], ['text', 'T']], 'OSC ended by BEL')
  t.same(tokenize(['\x1b]8;;http://x\x1b\\link']).tokens, [['dropped', 'osc', 0, 13], ['dropped', 'esc', 13, 15], ['text', 'link']], 'OSC ended by ST')
  t.same(tokenize(['\x1bPq#0\x1b\\x']).tokens, [['dropped', 'dcs', 0, 5], ['dropped', 'esc', 5, 7], ['text', 'x']], 'DCS dropped whole (D-8)')
  t.same(tokenize(['\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\']).tokens.filter((x) => x[1] !== 'esc').map((x) => x[1]), ['apc', 'pm', 'sos'], 'APC, PM, SOS')
  t.same(tokenize(['\x1b(Bxyz']).tokens, [['dropped', 'esc', 0, 3], ['text', 'xyz']], 'nF escape ESC ( B (D-7)')
  t.same(tokenize(['\x1b7\x1bc']).tokens, [['dropped', 'esc', 0, 2], ['dropped', 'esc', 2, 4]], 'two-byte escapes')
  t.same(tokenize(['\x1b\x1b[q']).tokens, [['dropped', 'aborted', 0, 1], ['csi', '', 'q']], 'ESC ESC restarts')
  t.same(tokenize(['\x1b\né']).tokens, [['dropped', 'aborted', 0, 1], ['text', '\né']], 'ESC + C0 is reprocessed as text')
  t.same(tokenize(['\x1b[3\nqx']).tokens, [['dropped', 'aborted', 0, 3], ['text', '\nqx']], 'LF aborts a CSI (fixes Q4)')
  t.same(tokenize(['\x1b[\xc3\xa9mX']).tokens, [['dropped', 'aborted', 0, 2], ['text', '\xc3\xa9mX']], 'UTF-8 aborts a CSI')
  t.same(tokenize(['\x1b]0;no end\nnext']).tokens, [['dropped', 'aborted', 0, 10], ['text', '\nnext']], 'LF aborts an OSC (D-2)')
  t.same(tokenize(['\x1b[1;2']).tokens, [['dropped', 'aborted', 0, 5]], 'unfinished CSI at EOF is dropped')
  t.same(tokenize(['\x9b31m\xc2\x9b']).tokens, [['text', '\x9b31m\xc2\x9b']], '8-bit C1 bytes are not controls (they are UTF-8)')
  t.same(tokenize(['a\x00b\x07\x7f']).tokens, [['text', 'a\x00b\x07\x7f']], 'C0 controls and DEL are text for the consumer')
})

t.test('private markers and the first parameter', async (t) => {
  const seen: Array<{ marker: number; first: number | undefined; sgr: boolean }> = []
  const tok = new Tokenizer({
    text() {},
    csi(s) {
      seen.push({ marker: s.privateMarker, first: s.firstParam(), sgr: s.isSgr() })
    },
    dropped() {},
    chunkEnd() {},
  })
  tok.write(Buffer.from('\x1b[12p\x1b[?25l\x1b[>4;2m\x1b[;5p\x1b[99999999999p\x1b[0m'))
  t.same(seen, [
    { marker: 0, first: 12, sgr: false },
    { marker: 0x3f, first: undefined, sgr: false },
    { marker: 0x3e, first: undefined, sgr: false },
    { marker: 0, first: undefined, sgr: false },
    { marker: 0, first: 0x7fffffff, sgr: false },
    { marker: 0, first: 0, sgr: true },
  ])
})

t.test('bounded state: caps hold and parsing resumes after the sequence', async (t) => {
  const params = Array.from({ length: 10000 }, (_, i) => String(i % 10)).join(';')
  const r = tokenize([`\x1b[${params}mafter`])
  t.equal(r.tokens.length, 2)
  t.equal(r.seq[0]!.paramLength, MAX_CSI_PARAM_BYTES, 'parameter bytes kept up to the cap')
  t.equal(r.seq[0]!.overflow, true, 'the sequence is marked as overflowed')
  t.same(r.tokens[1], ['text', 'after'])

  const big = Buffer.alloc(8 << 20, 0x41)
  const osc = tokenize([Buffer.from('\x1b]0;'), big, Buffer.from('\x07tail')])
  t.same(osc.tokens, [['dropped', 'osc', 0, 4 + big.length + 1], ['text', 'tail']], 'an 8 MiB OSC title is consumed')
  t.ok(osc.tokenizer.payloadLength <= MAX_STRING_PAYLOAD, 'OSC payload buffer stays at its cap')
})

t.test('chunk invariance on every split of a mixed sequence soup', async (t) => {
  const input = Buffer.from('a\x1b[31;1mb\x1b]0;t\x07c\x1b(Bd\x1b\x1b[qe\x1bPx\x1b\\f\x1b[3\ng\x1b[ q', 'latin1')
  const whole = JSON.stringify(tokenize([input]).tokens)
  let bad = 0
  for (let i = 0; i <= input.length; i++) for (let j = i; j <= input.length; j++) {
    if (JSON.stringify(tokenize([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]).tokens) !== whole) bad++
  }
  t.equal(bad, 0)
})

t.test('text agrees with ansi-regex (an independent oracle) on well-formed CSI and OSC', async (t) => {
  let seed = 42
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
  const pieces = ['hello ', 'wörld', '\x1b[0m', '\x1b[31;1m', '\x1b[38;5;196m', '\x1b[2K', '\x1b[10;20H', '\x1b]0;title\x07', '\x1b]8;;http://x\x1b\\', 'x', ' ', '\t', '\x1b[?25l']
  for (let n = 0; n < 300; n++) {
    let s = ''
    for (let k = rnd(20); k > 0; k--) s += pieces[rnd(pieces.length)]
    const ours = tokenize([Buffer.from(s)]).tokens.filter((x) => x[0] === 'text').map((x) => x[1]).join('')
    const oracle = Buffer.from(s.replace(ansiRegex(), '')).toString('latin1')
    if (ours !== oracle) t.fail(JSON.stringify(s))
  }
  t.pass('300 random strings agree')
})
