import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot, sample } from './helpers/fixtures.js'
import { runBin } from './helpers/cli.js'
import { READ_CHUNK } from '../dist/cli/io.js'

const coloured = '\x1b[31mred\x1b[0m \x1b]0;title\x07\x1b[2Kdone\n\x1b[pHead\n50%\r100%\n\x1b[q'
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-cli-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

t.test('--color=always keeps SGR and drops everything else', async (t) => {
  const r = await runBin('nixlog-clean', ['--color=always'], { input: coloured })
  t.equal(r.code, 0)
  t.equal(r.stdout.toString(), '\x1b[31mred\x1b[0m done\nHead\n100%\n')
  t.equal(r.stderr, '')
})

t.test('--color=never strips every escape', async (t) => {
  const r = await runBin('nixlog-clean', ['--color', 'never', '-'], { input: coloured })
  t.equal(r.stdout.toString(), 'red done\nHead\n100%\n')
})

t.test('auto: no colour into a pipe, FORCE_COLOR forces it, NO_COLOR loses to FORCE_COLOR', async (t) => {
  const base = { PATH: process.env.PATH }
  t.equal((await runBin('nixlog-clean', [], { input: coloured, env: base })).stdout.toString(), 'red done\nHead\n100%\n')
  t.equal((await runBin('nixlog-clean', [], { input: coloured, env: { ...base, FORCE_COLOR: '1' } })).stdout.toString(), '\x1b[31mred\x1b[0m done\nHead\n100%\n')
  t.equal((await runBin('nixlog-clean', [], { input: coloured, env: { ...base, FORCE_COLOR: '0' } })).stdout.toString(), 'red done\nHead\n100%\n')
  t.equal((await runBin('nixlog-clean', ['--color=never'], { input: coloured, env: { ...base, FORCE_COLOR: '1' } })).stdout.toString(), 'red done\nHead\n100%\n', 'the flag wins')
})

t.test('handled @nix lines go, malformed ones stay; --keep-nix-lines keeps them', async (t) => {
  const input = 'a\n@nix {"action":"setPhase","phase":"buildPhase"}\n@nix {bad json\nb\n'
  t.equal((await runBin('nixlog-clean', [], { input })).stdout.toString(), 'a\n@nix {bad json\nb\n')
  t.equal((await runBin('nixlog-clean', ['--keep-nix-lines'], { input })).stdout.toString(), input)
})

t.test('a downloaded GitHub Actions log: marker lines go after their timestamps too, in C runs and line by line', async (t) => {
  // big enough for the C run (the addon loads at 4 KiB chunks), with markers mid-run
  let input = ''
  let want = ''
  for (let k = 0; k < 400; k++) {
    const stamp = `2024-05-01T00:${String(k % 60).padStart(2, '0')}:00.0230000Z `
    input += `${stamp}##[group]Run step ${k}\n${stamp}output ${k}\n${stamp}::endgroup::\n2024-05-01 00:00:00Z ::group::not a stamp\n`
    want += `${stamp}output ${k}\n2024-05-01 00:00:00Z ::group::not a stamp\n`
  }
  const file = path.join(tmp, 'github.log')
  fs.writeFileSync(file, input)
  for (const color of ['always', 'never']) {
    t.equal((await runBin('nixlog-clean', [`--color=${color}`, file])).stdout.toString(), want, `--color=${color}, a file`)
    t.equal((await runBin('nixlog-clean', [`--color=${color}`], { input })).stdout.toString(), want, `--color=${color}, a pipe`)
  }
})

t.test('a marker with SGR inside its prefix is a marker (spec §7: matched on the text without escapes) in every colour mode', async (t) => {
  // big enough for the C run, with such markers mid-run; the tree reads them as markers too
  let input = ''
  let want = ''
  for (let k = 0; k < 300; k++) {
    input += `:\x1b[1m:group::Step ${k}\n#\x1b[2m#[endgroup]\nout ${k}\nsec\x1b[0mtion_start:1:s${k}\r\x1b[0KHeader ${k}\nsrc\x1b[1m.c: ok\n`
    want += `out ${k}\nHeader ${k}\nsrc.c: ok\n`
  }
  const file = path.join(tmp, 'sgr-in-marker.log')
  fs.writeFileSync(file, input)
  const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '')
  for (const native of ['1', '0']) {
    const env = { PATH: process.env.PATH, BUILDLOG_NATIVE: native }
    for (const color of ['always', 'never']) {
      const out = (await runBin('nixlog-clean', [`--color=${color}`, file], { env })).stdout.toString()
      t.equal(plain(out), want, `--color=${color}, BUILDLOG_NATIVE=${native}: marker lines gone, GitLab's header kept`)
      if (color === 'always') t.ok(out.includes('src\x1b[1m.c: ok'), 'the colour of an ordinary line is kept')
    }
  }
  const tree = await runBin('buildlog', ['export', '--format', 'text', file])
  t.equal((tree.stdout.toString().match(/^ *▸ Step /gm) ?? []).length, 300, 'the tree has a section for each ::group::')
})

