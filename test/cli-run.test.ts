import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runBin } from './helpers/cli.js'

// The launcher end to end through bin/buildlog: sandboxed build, cleaned log on stdout, raw log
// kept with --log, the launcher's words on stderr only, the run recorded in the store.
const root = process.getuid?.() === 0
// As root the launcher must be given a build uid; unprivileged, it runs as the caller.
t.test('buildlog run --no-view, --log and the store', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-run-'))
  fs.chmodSync(dir, 0o755)
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const store = path.join(dir, 'store')
  const raw = path.join(dir, 'raw.log')
  const binds = ['--ro-bind', '/bin', '--ro-bind', '/usr', '--ro-bind', '/lib', ...(fs.existsSync('/lib64') ? ['--ro-bind', '/lib64'] : [])]
  const script = 'printf "\\033[pbuilding\\n\\033[31mred\\033[0m \\033]0;title\\007x\\nerror: boom\\n\\033[q"; exit 3'
  const r = await runBin('buildlog', ['run', '--no-view', '--store-dir', store, '--log', raw, ...(root ? ['--build-uid', '15001'] : []), ...binds, '--', '/bin/sh', '-c', script], { env: { PATH: process.env.PATH, NO_COLOR: '1' } })
  t.equal(r.code, 3, "the builder's exit status")
  t.equal(r.stdout.toString(), 'building\nred x\nerror: boom\n', 'the log, cleaned, on stdout')
  t.equal(r.stderr, 'buildlog run: builder exited with code 3\n', 'the launcher speaks on stderr only')
  t.equal(fs.readFileSync(raw, 'latin1'), '\x1b[pbuilding\n\x1b[31mred\x1b[0m \x1b]0;title\x07x\nerror: boom\n\x1b[q', '--log keeps the raw bytes')
  const list = await runBin('buildlog', ['list', '--json', '--store-dir', store])
  const [run] = JSON.parse(list.stdout.toString())
  t.match(run, { id: 1, exitCode: 3, errors: 1, failingSection: 'building' })
  const show = await runBin('buildlog', ['show', '--raw', '--store-dir', store, 'last-failed'])
  t.equal(show.stdout.toString('latin1'), fs.readFileSync(raw, 'latin1'), 'the stored log is byte-exact')
})

t.test('buildlog run usage errors', async (t) => {
  const none = await runBin('buildlog', ['run'])
  t.equal(none.code, 2)
  t.match(none.stderr, /^buildlog: no builder given/)
  const bad = await runBin('buildlog', ['run', '--timeout', 'soon', '--', '/bin/true'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--timeout needs a duration/)
})
