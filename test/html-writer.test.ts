// The HTML writer without a browser: escaping, placeholders, structure, folding.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { decode } from '../dist/decoder.js'
import type { LogEvent } from '../dist/events.js'
import { ANCHOR_DEPTH, childPath, lineAnchor, parseAnchor, rangeAnchor, sectionAnchor } from '../dist/render/anchors.js'
import { escapeLogText, LAZY_THRESHOLD, REMOVED_MARK, renderHtml, renderLine, writeHtml } from '../dist/render/html/index.js'
import { applySgr, DEFAULT_STYLE } from '../dist/sgr/style.js'
import { assertInert } from '../dist/render/html/lazy.js'
import { fuzzInput, prng } from './helpers/random.js'

const line = (index: number, text: string | Buffer, extra: Partial<Record<string, unknown>> = {}): LogEvent =>
  ({ type: 'line', index, section: 0, text: Buffer.isBuffer(text) ? text : Buffer.from(text), head: false, priority: 1, error: false, warning: false, offset: 0, end: 0, ended: 'lf', ...extra }) as LogEvent

t.test('escapeLogText', async (t) => {
  t.equal(escapeLogText(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;')
  t.equal(escapeLogText('a\tb\nc'), 'a\tb\nc', 'TAB and LF kept')
  for (let c = 0; c < 0x20; c++) {
    if (c === 9 || c === 10) continue
    const out = escapeLogText(String.fromCharCode(c))
    t.match(out, String.fromCharCode(0x2400 + c), `C0 ${c} → control picture`)
    t.notMatch(out, /[\x00-\x1f]/)
  }
  t.match(escapeLogText('\x7f'), '\u2421')
  for (let c = 0x80; c < 0xa0; c++) t.match(escapeLogText(String.fromCharCode(c)), /^<span class="cc" title="U\+00[89A-F][0-9A-F]">\ufffd<\/span>$/)
  t.match(escapeLogText('\u202e'), 'title="U+202E"', 'bidi override neutralised')
})

t.test('renderLine: bytes, U+FFFD, styles, store paths', async (t) => {
  const bad = renderLine(Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82]), undefined)
  t.equal(bad.text, 'a\ufffdb\ufffd', 'invalid UTF-8 → U+FFFD, nothing dropped')
  const styled = renderLine(Buffer.from('red plain'), [{ at: 0, params: '31' }, { at: 3, params: '0' }])
  t.equal(styled.html, '<span class="f1">red</span> plain')
  t.equal(styled.end, DEFAULT_STYLE)
  const carried = renderLine(Buffer.from('x'), undefined, applySgr(DEFAULT_STYLE, '1'))
  t.equal(carried.html, '<span class="sb">x</span>', 'style carried in from the previous line')
  const inv = renderLine(Buffer.from('x'), [{ at: 0, params: '7' }])
  t.equal(inv.html, '<span class="fi bi">x</span>', 'inverse with default colours')
  const h = '0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6'
  const sp = renderLine(Buffer.from(`in /nix/store/${h}-hello-2.10/bin/hello.`), [{ at: 20, params: '32' }])
  t.equal(
    sp.html,
    `in <span class="sp" title="/nix/store/${h}-hello-2.10/bin/hello"><span class="sh">/nix/store/${h.slice(0, 6)}</span><span class="sh f2">${h.slice(6)}</span><span class="f2">-hello-2.10/bin/hello</span></span><span class="f2">.</span>`,
    'store path split by a style change stays well nested; trailing dot is punctuation',
  )
  const evil = renderLine(Buffer.from('<script>alert(1)</script></textarea>'), [{ at: 1, params: '"><img src=x onerror=alert(1)>' }])
  t.notMatch(evil.html, /<(?!\/?span)/, 'no tag but our spans')
  t.notMatch(evil.html, /onerror/, 'SGR parameters never reach the markup')
})

