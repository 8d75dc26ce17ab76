// The HTML export in real headless Chromium (Debian's /usr/bin/chromium via playwright-core).
// If Chromium is missing this FAILS on purpose: CI installs it (.ci/run).
import t from 'tap'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { decode, decodeStream } from '../dist/decoder.js'
import type { LineEvent, LogEvent } from '../dist/events.js'
import { writeHtml } from '../dist/render/html/index.js'


/** What a page did that it must not: dialogs it opened, requests off file:, script errors. */
function watch(page: Page): { dialogs: string[]; requests: string[]; errors: string[] } {
  const dialogs: string[] = []
  const requests: string[] = []
  const errors: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url())
  })
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  return { dialogs, requests, errors }
}

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-quic', '--disable-component-update', '--disable-sync']
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts')
const TITLE = 'hostile & <b>log</b>'
const HASH = '0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6'

/** A legacy stdenv log: a failing section full of hostile text, and a long quiet section. */
function hostileLog(): Buffer {
  const E = '\x1b'
  const parts: (string | Buffer)[] = [
    `${E}[pbuilding hostile\n`,
    '<script>alert(1)</script>\n',
    '</textarea><img src=x onerror=alert(2)>\n',
    '</template><img src=x onerror=alert(3)></SCRIPT ><!-- <script>alert(4)</script>\n',
    `before-osc${E}]0;PWNED-TITLE\x07after-osc\n`,
    `before-clip${E}]52;c;cGF5bG9hZA==\x07after-clip\n`,
    Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0x20, 0x75, 0x74, 0x66, 0x0a]), // "bad \xff\xfe utf\n"
    'ctrl \x01 del \x7f end\n',
    `${E}[31mred${E}[0m plain ${E}[1;38;2;1;2;3mtrue${E}[0m\n`,
    `installing /nix/store/${HASH}-hello-2.10/bin/hello\n`,
    'error: boom\n',
    `${E}[q`,
    `${E}[pquiet section\n`,
  ]
  for (let i = 1; i <= 300; i++) parts.push(i === 150 ? 'filler zanzibar-needle here\n' : `filler line ${i}\n`)
  parts.push(`${E}[q`, 'trailing top-level line\n')
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)))
}

const log = hostileLog()
const events = decode(log)
const lines = events.filter((e): e is LineEvent => e.type === 'line')
const lineOf = (s: string): number => {
  const l = lines.find((e) => e.text.toString('latin1').includes(s))
  if (!l) throw new Error('no line with ' + s)
  return l.index
}
const needle = lineOf('zanzibar-needle')
const filler250 = lineOf('filler line 250')

/** The toolbar's expand-all opens every section and collapse-all closes every one. */
async function expandAndCollapseAll(t: Tap.Test, page: Page): Promise<void> {
  await page.click('#bl-expand')
  t.equal(await page.locator('#bl-log details:not([open])').count(), 0, 'expand all')
  await page.click('#bl-collapse')
  t.equal(await page.locator('#bl-log details[open]').count(), 0, 'collapse all')
}

async function exportTo(file: string, twoPass: boolean, lazy = false): Promise<string> {
  const chunks: Buffer[] = []
  const out = new PassThrough()
  out.on('data', (c: Buffer) => chunks.push(c))
  const source = () => decodeStream((async function* () { yield log })())
  await writeHtml(twoPass ? source : source(), out, { title: TITLE, lazy })
  const html = Buffer.concat(chunks).toString('utf8')
  writeFileSync(file, html)
  return html
}

