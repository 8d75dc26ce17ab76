import fs from 'node:fs'
import { PassThrough, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { LogDecoderStream, decode, type LogEvent } from '../dist/index.js'

const SAMPLE = new URL('../examples/legacy-stdenv.log', import.meta.url)

async function collect(stream: LogDecoderStream): Promise<LogEvent[]> {
  const events: LogEvent[] = []
  stream.on('data', (e: LogEvent) => events.push(e))
  await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject))
  return events
}

t.test('piped from a file, LogDecoderStream gives what decode() gives', async (t) => {
  const stream = new LogDecoderStream()
  const done = collect(stream)
  await pipeline(fs.createReadStream(SAMPLE, { highWaterMark: 97 }), stream)
  t.strictSame(await done, decode(fs.readFileSync(SAMPLE)))
})

t.test('the source is asked for its next chunk before the one it gave is decoded', async (t) => {
  // A source that answers each read a turn later, as a file does: in flowing mode it is asked for
  // chunk k + 1 only once the handlers of chunk k return. The decoder must not decode in them.
  const lines = Array.from({ length: 6 }, (_, k) => Buffer.from(`chunk ${k}\n`))
  const order: string[] = []
  let next = 0
  const source = new Readable({
    read() {
      const k = next++
      order.push(`read ${k}`)
      setImmediate(() => this.push(k < lines.length ? lines[k] : null))
    },
  })
  const decoder = new LogDecoderStream({ dialect: 'legacy' })
  decoder.on('data', (e: LogEvent) => {
    if (e.type === 'line') order.push(`decoded ${e.text.toString()}`)
  })
  await pipeline(source, decoder)
  for (let k = 0; k + 1 < lines.length; k++) {
    t.ok(order.indexOf(`read ${k + 1}`) < order.indexOf(`decoded chunk ${k}`), `read ${k + 1} asked for before chunk ${k} was decoded`)
  }
  t.strictSame(order.filter((s) => s.startsWith('decoded')), lines.map((l) => `decoded ${l.toString().trimEnd()}`), 'every chunk decoded, in order')
})

t.test('a source may read a few chunks ahead of the decode: write() asks it to wait only past 1 MiB', async (t) => {
  // A file piped in reads its next chunks while one decodes, instead of one read per decode.
  const decoder = new LogDecoderStream({ dialect: 'legacy' })
  const chunk = Buffer.alloc(5 * 52429, 'line\n') // just over 256 KiB, whole lines
  const accepted = [1, 2, 3, 4, 5].map(() => decoder.write(chunk))
  t.strictSame(accepted, [true, true, true, false, false], 'three chunks of 256 KiB are taken without back-pressure, the fourth fills 1 MiB')
  decoder.end()
  let lines = 0
  for await (const e of decoder) if ((e as LogEvent).type === 'line') lines++
  t.equal(lines, 5 * 52429, 'every line of the five chunks')
})

t.test('a live source shorter than the sniff window still gives events before it ends', async (t) => {
  // a real live source (a pipe) keeps the process alive; this one is only memory, so a timer does
  const alive = setTimeout(() => t.fail('no event after 5 s'), 5000)
  const input = new PassThrough()
  const decoder = new LogDecoderStream()
  input.pipe(decoder)
  const first = new Promise<LogEvent>((resolve) => decoder.once('data', resolve))
  input.write('building\n')
  const event = await first
  t.equal(event.type, 'line')
  t.equal((event as { text: Buffer }).text.toString(), 'building')
  clearTimeout(alive)
  input.end()
  await new Promise((resolve) => decoder.on('end', resolve).resume())
})
