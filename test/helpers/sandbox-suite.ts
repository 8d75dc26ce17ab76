/**
 * The security suite of sandbox.md §8, run once per identity: test/sandbox.test.ts (root with a
 * build uid) and test/sandbox-unprivileged.test.ts (the buildlog-ci user).  Not a test file itself.
 * Traffic only ever targets 127.0.0.1 and per-run abstract socket names.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import type { Test } from 'tap'
import { encodeSpec, EXIT_CANCELLED, EXIT_LOG_LIMIT, EXIT_SETUP_ERROR, EXIT_SILENCE, EXIT_TIMEOUT } from '../../lib/launcher/index.js'
import { identity, isRoot, KNOWN_HASH, makeFixture, run, sleepersLeft, sleepTag, type Fixture, type Identity } from './sandbox-fixtures.js'

const listen = (srv: Server, arg: string | number, host?: string) =>
  new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    if (host) srv.listen(arg as number, host, () => resolve())
    else srv.listen(arg as string, () => resolve())
  })

/** Spawns the helper directly (optionally behind a prefix) with a raw spec; stdin stays open. */
function rawHelper(argv: string[], spec: Buffer, closeStdinOnStart = false): Promise<{ code: number | null; events: string; stderr: string }> {
  const c = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], env: {} })
  const s = c.stdio as unknown as [NodeJS.WritableStream, NodeJS.ReadableStream, NodeJS.ReadableStream, NodeJS.WritableStream, NodeJS.ReadableStream]
  for (const x of [s[0], s[3]]) (x as unknown as { on(e: string, f: () => void): void }).on('error', () => {})
  s[3].end(spec)
  let events = ''
  let stderr = ''
  s[4].on('data', (b: Buffer) => {
    events += b.toString()
    if (closeStdinOnStart && events.includes('"started"')) s[0].end()
  })
  s[2].on('data', (b: Buffer) => (stderr += b.toString()))
  s[1].resume()
  return new Promise(resolve => c.on('close', code => resolve({ code, events, stderr })))
}

const connectFromHost = (port: number) =>
  new Promise<boolean>(resolve => {
    const s = spawn(process.execPath, ['-e', `require('net').connect(${port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`])
    s.on('close', code => resolve(code === 0))
  })