t.test('HTML export in headless Chromium', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} must exist (apt-get install chromium)`)
  if (!existsSync(CHROMIUM)) return
  mkdirSync(ARTIFACTS, { recursive: true })
  const dir = join(tmpdir(), `buildlog-html-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.teardown(() => browser.close())

  for (const twoPass of [true, false]) {
    const mode = twoPass ? 'two-pass' : 'one-pass'
    const file = join(dir, `hostile-${mode}.html`)
    const html = await exportTo(file, twoPass)

    t.test(`${mode}: bytes of the page`, async (t) => {
      t.notMatch(html, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, 'no raw control character (ESC, BEL, C1, …) in the page')
      t.notMatch(html, /PWNED|cGF5bG9hZA/, 'OSC payloads do not reach the page')
      t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;', 'script tag escaped')
      t.match(html, '&lt;/textarea&gt;&lt;img src=x onerror=alert(2)&gt;', 'textarea/img escaped')
      t.equal((html.match(/<script/g) ?? []).length, 2, 'only our two script elements')
      t.notMatch(html, /https?:\/\//, 'no network URL anywhere')
    })

    t.test(`${mode}: in the browser`, async (t) => {
      const page: Page = await browser.newPage({ viewport: { width: 1100, height: 800 } })
      const { dialogs, requests, errors } = watch(page)
      const url = pathToFileURL(file).href
      await page.goto(url)
      await page.waitForSelector('html[data-ready="1"]', { timeout: 10000 })

      // inert hostile text
      t.equal(await page.title(), TITLE, 'title is ours, not the OSC 0 payload')
      const text = await page.locator('#bl-log').textContent()
      t.match(text, '<script>alert(1)</script>', 'script tag shown as text')
      t.match(text, '</textarea><img src=x onerror=alert(2)>', 'textarea/img shown as text')
      t.match(text, 'before-oscafter-osc', 'OSC removed, surrounding text kept')
      const rm = page.locator('#bl-log .rm').first()
      t.equal(await rm.evaluate((el) => getComputedStyle(el, '::before').content), '"\u241b"', 'a dim ␛ where the escape was removed')
      t.equal(await page.locator('#bl-log .rm').count(), 2, 'one per removed escape (OSC 0, OSC 52)')
      t.match(text, 'bad \ufffd\ufffd utf', 'invalid UTF-8 shown as U+FFFD')
      t.match(text, 'ctrl \u2401 del \u2421 end', 'C0 and DEL shown as control pictures')
      t.equal(await page.locator('#bl-log img, #bl-log script, #bl-log textarea').count(), 0, 'no element from log text')
      t.equal(await page.evaluate(() => document.scripts.length), 2)
      t.same(dialogs, [], 'no dialog')

      // colours as classes, store paths elided with the full path kept
      t.equal(await page.locator('#bl-log span.f1', { hasText: 'red' }).count(), 1, 'SGR 31 → class f1')
      t.match(await page.locator('#bl-log span.sb', { hasText: 'true' }).getAttribute('style'), 'color:#010203', 'truecolour')
      const sp = page.locator('#bl-log .sp').first()
      t.equal(await sp.getAttribute('title'), `/nix/store/${HASH}-hello-2.10/bin/hello`, 'full path on hover')
      t.equal((await sp.locator('.sh').boundingBox())?.width, 0, 'store dir and hash take no space (shown as "/…" by CSS)')
      t.equal(await sp.evaluate((el) => getComputedStyle(el, '::before').content), '"/…"', 'the elision mark')
      await sp.click()
      t.equal(await page.evaluate(() => String(getSelection())), `/nix/store/${HASH}-hello-2.10/bin/hello`, 'click selects the full path for copying')

      // failure-aware folding
      const hot = page.locator('details#S1')
      const quiet = page.locator('details#S2')
      t.equal(await hot.evaluate((d: HTMLDetailsElement) => d.open), true, 'the section with an error starts open')
      t.equal(await quiet.evaluate((d: HTMLDetailsElement) => d.open), false, 'the quiet section starts closed')
      t.match(await page.locator('#bl-errors').innerText(), /^1 error$/)
      t.match(await page.locator('details#S1 > summary .st').innerText(), /lines · 1 error/)

      // click to open and close
      await quiet.locator('> summary .t').click()
      t.equal(await quiet.evaluate((d: HTMLDetailsElement) => d.open), true, 'click opens')
      t.ok(await page.locator(`#L${needle}`).isVisible(), 'lines of the opened section are visible')
      await quiet.locator('> summary .t').click()
      t.equal(await quiet.evaluate((d: HTMLDetailsElement) => d.open), false, 'click closes')
      t.notOk(await page.locator(`#L${needle}`).isVisible(), 'lines hidden again')

      // expand all / collapse all / jump to first error
      await expandAndCollapseAll(t, page)
      await page.click('#bl-first-error')
      const errLine = lineOf('error: boom')
      await page.waitForFunction((n) => document.getElementById('L' + n)?.classList.contains('hl'), errLine)
      t.ok(await page.locator(`#L${errLine}`).isVisible(), 'jump to first error opens its section')

      // #L123 into a closed section, and a range
      await page.click('#bl-collapse')
      await page.goto(url + `#L${filler250}`)
      await page.waitForSelector('html[data-ready="1"]')
      const target = page.locator(`#L${filler250}`)
      t.equal(await quiet.evaluate((d: HTMLDetailsElement) => d.open), true, '#L opens the closed section')
      t.ok(await target.isVisible(), 'target line visible')
      t.ok(await target.evaluate((el) => el.classList.contains('hl')), 'target line highlighted')
      const box = await target.boundingBox()
      t.ok(box && box.y >= 0 && box.y < 800, `target line in the viewport (y=${box?.y})`)
      await page.evaluate((h) => (location.hash = h), `#L${filler250 - 5}-L${filler250}`)
      await page.waitForFunction(() => document.querySelectorAll('#bl-log .hl').length === 6)
      t.equal(await page.locator('#bl-log .hl').count(), 6, 'range highlights 6 lines')
      await page.evaluate(() => (location.hash = '#S2'))
      await page.waitForFunction(() => document.querySelector('details#S2')?.classList.contains('hl'))
      t.pass('section anchor highlights the section')

      // find inside a closed section
      await page.goto(url)
      await page.waitForSelector('html[data-ready="1"]')
      t.equal(await quiet.evaluate((d: HTMLDetailsElement) => d.open), false)
      t.equal(await page.evaluate(() => (window as unknown as { find(s: string): boolean }).find('zanzibar-needle')), true, 'window.find finds text in a closed section (it is in the DOM)')
      // window.find does not reveal; Chromium's reveal path (shared by Ctrl-F and text fragments) does:
      await page.goto(url + '#:~:text=zanzibar%2Dneedle')
      await page.waitForFunction(() => (document.getElementById('S2') as HTMLDetailsElement).open, undefined, { timeout: 5000 })
      t.ok(await page.locator(`#L${needle}`).isVisible(), 'text-fragment find opens the closed section and shows the hit')

      // the search box filters lines
      await page.goto(url)
      await page.waitForSelector('html[data-ready="1"]')
      await page.fill('#bl-search', 'zanzibar')
      await page.press('#bl-search', 'Enter')
      await page.waitForFunction(() => document.body.classList.contains('filtering'))
      t.ok(await page.locator(`#L${needle}`).isVisible(), 'matching line visible')
      t.notOk(await page.locator(`#L${filler250}`).isVisible(), 'other lines hidden')
      t.match(await page.locator('#bl-count').innerText(), '1 matching line')
      await page.fill('#bl-search', '')
      await page.press('#bl-search', 'Enter')
      t.equal(await quiet.evaluate((d: HTMLDetailsElement) => d.open), false, 'clearing the filter restores folding')

      await page.screenshot({ path: join(ARTIFACTS, `html-export-${mode}.png`), fullPage: false })
      await page.emulateMedia({ colorScheme: 'dark' })
      await page.click('#bl-expand')
      await page.screenshot({ path: join(ARTIFACTS, `html-export-${mode}-dark.png`), fullPage: false })

      t.same(dialogs, [], 'no dialog at any point')
      t.same(requests, [], 'no network request')
      t.same(errors, [], 'no script error')
      await page.close()
    })
  }
})

