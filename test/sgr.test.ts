import t from 'tap'
import { applySgr, DEFAULT_STYLE, rgb, toSgr, type StyleState } from '../dist/sgr/style.js'

const apply = (...seqs: string[]): StyleState => seqs.reduce((s, p) => applySgr(s, p), DEFAULT_STYLE)

t.test('basic attributes and resets', async (t) => {
  t.equal(apply(''), DEFAULT_STYLE, 'empty = reset, shared default object')
  t.equal(apply('0'), DEFAULT_STYLE)
  t.same(apply('1;2;3;4;7;9'), { ...DEFAULT_STYLE, bold: true, dim: true, italic: true, underline: true, inverse: true, strike: true })
  t.same(apply('01;35'), { ...DEFAULT_STYLE, bold: true, fg: 5 }, 'leading zeros')
  t.same(apply('1;2', '22'), DEFAULT_STYLE, '22 clears bold and dim')
  t.same(apply('3;4;7;9', '23;24;27;29'), DEFAULT_STYLE)
  t.same(apply('31;42', '39'), { ...DEFAULT_STYLE, bg: 2 })
  t.same(apply('31;42', '49'), { ...DEFAULT_STYLE, fg: 1 })
  t.same(apply('1;31', '0;4'), { ...DEFAULT_STYLE, underline: true }, 'reset in the middle')
  t.same(apply('1;31', ';4'), { ...DEFAULT_STYLE, underline: true }, 'empty parameter is 0')
  t.same(apply('21'), { ...DEFAULT_STYLE, underline: true }, '21 double underline')
})

t.test('16 colours', async (t) => {
  for (let i = 0; i < 8; i++) {
    t.equal(apply(String(30 + i)).fg, i)
    t.equal(apply(String(40 + i)).bg, i)
    t.equal(apply(String(90 + i)).fg, 8 + i)
    t.equal(apply(String(100 + i)).bg, 8 + i)
  }
})

t.test('256 and truecolour, both spellings', async (t) => {
  t.equal(apply('38;5;208').fg, 208)
  t.equal(apply('48;5;17').bg, 17)
  t.equal(apply('38:5:208').fg, 208)
  t.equal(apply('38;2;255;128;0').fg, rgb(255, 128, 0))
  t.equal(apply('48;2;1;2;3').bg, rgb(1, 2, 3))
  t.equal(apply('38:2::255:128:0').fg, rgb(255, 128, 0), 'T.416 with empty colour space')
  t.equal(apply('38:2:0:255:128:0').fg, rgb(255, 128, 0), 'T.416 with colour space id')
  t.equal(apply('38:2:255:128:0').fg, rgb(255, 128, 0), 'colon without colour space')
  t.same(apply('38;5;208;1'), { ...DEFAULT_STYLE, fg: 208, bold: true }, 'parameters after an extended colour')
  t.same(apply('38;2;1;2;3;4'), { ...DEFAULT_STYLE, fg: rgb(1, 2, 3), underline: true })
  t.same(apply('38:5:208;1'), { ...DEFAULT_STYLE, fg: 208, bold: true })
})

t.test('invalid and unknown parameters are whitelisted away', async (t) => {
  t.same(apply('38;5;300'), DEFAULT_STYLE, 'palette index out of range consumed, ignored')
  t.same(apply('38;5;300;1'), { ...DEFAULT_STYLE, bold: true }, 'and does not swallow later parameters')
  t.same(apply('38;2;999;0;0'), DEFAULT_STYLE, 'component out of range')
  t.same(apply('38;5'), DEFAULT_STYLE, 'missing index')
  t.same(apply('38;5;1', '38;2;1'), { ...DEFAULT_STYLE, fg: 1 }, 'truncated truecolour leaves the colour as it was')
  t.same(apply('58;5;1;1'), { ...DEFAULT_STYLE, bold: true }, 'underline colour consumed (5;1 is not blink+bold), ignored')
  t.same(apply('58:2::1:2:3'), DEFAULT_STYLE)
  t.same(apply('5;6;8;10;11;20;25;28;50;51;53;60;73'), DEFAULT_STYLE, 'blink, conceal, fonts, frames, … ignored')
  t.same(apply('1:2'), DEFAULT_STYLE, 'sub-parameters on a plain attribute ignored')
  t.same(apply('4:3'), { ...DEFAULT_STYLE, underline: true }, 'curly underline')
  t.same(apply('4', '4:0'), DEFAULT_STYLE, '4:0 underline off')
  t.same(apply('x;1'), { ...DEFAULT_STYLE, bold: true }, 'non-numeric parameter ignored')
  t.same(apply('?1'), DEFAULT_STYLE)
  t.same(apply('99999999999;1'), { ...DEFAULT_STYLE, bold: true }, 'huge numbers do not wrap')
  t.same(apply('1' + ';0'.repeat(1000) + ';1'), DEFAULT_STYLE, 'parameters beyond MAX_SGR_PARAMS are ignored')
})

t.test('immutability and identity', async (t) => {
  const a = apply('1')
  const b = applySgr(a, '31')
  t.equal(a.fg, undefined, 'input not modified')
  t.equal(applySgr(b, '1'), b, 'no change returns the same object')
  t.ok(Object.isFrozen(b))
})

t.test('toSgr round-trips', async (t) => {
  for (const seq of ['', '1', '2;3;4;7;9', '31;42', '91;103', '38;5;208;48;5;17', '38;2;1;2;3;48;2;4;5;6', '1;38:2::9:8:7']) {
    const s = apply(seq)
    const out = toSgr(s)
    t.match(out, /^0(;[0-9]+)*$/, `${seq} → ${out}: semicolon form starting with a reset`)
    t.same(apply(out), s, `${seq} round-trips`)
  }
})
