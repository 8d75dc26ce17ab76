#!/usr/bin/env node
// Streams FILE through the buildlog decoder (LogDecoderStream from ../dist/index.js: bytes in,
// an object-mode readable of events out), counts the events, and prints one JSON line:
//   {"bytes":…,"seconds":…,"events":…,"lines":…,"sections":…,"byType":{…}}
// `seconds` is measured inside the process (from the first read to the last event), so it
// excludes Node start-up and module loading; the bench runner also measures wall time outside.
//   node bench/decoder.mjs FILE [DIST_DIR] [batch|floor|floor-batch]
// DIST_DIR (default ../dist) lets the runner measure a snapshot of dist/; `batch` uses
// `new LogDecoderStream({ batch: true })` (one array of events per chunk). `floor` measures no
// decoder at all: a Transform that makes one line event per LF-terminated line, its text a view
// of the input (no copy), and pushes it like LogDecoderStream — what any decoder that hands out
// an object and a Buffer per line through an object-mode stream costs before it decodes anything.
import fs from 'node:fs'
import path from 'node:path'
import { Transform } from 'node:stream'
import { pathToFileURL } from 'node:url'

const file = process.argv[2]
if (!file) {
  process.stderr.write('usage: node bench/decoder.mjs FILE [DIST_DIR]\n')
  process.exit(2)
}
const dist = process.argv[3] || new URL('../dist', import.meta.url).pathname
const mode = process.argv[4] ?? ''
const batch = mode.endsWith('batch')
const { LogDecoderStream } = await import(pathToFileURL(path.join(dist, 'index.js')).href)

/** The floor: line events without decoding (see the header). */
class LineEventFloor extends Transform {
  constructor({ batch }) {
    super({ readableObjectMode: true })
    this.batch = batch
    this.base = 0
    this.index = 0
  }

  _transform(chunk, _encoding, callback) {
    const events = []
    let at = 0
    for (let lf = chunk.indexOf(10); lf !== -1; lf = chunk.indexOf(10, at)) {
      const offset = this.base + at
      events.push({ type: 'line', index: ++this.index, section: 0, text: chunk.subarray(at, lf), head: false, priority: 1, error: false, warning: false, offset, end: this.base + lf + 1, ended: 'lf' })
      at = lf + 1
    }
    this.base += chunk.length // a line cut by the chunk's end is not counted: a floor, not a decoder
    if (this.batch) this.push(events)
    else for (const event of events) this.push(event)
    callback()
  }
}
const bytes = fs.statSync(file).size
// Counting is the harness's own work, kept cheap so that it does not hide the decoder's: the
// common types by comparison (hashing every event's type into a dictionary cost ~12 % of a
// legacy run), the rare ones by name. `order` keeps byType's keys in first-seen order.
const order = []
const rare = Object.create(null)
let lines = 0
let opens = 0
let closes = 0
let events = 0
const t0 = process.hrtime.bigint()
await new Promise((resolve, reject) => {
  const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 })
  const decoder = mode.startsWith('floor') ? new LineEventFloor({ batch }) : new LogDecoderStream({ batch })
  input.on('error', reject)
  decoder.on('error', reject)
  const count = (event) => {
    const type = event.type
    if (type === 'line') {
      if (lines++ === 0) order.push(type)
    } else if (type === 'open') {
      if (opens++ === 0) order.push(type)
    } else if (type === 'close') {
      if (closes++ === 0) order.push(type)
    } else if (rare[type] === undefined) {
      rare[type] = 1
      order.push(type)
    } else rare[type]++
  }
  const countAll = (list) => {
    for (let i = 0; i < list.length; i++) count(list[i])
    events += list.length
  }
  decoder.on('data', batch ? countAll : (event) => { events++; count(event) })
  decoder.on('end', resolve)
  input.pipe(decoder)
})
const seconds = Number(process.hrtime.bigint() - t0) / 1e9
const known = { line: lines, open: opens, close: closes }
const byType = Object.create(null)
for (const type of order) byType[type] = known[type] ?? rare[type]
process.stdout.write(JSON.stringify({ bytes, seconds, events, lines, sections: opens, byType }) + '\n')
