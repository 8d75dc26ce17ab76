import { inspect } from 'node:util'
import t from 'tap'
import { copyWithout, TextCopier } from '../dist/bytes.js'
import { decode, type LineEvent } from '../dist/index.js'
import { BuildLogDecoder } from '../dist/dialects/build-log.js'

t.test('TextCopier: lines of one chunk share a window of at most 8 KiB', async (t) => {
  const chunk = Buffer.from('one\ntwo\nthree\n'.repeat(2000))
  const copier = new TextCopier()
  const a = copier.copy(chunk, 0, 0, 3, chunk.length)
  const b = copier.copy(chunk, 0, 4, 7, chunk.length)
  t.equal(a.toString(), 'one')
  t.equal(b.toString(), 'two')
  t.equal(a.buffer, b.buffer, 'one allocation for both')
  t.ok(a.buffer.byteLength <= 8192, 'a kept line holds at most 8 KiB')
  const far = copier.copy(chunk, 0, 9000, 9003, chunk.length)
  t.not(far.buffer, a.buffer, 'a line past the window starts a new one')
})

t.test('TextCopier: a reused buffer at a new offset is copied again, old copies stay', async (t) => {
  const scratch = Buffer.from('aaaa\nbbbb\n')
  const copier = new TextCopier()
  const first = copier.copy(scratch, 0, 0, 4, scratch.length)
  scratch.write('cccc\ndddd\n')
  // Same object, same range, next chunk of the stream (base 10): not the old window's bytes.
  const second = copier.copy(scratch, 10, 0, 4, scratch.length)
  t.equal(first.toString(), 'aaaa', 'a copy does not see later writes to the source')
  t.equal(second.toString(), 'cccc', 'the next chunk in the same buffer is read anew')
})

t.test('TextCopier: its texts are Buffers in every way callers look (made without subarray)', async (t) => {
  const chunk = Buffer.from('\x1b[1mred\x1b[0m plain\nsecond line\n')
  const copier = new TextCopier()
  const texts = [copier.copyWithout(chunk, 0, 0, 17, chunk.length, Int32Array.of(0, 4, 7, 11), 4, 0)!, copier.copy(chunk, 0, 18, 29, chunk.length)]
  t.same(
    texts.map((b) => b.toString()),
    ['red plain', 'second line'],
  )
  for (const text of texts) {
    t.ok(Buffer.isBuffer(text), 'Buffer.isBuffer')
    t.ok(text instanceof Buffer, 'instanceof Buffer')
    t.equal(text.constructor, Buffer, 'its constructor is Buffer')
    t.match(inspect(text), /^<Buffer [0-9a-f]{2} /, 'inspected as a Buffer')
    t.equal(JSON.stringify(text), JSON.stringify(Buffer.from(text)), 'serialised as a Buffer')
    t.ok(Buffer.isBuffer(text.subarray(1)) && Buffer.isBuffer(text.slice(1)), 'its views are Buffers')
    t.equal(text.subarray(1).toString(), text.toString().slice(1))
    t.equal(text.readUInt8(0), text[0], 'Buffer methods')
    t.ok(text.equals(Buffer.from(text.toString())) && Buffer.compare(text, Buffer.from(text)) === 0)
  }
  t.equal(texts[0]!.buffer, texts[1]!.buffer, 'both in the one window')
})

t.test('copyWithout leaves out the cut ranges, then skips; in place it moves bytes down', async (t) => {
  const src = Buffer.from('ab<X>cd<Y>ef')
  const cuts = Int32Array.of(2, 5, 7, 10)
  for (const skip of [0, 1, 3, 6]) {
    const dst = Buffer.alloc(8, 0x2e)
    const n = copyWithout(src, 0, src.length, cuts, 4, skip, dst, 1)
    t.equal(dst.toString('latin1', 1, 1 + n), 'abcdef'.slice(skip), `skip ${skip}`)
    t.equal(dst[0], 0x2e, 'nothing before `at`')
  }
  // A window holding chunk bytes from offset 100: positions are chunk offsets, srcBase maps them.
  const window = Buffer.from('ab<X>cd<Y>ef' + 'x'.repeat(40) + '<Z>' + 'y'.repeat(20))
  const n = copyWithout(window, 100, 100 + window.length, Int32Array.of(102, 105, 107, 110, 152, 155), 6, 0, window, 0, 100)
  t.equal(window.toString('latin1', 0, n), 'abcdef' + 'x'.repeat(40) + 'y'.repeat(20), 'long and short pieces move down in place')
})

t.test('TextCopier.copyWithout makes the text in its window; the same range asked again is copied anew', async (t) => {
  const chunk = Buffer.from('\x1b[31mred\x1b[0m plain\nnext\n')
  const sgr = Int32Array.of(0, 5, 8, 12)
  const copier = new TextCopier()
  const text = copier.copyWithout(chunk, 0, 0, 18, chunk.length, sgr, 4, 0)!
  t.equal(text.toString(), 'red plain')
  t.equal(chunk.toString('latin1', 0, 5), '\x1b[31m', 'the input is not touched')
  t.equal(copier.copyWithout(chunk, 0, 0, 18, chunk.length, sgr, 4, 4)!.toString(), 'plain', 'asked again (with a prefix to skip): from the input, not the window it changed')
  t.equal(copier.copy(chunk, 0, 0, 18, chunk.length).toString(), '\x1b[31mred\x1b[0m plain', 'and copy() of it too')
  t.equal(text.toString(), 'red plain', 'the first text stays')
  t.equal(copier.copy(chunk, 0, 19, 23, chunk.length).toString(), 'next')
  const long = Buffer.concat([Buffer.from('\x1b[1m'), Buffer.alloc(5000, 0x61), Buffer.from('\n')])
  t.equal(copier.copyWithout(long, 100, 0, 5004, long.length, Int32Array.of(0, 4), 2, 0), null, 'a line too long for a window: null (the caller copies it)')
})

t.test('direct lines (after an escape) and span lines keep their text when the caller reuses its buffer', async (t) => {
  // Heads after ESC[p are direct lines (line() with the input's bytes); plain runs are spans.
  const input = Buffer.from(Array.from({ length: 300 }, (_, i) => `\x1b[phead ${i}\nbody ${i}\n\x1b[q`).join(''))
  const expected = decode(input).filter((e): e is LineEvent => e.type === 'line').map((e) => e.text.toString())
  for (const size of [7, 64, 1000, 8192]) {
    const lines: LineEvent[] = []
    const decoder = new BuildLogDecoder((e) => e.type === 'line' && lines.push(e))
    const scratch = Buffer.alloc(size)
    for (let at = 0; at < input.length; at += size) {
      const n = input.copy(scratch, 0, at, at + size)
      decoder.write(n === size ? scratch : scratch.subarray(0, n))
      scratch.fill(0x78)
    }
    decoder.end()
    t.same(
      lines.map((e) => e.text.toString()),
      expected,
      `chunks of ${size} in one reused buffer`,
    )
  }
})