t.test('lazy page (big logs) in headless Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) return t.fail('chromium missing')
  mkdirSync(ARTIFACTS, { recursive: true })
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.teardown(() => browser.close())
  const file = join(tmpdir(), `buildlog-html-lazy-${process.pid}.html`)
  t.teardown(() => rmSync(file, { force: true }))
  const html = await exportTo(file, true, true)
  const url = pathToFileURL(file).href
  const blocks = (html.match(/<script type="text\/x-buildlog"/g) ?? []).length

  t.test('bytes of the page', async (t) => {
    t.match(html, '<body data-mode="lazy">')
    t.ok(blocks >= 1)
    t.equal((html.match(/<script/gi) ?? []).length, 2 + blocks, 'our script, the data and the inert blocks, nothing else')
    t.equal((html.match(/<\/script/gi) ?? []).length, 2 + blocks, 'no early end of a block')
    t.notMatch(html, /<!--/, 'no comment opener')
    t.notMatch(html, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, 'no raw control character')
    t.notMatch(html, /PWNED|cGF5bG9hZA/, 'OSC payloads do not reach the page')
    t.notMatch(html, /https?:\/\//, 'no network URL anywhere')
  })

  const page: Page = await browser.newPage({ viewport: { width: 1100, height: 800 } })
  const { dialogs, requests, errors } = watch(page)
  const load = async (hash = '') => {
    await page.goto(url + hash)
    await page.waitForSelector('html[data-ready="1"]', { timeout: 10000 })
  }
  const quiet = page.locator('details#S2')
  const isOpen = (d: HTMLDetailsElement) => d.open

  t.test('header, failure path shown, injections inert', async (t) => {
    await load()
    t.equal(await page.title(), TITLE)
    t.match(await page.locator('#bl-errors').innerText(), /^1 error$/, 'counts filled from the data block')
    t.equal(await page.locator('details#S1').evaluate(isOpen), true, 'the failing section is open')
    t.match(await page.locator('details#S1 > summary .st').innerText(), /lines · 1 error/)
    const errLine = lineOf('error: boom')
    t.ok(await page.locator(`#L${errLine}`).isVisible(), 'its error line is rendered and visible')
    const text = (await page.locator('#bl-log').textContent()) ?? ''
    t.match(text, '<script>alert(1)</script>', 'script tag shown as text')
    t.match(text, '</template><img src=x onerror=alert(3)></SCRIPT ><!-- <script>alert(4)</script>', 'template/script/comment text inert')
    t.match(text, 'before-oscafter-osc')
    t.match(text, 'bad \ufffd\ufffd utf')
    t.equal(await page.locator('#bl-log img, #bl-log script, #bl-log textarea, #bl-log template').count(), 0, 'no element from log text')
    t.equal(await page.evaluate(() => document.scripts.length), 2 + blocks, 'no script element was added')
    const rm = page.locator('#bl-log .rm').first()
    t.equal(await rm.evaluate((el) => getComputedStyle(el, '::before').content), '"\u241b"', 'removed escapes drawn as ␛ here too')
    t.equal(await quiet.evaluate(isOpen), false, 'the quiet section is closed')
    t.equal(await page.locator(`#L${needle}`).count(), 0, 'and its lines are not in the DOM yet (lazy)')
  })

  t.test('open a lazy section by click', async (t) => {
    await load()
    await quiet.locator('> summary .t').click()
    await page.waitForSelector(`#L${needle}`, { timeout: 5000 })
    t.equal(await quiet.evaluate(isOpen), true, 'click opens')
    await page.locator(`#L${needle}`).scrollIntoViewIfNeeded()
    t.ok(await page.locator(`#L${needle}`).isVisible(), 'lines of the opened section are rendered and visible')
    t.match(await page.locator(`#L${filler250}`).innerText(), 'filler line 250', 'line ids follow the log numbering')
    await quiet.locator('> summary .t').click()
    t.equal(await quiet.evaluate(isOpen), false, 'click closes')
    t.notOk(await page.locator(`#L${needle}`).isVisible(), 'lines hidden again')
    await expandAndCollapseAll(t, page)
    await page.click('#bl-default')
    t.equal(await page.locator('details#S1').evaluate(isOpen), true, 'default folding')
    t.equal(await quiet.evaluate(isOpen), false)
  })

  t.test('anchors into a lazy section', async (t) => {
    await load(`#L${filler250}`)
    const target = page.locator(`#L${filler250}`)
    await page.waitForFunction((n) => document.getElementById('L' + n)?.classList.contains('hl'), filler250, { timeout: 5000 })
    t.equal(await quiet.evaluate(isOpen), true, '#L opens the lazily rendered section')
    t.ok(await target.isVisible(), 'target line visible')
    const box = await target.boundingBox()
    t.ok(box && box.y >= 0 && box.y < 800, `target line in the viewport (y=${box?.y})`)
    await page.evaluate((h) => (location.hash = h), `#L${filler250 - 5}-L${filler250}`)
    await page.waitForFunction(() => document.querySelectorAll('#bl-log .hl').length === 6)
    t.pass('range highlights 6 lines')
    await load('#S2')
    await page.waitForFunction(() => document.querySelector('details#S2')?.classList.contains('hl'), undefined, { timeout: 5000 })
    t.equal(await quiet.evaluate(isOpen), true, 'section anchor opens it')
  })

  t.test('the search box finds text in unrendered content', async (t) => {
    await load()
    t.equal(await page.locator(`#L${needle}`).count(), 0, 'not rendered')
    await page.fill('#bl-search', 'ZANZIBAR')
    await page.press('#bl-search', 'Enter')
    await page.waitForFunction(() => /matching/.test(document.getElementById('bl-count')!.textContent ?? ''))
    t.match(await page.locator('#bl-count').innerText(), '1 matching line')
    const hit = page.locator('#bl-results p')
    t.equal(await hit.count(), 1)
    t.match(await hit.innerText(), `${needle}filler zanzibar-needle here`)
    await page.fill('#bl-search', 'onerror=alert(3)')
    await page.press('#bl-search', 'Enter')
    await page.waitForFunction(() => /^1 matching/.test(document.getElementById('bl-count')!.textContent ?? ''))
    t.equal(await page.locator('#bl-results img, #bl-results script, #bl-results template').count(), 0, 'results are inert text too')
    await page.fill('#bl-search', 'zanzibar')
    await page.press('#bl-search', 'Enter')
    await page.waitForFunction(() => /^1 matching/.test(document.getElementById('bl-count')!.textContent ?? ''))
    await page.locator('#bl-results a').click()
    await page.waitForFunction((n) => document.getElementById('L' + n)?.classList.contains('hl'), needle, { timeout: 5000 })
    t.ok(await page.locator(`#L${needle}`).isVisible(), 'a result leads to the line, rendered')
    await page.fill('#bl-search', '')
    await page.press('#bl-search', 'Enter')
    t.equal(await page.locator('#bl-results').isVisible(), false, 'clearing hides the results')
    await page.screenshot({ path: join(ARTIFACTS, 'html-export-lazy.png'), fullPage: false })
  })

  t.test('no dialog, request or error', async (t) => {
    t.same(dialogs, [])
    t.same(requests, [])
    t.same(errors, [])
  })
})

