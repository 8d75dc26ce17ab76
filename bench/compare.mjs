#!/usr/bin/env node
// Measures the decoder of this checkout against an earlier commit, in the same minutes.
//   node bench/compare.mjs REV [RUNS] [FLAVOUR…]
// The machine is shared and its speed drifts (the same build and `cat | cat` have measured 1.5×
// apart on one afternoon), so figures from two `npm run bench` runs do not say what a change did.
// This builds REV's dist/ in a temporary folder (git archive + tsc, node_modules shared), then
// runs `bench/decoder.mjs` for both builds alternately on the cached 200 MiB corpus files and
// prints a Markdown table of median wall times and their ratio. Both builds load their own C addon.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { measure, median } from './lib/measure.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const [rev, runsArg, ...flavourArgs] = process.argv.slice(2)
if (!rev) {
  process.stderr.write('usage: node bench/compare.mjs REV [RUNS] [FLAVOUR…]\n')
  process.exit(2)
}
const runs = Number(runsArg ?? 3)
const flavours = flavourArgs.length > 0 ? flavourArgs : ['legacy', 'modern', 'prefixed', 'internal-json', 'plain']
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'bench/corpus/manifest.json'), 'utf8'))

function corpusFile(flavour) {
  const name = Object.keys(manifest).find((f) => manifest[f].flavour === flavour && manifest[f].size === 200 * 2 ** 20)
  if (!name) throw new Error(`no cached 200 MiB ${flavour} file: run npm run bench first`)
  return path.join(root, 'bench/corpus', name)
}

const sha = execFileSync('git', ['rev-parse', '--short', rev], { cwd: root, encoding: 'utf8' }).trim()
const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `buildlog-${sha}-`))
try {
  execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C "${tmp}"`], { cwd: root })
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'))
  execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: tmp, stdio: 'inherit' })
  // REV's own C addon: since line mode (1bc2f40) the decoder runs it too, and without it REV would
  // be measured on its JavaScript path alone.
  const buildNative = path.join(tmp, 'scripts/build-native.mjs')
  if (fs.existsSync(buildNative)) execFileSync(process.execPath, [buildNative, '--strict'], { cwd: tmp, stdio: 'inherit' })
  const builds = [
    { label: sha, dist: path.join(tmp, 'dist') },
    { label: `${head} (this checkout)`, dist: path.join(root, 'dist') },
  ]
  const rows = ['| flavour | ' + builds.map((b) => `${b.label}: median wall`).join(' | ') + ' | ratio |', '|---|---:|---:|---:|']
  for (const flavour of flavours) {
    const file = corpusFile(flavour)
    const times = builds.map(() => [])
    for (let k = 0; k < runs; k++) {
      for (const [i, b] of builds.entries()) {
        const r = await measure({ cmd: process.execPath, args: [path.join(root, 'bench/decoder.mjs'), file, b.dist] })
        times[i].push(r.wall)
      }
    }
    const [before, after] = times.map(median)
    rows.push(`| ${flavour} | ${before.toFixed(2)} s | ${after.toFixed(2)} s | ${(before / after).toFixed(2)}× faster |`)
    process.stderr.write(`${flavour}: ${before.toFixed(2)} s → ${after.toFixed(2)} s\n`)
  }
  process.stdout.write(`Decoder (\`bench/decoder.mjs\`, LogDecoderStream) on the 200 MiB corpus files, ${runs} alternating runs per build, ${new Date().toISOString()}:\n\n${rows.join('\n')}\n`)
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
