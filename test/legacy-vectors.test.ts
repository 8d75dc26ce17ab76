import t from 'tap'
import { BuildLogFramer, CleanWriter, XmlWriter } from '../dist/index.js'
import { hex, splits, vectors } from './helpers/fixtures.js'

function xmlOf(chunks: Buffer[]): { xml: string; stderr: string } {
  let xml = ''
  let stderr = ''
  const writer = new XmlWriter((s) => (xml += s), (d) => (stderr += d))
  const framer = new BuildLogFramer(writer, { keepSgr: false })
  for (const c of chunks) framer.write(c)
  framer.end()
  writer.finish()
  return { xml: Buffer.from(xml).toString('hex'), stderr }
}

function cleanOf(chunks: Buffer[], color: boolean): string {
  const writer = new CleanWriter()
  const framer = new BuildLogFramer(writer, { keepSgr: color })
  const out: Buffer[] = []
  for (const c of chunks) {
    framer.write(c)
    const o = writer.take()
    if (o) out.push(Buffer.from(o))
  }
  framer.end()
  const o = writer.take()
  if (o) out.push(o)
  return Buffer.concat(out).toString('hex')
}

// Spec §3.4: nixlog-clean differs from Nix's whole-input filter on exactly these, by design.
const CLEAN_DELTAS = new Set(['C07', 'R01', 'R03'])

t.test('XML equals nix-log2xml, or the recommended default where the spec fixes a quirk', async (t) => {
  let fixed = 0
  for (const v of vectors.legacyEscapes) {
    const expected = v.recommended_default
      ? { xml: v.recommended_default.xml_hex, stderr: v.recommended_default.stderr }
      : { xml: v.log2xml_stdout_hex, stderr: v.log2xml_stderr }
    if (v.recommended_default) fixed++
    t.same(xmlOf([hex(v.input_hex)]), expected, `${v.id} ${v.desc}`)
  }
  t.equal(fixed, 12, 'exactly the 12 vectors the spec lists differ from the reference')
})

t.test('XML does not depend on chunking (every split point)', async (t) => {
  for (const v of vectors.legacyEscapes) {
    const input = hex(v.input_hex)
    const whole = xmlOf([input])
    let bad = 0
    for (const chunks of splits(input)) if (JSON.stringify(xmlOf(chunks)) !== JSON.stringify(whole)) bad++
    if (v.chunks_hex) if (JSON.stringify(xmlOf(v.chunks_hex.map(hex))) !== JSON.stringify(whole)) bad++
    t.equal(bad, 0, `${v.id}: all splits agree`)
  }
})

t.test('clean equals filterANSIEscapes (keepSGR and filterAll) but for the documented deltas', async (t) => {
  for (const v of vectors.legacyEscapes) {
    if (CLEAN_DELTAS.has(v.id)) continue
    t.equal(cleanOf([hex(v.input_hex)], true), v.filterANSIEscapes_head_keepSGR_hex, `${v.id} colour`)
    t.equal(cleanOf([hex(v.input_hex)], false), v.filterANSIEscapes_head_filterAll_hex, `${v.id} plain`)
  }
})

t.test('clean: the deltas are the decisions the spec names', async (t) => {
  const byId = new Map(vectors.legacyEscapes.map((v) => [v.id, v]))
  // D-7: ESC ( B is one sequence and goes whole.
  t.equal(Buffer.from(cleanOf([hex(byId.get('C07')!.input_hex)], true), 'hex').toString(), 'xyz\n')
  // D-6: CR progress collapses to the final state.
  t.equal(Buffer.from(cleanOf([hex(byId.get('R01')!.input_hex)], true), 'hex').toString(), '100%\n')
  // D-5: tabs stay tabs.
  t.equal(Buffer.from(cleanOf([hex(byId.get('R03')!.input_hex)], false), 'hex').toString('latin1'), 'a\tb\x01c\x7fd\x00e\n')
})

t.test('clean does not depend on chunking (every split point, both modes)', async (t) => {
  for (const v of vectors.legacyEscapes) {
    const input = hex(v.input_hex)
    for (const color of [true, false]) {
      const whole = cleanOf([input], color)
      let bad = 0
      for (const chunks of splits(input)) if (cleanOf(chunks, color) !== whole) bad++
      t.equal(bad, 0, `${v.id} ${color ? 'colour' : 'plain'}: all splits agree`)
    }
  }
})

t.test('clean equals Nix line splitting, variant C (spec §4)', async (t) => {
  for (const v of vectors.nixLineSplitting) {
    const input = hex(v.input_hex)
    // Lines as Nix would show them: variant C, handled @nix lines (B10) consumed.
    const lines = v.C_hex.map(hex).filter((l) => !l.toString().startsWith('@nix {'))
    const endsWithLf = input[input.length - 1] === 0x0a
    const expected = Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 || endsWithLf ? [l, Buffer.from('\n')] : [l])))
    let bad = 0
    for (const chunks of splits(input)) if (cleanOf(chunks, false) !== expected.toString('hex')) bad++
    t.equal(cleanOf([input], false), expected.toString('hex'), `${v.id} ${v.desc}`)
    t.equal(bad, 0, `${v.id}: all splits agree`)
  }
})
