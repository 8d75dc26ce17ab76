// HTML export: time to export a 100 MiB legacy log (the default, which picks the lazy page for a log
// this big, in one decoding pass; and the live page forced, in two), and on the default page in
// headless Chromium: time until it is interactive (header filled, first lines shown, a click opens a
// section, "jump to first error" works — while Chromium may still be parsing the rest), until the
// whole document is parsed, and the latency of a few interactions.
//
//   export async function run({ corpusDir, size?, chromium? }) → markdown section
//   node bench/sections/html.mjs [--size 100M] [--runs 3] [--corpus-dir DIR]    (prints the section)
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
await writeHtml(src, out, { title: 'bench ' + mode, lazy: mode === 'live' ? false : 'auto' })
out.end()
await finished(out)
const u = process.resourceUsage()
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, cpu: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssMiB: u.maxRSS / 1024 }))
`

function exportOnce(input, output, mode) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', EXPORT_SCRIPT, input, output, mode], { env: { ...process.env, BL_ROOT: ROOT }, encoding: 'utf8', maxBuffer: 1 << 20 })
  if (r.status !== 0) throw new Error(`export (${mode}) failed: ${r.stderr}`)
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), bytes: fs.statSync(output).size }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

/** `runs` exports; the median wall time and CPU time, the largest peak RSS. */
function exportRuns(input, output, mode, runs) {
  const all = Array.from({ length: runs }, () => exportOnce(input, output, mode))
  return { seconds: median(all.map((r) => r.seconds)), cpu: median(all.map((r) => r.cpu)), maxRssMiB: Math.max(...all.map((r) => r.maxRssMiB)), bytes: all[0].bytes, runs }
}

/** Give up on the page after this long (the result says so instead of failing the whole bench). */
const BROWSER_BUDGET_MS = 180_000

async function inBrowser(file) {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const url = pathToFileURL(file).href
    const frame = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    const t0 = performance.now()
    const since = () => (performance.now() - t0) / 1000
    const opts = { timeout: BROWSER_BUDGET_MS, polling: 50 }
    await page.goto(url, { waitUntil: 'commit', timeout: 600_000 })
    await page.waitForSelector('#bl-head', { timeout: BROWSER_BUDGET_MS })
    const header = since()
    try {
      await page.waitForFunction(() => document.documentElement.dataset.interactive === '1' || document.documentElement.dataset.ready === '1', undefined, opts)
    } catch {
      return { timedOut: true, header }
    }
    const script = since()
    await page.waitForFunction(() => document.querySelectorAll('#bl-log p').length > 20, undefined, opts)
    await frame()
    const firstScreen = since()
    // open the first closed section and wait until its body has content
    await page.evaluate(() => document.querySelector('#bl-log details:not([open])').setAttribute('data-bench', ''))
    await page.click('#bl-log details[data-bench] > summary')
    await page.waitForFunction(() => document.querySelector('#bl-log details[data-bench][open] > .b :is(p, details)') !== null, undefined, opts)
    await frame()
    const clicked = since()
    await page.click('#bl-first-error')
    await page.waitForFunction(() => document.querySelector('#bl-log .hl') !== null, undefined, opts)
    await frame()
    const firstError = since()
    const firstErrorVisible = await page.locator('#bl-log .hl').first().isVisible()
    await page.waitForFunction(() => document.documentElement.dataset.ready === '1', undefined, { timeout: 600_000, polling: 100 })
    const ready = since()
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
      await frame()
      return (performance.now() - t) / 1000
    }
    const toggle = await latency(() => page.locator('#bl-log details:not([open]) > summary').first().click())
    const lastLine = await page.evaluate(() => JSON.parse(document.getElementById('bl-data').textContent).page?.lines ?? 0)
    const deepAnchor = lastLine
      ? await latency(async () => {
          await page.evaluate((n) => (location.hash = '#L' + n), lastLine)
          await page.waitForFunction((n) => document.getElementById('L' + n)?.classList.contains('hl'), lastLine, { timeout: 600_000 })
        })
      : undefined
    const scrollEnd = await latency(() => page.evaluate(() => window.scrollTo(0, document.body.scrollHeight)))
    const filter = await latency(async () => {
      await page.fill('#bl-search', 'zzqq-no-such-text')
      await page.press('#bl-search', 'Enter')
      await page.waitForFunction(() => /matching/.test(document.getElementById('bl-count').textContent) || document.body.classList.contains('filtering'), undefined, { timeout: 600_000 })
    })
    return { header, script, firstScreen, clicked, firstError, firstErrorVisible, ready, dcl: timing.dcl, nodes: timing.nodes, heapMiB: metrics.JSHeapUsedSize / 2 ** 20, toggle, deepAnchor, lastLine, scrollEnd, filter }
  } finally {
    await browser.close()
  }
}

function parseSize(s) {
  const m = /^([0-9]+)([KMG]?)$/.exec(s)
  if (!m) throw new Error('bad size ' + s)
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]]
}

export async function run({ corpusDir, size = '100M', runs = 3 } = {}) {
  corpusDir ??= path.join(ROOT, 'bench', 'corpus')
  fs.mkdirSync(corpusDir, { recursive: true })
  const input = path.join(corpusDir, `html-legacy-${size}.log`)
  if (!fs.existsSync(input) || fs.statSync(input).size !== parseSize(size)) {
    execFileSync(process.execPath, [path.join(ROOT, 'bench', 'corpus.mjs'), '--flavour', 'legacy', '--size', size, '--out', input], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-html-bench-'))
  try {
    const auto = exportRuns(input, path.join(outDir, 'auto.html'), 'auto', runs)
    const live = exportRuns(input, path.join(outDir, 'live.html'), 'live', 1)
    fs.rmSync(path.join(outDir, 'live.html'))
    const MiB = 2 ** 20
    const logMiB = fs.statSync(input).size / MiB
    const row = (what, r) => `| ${what} | ${r.runs} | ${r.seconds.toFixed(2)} s | ${r.cpu.toFixed(2)} s | ${(logMiB / r.seconds).toFixed(1)} | ${r.maxRssMiB.toFixed(0)} MiB | ${(r.bytes / MiB).toFixed(0)} MiB |`
    const rows = [
      '| export | runs | wall (median) | CPU (median) | MiB/s of log | peak RSS | page size |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('default (`lazy: \'auto\'`: the lazy page for a log this big, one decoding pass; what the CLI does)', auto),
      row('live page forced (`lazy: false`: everything in the DOM, two decoding passes)', live),
    ]
    let browserMd
    if (fs.existsSync(CHROMIUM)) {
      const b = await inBrowser(path.join(outDir, 'auto.html'))
      if (b.timedOut) {
        browserMd = ['', `Chromium: header painted after ${b.header.toFixed(2)} s, but the page script was **not initialised within ${BROWSER_BUDGET_MS / 1000} s**.`]
      } else browserMd = [
        '',
        `Chromium (${execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim()}, headless, 1280×900), the default page; seconds from navigation start:`,
        '',
        '| milestone | seconds |',
        '|---|---|',
        `| header painted | ${b.header.toFixed(2)} |`,
        `| page script running (data block parsed: counts, folding, handlers) | ${b.script.toFixed(2)} |`,
        `| first screen of lines shown | ${b.firstScreen.toFixed(2)} |`,
        `| a closed section opened by a click and its lines shown | ${b.clicked.toFixed(2)} |`,
        `| "jump to first error" done (line highlighted${b.firstErrorVisible ? ' and visible' : ', NOT visible'}) | ${b.firstError.toFixed(2)} |`,
        `| whole document parsed (DOMContentLoaded ${b.dcl.toFixed(2)}; \`data-ready\`) | ${b.ready.toFixed(2)} |`,
        '',
        'Then, on the loaded page:',
        '',
        '| interaction | seconds |',
        '|---|---|',
        `| open a closed section (click → frame) | ${b.toggle.toFixed(3)} |`,
        b.deepAnchor === undefined ? null : `| \`#L${b.lastLine}\` (the last line: builds the DOM down to it) | ${b.deepAnchor.toFixed(2)} |`,
        `| scroll to the end | ${b.scrollEnd.toFixed(3)} |`,
        `| search box over every line (no hit) | ${b.filter.toFixed(2)} |`,
        '',
        `DOM elements at the end: ${b.nodes.toLocaleString('en-US')}; JS heap: ${b.heapMiB.toFixed(0)} MiB.`,
      ].filter((l) => l !== null)
    } else browserMd = ['', `Chromium not found at ${CHROMIUM}: page timings skipped.`]
    return [
      `### HTML export (${size}iB legacy log)`,
      '',
      'Export through the API (`writeHtml`, which `buildlog export --format html` wraps) in a child process, page written to a file.',
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
  process.stdout.write(await run({ corpusDir: opt('--corpus-dir'), size: opt('--size') ?? '100M', runs: Number(opt('--runs') ?? 3) }))
}
