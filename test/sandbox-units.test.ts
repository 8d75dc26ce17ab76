// Pure unit tests of lib/launcher: spec encoding, CLI parsing, the --disallow scanner.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ChunkedSearcher, encodeSpec, hashPartOf, parseDuration, parseRunArgs, parseSize, RUN_HELP, scanForDisallowed } from '../lib/launcher/index.js'

const H = '0c7y6q8ifd2b7j9wm0l3zsn2kap1x4gh'

t.test('spec encoding: NUL-separated tokens in order', async t => {
  const spec = encodeSpec({
    argv: ['/bin/sh', '-c', 'a\nb'],
    roBinds: [{ src: '/usr' }, { src: '/x:y', dst: '/in' }],
    buildDir: '/tmp/b',
    storeDir: '/nix/store',
    paths: [`/nix/store/${H}-foo`],
    env: { K: 'v=w' },
    timeoutMs: 1000,
    buildUid: 30001,
    pty: false,
  })
  t.same(spec.toString().split('\0'), [
    'v1', 'ro', '/usr', '/usr', 'ro', '/x:y', '/in', 'rw', '/tmp/b', '/build', 'store', '/nix/store', 'ro', `/nix/store/${H}-foo`, `/nix/store/${H}-foo`,
    'cwd', '/build', 'env', 'K=v=w', 'timeout-ms', '1000', 'net', 'none', 'build-uid', '30001', '30001', '--', '/bin/sh', '-c', 'a\nb', '',
  ])
  t.match(encodeSpec({ argv: ['x'] }).toString(), /\0pty\x0080\x0024\0/, 'pty 80x24 by default')
})

t.test('spec validation', async t => {
  const bad: [object, RegExp][] = [
    [{ argv: [] }, /no builder/],
    [{ argv: ['x'], roBinds: [{ src: 'rel' }] }, /absolute/],
    [{ argv: ['x'], roBinds: [{ src: '/a', dst: '/b/../c' }] }, /normalised/],
    [{ argv: ['x'], roBinds: [{ src: '/a', dst: '/proc/x' }] }, /\/proc or \/dev/],
    [{ argv: ['x'], roBinds: [{ src: '/a', dst: '/' }] }, /cannot be \//],
    [{ argv: ['x'], roBinds: [{ src: '/a', dst: '/c' }], binds: [{ src: '/b', dst: '/c' }] }, /two mounts on \/c/],
    [{ argv: ['x'], storeDir: '/s', paths: ['/t/p'] }, /not inside the store/],
    [{ argv: ['x'], paths: ['/t/p'] }, /needs --store/],
    [{ argv: ['x'], buildUid: 0 }, /non-zero/],
    [{ argv: ['x'], buildDir: '/b', disallow: ['/nix/store/short-foo'] }, /32-character/],
    [{ argv: ['x'], disallow: [`/nix/store/${H}-foo`] }, /needs --build-dir/],
    [{ argv: ['x'], timeoutMs: -1 }, /non-negative/],
  ]
  for (const [o, re] of bad) t.throws(() => encodeSpec(o as never), re, JSON.stringify(o))
})

t.test('hash parts', async t => {
  t.equal(hashPartOf(`/nix/store/${H}-foo`), H)
  t.equal(hashPartOf(H), H)
  t.equal(hashPartOf('/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-foo'), undefined, 'e is not nix32')
  t.equal(hashPartOf('/nix/store/abc-foo'), undefined)
})

t.test('durations and sizes', async t => {
  t.equal(parseDuration('90'), 90_000)
  t.equal(parseDuration('1.5s'), 1500)
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('15m'), 900_000)
  t.equal(parseDuration('2h'), 7_200_000)
  t.equal(parseDuration('0'), 0)
  t.equal(parseDuration('abc'), undefined)
  t.equal(parseDuration('-1'), undefined)
  t.equal(parseSize('100000'), 100000)
  t.equal(parseSize('10M'), 10 * 1024 * 1024)
  t.equal(parseSize('1G'), 1024 ** 3)
  t.equal(parseSize('512k'), 512 * 1024)
  t.equal(parseSize('10MiB'), 10 * 1024 * 1024)
  t.equal(parseSize('1.5M'), undefined)
})