export function securitySuite(t: Test, kind: 'root' | 'user'): void {
  const idOrSkip = identity(kind)
  if (typeof idOrSkip === 'string') {
    t.plan(0, idOrSkip)
    return
  }
  const id: Identity = idOrSkip
  const fx: Fixture = makeFixture(id)
  t.teardown(() => fx.cleanup())
  const rootOnly = isRoot && kind === 'root'
  t.comment(`identity: ${id.name}; fixture ${fx.base}`)

  t.test('smoke: builder runs, exit code and log relayed', async t => {
    const r = await run(id, fx, 'echo hello; exit 0')
    t.equal(r.res.reason, 'exited', r.res.message ?? '')
    t.equal(r.res.exitCode, 0)
    t.equal(r.text, 'hello\n')
    t.same(r.events.map(e => e.event), ['started', 'exit'])
  })

  // ---------------------------------------------------------------- filesystem
  t.test('FS-1: chroot breakout in a nested userns stays inside the sandbox', async t => {
    const script = `mkdir -p /tmp/jail; cd /tmp; exec unshare -Ur perl -e '
      chroot("jail") or die "chroot: $!"; print "IN_CHROOT proc=", (-e "/proc/self" ? 1 : 0), "\\n";
      chdir("..") for 1..256; chroot(".") or die "chroot2: $!";
      print "AFTER proc=", (-e "/proc/self" ? 1 : 0), " marker=", (-e "${fx.marker}" ? 1 : 0), " shadow=", (-e "/etc/shadow" ? 1 : 0), "\\n"'`
    const r = await run(id, fx, script, { allowUserns: true })
    t.equal(r.res.exitCode, 0, r.text)
    // inside the jail /proc is gone; after the escape the sandbox root is back (the escape
    // itself worked), but the host is not
    t.match(r.text, /IN_CHROOT proc=0/)
    t.match(r.text, /AFTER proc=1 marker=0 shadow=0/)
  })

  // A host-side control (chroot needs root), so it belongs to the root suite only.
  if (rootOnly) {
    t.test('FS-1b control: the same escape leaves a plain chroot on the host', async t => {
      const dir = mkdtempSync('/tmp/buildlog-chroot-control-')
      mkdirSync(join(dir, 'jail'))
      const r = spawnSync('perl', ['-e', `chroot("jail") or die; print "IN ", (-e "${fx.marker}" ? 1 : 0), "\\n"; chdir("..") for 1..256; chroot(".") or die; print "OUT ", (-e "${fx.marker}" ? 1 : 0), "\\n"`], { cwd: dir, encoding: 'utf8' })
      rmSync(dir, { recursive: true, force: true })
      t.equal(r.stdout, 'IN 0\nOUT 1\n', 'a plain chroot is escapable, so FS-1 is not vacuous')
    })
  }

  t.test('FS-2: host files are invisible', async t => {
    const r = await run(id, fx, `for p in ${fx.marker} /etc/shadow /home /root ${fx.base} /work; do test -e $p && echo "VISIBLE $p"; done; echo done`)
    t.equal(r.text, 'done\n')
  })

  t.test('FS-3: inputs and root are read-only', async t => {
    const r = await run(id, fx, 'touch /usr/x; touch /inputs/x; echo y > /inputs/data.txt; touch /x; mkdir /etc/x; touch /tmp/ok && echo tmp-ok', {
      roBinds: [{ src: fx.inputs, dst: '/inputs' }],
    })
    const lines = r.text.trim().split('\n')
    t.equal(lines.filter(l => /Read-only file system/.test(l)).length, 5, r.text)
    t.match(r.text, /tmp-ok/)
    t.equal(readFileSync(join(fx.inputs, 'data.txt'), 'utf8'), 'input data\n')
    t.notOk(existsSync(join(fx.inputs, 'x')))
  })

  t.test('FS-4: a nested userns cannot remount an input read-write', async t => {
    const r = await run(id, fx, `unshare -Urm sh -c 'mount -o remount,bind,rw /usr && echo REMOUNTED-USR; mount -o remount,bind,rw /inputs && echo REMOUNTED-INPUTS; touch /inputs/x && echo WROTE'; echo done`, {
      allowUserns: true,
      roBinds: [{ src: fx.inputs, dst: '/inputs' }],
    })
    t.notMatch(r.text, /REMOUNTED|WROTE/)
    t.match(r.text, /done/)
    t.notOk(existsSync(join(fx.inputs, 'x')))
  })

  t.test('FS-7: host /dev/shm is not shared', async t => {
    const r = await run(id, fx, 'ls -A /dev/shm; echo end')
    t.equal(r.text, 'end\n')
  })

  t.test('FS-8: destination tricks are refused, nothing written outside', async t => {
    // a '..' destination is rejected by the TS validation and by the helper itself
    t.throws(() => encodeSpec({ argv: ['/bin/true'], roBinds: [{ src: fx.inputs, dst: '/build/../etc' }] }), /normalised/)
    const spec = Buffer.from(['v1', 'ro', fx.inputs, '/a/../b', '--', '/bin/true', ''].join('\0'))
    const h = await rawHelper([...(id.launchPrefix ?? []), fx.helper], spec)
    t.equal(h.code, EXIT_SETUP_ERROR, 'helper refuses a .. destination')
    t.match(h.events, /destination must be an absolute normalised path/)
    // a symlink planted in an rw bind must not redirect a later mount
    const outside = mkdtempSync('/tmp/buildlog-outside-')
    chmodSync(outside, 0o777)
    const b = fx.buildDir()
    if (isRoot) chownSync(b, id.hostUid, id.hostGid) // not empty below, so hand it over first
    symlinkSync(outside, join(b, 'sub'))
    if (isRoot) spawnSync('chown', ['-h', `${id.hostUid}:${id.hostGid}`, join(b, 'sub')])
    const r = await run(id, fx, 'echo should-not-run', { buildDir: b, roBinds: [{ src: fx.inputs, dst: '/build/sub/x' }] })
    t.equal(r.res.reason, 'setup-error', r.res.message)
    t.match(r.res.message ?? '', /symlink|not a directory/)
    t.equal(r.text, '')
    t.same(spawnSync('ls', ['-A', outside], { encoding: 'utf8' }).stdout, '', 'nothing created through the symlink')
    rmSync(outside, { recursive: true, force: true })
  })

  // ---------------------------------------------------------------- network, processes, store
  t.test('NET-1: only loopback', async t => {
    const r = await run(id, fx, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    t.equal(r.text, 'lo\n')
  })

  t.test('NET-2/3/4: host loopback listeners unreachable (controls: host, --network)', async t => {
    const srv = createServer(s => s.end())
    await listen(srv, 0, '127.0.0.1')
    const port = (srv.address() as { port: number }).port
    const name = `buildlog-test-${process.pid}-${Date.now()}`
    const abs = createServer(s => s.end())
    await listen(abs, '\0' + name)
    try {
      const r = await run(id, fx, `/probe connect 127.0.0.1 ${port}; /probe connect-abstract ${name}`)
      t.match(r.text, /connect: ECONNREFUSED/, 'NET-2: TCP to the host listener refused')
      t.match(r.text, /connect-abstract: ECONNREFUSED/, 'NET-4: abstract socket refused')
      t.ok(await connectFromHost(port), 'NET-3 control: the listener accepts from the host')
      const c = await run(id, fx, `/probe connect 127.0.0.1 ${port}; /probe connect-abstract ${name}`, { network: true })
      t.match(c.text, /connect: OK/, 'control: reachable with --network')
      t.match(c.text, /connect-abstract: OK/, 'control: abstract socket reachable with --network')
    } finally {
      srv.close()
      abs.close()
    }
  })

  t.test('PID-1/2/3: host processes invisible; builder is pid 2', async t => {
    const r = await run(id, fx, `echo pid=$$; test -e /proc/${process.pid} && echo VISIBLE; /probe kill0 ${process.pid}; ls /proc | grep -c '^[0-9]'`)
    t.match(r.text, /^pid=2\n/)
    t.notMatch(r.text, /VISIBLE/)
    t.match(r.text, /kill0: ESRCH/)
    const n = Number(r.text.trim().split('\n').pop())
    t.ok(n >= 3 && n <= 6, `only sandbox processes in /proc (${n})`)
  })

  t.test('ST-1..4: store not listable, known path readable, others absent', async t => {
    const r = await run(id, fx, `ls ${fx.store}; cat ${fx.known}/file; test -e ${fx.unknown} && echo UNKNOWN-VISIBLE; chmod 755 ${fx.store}; echo end`, {
      storeDir: fx.store,
      paths: [fx.known],
    })
    t.match(r.text, /ls: cannot open directory '.*': Permission denied/, 'ST-1')
    t.match(r.text, /known content/, 'ST-2')
    t.notMatch(r.text, /UNKNOWN-VISIBLE/, 'ST-3')
    t.match(r.text, /chmod: changing permissions of '.*': Read-only file system/, 'ST-4')
  })

  // ---------------------------------------------------------------- privileges and seccomp
  t.test('PR-1: a setuid-root binary is inert', { skip: !fx.suidId && 'needs root to create the setuid fixture' }, async t => {
    const r = await run(id, fx, '/suid-id -u; /suid-id -un', { roBinds: [{ src: fx.suidId as string, dst: '/suid-id' }] })
    t.equal(r.text, '1000\nbuilder\n')
  })

  t.test('PR-2/9: no setuid bits via chmod; created ones are stripped from outputs', async t => {
    const b = fx.buildDir()
    const r = await run(id, fx, 'touch f; /probe chmod-suid f; /probe creat-suid g', { buildDir: b })
    t.match(r.text, /chmod: EPERM\nfchmod: EPERM\nfchmodat: EPERM\nfchmodat2: EPERM\nchmod-plain: OK/)
    t.match(r.text, /creat: OK\nmode: 6755/, 'the bits exist inside while the build runs')
    t.equal(statSync(join(b, 'g')).mode & 0o7777, 0o755, 'stripped on the host after the build')
    t.equal(statSync(join(b, 'f')).mode & 0o7777, 0o755)
  })

  t.test('PR-3/4: no_new_privs, no capabilities', async t => {
    const r = await run(id, fx, "grep -E '^(NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb|Seccomp):' /proc/self/status")
    t.match(r.text, /NoNewPrivs:\s+1/)
    for (const c of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) t.match(r.text, new RegExp(`${c}:\\s+0000000000000000`), c)
    t.match(r.text, /Seccomp:\s+2/)
  })

  t.test('PR-5: TIOCSTI on a controlling tty is refused (control: without the filter it is not EPERM)', async t => {
    const r = await run(id, fx, '/probe tiocsti')
    t.equal(r.text, 'tiocsti: EPERM\n')
    const c = await run(id, fx, '/probe tiocsti', { seccomp: false })
    t.match(c.text, /^tiocsti: (OK|EIO)\n$/, 'control: the kernel alone does not answer EPERM here')
  })

  t.test('PR-6: int 0x80 cannot bypass the filter (control without it)', async t => {
    const r = await run(id, fx, '/probe int80')
    t.equal(r.text, 'int80: -38\n', 'ENOSYS for the i386 ABI')
    const c = await run(id, fx, '/probe int80', { seccomp: false })
    t.match(c.text, /^int80: [1-9]\d*\n$/, 'control: the real pid without the filter')
  })

  t.test('PR-7/8: io_uring, keyrings and xattrs are refused', async t => {
    const b = fx.buildDir()
    const r = await run(id, fx, 'touch f; /probe io_uring; /probe keyctl; /probe xattr f', { buildDir: b })
    t.match(r.text, /io_uring_setup: EPERM/)
    t.match(r.text, /keyctl: EPERM\nadd_key: EPERM/)
    for (const s of ['setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat', 'getxattr', 'removexattr']) t.match(r.text, new RegExp(`${s}: EOPNOTSUPP`), s)
  })

  t.test('PR-10: nested user namespaces only with --allow-userns', async t => {
    const r = await run(id, fx, '/probe unshare-user; unshare -U true && echo UNSHARED')
    t.match(r.text, /unshare: EPERM/)
    t.notMatch(r.text, /UNSHARED/)
    const c = await run(id, fx, '/probe unshare-user', { allowUserns: true })
    t.match(c.text, /unshare: OK/)
  })

  t.test('EN-1/2/3: clean environment, identity, fds', async t => {
    process.env.SECRET_TOKEN = 'hunter2'
    const b = fx.buildDir()
    const r = await run(id, fx, 'env | sort; echo ---; id; hostname; cat /etc/hostname 2>/dev/null; /probe fds', { buildDir: b, env: { FOO: 'bar' } })
    delete process.env.SECRET_TOKEN
    const [envText, rest] = r.text.split('---\n') as [string, string]
    const names = envText.trim().split('\n').map(l => l.split('=')[0]).sort()
    t.same(names, ['FOO', 'HOME', 'NIX_BUILD_TOP', 'NIX_LOG_FD', 'PATH', 'PWD', 'TEMP', 'TEMPDIR', 'TERM', 'TMP', 'TMPDIR'])
    t.match(envText, /^HOME=\/homeless-shelter$/m)
    t.match(envText, /^TMPDIR=\/build$/m)
    t.notMatch(r.text, /hunter2/)
    t.match(rest, /^uid=1000\(builder\) gid=100\(builder\)/m)
    t.match(rest, /^localhost$/m)
    t.match(rest, /^fds: 0 1 2$/m)
  })

  // ---------------------------------------------------------------- lifecycle and limits
  t.test('LC-1: timeout kills everything', async t => {
    const tag = sleepTag(id)
    const r = await run(id, fx, `sleep ${tag} & setsid sleep ${tag} & (sleep ${tag} &); sleep ${tag}`, { timeoutMs: 1000 })
    t.equal(r.res.reason, 'timeout')
    t.equal(r.res.exitCode, EXIT_TIMEOUT)
    t.ok(r.wallMs >= 990 && r.wallMs < 2000, `returned after ${r.wallMs.toFixed(0)} ms`)
    t.equal(await sleepersLeft(tag), 0, 'no sleeper left')
  })

  t.test('LC-2: SIGINT to the helper cancels, nothing left', async t => {
    const tag = sleepTag(id)
    const r = await run(id, fx, `sleep ${tag} & setsid sleep ${tag} & echo up; sleep ${tag}`, {
      onStarted: pid => setTimeout(() => process.kill(pid, 'SIGINT'), 300),
    })
    t.equal(r.res.reason, 'cancelled')
    t.equal(r.res.exitCode, EXIT_CANCELLED)
    t.equal(r.text, 'up\n')
    t.equal(await sleepersLeft(tag), 0)
  })

  t.test('LC-2b: cancel() cancels', async t => {
    const tag = sleepTag(id)
    const r = await run(id, fx, `sleep ${tag} & sleep ${tag}`, { onStarted: (_pid, cancel) => setTimeout(cancel, 200) })
    t.equal(r.res.reason, 'cancelled')
    t.equal(await sleepersLeft(tag), 0)
  })

  t.test('LC-3: SIGKILL of the helper leaves nothing behind', async t => {
    const tag = sleepTag(id)
    const r = await run(id, fx, `sleep ${tag} & setsid sleep ${tag} & (sleep ${tag} &); sleep ${tag}`, {
      onStarted: pid => setTimeout(() => process.kill(pid, 'SIGKILL'), 300),
    })
    t.equal(r.res.reason, 'internal', 'no exit event from a killed helper')
    t.equal(await sleepersLeft(tag), 0, 'PDEATHSIG chain killed the sandbox')
  })

  t.test('LC-10: EOF on the control fd (Node gone) cancels', async t => {
    const tag = sleepTag(id)
    const spec = encodeSpec({ argv: ['/bin/sh', '-c', `sleep ${tag} & sleep ${tag}`], env: { PATH: '/usr/bin:/bin' }, roBinds: [...['/usr', '/bin', '/lib', '/lib64'].map(src => ({ src }))], pty: false, ...(id.buildUid ? { buildUid: id.buildUid } : {}) })
    const { code, events: ev } = await rawHelper([...(id.launchPrefix ?? []), fx.helper], spec, true)
    t.equal(code, EXIT_CANCELLED)
    t.match(ev, /"reason":"cancelled"/)
    t.equal(await sleepersLeft(tag), 0)
  })

  t.test('LC-4: max-silent-time', async t => {
    const r = await run(id, fx, 'echo a; sleep 0.2; echo b; sleep 5', { maxSilentMs: 500 })
    t.equal(r.res.reason, 'silence')
    t.equal(r.res.exitCode, EXIT_SILENCE)
    t.equal(r.text, 'a\nb\n')
    t.ok(r.wallMs > 650 && r.wallMs < 2000, `${r.wallMs.toFixed(0)} ms`)
  })

  t.test('LC-5: closing stdout does not end the build', async t => {
    const b = fx.buildDir()
    const r = await run(id, fx, 'echo before; exec >&- 2>&-; sleep 1; touch done; exit 7', { buildDir: b })
    t.equal(r.res.reason, 'exited')
    t.equal(r.res.exitCode, 7)
    t.equal(r.text, 'before\n')
    t.ok(existsSync(join(b, 'done')))
  })

  t.test('LC-6: daemons are killed when the builder exits', async t => {
    const tag = sleepTag(id)
    const r = await run(id, fx, `sleep ${tag} & setsid sleep ${tag} & echo started; exit 0`)
    t.equal(r.res.exitCode, 0)
    t.ok(r.wallMs < 2000, `returned after ${r.wallMs.toFixed(0)} ms`)
    t.equal(await sleepersLeft(tag), 0)
  })

  t.test('LC-7/8: signals and exit codes propagate', async t => {
    const a = await run(id, fx, 'kill -TERM $$')
    t.equal(a.res.reason, 'signaled')
    t.equal(a.res.signal, 15)
    t.equal(a.res.exitCode, 143)
    const b = await run(id, fx, 'exit 42')
    t.equal(b.res.reason, 'exited')
    t.equal(b.res.exitCode, 42)
    const c = await run(id, fx, 'kill -SEGV $$')
    t.equal(c.res.signal, 11)
    t.equal(c.res.exitCode, 139)
  })

  // ---------------------------------------------------------------- log
  for (const pty of [false, true]) {
    const mode = pty ? 'pty' : 'pipe'
    t.test(`LG-1 (${mode}): 1 MiB then a timeout: exactly 1 MiB`, async t => {
      const tag = sleepTag(id)
      const r = await run(id, fx, `head -c 1048576 /dev/zero; sleep ${tag}`, { timeoutMs: 1000, pty, hashOnly: true })
      t.equal(r.res.reason, 'timeout')
      t.equal(r.bytes, 1048576)
      t.equal(r.res.logBytes, 1048576)
    })

    t.test(`LG-2 (${mode}): 300 000 bytes then kill -9 $$: exactly 300 000`, async t => {
      const r = await run(id, fx, 'head -c 300000 /dev/urandom; kill -9 $$', { pty, hashOnly: true })
      t.equal(r.res.reason, 'signaled')
      t.equal(r.res.exitCode, 137)
      t.equal(r.bytes, 300000)
    })

    t.test(`LG-3 (${mode}): ${pty ? '32' : '200'} MiB of random data relayed byte-exact`, async t => {
      // random data made once per fixture (urandom in the sandbox would cost ~3 s of CPU per run)
      // (the pty relays ~15-70 MB/s, so it gets a 32 MiB prefix to stay inside the time budget)
      const n = pty ? 32 * 1024 * 1024 : 200 * 1024 * 1024
      const r = await run(id, fx, `head -c ${n} /inputs/random.bin`, { roBinds: [{ src: fx.inputs, dst: '/inputs' }], pty, hashOnly: true })
      t.equal(r.res.exitCode, 0, r.res.message ?? '')
      t.equal(r.bytes, n)
      t.equal(r.res.logBytes, n)
      t.equal(r.sha256, fx.randomSha256(n), 'log sha256 = input sha256')
    })

    t.test(`LG-4 (${mode}): max-log-size is an exact cut`, async t => {
      const r = await run(id, fx, 'head -c 10000000 /dev/urandom', { maxLogBytes: 100000, pty, hashOnly: true })
      t.equal(r.res.reason, 'log-limit')
      t.equal(r.res.exitCode, EXIT_LOG_LIMIT)
      t.equal(r.bytes, 100000)
      t.equal(r.res.truncated, true)
    })
  }

  t.test('pty: coalesced reads are not held back: the builder waits until its first line is seen', async t => {
    // the helper gathers pty reads into bigger writes; a short line must still go out while the
    // builder runs.  If it were held, the builder would wait for `go` until the timeout.
    const b = fx.buildDir()
    let seen = ''
    const r = await run(id, fx, 'echo ping; while ! test -e go; do sleep 0.02; done; echo pong', {
      pty: true,
      buildDir: b,
      timeoutMs: 20000,
      onLog: chunk => {
        seen += chunk.toString()
        if (seen.includes('ping') && !existsSync(join(b, 'go'))) writeFileSync(join(b, 'go'), '')
      },
    })
    t.equal(r.res.reason, 'exited', r.res.message ?? '')
    t.equal(r.text, 'ping\npong\n')
  })

  t.test('pty: max-silent-time still fires and keeps what was written', async t => {
    const r = await run(id, fx, 'echo a; sleep 0.2; echo b; sleep 5', { maxSilentMs: 500, pty: true })
    t.equal(r.res.reason, 'silence')
    t.equal(r.res.exitCode, EXIT_SILENCE)
    t.equal(r.text, 'a\nb\n')
  })

  t.test('pty: the builder sees a terminal of the requested size, no \\r\\n translation', async t => {
    const r = await run(id, fx, "test -t 1 && echo tty; stty size 0<&1; printf 'a\\nb\\n'", { pty: { cols: 123, rows: 45 } })
    t.equal(r.text, 'tty\n45 123\na\nb\n')
  })

  // ---------------------------------------------------------------- errors, --disallow, round trips
  t.test('ER-1: a missing input is a setup error naming the path', async t => {
    const r = await run(id, fx, 'echo no', { roBinds: [{ src: '/nonexistent/input', dst: '/x' }] })
    t.equal(r.res.reason, 'setup-error')
    t.equal(r.res.exitCode, EXIT_SETUP_ERROR)
    t.match(r.res.message ?? '', /\/nonexistent\/input: No such file or directory/)
    t.same(r.events.map(e => e.event), ['exit'], 'never started')
  })

  t.test('ER-2: missing or non-executable builder', async t => {
    const a = await run(id, fx, ['/no/such/builder'])
    t.equal(a.res.reason, 'setup-error')
    t.equal(a.res.exitCode, 127)
    t.equal(a.res.error?.step, 'execve')
    t.match(a.res.message ?? '', /\/no\/such\/builder: No such file or directory/)
    const b = await run(id, fx, ['/inputs/data.txt'], { roBinds: [{ src: fx.inputs, dst: '/inputs' }] })
    t.equal(b.res.exitCode, 126)
    const c = await run(id, fx, ['sh', '-c', 'echo via-path'])
    t.equal(c.text, 'via-path\n', 'a bare name is searched in the sandbox PATH')
  })

  t.test('ER-3: long argv/env and odd bytes round-trip', async t => {
    // one string may not exceed MAX_ARG_STRLEN (128 KiB, a kernel limit); many may add up
    const big = 'x'.repeat(100_000)
    const odd = 'a:b\nc d\te=f'
    const many = Array.from({ length: 10 }, (_, i) => `${i}:${big}`)
    const r = await run(id, fx, ['/bin/sh', '-c', 'printf %s "$*" | wc -c; printf "%s|" "$ODD"; printf %s "$BIG" | wc -c', 'sh', ...many], { env: { ODD: odd, BIG: big } })
    t.equal(r.res.reason, 'exited', r.res.message ?? '')
    t.equal(r.text, `${many.join(' ').length}\n${odd}|100000\n`)
  })

  t.test('--disallow: a reference in an output fails the build, naming the file', async t => {
    const b = fx.buildDir()
    const r = await run(id, fx, `mkdir -p out; echo "prefix ${fx.known}/file suffix" > out/ref; echo clean > out/ok`, { buildDir: b, disallow: [fx.known] })
    t.equal(r.res.reason, 'disallowed-reference')
    t.equal(r.res.exitCode, 65)
    t.match(r.res.message ?? '', /out\/ref/)
    t.same(r.res.disallowed?.map(h => h.file), ['out/ref'])
    const ok = await run(id, fx, 'echo clean > out', { buildDir: fx.buildDir(), disallow: [`/x/store/${KNOWN_HASH}-known`] })
    t.equal(ok.res.reason, 'exited')
    t.equal(ok.res.exitCode, 0)
  })

  if (rootOnly) {
    t.test('RT-1: root without a build uid is refused', async t => {
      const r = await run({ ...id, buildUid: undefined } as Identity, fx, 'echo no')
      t.equal(r.res.reason, 'setup-error')
      t.match(r.res.message ?? '', /refusing to run as root without a build uid/)
      t.equal(r.text, '')
    })

    t.test('RT-2: a root-owned file in an rw bind shows as nobody and is not writable', async t => {
      const d = mkdtempSync('/tmp/buildlog-rt2-')
      chmodSync(d, 0o755)
      writeFileSync(join(d, 'rootfile'), 'root\n', { mode: 0o644 })
      const r = await run(id, fx, 'stat -c %U /rw/rootfile; echo x >> /rw/rootfile || echo DENIED', { binds: [{ src: d, dst: '/rw' }] })
      t.match(r.text, /^nobody\n/)
      t.match(r.text, /Permission denied/)
      t.equal(readFileSync(join(d, 'rootfile'), 'utf8'), 'root\n')
      rmSync(d, { recursive: true, force: true })
    })

    t.test('RT-3: a source the build uid cannot reach is an error naming the path', async t => {
      const d = mkdtempSync('/tmp/buildlog-rt3-')
      chmodSync(d, 0o700)
      mkdirSync(join(d, 'in'))
      const r = await run(id, fx, 'echo no', { roBinds: [{ src: join(d, 'in'), dst: '/in' }] })
      t.equal(r.res.reason, 'setup-error')
      t.match(r.res.message ?? '', new RegExp(`${join(d, 'in')}: Permission denied.*build uid ${id.buildUid}`))
      rmSync(d, { recursive: true, force: true })
    })

    t.test('root: an empty build dir is handed to the build uid (0700)', async t => {
      const b = fx.buildDir()
      const r = await run(id, fx, 'touch out', { buildDir: b })
      t.equal(r.res.exitCode, 0)
      const st = lstatSync(b)
      t.equal(st.uid, id.buildUid)
      t.equal(st.mode & 0o777, 0o700)
      t.equal(lstatSync(join(b, 'out')).uid, id.buildUid)
    })
  }

  if (kind === 'user' && isRoot) {
    t.test('ER-4: no user namespaces -> unavailable (69), naming the sysctl', async t => {
      // host root creates a userns (full map) and sets its user.max_user_namespaces to 0, then
      // drops to the CI user and execs the helper, whose unshare(CLONE_NEWUSER) gets ENOSPC
      const spec = encodeSpec({ argv: ['/bin/true'], roBinds: [{ src: '/usr' }], pty: false })
      const inner = `while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.01; done; exec /bin/sh -c "echo 0 > /proc/sys/user/max_user_namespaces && exec ${(id.launchPrefix ?? []).join(' ')} ${fx.helper}"`
      // (re-exec once uid 0 is mapped: capabilities are computed at exec time)
      // (an async list gets /dev/null as stdin unless redirected explicitly; fd 0 is the control fd)
      const sh = `exec 5<&0; /usr/bin/unshare -U /bin/sh -c '${inner}' <&5 & p=$!; while [ "$(readlink /proc/$p/ns/user)" = "$(readlink /proc/self/ns/user)" ]; do sleep 0.01; done; echo '0 0 65536' > /proc/$p/uid_map; echo '0 0 65536' > /proc/$p/gid_map; wait $p`
      const r = await rawHelper(['/bin/sh', '-c', sh], spec)
      const out = r.events
      t.equal(r.code, 69, out + r.stderr)
      t.match(out, /"unavailable":true/)
      t.match(out, /user\.max_user_namespaces=0/)
    })
  }
}
