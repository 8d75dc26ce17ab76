// Generates the benchmark corpus once and caches it in bench/corpus/ (git-ignored).
//
// File names carry the flavour, the size, the seed and a hash of bench/corpus.mjs, so editing the
// generator regenerates the corpus; files of an older generator are deleted. SHA-256 sums are
// cached in bench/corpus/manifest.json (keyed by name, size and mtime).
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const GENERATOR = path.join(BENCH, 'corpus.mjs')

export function generatorHash() {
  return crypto.createHash('sha256').update(fs.readFileSync(GENERATOR)).digest('hex').slice(0, 10)
}

export function sizeLabel(bytes) {
  const units = [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]]
  for (const [u, n] of units) if (bytes % n === 0 && bytes >= n) return `${bytes / n}${u}`
  return String(bytes)
}

async function sha256File(file) {
  const hash = crypto.createHash('sha256')
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk)
  return hash.digest('hex')
}

function runGenerator(flavour, size, seed, out) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GENERATOR, '--flavour', flavour, '--size', String(size), '--seed', String(seed), '--out', out], { stdio: ['ignore', 'inherit', 'pipe'] })
    let err = ''
    child.stderr.on('data', (b) => (err += b))
    child.on('close', (code) => {
      if (code === 0) {
        process.stderr.write(`  ${err.trim()}\n`)
        resolve()
      } else reject(new Error(`corpus generator failed for ${flavour} (${code}): ${err}`))
    })
  })
}

/**
 * @param {string} dir  cache directory
 * @param {Array<{flavour: string, size: number}>} wanted
 * @param {number} seed
 * @returns {Promise<Map<string, {flavour, size, file, sha256, generatedSeconds: number|null}>>} keyed "flavour@size"
 */
export async function ensureCorpus(dir, wanted, seed, { concurrency = 2 } = {}) {
  fs.mkdirSync(dir, { recursive: true })
  const gh = generatorHash()
  const manifestFile = path.join(dir, 'manifest.json')
  let manifest = {}
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'))
  } catch {
    manifest = {}
  }
  // drop files written by another version of the generator
  for (const name of fs.readdirSync(dir)) {
    const m = /-g([0-9a-f]{10})\.log(\.tmp-\d+)?$/.exec(name)
    if (m && (m[1] !== gh || m[2])) {
      fs.rmSync(path.join(dir, name), { force: true })
      delete manifest[name]
    }
  }
  const result = new Map()
  const todo = []
  for (const { flavour, size } of wanted) {
    const key = `${flavour}@${size}`
    if (result.has(key)) continue
    const name = `${flavour}-${sizeLabel(size)}-s${seed}-g${gh}.log`
    const file = path.join(dir, name)
    const entry = { flavour, size, file, name, sha256: null, generatedSeconds: null }
    result.set(key, entry)
    let st = null
    try {
      st = fs.statSync(file)
    } catch {
      st = null
    }
    if (st && st.size === size) {
      const m = manifest[name]
      if (m && m.size === st.size && m.mtimeMs === st.mtimeMs) entry.sha256 = m.sha256
    } else todo.push(entry)
  }
  // generate the missing files, a few at a time
  if (todo.length > 0) process.stderr.write(`generating ${todo.length} corpus file(s) in ${path.relative(process.cwd(), dir) || dir}/ …\n`)
  let next = 0
  const worker = async () => {
    while (next < todo.length) {
      const entry = todo[next++]
      const t0 = process.hrtime.bigint()
      await runGenerator(entry.flavour, entry.size, seed, entry.file)
      entry.generatedSeconds = Number(process.hrtime.bigint() - t0) / 1e9
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker))
  for (const entry of result.values()) {
    if (entry.sha256 === null) {
      entry.sha256 = await sha256File(entry.file)
      const st = fs.statSync(entry.file)
      manifest[entry.name] = { size: st.size, mtimeMs: st.mtimeMs, sha256: entry.sha256, flavour: entry.flavour, seed }
    }
  }
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n')
  return result
}