t.test('parseRunArgs', async t => {
  const { options, errors } = parseRunArgs([
    '--ro-bind', '/usr', '--ro-bind=/opt/a:/a', '--bind', '/var/x:/x', '--build-dir', '/tmp/b', '--store', '/nix/store',
    '--path', `/nix/store/${H}-foo`, '--env', 'A=1=2', '--timeout', '1m', '--max-silent-time', '30s', '--max-log-size', '10M',
    '--network', '--build-uid', '30001:30000', '--disallow', `/nix/store/${H}-foo`, '--log', '/tmp/log', '--no-view', '--', '/bin/sh', '-c', 'x --y',
  ])
  t.same(errors, [])
  t.same(options.roBinds, [{ src: '/usr' }, { src: '/opt/a', dst: '/a' }])
  t.same(options.binds, [{ src: '/var/x', dst: '/x' }])
  t.equal(options.buildDir, '/tmp/b')
  t.same(options.paths, [`/nix/store/${H}-foo`])
  t.same(options.env, { A: '1=2' })
  t.equal(options.timeoutMs, 60_000)
  t.equal(options.maxSilentMs, 30_000)
  t.equal(options.maxLogBytes, 10 * 1024 * 1024)
  t.equal(options.network, true)
  t.equal(options.buildUid, 30001)
  t.equal(options.buildGid, 30000)
  t.equal(options.logFile, '/tmp/log')
  t.equal(options.view, false)
  t.same(options.argv, ['/bin/sh', '-c', 'x --y'])

  const e = (a: string[]) => parseRunArgs(a).errors
  t.match(e(['--timeout', 'soon', '--', 'x']), [/--timeout needs a duration/])
  t.match(e(['--max-log-size', 'lots', '--', 'x']), [/--max-log-size needs a size/])
  t.match(e(['--frobnicate', '--', 'x']), [/unknown option --frobnicate/])
  t.match(e(['--env', 'NOVALUE', '--', 'x']), [/--env needs K=V/])
  t.match(e(['--build-uid', '0', '--', 'x']), [/--build-uid needs UID/])
  t.match(e(['--ro-bind']), [/--ro-bind needs a value/, /no builder/])
  t.match(e(['--ro-bind', '/a:/proc/x', '--', 'x']), [/\/proc or \/dev/])
  t.same(parseRunArgs(['--help']).options.help, true)
  t.same(parseRunArgs(['--help']).errors, [])
  t.same(parseRunArgs(['--no-view', 'make', '-j4']).options.argv, ['make', '-j4'], 'builder starts at the first non-option')
  t.match(RUN_HELP, /--max-log-size SIZE/)
})

t.test('chunked search finds needles across chunk boundaries only once', async t => {
  for (let cut = 1; cut < 32; cut++) {
    const s = new ChunkedSearcher([H])
    const text = Buffer.from(`xx${H}yy`)
    s.push(text.subarray(0, 2 + cut))
    s.push(text.subarray(2 + cut))
    t.equal(s.found.size, 1, `cut at ${cut}`)
  }
  const near = new ChunkedSearcher([H])
  near.push(Buffer.from(H.slice(0, 31) + 'e' + H.slice(0, 31) + 'u'))
  t.equal(near.found.size, 0, 'near misses with e/u do not match')
})

t.test('scanForDisallowed: contents across chunks, symlink targets, names', async t => {
  const d = mkdtempSync(join(tmpdir(), 'buildlog-scan-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  const other = '1ab2cd3fg4hi5jk6lm7np8qr9sv0wxyz'
  mkdirSync(join(d, 'out'))
  writeFileSync(join(d, 'out', 'straddle'), Buffer.concat([Buffer.alloc(65536 - 30, 'a'), Buffer.from(`/nix/store/${H}-foo`)]))
  writeFileSync(join(d, 'out', 'clean'), `near ${H.slice(0, 31)}e miss`)
  symlinkSync(`/nix/store/${other}-bar/bin`, join(d, 'out', 'link'))
  writeFileSync(join(d, 'out', `${H}-named`), 'x')
  const hits = await scanForDisallowed(d, [`/nix/store/${H}-foo`, `/nix/store/${other}-bar`], 65536)
  t.same(
    hits.map(h => `${h.file} ${h.where} ${h.path}`).sort(),
    [`out/${H}-named name /nix/store/${H}-foo`, `out/link symlink-target /nix/store/${other}-bar`, `out/straddle contents /nix/store/${H}-foo`].sort(),
  )
})
