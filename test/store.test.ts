/**
 * The log store (issue 7): recording runs (concurrently, killed with SIGKILL, on a full disk, with
 * the database locked), the WAL's size, gc, the list/show commands, a store from a newer version,
 * damaged logs and file permissions. Child processes run the compiled code in dist/ (`npx tsc`
 * first, as `npm test` does); every store lives in a temporary directory.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import Database from 'better-sqlite3'
import { repoRoot } from './helpers/fixtures.js'
import { LogStats } from '../lib/store/stats.js'
import { resolveStoreDir } from '../lib/store/paths.js'
import { extractStoreOptions, isStoreRef, resolveLogRef } from '../lib/cli/store-commands.js'
import { InputError } from '../lib/cli/io.js'
import { parseAge } from '../lib/store/gc.js'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-store-test-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

const dist = (p: string): string => JSON.stringify(path.join(repoRoot, 'dist', p))
const child = path.join(tmp, 'child.mjs')
fs.writeFileSync(
  child,
  `import crypto from 'node:crypto'
import { runMain } from ${dist('cli/io.js')}
import * as sc from ${dist('cli/store-commands.js')}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const [mode, ...rest] = process.argv.slice(2)
if (mode === 'cli') {
  const [cmd, ...argv] = rest
  const main = { list: sc.listMain, show: sc.showMain, gc: sc.gcMain }[cmd]
  void runMain('buildlog', () => main(argv))
} else {
  const spec = JSON.parse(rest[0])
  for (let k = 0; k < (spec.runs ?? 1); k++) {
    const opts = { command: spec.command ?? ['build', String(k)], cwd: process.cwd(), storeDir: spec.storeDir }
    if (spec.busyTimeoutMs !== undefined) opts.busyTimeoutMs = spec.busyTimeoutMs
    if (spec.progressMs !== undefined) opts.progressMs = spec.progressMs
    const r = sc.openRecording(opts)
    if (spec.announce) console.log('id ' + r.id)
    let i = 0
    for (; i < (spec.lines ?? 0); i++) {
      r.write(Buffer.from((spec.prefix ?? 'line') + ' ' + i + '\\n'))
      if (spec.delayMs) await sleep(spec.delayMs)
    }
    if (spec.text !== undefined) r.write(Buffer.from(spec.text))
    if (spec.randomBytes) for (let n = 0; n < spec.randomBytes; n += 65536) r.write(crypto.randomBytes(65536))
    if (spec.thenHang) {
      console.log('ready ' + i)
      setInterval(() => r.write(Buffer.from((spec.prefix ?? 'line') + ' ' + i++ + '\\n')), 1)
      await new Promise(() => {})
    }
    await r.finish({ exitCode: spec.exitCode ?? 0, reason: spec.reason ?? 'exited' })
  }
  process.exitCode = spec.exitCode ?? 0
}
`,
)

interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: path.join(tmp, 'home'), LANG: 'C' })

function spawnNode(args: string[], options: { env?: NodeJS.ProcessEnv; shellPrefix?: string } = {}) {
  const env = options.env ?? baseEnv()
  return options.shellPrefix
    ? spawn('bash', ['-c', `${options.shellPrefix}; exec "$0" "$@"`, process.execPath, child, ...args], { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [child, ...args], { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] })
}

function run(args: string[], options: { env?: NodeJS.ProcessEnv; shellPrefix?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const c = spawnNode(args, options)
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    c.on('error', reject)
    c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

const record = (spec: Record<string, unknown>, options: { env?: NodeJS.ProcessEnv; shellPrefix?: string } = {}): Promise<Result> => run(['record', JSON.stringify(spec)], options)
const cli = (cmd: string, storeDir: string, ...argv: string[]): Promise<Result> => run(['cli', cmd, '--store-dir', storeDir, ...argv])

/** Waits until the gzip file, decompressed as far as it goes, contains `text`. */
async function untilLogHolds(file: string, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let held = ''
    try {
      held = zlib.gunzipSync(fs.readFileSync(file), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString()
    } catch {
      // not there yet, or no complete block yet
    }
    if (held.includes(text)) return
    if (Date.now() > deadline) throw new Error(`${file} did not receive ${JSON.stringify(text)} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

let n = 0
const freshStore = (): string => path.join(tmp, `store-${++n}`)

interface JsonRun {
  id: number
  status: string
  exitCode: number | null
  reason: string | null
  command: string[]
  cwd: string
  logBytes: number
  storedBytes: number | null
  storeError: string | null
  errors: number
  warnings: number
  failingSection: string | null
  durationMs: number | null
  startedAt: string
  endedAt: string | null
  logFile: string
}

async function listJson(t: Test, storeDir: string, ...argv: string[]): Promise<JsonRun[]> {
  const r = await cli('list', storeDir, '--json', ...argv)
  t.equal(r.code, 0, `list --json exits 0 (${r.stderr.trim()})`)
  return JSON.parse(r.stdout) as JsonRun[]
}

const lines = (prefix: string, count: number): string => Array.from({ length: count }, (_, i) => `${prefix} ${i}\n`).join('')

t.test('list, show and their options', async (t) => {
  const store = freshStore()
  const failing = '@nix {"action":"setPhase","phase":"configurePhase"}\nchecking for cc... cc\n@nix {"action":"setPhase","phase":"buildPhase"}\ncc -c x.c\nx.c:1:2: error: expected \x1b[1m;\x1b[0m\nx.c:3: warning: unused\nmake: *** [x.o] Error 1\n'
  t.equal((await record({ storeDir: store, command: ['make', 'all'], text: 'hello\nwarning: deprecated thing\n' })).code, 0)
  const second = await record({ storeDir: store, command: ['make', 'it', "it's"], text: failing, exitCode: 2 })
  t.equal(second.code, 2, 'the exit status comes through')
  t.equal(second.stderr, '', 'nothing to say when all is well')
  t.equal((await record({ storeDir: store, command: ['true'], exitCode: 124, reason: 'timeout' })).code, 124)

  const table = await cli('list', store)
  t.equal(table.code, 0)
  const rows = table.stdout.trimEnd().split('\n')
  t.match(rows[0], /^ID\s+WHEN\s+STATUS\s+DURATION\s+SIZE\s+ERRORS\s+COMMAND$/)
  t.equal(rows.length, 4, 'a header and three runs')
  t.match(rows[1], /^ *3\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+timeout \(124\)\s+\d+m?s\s+0B\s+0\s+true$/)
  t.match(rows[2], /^ *2\s+\S+ \S+\s+failed \(2\)\s+\d+m?s\s+\d+B\s+2\s+make it 'it'\\''s'$/)
  t.match(rows[3], /^ *1\s+\S+ \S+\s+ok\s+\d+m?s\s+32B\s+0\s+make all$/)

  const all = await listJson(t, store)
  t.same(all.map((r) => r.id), [3, 2, 1], 'newest first')
  const [timeout, failed, ok] = all as [JsonRun, JsonRun, JsonRun]
  t.match(ok, { status: 'ok', exitCode: 0, reason: 'exited', command: ['make', 'all'], cwd: tmp, logBytes: 32, errors: 0, warnings: 1, failingSection: null, storeError: null })
  t.match(failed, { status: 'failed', exitCode: 2, errors: 2, warnings: 1, failingSection: 'buildPhase', logBytes: Buffer.byteLength(failing) })
  t.match(timeout, { status: 'failed', exitCode: 124, reason: 'timeout' })
  t.ok(ok.storedBytes! > 0 && ok.durationMs! >= 0 && Date.parse(ok.endedAt!) >= Date.parse(ok.startedAt), 'sizes and times')
  t.equal(ok.logFile, path.join(store, 'logs', '1.log.gz'))

  t.same((await listJson(t, store, '--failed')).map((r) => r.id), [3, 2], '--failed')
  t.same((await listJson(t, store, '-n', '1')).map((r) => r.id), [3], '-n 1')
  t.same((await listJson(t, store, '--failed', '-n1')).map((r) => r.id), [3])

  const raw = await cli('show', store, '--raw', '2')
  t.equal(raw.code, 0)
  t.equal(raw.stdout, failing, '--raw gives back the bytes')
  const clean = await cli('show', store, '2', '--color=never')
  t.equal(clean.stdout, 'checking for cc... cc\ncc -c x.c\nx.c:1:2: error: expected ;\nx.c:3: warning: unused\nmake: *** [x.o] Error 1\n', 'through nixlog-clean')
  t.equal(clean.stderr, '')
  t.equal((await cli('show', store, '1')).stdout, 'hello\nwarning: deprecated thing\n')
  const lastFailed = await cli('show', store, '--raw', 'last-failed')
  t.equal(lastFailed.code, 0)
  t.equal(lastFailed.stdout, '', 'last-failed: run 3, whose log is empty')
  t.equal((await cli('show', store)).stdout, '', 'default: last (run 3)')

  const none = await cli('show', store, '42')
  t.equal(none.code, 2)
  t.match(none.stderr, /^buildlog: no run 42 in /)
  t.equal((await cli('show', store, 'nope')).code, 2, 'not a run reference: usage error')
  t.equal((await cli('list', store, '-n', 'x')).code, 2)
})

t.test('the failing section: innermost titled section of the first error', async (t) => {
  const stats = new LogStats()
  const log = '\x1b[pouter\n\x1b[pinner section\nfine\nerror: first\n\x1b[q\x1b[q\x1b[panother\nerror: second\nwarning: w\n\x1b[q'
  for (const ch of [log.slice(0, 10), log.slice(10, 31), log.slice(31)]) stats.write(Buffer.from(ch))
  stats.end()
  t.equal(stats.errors, 2)
  t.equal(stats.warnings, 1)
  t.equal(stats.failingSection, 'inner section')
  const root = new LogStats()
  root.write(Buffer.from('error: at the top\n'))
  root.end()
  t.equal(root.failingSection, null, 'an error outside any section has no failing section')
})

t.test('8 recorders at once on a fresh store: all recorded, nothing lost', async (t) => {
  const store = freshStore()
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, k) => record({ storeDir: store, command: ['job', String(k)], prefix: `job${k}`, lines: 60, delayMs: 2, progressMs: 0, exitCode: k % 2 })),
  )
  for (const [k, r] of results.entries()) {
    t.equal(r.code, k % 2, `recorder ${k} exit status`)
    t.equal(r.stderr, '', `recorder ${k} had nothing to complain about`)
  }
  const runs = await listJson(t, store)
  t.equal(runs.length, 8, 'eight rows')
  t.same(runs.map((r) => r.id).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8], 'distinct ids')
  for (const r of runs) {
    const k = Number(r.command[1])
    t.equal(r.status, k % 2 ? 'failed' : 'ok')
    t.equal(r.logBytes, Buffer.byteLength(lines(`job${k}`, 60)))
    t.equal(zlib.gunzipSync(fs.readFileSync(r.logFile)).toString(), lines(`job${k}`, 60), `run ${r.id} has job ${k}'s whole log`)
  }
})