t.test('page structure, anchors and static folding', async (t) => {
  const E = '\x1b'
  const log = `${E}[pok section\nfine\n${E}[q${E}[pbad section\n${E}[pinner\nerror: broken\n${E}[q${E}[q${E}[3pquiet\nx\n${E}[q`
  const html = renderHtml(decode(log), { title: '<t>' })
  t.match(html, '<title>&lt;t&gt;</title>')
  t.match(html, /<details class="s k-nest" id="S1">/, 'ok section closed')
  t.match(html, /<details class="s k-nest" id="S2" open>/, 'section with an error open')
  t.match(html, /<details class="s k-nest" id="S2\.1" open>/, 'down to the error')
  t.match(html, /<details class="s k-nest" id="S3">.*<summary id="L6" class="p3">/s, 'priority 3 head dimmed')
  t.match(html, /<p id="L5" class="e" style="counter-set:n 5">error: broken/, 'Hydra error string')
  t.match(html, /<a id="bl-first-error" href="#L5">/)
  t.match(html, /Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/)
  t.notMatch(html, /<link|<img|@import|url\(/, 'nothing external')
  const one = renderHtml(decode(log), { twoPass: false })
  t.notMatch(one, / open>/, 'one pass: no static open state')
  t.match(one, /"open":\["2","2\.1"\]/, 'one pass: the data block lists what to open')
})

/** Two builds whose lines interleave (as `nix build -L` and internal-json logs have them). */
function interleavedBuilds(): LogEvent[] {
  return [
    { type: 'open', id: 1, parent: 0, kind: 'build', title: 'a', priority: 1, offset: 0 } as LogEvent,
    { type: 'open', id: 2, parent: 0, kind: 'build', title: 'b', priority: 1, offset: 0 } as LogEvent,
    line(1, 'a1', { section: 1 }),
    line(2, 'b1', { section: 2 }),
    line(3, 'a2', { section: 1 }),
    { type: 'close', id: 1, offset: 0, status: 'ok' } as LogEvent,
    { type: 'close', id: 2, offset: 0, status: 'failed' } as LogEvent,
  ]
}

t.test('interleaved sections become continuation parts', async (t) => {
  const ev = interleavedBuilds()
  const html = renderHtml(ev)
  t.equal((html.match(/<details/g) ?? []).length, (html.match(/<\/details>/g) ?? []).length, 'balanced')
  t.match(html, /id="S1">.*a1.*id="S2" open>.*b1.*class="s cont" data-s="1">.*a2/s)
  t.match(html, /2 lines/, 'a has two lines')
  t.match(html, /id="S2" open><summary><span class="n"><\/span><span class="t">b<\/span><span class="st">1 line · failed/, 'failed build open')
})

t.test('anchors', async (t) => {
  t.equal(lineAnchor(12), 'L12')
  t.equal(rangeAnchor(30, 20), 'L20-L30')
  t.equal(rangeAnchor(5, 5), 'L5')
  t.equal(sectionAnchor([2, 1, 3]), 'S2.1.3')
  t.same(parseAnchor('#L123'), { kind: 'line', from: 123, to: 123 })
  t.same(parseAnchor('L130-L120'), { kind: 'line', from: 120, to: 130 })
  t.same(parseAnchor('#S2.1'), { kind: 'section', path: [2, 1] })
  for (const bad of ['#L0', '#L', '#L1-', '#L1-2', '#line-5', '#S', '#S1..2', '#S0', '#L1e3', '#S1.x', '#L12<'])
    t.equal(parseAnchor(bad), undefined, bad)
})

t.test('writeHtml streams with backpressure and bounded chunks', async (t) => {
  const n = 100000
  async function* events(): AsyncGenerator<LogEvent> {
    for (let i = 1; i <= n; i++) yield line(i, `line ${i} <x>`)
  }
  const out = new PassThrough({ highWaterMark: 1024 })
  let bytes = 0
  let writes = 0
  out.on('data', (c: Buffer) => {
    bytes += c.length
    writes++
  })
  await writeHtml(events(), out, {})
  t.ok(writes > 2, `written in pieces (${writes})`)
  t.ok(bytes > n * 10)
  const html = renderHtml(Array.from({ length: 450 }, (_, i) => line(i + 1, 'x')))
  const main = html.slice(html.indexOf('<main'))
  t.equal((main.match(/<div class="c"/g) ?? []).length, 3, 'lines are chunked (200 per block)')
})

t.test('a dim placeholder where an escape was removed', async (t) => {
  const mark = REMOVED_MARK
  t.match(mark, /^<span class="rm"[^>]*><\/span>$/, 'an empty span: the glyph comes from CSS, so it is not copied')
  t.equal(renderLine(Buffer.from('abc'), undefined, DEFAULT_STYLE, [1, 2]).html, `a${mark}b${mark}c`)
  t.equal(renderLine(Buffer.from('ab'), undefined, DEFAULT_STYLE, [0, 2, 2]).html, `${mark}ab${mark}${mark}`, 'at both ends, one per escape')
  t.equal(renderLine(Buffer.from('ab'), [{ at: 1, params: '31' }], DEFAULT_STYLE, [1]).html, `a${mark}<span class="f1">b</span>`, 'before a style change at the same byte')
  t.equal(renderLine(Buffer.from('héllo'), undefined, DEFAULT_STYLE, [3]).html, `hé${mark}llo`, 'byte positions, not characters')
  const html = renderHtml(decode('a\x1b]0;title\x07b\x1b[2Kc\n'))
  t.match(html, `<p id="L1" style="counter-set:n 1">a${mark}b${mark}c`, 'decoded OSC and CSI leave markers')
  t.match(renderHtml(decode('a\x1b]0;title\x07b\n'), { lazy: true }), `<p>a${mark}b`, 'also on the lazy page')
  t.match(html, /\.rm::before\{content:"\\241B"/, 'drawn as ␛')
})

t.test('lazy page: inert blocks, records, data', async (t) => {
  const E = '\x1b'
  const nasty = ['</script>', '</SCRIPT >', '<script>alert(1)</script>', '</template><img src=x onerror=alert(2)>', '<!-- x', '<!0:1>', `${E}]52;c;cGF5bG9hZA==\x07`, `${E}]0;PWNED\x07`]
  const log = `${E}[pfirst\n${nasty.join('\n')}\nerror: boom\n${E}[q${E}[pquiet\n${nasty.join(' ')}\n${E}[q`
  const html = renderHtml(decode(log), { lazy: true, title: '</script><t>' })
  t.match(html, '<body data-mode="lazy">')
  const blocks = [...html.matchAll(/<script type="text\/x-buildlog" data-l="([0-9]+)">([^]*?)<\/script>/g)]
  t.ok(blocks.length >= 1, 'blocks')
  t.equal((html.match(/<script/gi) ?? []).length, 2 + blocks.length, 'only our scripts: the page script, the data and the blocks')
  t.equal((html.match(/<\/script/gi) ?? []).length, 2 + blocks.length, 'every </script is one of ours')
  t.notMatch(html, /<!--/, 'no comment opener (it would change how a block is tokenized)')
  t.notMatch(html, /PWNED|cGF5bG9hZA/, 'OSC payloads dropped')
  t.notMatch(html, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, 'no raw control character')
  const text = blocks.map((b) => b[2]).join('')
  t.match(text, '&lt;/script&gt;')
  t.match(text, '&lt;/template&gt;&lt;img src=x onerror=alert(2)&gt;')
  t.match(text, '&lt;!-- x')
  t.match(text, '&lt;!0:1&gt;', 'a record header in log text is escaped')
  t.notMatch(text, /<(?!\/?(?:p|span|details|summary|div|a)\b|![0-9]+:[0-9]+>)/, 'no tag but ours and record headers')
  const records = [...text.matchAll(/<!([0-9]+):([0-9]+)>/g)].map((m) => [Number(m[1]), Number(m[2])])
  t.same(records[0], [0, 1], 'the first section shell is a root record with head line 1')
  t.same(records[1], [1, 2], 'then lines of section 1 from line 2')
  const data = JSON.parse(/<script type="application\/json" id="bl-data">([^<]*)<\/script>/.exec(html)![1]!)
  t.equal(data.lazy.s.length, 2 * 9, 'nine numbers per section')
  t.same(data.lazy.s.slice(0, 3), [0, 0, 0], 'section 1: parent root, records in block 0')
  t.equal(data.lazy.s[7] & 2, 2, 'section 1 is hot (has an error)')
  t.equal(data.lazy.s[9 + 7] & 2, 0, 'section 2 is not')
  t.equal(data.page.firstError, 'L10')
  t.ok(html.indexOf('id="bl-data"') < html.indexOf('id="bl-z"'), 'the data comes before the blocks')
})

t.test('lazy page: random logs never end or confuse a block', async (t) => {
  const HTML_PIECES = ['<', '</', '<!', '<!--', '-->', '</script', '</SCRIPT', '<script', 'script>', '</template>', '<!0:1>', '&lt;', '"', "'", '>']
  for (let seed = 1; seed <= 60; seed++) {
    const rnd = prng(seed)
    const parts: Buffer[] = []
    for (let k = 0; k < 300; k++) parts.push(rnd(3) === 0 ? Buffer.from(HTML_PIECES[rnd(HTML_PIECES.length)]!) : fuzzInput(rnd, 1))
    const html = renderHtml(decode(Buffer.concat(parts)), { lazy: true })
    const blocks = [...html.matchAll(/<script type="text\/x-buildlog" data-l="[0-9]+">([^]*?)<\/script>\n/g)]
    const z = html.slice(html.indexOf('<div id="bl-z" hidden>\n') + 23, html.lastIndexOf('</div>'))
    t.equal(blocks.map((b) => b[0]).join(''), z, `seed ${seed}: the block container is exactly the blocks`)
    for (const b of blocks) t.doesNotThrow(() => assertInert(b[1]!), `seed ${seed}: inert`)
  }
})

t.test('lazy page: interleaved sections need no continuation parts', async (t) => {
  const ev = interleavedBuilds()
  const html = renderHtml(ev, { lazy: true })
  t.notMatch(html, /class="s cont"|data-cont/)
  t.match(html, /<!0:0><details class="s k-build" id="S1" data-o="1">.*<!1:1><p>a1<!0:0><details class="s k-build" id="S2" data-o="2">.*<!2:2><p>b1<!1:3><p>a2/s)
})

t.test('writeHtml picks the page by size', async (t) => {
  const collect = async (src: () => Iterable<LogEvent>, options = {}) => {
    const out = new PassThrough()
    const chunks: Buffer[] = []
    out.on('data', (c: Buffer) => chunks.push(c))
    await writeHtml(src, out, options)
    return Buffer.concat(chunks).toString('utf8')
  }
  let passes = 0
  const small = () => (passes++, decode('\x1b[pa\nerror: x\n\x1b[q'))
  const page = await collect(small)
  t.match(page, '<body data-mode="static">', 'small log: the live page with static folding')
  t.equal(passes, 1, 'decoded once (the events are held, not decoded again)')
  t.match(page, /<details class="s k-nest" id="S1" open>/)
  t.match(await collect(small, { lazy: true }), '<body data-mode="lazy">', 'forced lazy')
  const big = function* (): Generator<LogEvent> {
    for (let i = 1; i <= LAZY_THRESHOLD.lines + 1; i++) yield line(i, 'x')
  }
  const lazy = await collect(big)
  t.match(lazy, '<body data-mode="lazy">', `more than ${LAZY_THRESHOLD.lines} lines: the lazy page`)
  t.match(lazy, `"lines":${LAZY_THRESHOLD.lines + 1}`)
})

t.test('a log nested thousands deep: anchors down to ANCHOR_DEPTH, markup linear in the depth', async (t) => {
  t.equal(ANCHOR_DEPTH, 256)
  const deepest = Array.from({ length: ANCHOR_DEPTH }, () => 1)
  t.same(parseAnchor('#' + sectionAnchor(deepest)), { kind: 'section', path: deepest }, 'the deepest anchor a page makes parses')
  t.equal(parseAnchor('#' + sectionAnchor([...deepest, 1])), undefined, 'one deeper would not')
  t.same(childPath(deepest.slice(1), 4), [...deepest.slice(1), 4])
  t.equal(childPath(deepest, 1), undefined)
  t.equal(childPath(undefined, 1), undefined)
  const E = '\x1b'
  const log = (n: number): string => `${E}[p`.repeat(n) + 'deep line\nerror: at the bottom\n'
  for (const lazy of [false, true]) {
    const html = renderHtml(decode(log(3000)), { lazy })
    const ids = [...html.matchAll(/<details[^>]* id="S([0-9.]+)"/g)].map((m) => m[1]!.split('.').length)
    t.equal(ids.length, ANCHOR_DEPTH, `${lazy ? 'lazy' : 'live'} page: an anchor for each of the first ${ANCHOR_DEPTH} levels`)
    t.equal(Math.max(...ids), ANCHOR_DEPTH)
    t.equal((html.match(/class="sa"/g) ?? []).length, ANCHOR_DEPTH, 'a § link only where there is an anchor')
    t.match(html, /style="--d:3000"/, 'the deepest section still knows its depth')
    t.ok(html.length < 2_000_000, `${html.length} bytes for 3,000 levels`)
    if (!lazy) {
      t.equal((html.match(/<details[^>]* data-hot=""/g) ?? []).length, 3000 - ANCHOR_DEPTH, 'the deeper sections on the way to the error keep their default folding in an attribute')
      t.equal((html.match(/<details[^>]* open>/g) ?? []).length, 3000, 'and all are open down to the error')
    }
  }
  // the size grows with the depth, not its square
  const a = renderHtml(decode(log(2000))).length
  const b = renderHtml(decode(log(8000))).length
  t.ok(b < 4.5 * a, `4× the depth: ${(b / a).toFixed(2)}× the page`)
})