/** The HTML page of `ev` (the CLI's default, by size) in a temporary file; returns its path. */
async function pageFile(ev: LogEvent[], title: string): Promise<string> {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (c: Buffer) => chunks.push(c))
  await writeHtml(() => ev, out, { title })
  const file = join(tmpdir(), `buildlog-${title}-${process.pid}.html`)
  writeFileSync(file, Buffer.concat(chunks))
  return file
}

t.test('sample logs render without script errors', async (t) => {
  if (!existsSync(CHROMIUM)) return t.fail('chromium missing')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.teardown(() => browser.close())
  const sample = join(import.meta.dirname, 'fixtures', 'samples', 'synthetic-legacy-stdenv-nesting.log')
  const ev: LogEvent[] = decode(readFileSync(sample))
  const file = await pageFile(ev, 'sample')
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(pathToFileURL(file).href)
  await page.waitForSelector('html[data-ready="1"]')
  t.equal(await page.locator('#bl-log summary').count(), ev.filter((e) => e.type === 'open').length, 'one summary per section')
  await page.screenshot({ path: join(ARTIFACTS, 'html-sample-legacy.png') })
  t.same(errors, [])
})

t.test('a log nested 600 deep: anchors where they parse, and default folding reopens the levels below them', async (t) => {
  if (!existsSync(CHROMIUM)) return t.fail('chromium missing')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.teardown(() => browser.close())
  const E = '\x1b'
  const file = await pageFile(decode(`${E}[p`.repeat(600) + 'deep line\nerror: at the bottom\n'), 'deep')
  t.teardown(() => rmSync(file, { force: true }))
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 } })
  const seen = watch(page)
  await page.goto(pathToFileURL(file).href)
  await page.waitForSelector('html[data-ready="1"]')
  const error = page.locator('p.e').first()
  t.equal(await page.locator('#bl-log details[id^="S"]').count(), 256, 'anchors on the first 256 levels')
  t.ok(await error.isVisible(), 'the error line shows: every level down to it starts open')
  await page.click('#bl-collapse')
  t.notOk(await error.isVisible(), 'collapse all hides it')
  await page.click('#bl-default')
  t.ok(await error.isVisible(), 'the default folding shows it again')
  // (Chromium's parser stops nesting at 512 elements, so the levels below 256 are siblings in the DOM)
  t.equal(await page.locator('#bl-log details[open]').count(), 600, 'and opens every level on the way, those without an anchor too')
  await page.click('#bl-collapse')
  const deepest = 'S' + Array(256).fill(1).join('.')
  await page.evaluate((h) => (location.hash = h), '#' + deepest)
  // Chromium's parser stops nesting at 512 elements: the deepest anchored section is parsed empty
  t.ok(await page.locator(`[id="${deepest}"]`).evaluate((d: HTMLDetailsElement) => d.open && d.classList.contains('hl')), 'the deepest anchor is found and marked')
  t.same(seen.errors, [])
})
