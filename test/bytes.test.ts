import t from 'tap'
import { TextCopier } from '../dist/bytes.js'
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
