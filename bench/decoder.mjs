#!/usr/bin/env node
// Streams FILE through the buildlog decoder (LogDecoderStream from ../dist/index.js: bytes in,
// an object-mode readable of events out), counts the events, and prints one JSON line:
//   {"bytes":…,"seconds":…,"events":…,"lines":…,"sections":…,"byType":{…}}
// `seconds` is measured inside the process (from the first read to the last event), so it
// excludes Node start-up and module loading; the bench runner also measures wall time outside.
//   node bench/decoder.mjs FILE [DIST_DIR] [batch]
// DIST_DIR (default ../dist) lets the runner measure a snapshot of dist/; `batch` uses
// `new LogDecoderStream({ batch: true })` (one array of events per chunk).
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const file = process.argv[2]
if (!file) {
  process.stderr.write('usage: node bench/decoder.mjs FILE [DIST_DIR]\n')
  process.exit(2)
}
const dist = process.argv[3] || new URL('../dist', import.meta.url).pathname
const batch = process.argv[4] === 'batch'
const { LogDecoderStream } = await import(pathToFileURL(path.join(dist, 'index.js')).href)
const bytes = fs.statSync(file).size
const byType = Object.create(null)
let events = 0
const t0 = process.hrtime.bigint()
await new Promise((resolve, reject) => {
  const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 })
  const decoder = new LogDecoderStream({ batch })
  input.on('error', reject)
  decoder.on('error', reject)
  const count = (event) => {
    events++
    byType[event.type] = (byType[event.type] ?? 0) + 1
  }
  decoder.on('data', batch ? (list) => list.forEach(count) : count)
  decoder.on('end', resolve)
  input.pipe(decoder)
})
const seconds = Number(process.hrtime.bigint() - t0) / 1e9
process.stdout.write(JSON.stringify({ bytes, seconds, events, lines: byType.line ?? 0, sections: byType.open ?? 0, byType }) + '\n')
