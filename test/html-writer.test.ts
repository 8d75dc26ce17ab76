// The HTML writer without a browser: escaping, placeholders, structure, folding.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { decode } from '../dist/decoder.js'
import type { LogEvent } from '../dist/events.js'
import { lineAnchor, parseAnchor, rangeAnchor, sectionAnchor } from '../dist/render/anchors.js'
import { escapeLogText, renderHtml, renderLine, writeHtml } from '../dist/render/html/index.js'
import { applySgr, DEFAULT_STYLE } from '../dist/sgr/style.js'

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

t.test('interleaved sections become continuation parts', async (t) => {
  const ev: LogEvent[] = [
    { type: 'open', id: 1, parent: 0, kind: 'build', title: 'a', priority: 1, offset: 0 } as LogEvent,
    { type: 'open', id: 2, parent: 0, kind: 'build', title: 'b', priority: 1, offset: 0 } as LogEvent,
    line(1, 'a1', { section: 1 }),
    line(2, 'b1', { section: 2 }),
    line(3, 'a2', { section: 1 }),
    { type: 'close', id: 1, offset: 0, status: 'ok' } as LogEvent,
    { type: 'close', id: 2, offset: 0, status: 'failed' } as LogEvent,
  ]
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
  t.equal((html.match(/<div class="c"/g) ?? []).length, 3, 'lines are chunked (200 per block)')
})