t.test('SIGKILL mid-build: the log is readable up to the kill, the row says interrupted', async (t) => {
  const store = freshStore()
  const c = spawnNode(['record', JSON.stringify({ storeDir: store, lines: 3000, thenHang: true, progressMs: 0, text: 'error: boom\n' })])
  let out = ''
  await new Promise<void>((resolve, reject) => {
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (/ready/.test(out)) resolve()
    })
    c.on('exit', () => reject(new Error(`recorder ended early: ${out}`)))
  })
  // Everything before "ready" reaches the disk within FLUSH_MS; on a loaded machine timers run
  // late, so wait until the compressed log really holds it (a fixed sleep made this test flaky).
  await untilLogHolds(path.join(store, 'logs', '1.log.gz'), 'error: boom\n', 20_000)
  const exited = new Promise((r) => c.on('exit', (_code, signal) => r(signal)))
  c.kill('SIGKILL')
  t.equal(await exited, 'SIGKILL')

  const [row] = await listJson(t, store)
  t.equal(row!.status, 'interrupted')
  t.equal(row!.exitCode, null)
  t.ok(row!.endedAt !== null && row!.durationMs! >= 0, 'an end time from the log file')
  t.equal(row!.errors, 1, 'counts from the last progress update')
  const raw = await cli('show', store, '--raw', 'last')
  t.equal(raw.code, 0, raw.stderr)
  t.match(raw.stderr, /interrupted/)
  const before = lines('line', 3000) + 'error: boom\n'
  t.ok(raw.stdout.startsWith(before), `the log holds everything written before the pause (${raw.stdout.length} bytes)`)
  const after = raw.stdout.slice(before.length)
  const expected = Array.from({ length: 100000 }, (_, i) => `line ${3000 + i}\n`).join('')
  t.ok(expected.startsWith(after), 'what follows is an exact prefix of what was written after it')
  t.equal((await listJson(t, store, '--failed'))[0]?.id, row!.id, 'interrupted counts as failed')

  const viaRef = await resolveLogRef('last-failed', store)
  t.ok(viaRef && fs.readFileSync(viaRef, 'utf8') === raw.stdout, 'resolveLogRef gives the same bytes')
})