t.test('several files are concatenated, - is stdin', async (t) => {
  const a = path.join(tmp, 'a.log')
  const b = path.join(tmp, 'b.log')
  fs.writeFileSync(a, 'one\x1b[p')
  fs.writeFileSync(b, 'two\n\x1b[q')
  const r = await runBin('nixlog-clean', [a, '-', b], { input: 'mid\n' })
  t.equal(r.stdout.toString(), 'onemid\ntwo\n', 'the nest opened in a.log spans the files; state carries over')
})

t.test('errors: one line on stderr, exit 2, no stack trace', async (t) => {
  const missing = await runBin('nixlog-clean', ['/nonexistent/x.log'])
  t.equal(missing.code, 2)
  t.equal(missing.stderr, "nixlog-clean: cannot open '/nonexistent/x.log': No such file or directory\n")
  const dir = await runBin('nixlog-clean', [tmp])
  t.equal(dir.code, 2)
  t.match(dir.stderr, /^nixlog-clean: cannot read '.*': Is a directory\n$/)
  const unknown = await runBin('nixlog-clean', ['--frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^nixlog-clean: unknown option '--frobnicate'\n/)
  const badColor = await runBin('nixlog-clean', ['--color=sometimes'])
  t.equal(badColor.code, 2)
  t.match(badColor.stderr, /invalid value for --color/)
  for (const r of [missing, dir, unknown, badColor]) t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
})

t.test('--help and --version', async (t) => {
  const help = await runBin('nixlog-clean', ['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout.toString(), /^Usage: nixlog-clean/)
  const version = await runBin('nixlog-clean', ['--version'])
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
  t.equal(version.stdout.toString(), `nixlog-clean ${pkg.version}\n`)
})

t.test('| head ends quietly (EPIPE)', async (t) => {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/nixlog-clean')], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.on('error', () => {})
  const line = Buffer.from('\x1b[31mline\x1b[0m of a long log\n'.repeat(4096))
  const feed = (): void => {
    while (child.stdin.write(line)) {}
    child.stdin.once('drain', feed)
  }
  feed()
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
  child.stdout.destroy() // the reader goes away, like `head` exiting
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
  t.equal(code, 0)
  t.equal(stderr, '')
})

t.test('output appears as input arrives (streaming, before EOF)', async (t) => {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/nixlog-clean')], { stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdin.write('first line\n')
  const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(d.toString())))
  t.equal(first, 'first line\n', 'the first line came out while stdin is still open')
  child.stdin.end('second\n')
  await new Promise((resolve) => child.on('close', resolve))
})

t.test('standard input redirected from a file reads like the named file, across many chunks', async (t) => {
  // (a file on fd 0 is read as a file, not through process.stdin)
  const big = path.join(tmp, 'big.log')
  const unit = Buffer.from(coloured.repeat(40) + 'caf\xc3\xa9 \x1b[1mbold\x1b[0m\n', 'latin1')
  fs.writeFileSync(big, Buffer.concat(Array.from({ length: Math.ceil((3 * READ_CHUNK + 1234) / unit.length) }, () => unit)))
  for (const color of ['--color=always', '--color=never']) {
    const named = await runBin('nixlog-clean', [color, big])
    t.equal(named.code, 0)
    t.ok(named.stdout.length > READ_CHUNK, `${color}: the output spans several chunks`)
    for (const operands of [[], ['-']]) {
      const fd = fs.openSync(big, 'r')
      try {
        const r = await runBin('nixlog-clean', [color, ...operands], { stdio: [fd, 'pipe', 'pipe'] })
        t.equal(r.code, 0)
        t.ok(r.stdout.equals(named.stdout), `${color} ${operands.join(' ')}: same bytes as the named file`)
      } finally {
        fs.closeSync(fd)
      }
    }
  }
})

t.test('a non-blocking stdin (flags shared with another holder) is read to its end', async (t) => {
  // A plain read answers EAGAIN on such a pipe: the filter must wait for input, losing nothing.
  // Node cannot set O_NONBLOCK on a descriptor; python3 makes the pipe (.ci/run installs it).
  t.equal(spawnSync('python3', ['-c', '']).status, 0, 'python3 is there')
  const script = [
    'import fcntl, os, subprocess, sys, time',
    'r, w = os.pipe()',
    'fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)',
    'p = subprocess.Popen(sys.argv[1:], stdin=r, stdout=subprocess.PIPE, stderr=subprocess.PIPE)',
    'os.close(r)',
    // The filter runs and has emptied the pipe before the rest comes: its next read finds nothing.
    "os.write(w, b'\\x1b[pline 0\\n\\x1b[q')",
    'first = p.stdout.readline()',
    'for i in range(1, 30):',
    "    os.write(w, b'\\x1b[pline %d\\n\\x1b[q' % i)",
    '    time.sleep(0.005)',
    'os.close(w)',
    'out, err = p.communicate()',
    'sys.stdout.buffer.write(first + out)',
    'sys.stderr.buffer.write(err)',
    'sys.exit(p.returncode)',
  ].join('\n')
  const r = spawnSync('python3', ['-c', script, process.execPath, path.join(repoRoot, 'bin/nixlog-clean'), '--color=never'], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  t.equal(r.status, 0)
  t.equal(r.stderr, '')
  t.equal(r.stdout, Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join(''))
})

t.test('a 64 MiB line without newline streams in bounded memory', async (t) => {
  const child = spawn('/usr/bin/time', ['-f', '%M', process.execPath, path.join(repoRoot, 'bin/nixlog-clean'), '--color=never'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let bytes = 0
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (bytes += d.length))
  child.stderr.on('data', (d) => (stderr += d))
  const block = Buffer.from('x\x1b[31my'.repeat(1 << 17))
  let sent = 0
  let expected = 0
  await new Promise<void>((resolve) => {
    const feed = (): void => {
      while (sent < 64 << 20) {
        sent += block.length
        expected += (block.length / 7) * 2
        if (!child.stdin.write(block)) return void child.stdin.once('drain', feed)
      }
      child.stdin.end()
      resolve()
    }
    feed()
  })
  await new Promise((resolve) => child.on('close', resolve))
  t.equal(bytes, expected, 'every text byte came out')
  const maxRssKiB = Number(stderr.trim().split('\n').pop())
  t.ok(maxRssKiB < 150 * 1024, `peak RSS ${Math.round(maxRssKiB / 1024)} MiB stays bounded`)
})

t.test('the shipped legacy sample: colour and plain equal Nix filter outputs', async (t) => {
  const log = sample('synthetic-legacy-stdenv-nesting.log')
  const keep = sample('synthetic-legacy-stdenv-nesting.filterANSIEscapes-keepSGR.txt')
  const all = sample('synthetic-legacy-stdenv-nesting.filterANSIEscapes-filterAll.txt')
  const c = await runBin('nixlog-clean', ['--color=always'], { input: log })
  const n = await runBin('nixlog-clean', ['--color=never'], { input: log })
  // The sample has CR progress (D-6): Nix's whole-input filter concatenates overwritten text.
  t.equal(c.stdout.toString(), keep.toString().replace('[ 75%][100%] Built target hello', '[100%] Built target hello'))
  t.equal(n.stdout.toString(), all.toString().replace('[ 75%][100%] Built target hello', '[100%] Built target hello'))
})

t.test('internal-json comes out as Nix prints it (plus -L prefixes)', async (t) => {
  // The .stderr.txt counterparts come from another run: store hashes differ, so they are masked,
  // and the drv order in the final summary differs between the runs, so that line is sorted.
  const mask = (s: string): string[] => s.replace(/\/nix\/store\/[0-9a-z]{32}-/g, '/nix/store/HASH-').split('\n').map((l) => (l.startsWith('error: build of ') ? l.replace(/'[^']+'(?:, '[^']+')*/, (m) => m.split(', ').sort().join(', ')) : l))
  for (const name of ['nom-integration-standard', 'nom-integration-fail']) {
    const r = await runBin('nixlog-clean', ['--color=never'], { input: sample(`${name}.stderr.json`) })
    const ours = r.stdout.toString().replace(/^build\d?> /gm, '')
    t.same(mask(ours), mask(sample(`${name}.stderr.txt`).toString()), name)
  }
})

t.test('internal-json: BEL and C1 controls in build lines and messages never reach the output', async (t) => {
  const drv = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-1.0.drv'
  const result = (text: string) => `@nix ${JSON.stringify({ action: 'result', fields: [text], id: 7, type: 101 })}\n`
  const log = [
    `@nix {"action":"start","fields":["${drv}","",1,1],"id":7,"level":3,"parent":0,"text":"building '${drv}'","type":105}\n`,
    result('ab\u0007cd'), // short ranges are copied byte by byte
    result('ab\u0085cd'),
    result('0123456789abcdef\u0085ghij\u0007klmnopqrstuvwxyz'), // long ranges are copied whole, then checked
    result('\u001b[31mred\u0085red\u001b[0m plain\u0007plain'), // around colour marks
    `@nix ${JSON.stringify({ action: 'msg', level: 0, msg: 'error: bad\u009b31m\u0007 thing' })}\n`,
    '@nix {"action":"stop","id":7}\n',
  ].join('')
  for (const color of ['always', 'never']) {
    const r = await runBin('nixlog-clean', [`--color=${color}`], { input: log })
    const out = r.stdout.toString('latin1')
    t.notOk(/\x07|\xc2[\x80-\x9f]/.test(out), `${color}: no BEL, no C1 control`)
    const text = r.stdout.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '')
    for (const want of ['abcd', 'abcd', '0123456789abcdefghijklmnopqrstuvwxyz', 'redred plainplain', 'error: bad31m thing']) t.ok(text.includes(want), `${color}: ${want}`)
  }
})
