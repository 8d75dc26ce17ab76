import t from 'tap'
import { forEachSafeRange } from '../dist/render/terminal-safe.js'
import { prng } from './helpers/random.js'

// What may reach a terminal: every byte but BEL and the two bytes of a UTF-8 C1 control (C2 80 to
// C2 9F). Byte by byte, as the reference for the ranges forEachSafeRange hands out.
function reference(buf: Buffer, start: number, end: number): Buffer {
  const out: number[] = []
  for (let i = start; i < end; i++) {
    if (buf[i] === 0x07) continue
    if (buf[i] === 0xc2 && i + 1 < end && buf[i + 1]! >= 0x80 && buf[i + 1]! <= 0x9f) {
      i++
      continue
    }
    out.push(buf[i]!)
  }
  return Buffer.from(out)
}

function kept(buf: Buffer, start: number, end: number): { bytes: Buffer; ordered: boolean } {
  const parts: Buffer[] = []
  let last = start
  let ordered = true
  forEachSafeRange(buf, start, end, (s, e) => {
    if (s < last || e <= s || e > end) ordered = false
    last = e
    parts.push(buf.subarray(s, e))
  })
  return { bytes: Buffer.concat(parts), ordered }
}

t.test('short and long ranges keep exactly the bytes a terminal may get', async (t) => {
  const rnd = prng(2026)
  // Bytes that matter (BEL, the C1 lead, C1 and non-C1 followers, µ) among plain text.
  const alphabet = [0x07, 0xc2, 0x80, 0x9b, 0x9f, 0xa0, 0xb5, 0x61, 0x62, 0x20, 0x0a]
  let checked = 0
  for (let n = 0; n < 3000; n++) {
    const length = rnd(n % 3 === 0 ? 400 : 80)
    const buf = Buffer.from(Array.from({ length }, () => (rnd(4) === 0 ? alphabet[rnd(alphabet.length)]! : 0x61 + rnd(26))))
    const start = rnd(length + 1)
    const end = start + rnd(length - start + 1)
    const { bytes, ordered } = kept(buf, start, end)
    if (!ordered) t.fail(`ranges out of order or outside [${start}, ${end}) for ${buf.toString('hex')}`)
    else if (!bytes.equals(reference(buf, start, end))) t.fail(`[${start}, ${end}) of ${buf.toString('hex')}: ${bytes.toString('hex')}`)
    else checked++
  }
  t.equal(checked, 3000)
})

t.test('a C1 lead at the end of the range is kept: its follower is not in it', async (t) => {
  const long = Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0xc2])])
  t.same(kept(long, 0, long.length).bytes, long)
  t.same(kept(Buffer.from([0x61, 0xc2]), 0, 2).bytes, Buffer.from([0x61, 0xc2]))
})
