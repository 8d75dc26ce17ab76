#!/usr/bin/env node
// `npm run examples`: writes examples/html/<name>.html for every examples/*.log and examples/*.json.
// Needs a build (`npx tsc -p tsconfig.json`). Two passes over each file (static failure-aware folding).
import { createReadStream, createWriteStream, mkdirSync, readdirSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import { finished } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { decodeStream } from '../dist/decoder.js'
import { writeHtml } from '../dist/render/html/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const outDir = join(here, 'html')
mkdirSync(outDir, { recursive: true })
const inputs = readdirSync(here)
  .filter((f) => /\.(log|json)$/.test(f))
  .sort()
if (inputs.length === 0) console.error('examples: no *.log or *.json files in', here)
let failed = 0
for (const name of inputs) {
  const file = join(here, name)
  const target = join(outDir, basename(name, extname(name)) + '.html')
  const started = performance.now()
  try {
    const out = createWriteStream(target)
    await writeHtml(() => decodeStream(createReadStream(file)), out, { title: name })
    out.end()
    await finished(out)
    console.log(`${name} → ${target} (${Math.round(performance.now() - started)} ms)`)
  } catch (err) {
    failed++
    console.error(`${name}: ${err instanceof Error ? err.stack : err}`)
  }
}
process.exitCode = failed ? 1 : 0
