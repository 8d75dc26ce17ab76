// The executables run the bundle that scripts/build-cli.mjs makes (dist/bin/cli.cjs) with its V8
// code cache, through bin/load-cli.cjs; these check that the bundle behaves as the tsc output does.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import t from 'tap'
import { paintFirstScreens } from '../dist/cli/entry.js'
import { runBin } from './helpers/cli.js'
import { repoRoot } from './helpers/fixtures.js'

const E = '\x1b'
const HASH = '0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6'
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-bundle-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

let log = ''
for (let k = 0; k < 30; k++) {
  log += `${E}[pbuilding /nix/store/${HASH}-pkg${k}-1.0\n${E}[pbuildPhase\n`
  for (let i = 0; i < 20; i++) log += `${E}[32mcc${E}[0m -c f${i}.c # pkg${k} ∙ ünïcode\n`
  if (k === 12) log += `f3.c:1: error: boom in pkg12\n`
  log += `${E}[q${E}[q`
}
const file = path.join(dir, 'build.log')
fs.writeFileSync(file, log)

const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version

t.test('both executables find package.json from the bundle', async (t) => {
  const b = await runBin('buildlog', ['--version'])
  t.equal(b.code, 0)
  t.equal(b.stdout.toString(), `buildlog ${version}\n`)
  const c = await runBin('nixlog-clean', ['--version'])
  t.equal(c.code, 0)
  t.equal(c.stdout.toString(), `nixlog-clean ${version}\n`)
})

t.test('buildlog view into a pipe prints the log as nixlog-clean does', async (t) => {
  const view = await runBin('buildlog', ['view', '--color=never', file])
  const clean = await runBin('nixlog-clean', ['--color=never', file])
  t.equal(view.code, 0)
  t.equal(clean.code, 0)
  t.equal(view.stderr, '')
  t.match(view.stdout.toString(), /^building \/nix\/store\/0c8b.*-pkg0-1\.0\nbuildPhase\ncc -c f0\.c # pkg0 ∙ ünïcode\n/)
  t.equal(view.stdout.toString(), clean.stdout.toString())
})

t.test('usage errors still exit 2 with one line', async (t) => {
  const r = await runBin('buildlog', ['frobnicate'])
  t.equal(r.code, 2)
  t.equal(r.stderr, "buildlog: unknown command 'frobnicate'\nTry 'buildlog --help' for more information.\n")
})

t.test('the bundle paints the same first screen as the modules it was made from', async (t) => {
  const { loadCli } = createRequire(import.meta.url)(path.join(repoRoot, 'bin/load-cli.cjs')) as { loadCli(): { paintFirstScreens: typeof paintFirstScreens } }
  const [bundled] = await loadCli().paintFirstScreens([file])
  const [modules] = await paintFirstScreens([file])
  t.match(modules, /error: boom in pkg12/, 'the frame opens the first error')
  t.equal(bundled, modules)
})

t.test('this Node accepts the code cache the build recorded', async (t) => {
  // a child with a plain environment, as a user runs the executables (tap may set NODE_OPTIONS)
  const probe = `const l = require(${JSON.stringify(path.join(repoRoot, 'bin/load-cli.cjs'))}); const c = l.readCache(); console.log(JSON.stringify({ cache: c !== undefined, rejected: c ? l.compileCli(c).cachedDataRejected : null }))`
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout), { cache: true, rejected: false })
})

t.test('the bundle runs in strict mode, as the ES modules it was made from', async (t) => {
  const bundle = fs.readFileSync(path.join(repoRoot, 'dist/bin/cli.cjs'), 'utf8')
  t.match(bundle, /^(?:\/\/[^\n]*\n|\s)*(['"])use strict\1;/, 'a "use strict" directive opens the file')
})

t.test('the HTML page exported by the bundle works in Chromium', async (t) => {
  // The page script is built from functions' source text (page.ts), which esbuild rewrites and may
  // rename on a clash between modules (it renamed formatDuration while the pager had its own).
  const chromiumPath = '/usr/bin/chromium'
  t.ok(fs.existsSync(chromiumPath), `${chromiumPath} must exist (apt-get install chromium)`)
  if (!fs.existsSync(chromiumPath)) return
  // big enough for the lazy page, whose headers the page script writes (statsText, formatDuration)
  let big = ''
  for (let k = 0; k < 40; k++) {
    big += `${E}[pbuilding /nix/store/${HASH}-pkg${k}-1.0
`
    for (let i = 0; i < 800; i++) big += `cc -c f${i}.c # pkg${k}
`
    if (k === 3) big += `error: boom in pkg3
`
    big += `${E}[q`
  }
  const input = path.join(dir, 'big.log')
  fs.writeFileSync(input, big)
  const html = path.join(dir, 'big.html')
  const r = await runBin('buildlog', ['export', '--format', 'html', '-o', html, input])
  t.equal(r.code, 0, r.stderr)
  t.match(fs.readFileSync(html, 'utf8'), '<body data-mode="lazy">', 'the lazy page')
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  const errorLine = big.slice(0, big.indexOf('error: boom')).split('\n').length // 1-based, as #L counts
  await page.goto(pathToFileURL(html).href + `#L${errorLine}`)
  await page.waitForSelector('html[data-ready="1"]', { timeout: 10000 })
  t.match(await page.locator('details#S4 > summary .st').innerText(), /801 lines · 1 error/, 'the page script wrote the header')
  await page.waitForSelector(`#L${errorLine}`, { timeout: 5000 })
  t.match(await page.locator(`#L${errorLine}`).innerText(), 'error: boom in pkg3', 'the #L anchor (parseAnchor) reached the line')
  t.same(errors, [], 'no script error')
})
