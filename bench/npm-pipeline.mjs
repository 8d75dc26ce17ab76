#!/usr/bin/env node
// The common npm way to "clean" a log, as a baseline: split2 + strip-ansi, line by line.
//   node bench/npm-pipeline.mjs FILE > /dev/null
// (fs.createReadStream → split2() → Transform(line => stripAnsi(line) + '\n') → stdout)
import fs from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import split2 from 'split2'
import stripAnsi from 'strip-ansi'

const file = process.argv[2]
if (!file) {
  process.stderr.write('usage: node bench/npm-pipeline.mjs FILE\n')
  process.exit(2)
}
await pipeline(
  fs.createReadStream(file),
  split2(),
  new Transform({
    writableObjectMode: true,
    transform(line, _encoding, callback) {
      callback(null, stripAnsi(line) + '\n')
    },
  }),
  process.stdout,
)
