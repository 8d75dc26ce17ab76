#!/usr/bin/env node
// Throughput of the internal-json dialect: parse + ActivityTree with a trivial per-activity line
// decoder (one `line` event per LF). Builds a ~100 MiB (or `--mib N`) internal-json log in memory
// by repeating the samples in ../../shared/samples (or $BUILDLOG_SAMPLES) with ids shifted per
// repetition so that activities stay distinct. Needs the compiled library: run `npx tsc -p
// tsconfig.json` first (or point $BUILDLOG_DIST at another output directory).
//
//   node bench/internal-json-speed.mjs [--mib 100] [--chunk 65536] [--runs 3] [--real]
//
// --real uses the project's BuildLogDecoder (dist/dialects/build-log.js) per activity instead of
// the trivial stand-in. --file PATH decodes that file instead of the repeated samples (e.g. the
// bench corpus: `--file bench/corpus/internal-json-200M-….log --chunk 1048576 --real`).
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const dist = resolve(process.env.BUILDLOG_DIST ?? resolve(here, '../dist'))
const samples = resolve(process.env.BUILDLOG_SAMPLES ?? '/work/shared/samples')
const { InternalJsonDecoder } = await import(pathToFileURL(resolve(dist, 'dialects/internal-json.js')).href)
const { DecodeContext } = await import(pathToFileURL(resolve(dist, 'dialects/context.js')).href)

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}
const targetMiB = arg('--mib', 100)
const chunkSize = arg('--chunk', 65536)
const runs = arg('--runs', 3)

const fileArg = process.argv.indexOf('--file')
const parts = []
if (fileArg >= 0) {
  parts.push(readFileSync(process.argv[fileArg + 1]))
} else {
  const files = [
    'nom-bench-nom-shell-452e7d5.head5000.internal-json.log',
    'nom-integration-standard.stderr.json',
    'nom-integration-fail.stderr.json',
  ].map((f) => readFileSync(resolve(samples, f), 'utf8'))
  const base = files.join('')

  // Build the log: repetition r shifts every id/parent by r * 2^20 (as exact BigInts).
  let size = 0
  for (let r = 0; size < targetMiB * 1024 * 1024; r++) {
    const shift = BigInt(r) << 20n
    const text = base.replace(/"(id|parent)":(\d+)/g, (_m, k, d) => (d === '0' ? `"${k}":0` : `"${k}":${BigInt(d) + shift}`))
    const b = Buffer.from(text, 'utf8')
    parts.push(b)
    size += b.length
  }
}
const input = parts.length === 1 ? parts[0] : Buffer.concat(parts)
const mib = input.length / (1024 * 1024)

// Stand-in for the real build-log decoder: one `line` event per LF, ids/indexes from ctx,
// offsets relative to the decoder's own input. The bytes it is given are valid only during
// write(), so line texts are copies.
function trivialFactory(sink, ctx) {
  let carry = null
  let pos = 0
  const line = (text, offset, end, ended) =>
    sink({ type: 'line', index: ctx.nextLineIndex(), section: 0, text, head: false, priority: 1, error: false, warning: false, offset, end, ended })
  return {
    write(bytes) {
      const base = pos
      pos += bytes.length
      let i = 0
      for (;;) {
        const nl = bytes.indexOf(10, i)
        if (nl < 0) break
        if (carry) {
          const text = Buffer.concat([carry, bytes.subarray(i, nl)])
          line(text, base - carry.length, base + nl + 1, 'lf')
          carry = null
        } else {
          line(Buffer.from(bytes.subarray(i, nl)), base + i, base + nl + 1, 'lf')
        }
        i = nl + 1
      }
      if (i < bytes.length) carry = carry ? Buffer.concat([carry, bytes.subarray(i)]) : Buffer.from(bytes.subarray(i))
    },
    end() {
      if (carry) line(carry, pos - carry.length, pos, 'eof')
      carry = null
    },
  }
}

const useReal = process.argv.includes('--real')
let factory = trivialFactory
if (useReal) {
  const { BuildLogDecoder } = await import(pathToFileURL(resolve(dist, 'dialects/build-log.js')).href)
  factory = (sink, ctx) => new BuildLogDecoder(sink, ctx)
}

function once() {
  const counts = { open: 0, close: 0, line: 0, status: 0, diagnostic: 0 }
  const sink = (e) => {
    counts[e.type]++
  }
  const dec = new InternalJsonDecoder(sink, new DecodeContext(), factory)
  const t0 = process.hrtime.bigint()
  const c0 = process.cpuUsage()
  for (let i = 0; i < input.length; i += chunkSize) dec.write(input.subarray(i, Math.min(input.length, i + chunkSize)))
  dec.end()
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  const c = process.cpuUsage(c0)
  return { s, cpu: (c.user + c.system) / 1e6, counts }
}

// Wall time is what users see; CPU time (all threads of this process, GC helpers included) is
// less sensitive to other load on the machine.
let best = Infinity
let bestCpu = Infinity
let last
for (let i = 0; i < runs; i++) {
  const r = once()
  last = r.counts
  best = Math.min(best, r.s)
  bestCpu = Math.min(bestCpu, r.cpu)
  console.log(`run ${i + 1}: ${(mib / r.s).toFixed(1)} MiB/s wall (${r.s.toFixed(2)} s), ${(mib / r.cpu).toFixed(1)} MiB/s per CPU-second`)
}
console.log(`input ${mib.toFixed(1)} MiB, ${fileArg >= 0 ? process.argv[fileArg + 1] : `${parts.length} repetitions`}, ${useReal ? 'BuildLogDecoder' : 'trivial line factory'}; events ${JSON.stringify(last)}`)
console.log(`best: ${(mib / best).toFixed(1)} MiB/s wall, ${(mib / bestCpu).toFixed(1)} MiB/s per CPU-second`)
