import t from 'tap'
import { sample } from './helpers/fixtures.js'
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
