import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sample } from './helpers/fixtures.js'
import { runBin } from './helpers/cli.js'

const legacy = sample('synthetic-legacy-stdenv-nesting.log')

t.test('json: a versioned tree with counts, byte ranges and every line', async (t) => {
  const r = await runBin('buildlog', ['export', '--format', 'json'], { input: legacy })
  t.equal(r.code, 0)
  const doc = JSON.parse(r.stdout.toString())
  t.equal(doc.format, 'buildlog')
  t.equal(doc.version, 1)
  t.same(doc.root.counts, { lines: 17, errors: 1, warnings: 1 }, 'error: and : warning: lines count (spec D-24)')
  const top = doc.root.children[0]
  t.match(top, { type: 'section', kind: 'nest', title: 'building /nix/store/0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6-hello-2.10', offset: 0, end: legacy.length - 3 }, 'a section ends where its closing ESC[q starts')
  const lines: number[] = []
  const walk = (node: { type: string; n?: number; children?: unknown[] }): void => {
    if (node.type === 'line') lines.push(node.n!)
    for (const c of node.children ?? []) walk(c as typeof node)
  }
  walk({ type: 'root', children: doc.root.children })
  t.same(lines, Array.from({ length: 17 }, (_, i) => i + 1), 'every line once, in order')
})

t.test('json keeps invalid UTF-8 recoverable', async (t) => {
  const r = await runBin('buildlog', ['export', '-f', 'json'], { input: Buffer.from('ok \xff\n', 'latin1') })
  const line = JSON.parse(r.stdout.toString()).root.children[0]
  t.equal(line.text, 'ok \ufffd')
  t.equal(Buffer.from(line.bytes, 'base64').toString('latin1'), 'ok \xff')
})

t.test('jsonl: one event per line, streamed', async (t) => {
  const r = await runBin('buildlog', ['export', '-f', 'jsonl', '-'], { input: '\x1b[pHead\n\x1b[31mred\x1b[0m\n\x1b[q' })
  t.same(r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l)), [
    { type: 'open', id: 1, parent: 0, kind: 'nest', priority: 1, offset: 0 },
    { type: 'line', n: 1, text: 'Head', head: true, offset: 0, end: 8, section: 1 },
    { type: 'line', n: 2, text: 'red', styles: [{ at: 0, params: '31' }, { at: 3, params: '0' }], offset: 8, end: 21, section: 1 },
    { type: 'close', id: 1, offset: 21 },
  ])
})

t.test('text: outline, --depth, --errors with context and exit status', async (t) => {
  const log = 'top\n\x1b[pbuild\nx\n\x1b[pinner\ny\n\x1b[ebad thing\nz\n\x1b[q\x1b[q'
  const outline = await runBin('buildlog', ['export', '-f', 'text'], { input: log })
  t.equal(outline.stdout.toString(), 'top\n▸ build  (6 lines, 1 error)\n  x\n  ▸ inner  (4 lines, 1 error)\n    y\n    bad thing\n    z\n')
  const shallow = await runBin('buildlog', ['export', '-f', 'text', '--depth', '0'], { input: log })
  t.equal(shallow.stdout.toString(), 'top\n▸ build  (6 lines, 1 error)\n')
  const errors = await runBin('buildlog', ['export', '-f', 'text', '--errors', '--context', '1'], { input: log })
  t.equal(errors.stdout.toString(), 'error 1 of 1 in build › inner (line 6):\n  | y\n  > bad thing\n  | z\n')
  t.equal(errors.code, 1, 'errors found: exit 1')
  const clean = await runBin('buildlog', ['export', '-f', 'text', '--errors'], { input: 'fine\n' })
  t.equal(clean.code, 0)
  t.equal(clean.stdout.toString(), '')
})

t.test('-o writes a file; bad options are usage errors', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-export-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const out = path.join(dir, 'out.xml')
  const r = await runBin('buildlog', ['export', '-f', 'xml', '-o', out], { input: 'x\n' })
  t.equal(r.code, 0)
  t.equal(fs.readFileSync(out, 'utf8'), '<logfile>\n<line>x</line>\n</logfile>\n')
  const bad = await runBin('buildlog', ['export', '-f', 'text', '--depth', 'deep'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--depth takes a whole number/)
  const misplaced = await runBin('buildlog', ['export', '-f', 'json', '--errors'])
  t.equal(misplaced.code, 2)
  const unwritable = await runBin('buildlog', ['export', '-f', 'xml', '-o', path.join(dir, 'no/such/dir/x')], { input: 'x\n' })
  t.equal(unwritable.code, 2)
  t.match(unwritable.stderr, /^buildlog: cannot write/)
})
