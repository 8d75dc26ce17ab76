// HTML export: time to export a 100 MiB legacy log (two passes, and one pass), and time until the
// page is interactive in headless Chromium (navigation start → page script initialised after the
// whole document is parsed), plus the latency of a few interactions on that page.
//
//   export async function run({ corpusDir, size?, chromium? }) → markdown section
//   node bench/sections/html.mjs [--size 100M] [--corpus-dir DIR]    (prints the section)
//
// Needs a build (dist/) and /usr/bin/chromium. The corpus file comes from bench/corpus.mjs.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const name = 'html'
export const description = '`export --format html` of a 100 MiB log, and the page in Chromium'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-quic', '--disable-component-update', '--disable-sync']

/** The runner's command-spec interface: this section measures in-process instead (see run). */
export function measurements() {
  return []
}

const EXPORT_SCRIPT = `
import { createReadStream, createWriteStream } from 'node:fs'
import { finished } from 'node:stream/promises'
const { decodeStream } = await import(process.env.BL_ROOT + '/dist/decoder.js')
const { writeHtml } = await import(process.env.BL_ROOT + '/dist/render/html/index.js')
const [inp, outp, mode] = process.argv.slice(1)
const t0 = performance.now()
const out = createWriteStream(outp)
const src = () => decodeStream(createReadStream(inp, { highWaterMark: 1 << 20 }))
await writeHtml(mode === 'two' ? src : src(), out, { title: 'bench ' + mode + '-pass' })
out.end()
await finished(out)
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 }))
`

function exportOnce(input, output, mode) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', EXPORT_SCRIPT, input, output, mode], { env: { ...process.env, BL_ROOT: ROOT }, encoding: 'utf8', maxBuffer: 1 << 20 })
  if (r.status !== 0) throw new Error(`export (${mode}) failed: ${r.stderr}`)
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), bytes: fs.statSync(output).size }
}

/** Give up on the page after this long (the result says so instead of failing the whole bench). */
const BROWSER_BUDGET_MS = 180_000

async function inBrowser(file) {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const url = pathToFileURL(file).href
    const t0 = performance.now()
    await page.goto(url, { waitUntil: 'commit', timeout: 600_000 })
    await page.waitForSelector('#bl-head', { timeout: BROWSER_BUDGET_MS })
    const header = (performance.now() - t0) / 1000
    try {
      await page.waitForFunction(() => document.documentElement.dataset.ready === '1', undefined, { timeout: BROWSER_BUDGET_MS, polling: 100 })
    } catch {
      return { timedOut: true, header }
    }
    const ready = (performance.now() - t0) / 1000
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    const painted = (performance.now() - t0) / 1000
    const timing = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0]
      return { dcl: n.domContentLoadedEventEnd / 1000, nodes: document.getElementsByTagName('*').length }
    })
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Performance.enable')
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]))
    const latency = async (fn) => {
      const t = performance.now()
      await fn()
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
      return (performance.now() - t) / 1000
    }
    const toggle = await latency(() => page.locator('#bl-log details:not([open]) > summary').first().click())
    const jump = await latency(async () => {
      await page.click('#bl-first-error')
      await page.waitForFunction(() => document.querySelector('#bl-log .hl') !== null)
    })
    const scrollEnd = await latency(() => page.evaluate(() => window.scrollTo(0, document.body.scrollHeight)))
    const filter = await latency(async () => {
      await page.fill('#bl-search', 'zzqq-no-such-text')
      await page.press('#bl-search', 'Enter')
      await page.waitForFunction(() => document.body.classList.contains('filtering'), undefined, { timeout: 600_000 })
    })
    return { header, ready, painted, dcl: timing.dcl, nodes: timing.nodes, heapMiB: metrics.JSHeapUsedSize / 2 ** 20, toggle, jump, scrollEnd, filter }
  } finally {
    await browser.close()
  }
}

function parseSize(s) {
  const m = /^([0-9]+)([KMG]?)$/.exec(s)
  if (!m) throw new Error('bad size ' + s)
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]]
}

export async function run({ corpusDir, size = '100M' } = {}) {
  corpusDir ??= path.join(ROOT, 'bench', 'corpus')
  fs.mkdirSync(corpusDir, { recursive: true })
  const input = path.join(corpusDir, `html-legacy-${size}.log`)
  if (!fs.existsSync(input) || fs.statSync(input).size !== parseSize(size)) {
    execFileSync(process.execPath, [path.join(ROOT, 'bench', 'corpus.mjs'), '--flavour', 'legacy', '--size', size, '--out', input], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-html-bench-'))
  try {
    const two = exportOnce(input, path.join(outDir, 'two.html'), 'two')
    const one = exportOnce(input, path.join(outDir, 'one.html'), 'one')
    const MiB = 2 ** 20
    const rows = [
      '| export | wall | MiB/s of log | peak RSS | page size |',
      '|---|---|---|---|---|',
      `| two passes (static folding; what the CLI does for a file) | ${two.seconds.toFixed(2)} s | ${(fs.statSync(input).size / MiB / two.seconds).toFixed(1)} | ${two.maxRssMiB.toFixed(0)} MiB | ${(two.bytes / MiB).toFixed(0)} MiB |`,
      `| one pass (folding applied by the page script) | ${one.seconds.toFixed(2)} s | ${(fs.statSync(input).size / MiB / one.seconds).toFixed(1)} | ${one.maxRssMiB.toFixed(0)} MiB | ${(one.bytes / MiB).toFixed(0)} MiB |`,
    ]
    let browserMd
    if (fs.existsSync(CHROMIUM)) {
      const b = await inBrowser(path.join(outDir, 'two.html'))
      if (b.timedOut) {
        browserMd = ['', `Chromium: header painted after ${b.header.toFixed(2)} s, but the page script was **not initialised within ${BROWSER_BUDGET_MS / 1000} s** (the whole page is DOM; see the HTML notes).`]
      } else browserMd = [
        '',
        `Chromium (${execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim()}, headless, 1280×900), the two-pass page:`,
        '',
        '| milestone | seconds |',
        '|---|---|',
        `| header painted (first bytes parsed) | ${b.header.toFixed(2)} |`,
        `| DOMContentLoaded (whole page parsed) | ${b.dcl.toFixed(2)} |`,
        `| page script initialised (\`data-ready\`: buttons, anchors, search) | ${b.ready.toFixed(2)} |`,
        `| next frame after that | ${b.painted.toFixed(2)} |`,
        `| open a closed section (click → frame) | ${b.toggle.toFixed(3)} |`,
        `| "jump to first error" (click → highlighted, frame) | ${b.jump.toFixed(3)} |`,
        `| scroll to the end | ${b.scrollEnd.toFixed(3)} |`,
        `| search box filter over every line | ${b.filter.toFixed(2)} |`,
        '',
        `DOM elements: ${b.nodes.toLocaleString('en-US')}; JS heap after load: ${b.heapMiB.toFixed(0)} MiB.`,
      ]
    } else browserMd = ['', `Chromium not found at ${CHROMIUM}: page timings skipped.`]
    return [
      `### HTML export (${size}iB legacy log)`,
      '',
      'Export through the API (`writeHtml`, which `buildlog export --format html` wraps) in a child process; the decoder runs once per pass.',
      '',
      ...rows,
      ...browserMd,
      '',
    ].join('\n')
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2)
  const opt = (k) => {
    const i = args.indexOf(k)
    return i >= 0 ? args[i + 1] : undefined
  }
  process.stdout.write(await run({ corpusDir: opt('--corpus-dir'), size: opt('--size') ?? '100M' }))
}
