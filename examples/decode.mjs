// Library usage: the three ways to decode a build log into events.
//   node examples/decode.mjs [FILE]
import fs from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { decode, decodeStream, LogDecoderStream } from 'buildlog'

const file = process.argv[2] ?? new URL('./legacy-stdenv.log', import.meta.url).pathname

// 1. Synchronously, for a log already in memory.
const events = decode(fs.readFileSync(file))
const lines = events.filter((e) => e.type === 'line')
console.log(`${events.length} events, ${lines.length} lines, ${lines.filter((l) => l.error).length} error lines`)

// 2. As an async iterable over any byte stream: print an indented outline.
let depth = 0
for await (const event of decodeStream(fs.createReadStream(file))) {
  if (event.type === 'open') depth++
  else if (event.type === 'close') depth--
  else if (event.type === 'line') console.log(`${'  '.repeat(depth)}${event.head ? '▸ ' : ''}${event.text.toString()}`)
}

// 3. As a Transform stream (bytes in, event objects out), e.g. to count sections.
let sections = 0
await pipeline(fs.createReadStream(file), new LogDecoderStream(), async function (source) {
  for await (const event of source) if (event.type === 'open') sections++
})
console.log(`${sections} sections`)
