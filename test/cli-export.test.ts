import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { decode } from '../dist/decoder.js'
import { writeOutline } from '../dist/render/text.js'
import { EventTreeBuilder } from '../dist/tree/event-tree.js'
import { repoRoot, sample } from './helpers/fixtures.js'
import { runBin } from './helpers/cli.js'

t.test('export --format xml on the legacy sample: log2xml but for the one CR line (spec §2.9)', async (t) => {
  const r = await runBin('buildlog', ['export', '--format', 'xml', '-'], { input: sample('synthetic-legacy-stdenv-nesting.log') })
  t.equal(r.code, 0)
  const ours = r.stdout.toString().split('\n')
  const reference = sample('synthetic-legacy-stdenv-nesting.log2xml.xml').toString().split('\n')
  t.equal(ours.length, reference.length)
  const differing = ours.map((line, i) => [line, reference[i]]).filter(([a, b]) => a !== b)
  t.same(differing.map(([a]) => a), ['<line>[100%] Built target hello</line>'])
})

t.test('export: unbalanced closes are reported on stderr like nix-log2xml', async (t) => {
  const r = await runBin('buildlog', ['export', '-f', 'xml'], { input: '\x1b[qfoo\n' })
  t.equal(r.stdout.toString(), '<logfile>\n<line>foo</line>\n</logfile>\n')
  t.equal(r.stderr, 'not enough nesting levels at line 1, character 3\n')
  t.equal(r.code, 0)
})

t.test('export: usage errors', async (t) => {
  const none = await runBin('buildlog', ['export'])
  t.equal(none.code, 2)
  t.match(none.stderr, /^buildlog: export needs --format/)
  const bad = await runBin('buildlog', ['export', '--format', 'pdf'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /invalid value for --format/)
  const cmd = await runBin('buildlog', ['frobnicate'])
  t.equal(cmd.code, 2)
  t.match(cmd.stderr, /^buildlog: unknown command 'frobnicate'/)
})

t.test('a log nested 30,000 deep exports as json and as an error extract, without running out of stack', async (t) => {
  const deep = 30000
  const input = '\x1b[p'.repeat(deep) + 'deep line\nerror: at the bottom\n'
  const json = await runBin('buildlog', ['export', '--format', 'json', '-'], { input })
  t.equal(json.code, 0, json.stderr)
  let node = JSON.parse(json.stdout.toString()).root
  let depth = 0
  while (node.children.length > 0 && node.children[0].children) {
    node = node.children[0]
    depth++
  }
  t.equal(depth, deep, 'every level nested in the tree')
  t.same(node.children.map((c: { text: string }) => c.text), ['deep line', 'error: at the bottom'], 'the lines at the bottom, its head first')
  const errors = await runBin('buildlog', ['export', '--format', 'text', '--errors', '-'], { input })
  t.equal(errors.code, 1, `exit 1: there is an error ${errors.stderr}`)
  const extract = errors.stdout.toString()
  t.match(extract, /^error 1 of 1 in (nest › ){29999}deep line \(line 2\):\n  \| deep line\n  > error: at the bottom\n$/, 'its whole path, and the lines around it')
})

/** A chain `depth` nests deep, a head line each: its outline is indented deeper line by line (depth² bytes). */
function chain(depth: number): string {
  let log = ''
  for (let k = 0; k < depth; k++) log += `\x1b[plevel ${k}\n`
  return log + '\x1b[q'.repeat(depth)
}

t.test('export to a pipe read slowly: every byte arrives, and the writer waits rather than queueing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-export-pipe-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'chain.log')
  fs.writeFileSync(file, chain(16000))
  // what the outline holds, counted in-process
  const tree = new EventTreeBuilder()
  for (const e of decode(fs.readFileSync(file))) tree.sink(e)
  let expected = 0
  writeOutline(tree.root, {}, (s) => (expected += Buffer.byteLength(s)))
  t.ok(expected > 200 * 2 ** 20, `${(expected / 2 ** 20).toFixed(0)} MiB of outline`)

  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'buildlog'), 'export', '--format', 'text', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  // the reader takes a first chunk, then stops for a while: a writer that queued would hold the
  // whole outline by then (it had: 760 MB of RSS for 225 MB of outline, and a gigabyte's writev
  // failed with ENOBUFS, the output cut short with exit status 0)
  let got = 0
  await new Promise<void>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(void (got += d.length))))
  child.stdout.pause()
  await new Promise((r) => setTimeout(r, 2000))
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  t.ok(rss > 0 && rss < expected, `the writer holds ${(rss / 2 ** 20).toFixed(0)} MiB in all while the reader waits`)
  child.stdout.on('data', (d: Buffer) => (got += d.length))
  child.stdout.resume()
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
  t.equal(code, 0, stderr)
  t.equal(got, expected, 'every byte of the outline')
})

t.test('a full disk: each output path says so and exits 74', async (t) => {
  for (const [bin, args] of [
    ['buildlog', ['export', '--format', 'text', '-']],
    ['buildlog', ['export', '--format', 'json', '-']],
    ['buildlog', ['export', '--format', 'html', '-']],
    ['buildlog', ['export', '--format', 'xml', '-']],
    ['buildlog', ['export', '--format', 'text', '-o', '/dev/full', '-']],
    ['nixlog-clean', []],
  ] as const) {
    const out = fs.openSync('/dev/full', 'w')
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', bin), ...args], { stdio: ['pipe', out, 'pipe'] })
    fs.closeSync(out)
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdin.on('error', () => {})
    child.stdin.end(chain(200) + 'x\n'.repeat(50000))
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
    t.equal(code, 74, `${bin} ${args.join(' ')}`)
    t.equal(stderr, `${bin}: cannot write output: No space left on device\n`)
  }
})