t.test('the WAL stays small over many runs', async (t) => {
  const store = freshStore()
  t.equal((await record({ storeDir: store })).code, 0)
  // A connection held open keeps the WAL file from being removed when each recorder closes.
  const watcher = new Database(path.join(store, 'index.sqlite'))
  t.teardown(() => watcher.close())
  t.equal(watcher.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(watcher.pragma('auto_vacuum', { simple: true }), 2, 'incremental auto-vacuum')
  const r = await record({ storeDir: store, runs: 200, lines: 20, progressMs: 0 })
  t.equal(r.code, 0, r.stderr)
  t.equal((watcher.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 201)
  const wal = fs.statSync(path.join(store, 'index.sqlite-wal')).size
  t.ok(wal < 2 * 1024 * 1024, `WAL ${wal} bytes after ~4400 commits`)
  const gc = await cli('gc', store, '--keep', '1')
  t.match(gc.stdout, /^removed 200 runs/)
  t.ok(fs.statSync(path.join(store, 'index.sqlite-wal')).size < 2 * 1024 * 1024)
})

t.test('gc --keep, --older-than, stray files, --dry-run', async (t) => {
  const store = freshStore()
  for (let i = 0; i < 5; i++) t.equal((await record({ storeDir: store, lines: 5 })).code, 0)
  const db = new Database(path.join(store, 'index.sqlite'))
  db.prepare('UPDATE runs SET started_at = ? WHERE id IN (1, 2)').run(Date.now() - 40 * 86_400_000)
  db.close()
  fs.writeFileSync(path.join(store, 'logs', '999.log.gz'), 'stray')
  const logs = (): string[] => fs.readdirSync(path.join(store, 'logs')).sort()

  const dry = await cli('gc', store, '--older-than', '30d', '--dry-run')
  t.equal(dry.code, 0)
  t.match(dry.stdout, /^would remove 2 runs \(.*\): 1 2$/m)
  t.equal(logs().length, 6, 'dry run removes nothing')

  const old = await cli('gc', store, '--older-than', '30d')
  t.match(old.stdout, /^removed 2 runs and 1 stray log file \(.*\): 1 2$/m)
  t.same(logs(), ['3.log.gz', '4.log.gz', '5.log.gz'])
  t.same((await listJson(t, store)).map((r) => r.id), [5, 4, 3])

  t.match((await cli('gc', store, '--older-than', '30d')).stdout, /^removed 0 runs/, 'nothing left that old')
  t.match((await cli('gc', store, '--keep', '2', '--older-than', '1h')).stdout, /^removed 0 runs/, 'both: must be old too')
  t.match((await cli('gc', store, '--keep', '2')).stdout, /^removed 1 run \(.*\): 3$/m)
  t.same(logs(), ['4.log.gz', '5.log.gz'])
  t.same((await listJson(t, store)).map((r) => r.id), [5, 4])
  t.equal((await record({ storeDir: store, announce: true })).stdout.trim(), 'id 6', 'ids are never reused')

  t.equal((await cli('gc', store)).code, 2, 'gc needs an option')
  t.equal((await cli('gc', store, '--older-than', '30 days')).code, 2)
  t.equal(parseAge('2w'), 14 * 86_400_000)
  t.equal(parseAge('1y'), null)
})

t.test('a store from a newer buildlog is refused and left alone', async (t) => {
  const store = freshStore()
  t.equal((await record({ storeDir: store })).code, 0)
  const file = path.join(store, 'index.sqlite')
  const db = new Database(file)
  db.pragma('user_version = 7')
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  const hash = (): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
  const before = hash()

  const list = await cli('list', store)
  t.equal(list.code, 2)
  t.match(list.stderr, /^buildlog: the store '.*index\.sqlite' was written by a newer buildlog \(store version 7, this buildlog knows up to 1\)/)
  const rec = await record({ storeDir: store, exitCode: 3 })
  t.equal(rec.code, 3, 'the build still runs and reports its status')
  t.match(rec.stderr, /not recording this run: the store .* newer buildlog/)
  t.equal((await cli('gc', store, '--keep', '0')).code, 2)
  t.equal(hash(), before, 'the database file is unchanged')
  t.same(fs.readdirSync(path.join(store, 'logs')), ['1.log.gz'])
})

t.test('a file that is not a buildlog store', async (t) => {
  const store = freshStore()
  fs.mkdirSync(store)
  fs.writeFileSync(path.join(store, 'index.sqlite'), 'not sqlite at all, just text '.repeat(100))
  const r = await cli('list', store)
  t.equal(r.code, 2)
  t.match(r.stderr, /is not a buildlog store database/)
})

t.test('damaged logs: corrupt, missing, cut short', async (t) => {
  const store = freshStore()
  for (let i = 0; i < 3; i++) t.equal((await record({ storeDir: store, lines: 2000 })).code, 0)
  const log = (id: number): string => path.join(store, 'logs', `${id}.log.gz`)
  fs.writeFileSync(log(1), 'this is not gzip')
  const corrupt = await cli('show', store, '1')
  t.equal(corrupt.code, 2)
  t.match(corrupt.stderr, /^buildlog: the log of run 1 is corrupt \('.*1\.log\.gz': incorrect header check\)\n$/)
  const refError = await resolveLogRef('1', store).then(() => null, (e: unknown) => e)
  t.ok(refError instanceof InputError, 'resolveLogRef: the same error, as an InputError')
  t.match((refError as Error).message, /^the log of run 1 is corrupt/)

  fs.rmSync(log(2))
  const missing = await cli('show', store, '--raw', '2')
  t.equal(missing.code, 2)
  t.equal(missing.stdout, '')
  t.match(missing.stderr, /^buildlog: the log of run 2 is missing \('.*2\.log\.gz' does not exist\)\n$/)

  const whole = fs.readFileSync(log(3))
  fs.writeFileSync(log(3), whole.subarray(0, Math.floor(whole.length / 2)))
  const cut = await cli('show', store, '--raw', '3')
  t.equal(cut.code, 0, 'a log cut short reads up to the cut')
  t.ok(cut.stdout.length > 0 && lines('line', 2000).startsWith(cut.stdout), `a prefix (${cut.stdout.length} bytes)`)
})

t.test('a locked database: the build goes on, readers still read', async (t) => {
  const store = freshStore()
  t.equal((await record({ storeDir: store })).code, 0)
  const db = new Database(path.join(store, 'index.sqlite'))
  t.teardown(() => db.close())
  db.exec('BEGIN IMMEDIATE')
  const rec = await record({ storeDir: store, busyTimeoutMs: 300, exitCode: 1, lines: 3 })
  t.equal(rec.code, 1)
  t.match(rec.stderr, /^buildlog run: not recording this run: the store database '.*' is locked by another process/)
  t.equal((await listJson(t, store)).length, 1, 'list works while a writer holds the lock (WAL)')
  db.exec('COMMIT')
  const waits = record({ storeDir: store, lines: 3 })
  db.exec('BEGIN IMMEDIATE')
  await new Promise((r) => setTimeout(r, 300))
  db.exec('COMMIT')
  const after = await waits
  t.equal(after.stderr, '', 'a short lock is waited out (busy timeout)')
})

t.test('a full disk: the build goes on and its end is recorded', async (t) => {
  const store = freshStore()
  t.equal((await record({ storeDir: store })).code, 0)
  // A 512 KiB file size limit: the log file hits it (EFBIG: like ENOSPC, a failed write; the
  // recorder handles SIGXFSZ), the small database does not.
  const r = await record({ storeDir: store, randomBytes: 2 * 1024 * 1024, exitCode: 3 }, { shellPrefix: 'ulimit -f 512' })
  t.equal(r.code, 3, `the exit status is still reported (${r.signal} ${r.stderr})`)
  t.equal(r.stderr.match(/cannot store the log/g)?.length, 1, `told once: ${r.stderr}`)
  const [row] = await listJson(t, store)
  t.match(row, { id: 2, status: 'failed', exitCode: 3, logBytes: 2 * 1024 * 1024, storeError: 'File too large' })
  const show = await cli('show', store, '--raw', '2')
  t.equal(show.code, 0)
  t.match(show.stderr, /incomplete \(File too large\)/)
  t.ok(show.stdout.length > 0, 'what was stored reads back')
})

t.test('permissions: the directory 0700, files 0600, whatever the umask', async (t) => {
  const store = freshStore()
  const hold = spawnNode(['record', JSON.stringify({ storeDir: store, lines: 10, thenHang: true })], { shellPrefix: 'umask 000' })
  await new Promise<void>((resolve) => hold.stdout.on('data', () => resolve()))
  const mode = (p: string): string => (fs.statSync(path.join(store, p)).mode & 0o777).toString(8)
  t.equal(mode('.'), '700')
  t.equal(mode('logs'), '700')
  t.equal(mode('index.sqlite'), '600')
  t.equal(mode('index.sqlite-wal'), '600')
  t.equal(mode('index.sqlite-shm'), '600')
  t.equal(mode('logs/1.log.gz'), '600')
  hold.kill('SIGKILL')
  // An existing directory that is too open is narrowed.
  const loose = freshStore()
  fs.mkdirSync(loose, { mode: 0o755 })
  fs.chmodSync(loose, 0o755)
  t.equal((await record({ storeDir: loose })).code, 0)
  t.equal((fs.statSync(loose).mode & 0o777).toString(8), '700')
})

t.test('where the store is', async (t) => {
  t.equal(resolveStoreDir(undefined, { XDG_STATE_HOME: '/x/state', HOME: '/home/u' }), '/x/state/buildlog')
  t.equal(resolveStoreDir(undefined, { XDG_STATE_HOME: 'relative', HOME: '/home/u' }), '/home/u/.local/state/buildlog', 'a relative XDG_STATE_HOME is ignored')
  t.equal(resolveStoreDir(undefined, { HOME: '/home/u' }), '/home/u/.local/state/buildlog')
  t.equal(resolveStoreDir('/elsewhere', { XDG_STATE_HOME: '/x/state' }), '/elsewhere', '--store-dir wins')
  // The environment's default, used by a command without --store-dir.
  const state = path.join(tmp, 'xdg')
  t.equal((await record({}, { env: { ...baseEnv(), XDG_STATE_HOME: state } })).code, 0)
  t.ok(fs.existsSync(path.join(state, 'buildlog', 'logs', '1.log.gz')))
  t.same(extractStoreOptions(['--store-dir', '/s', '--timeout=3', '--no-record', '--', 'make', '--store-dir', 'x']), { storeDir: '/s', record: false, argv: ['--timeout=3', '--', 'make', '--store-dir', 'x'] })
  t.ok(isStoreRef('12') && isStoreRef('last') && isStoreRef('last-failed') && !isStoreRef('build.log') && !isStoreRef('-'))
  t.equal(await resolveLogRef('build.log', path.join(tmp, 'unused')), null, 'not a store reference')
})
