#!/usr/bin/env node
// Sandbox helper benchmarks (issue 6): prints a markdown section on stdout.
//  (a) startup: median of N runs of /bin/true directly, through the helper, and through
//      bubblewrap when installed (skipped otherwise);
//  (b) relay: `head -c 2G /dev/zero` read by Node through a direct pipe vs through the helper
//      (pipe mode, and pty mode for reference).
// Targets: helper <= 10 ms over /bin/true; relay cost <= 10 % over a direct pipe.
// Run as root (uses --build-uid 15001) or as a user with unprivileged user namespaces.
// Usage: node bench/sandbox-bench.mjs [--runs 30] [--relay-bytes 2G] [--no-pty]
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const launcher = join(root, 'dist', 'launcher', 'index.js')
if (!existsSync(launcher)) {
  console.error('bench: build first (npx tsc -p tsconfig.json)')
  process.exit(1)
}
const { runSandboxed, ensureHelperBinary, encodeSpec } = await import(pathToFileURL(launcher).href)

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const RUNS = Number(opt('--runs', '30'))
const RELAY = opt('--relay-bytes', '2G')
const relayBytes = Number(RELAY.replace(/[GMK]$/i, '')) * ({ G: 1024 ** 3, M: 1024 ** 2, K: 1024 }[RELAY.slice(-1).toUpperCase()] ?? 1)
const isRoot = process.getuid() === 0
const uidOpt = isRoot ? { buildUid: 15001 } : {}
const SYS = ['/usr', '/bin', '/lib', '/lib64'].filter(p => existsSync(p)).map(src => ({ src }))

const median = xs => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = x => x.toFixed(1)

/** time one child from spawn to 'close', draining its stdout */
function timeSpawn(cmd, argv, stdio = ['ignore', 'pipe', 'pipe']) {
  return new Promise((resolve, reject) => {
    const t = performance.now()
    const c = spawn(cmd, argv, { stdio })
    c.stdout?.resume()
    c.stderr?.resume()
    c.on('error', reject)
    c.on('close', code => resolve({ ms: performance.now() - t, code }))
  })
}

/** the helper alone: spawn it with the five fds, spec on fd 3, until it exits */
function timeHelper(helper, spec) {
  return new Promise(resolve => {
    const t = performance.now()
    const c = spawn(helper, [], { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], env: {} })
    c.stdio[3].end(spec)
    for (const i of [1, 2, 4]) c.stdio[i].resume()
    c.on('close', code => {
      c.stdio[0].destroy()
      resolve({ ms: performance.now() - t, code })
    })
  })
}

async function series(fn) {
  await fn() // warm-up
  const xs = []
  for (let i = 0; i < RUNS; i++) {
    const r = await fn()
    if (r.code !== 0) throw new Error(`run failed with ${r.code}`)
    xs.push(r.ms)
  }
  return xs
}

const out = []
out.push('## Sandbox launcher (`buildlog run`)', '')
const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()
out.push(`Machine: ${process.arch}, ${(await import('node:os')).cpus().length} cores, Linux ${kernel}, Node ${process.version}; ${isRoot ? 'as root with --build-uid 15001' : `as uid ${process.getuid()}`}. Median of ${RUNS} runs after one warm-up.`, '')

// ---- (a) startup
const helper = ensureHelperBinary()
const spec = encodeSpec({ argv: ['/bin/true'], roBinds: SYS, pty: false, ...uidOpt })
const direct = await series(() => timeSpawn('/bin/true', []))
const viaHelper = await series(() => timeHelper(helper, spec))
const viaApi = await series(async () => {
  const t = performance.now()
  const r = runSandboxed({ argv: ['/bin/true'], roBinds: SYS, pty: false, ...uidOpt })
  r.log.resume()
  const res = await r.result
  return { ms: performance.now() - t, code: res.exitCode }
})
const setupMs = []
for (let i = 0; i < 10; i++) {
  const r = runSandboxed({ argv: ['/bin/true'], roBinds: SYS, pty: false, ...uidOpt })
  r.log.resume()
  setupMs.push((await r.result).setupMs)
}
const bwrapPath = ['/usr/bin/bwrap', '/bin/bwrap'].find(p => existsSync(p))
let bwrap
if (bwrapPath) {
  const bargs = ['--unshare-all', '--die-with-parent', '--new-session', ...SYS.flatMap(b => ['--ro-bind', b.src, b.src]), '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true']
  // bwrap as root keeps full caps and maps 0->0; for a like-for-like comparison run it unprivileged
  const cmd = isRoot ? 'setpriv' : bwrapPath
  const a = isRoot ? ['--reuid=15001', '--regid=15001', '--clear-groups', bwrapPath, ...bargs] : bargs
  try {
    bwrap = await series(() => timeSpawn(cmd, a))
  } catch (e) {
    bwrap = String(e.message)
  }
}
const over = median(viaHelper) - median(direct)
out.push('### Startup over `/bin/true` (spawn to exit, from Node)', '')
out.push('| what | median ms | over /bin/true |', '|---|---:|---:|')
out.push(`| \`/bin/true\` directly | ${fmt(median(direct))} | — |`)
out.push(`| helper + \`/bin/true\` (raw spawn, 5 fds) | ${fmt(median(viaHelper))} | ${fmt(over)} |`)
out.push(`| \`runSandboxed()\` + \`/bin/true\` (whole API) | ${fmt(median(viaApi))} | ${fmt(median(viaApi) - median(direct))} |`)
if (Array.isArray(bwrap)) out.push(`| bubblewrap ${spawnSync(bwrapPath, ['--version'], { encoding: 'utf8' }).stdout.trim()} \`--unshare-all --die-with-parent\` + \`/bin/true\` | ${fmt(median(bwrap))} | ${fmt(median(bwrap) - median(direct))} |`)
else out.push(`| bubblewrap | ${bwrap ? `failed: ${bwrap}` : 'not installed (skipped)'} | |`)
out.push('', `Helper-reported setup (start to \`execve\`): median ${fmt(median(setupMs))} ms. Target: helper ≤ 10 ms over \`/bin/true\` → **${over <= 10 ? 'met' : 'missed'}** (${fmt(over)} ms).`, '')

// ---- (b) relay
async function relayDirect() {
  const t = performance.now()
  const c = spawn('/usr/bin/head', ['-c', String(relayBytes), '/dev/zero'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let n = 0
  c.stdout.on('data', b => (n += b.length))
  await new Promise(r => c.on('close', r))
  return { ms: performance.now() - t, n }
}
async function relayHelper(pty) {
  const t = performance.now()
  const r = runSandboxed({ argv: ['/usr/bin/head', '-c', String(relayBytes), '/dev/zero'], roBinds: SYS, pty, ...uidOpt })
  let n = 0
  r.log.on('data', b => (n += b.length))
  const res = await r.result
  if (res.exitCode !== 0) throw new Error(`relay failed: ${res.message}`)
  return { ms: performance.now() - t, n }
}
const relayRuns = 3
const best = async fn => {
  const xs = []
  for (let i = 0; i < relayRuns; i++) xs.push(await fn())
  return xs.map(x => x.ms).sort((a, b) => a - b)[Math.floor(relayRuns / 2)]
}
const mib = relayBytes / 1024 ** 2
const dMs = await best(relayDirect)
const hMs = await best(() => relayHelper(false))
const withPty = !args.includes('--no-pty')
const pMs = withPty ? await best(() => relayHelper(true)) : undefined
const ratio = hMs / dMs - 1
out.push(`### Relaying ${RELAY}iB of output (\`head -c ${relayBytes} /dev/zero\`, read by Node; median of ${relayRuns})`, '')
out.push('| path | seconds | MiB/s | overhead |', '|---|---:|---:|---:|')
out.push(`| direct pipe to Node | ${(dMs / 1000).toFixed(2)} | ${fmt(mib / (dMs / 1000))} | — |`)
out.push(`| through the helper, pipe mode (\`pty: false\`) | ${(hMs / 1000).toFixed(2)} | ${fmt(mib / (hMs / 1000))} | ${(ratio * 100).toFixed(1)} % |`)
if (pMs !== undefined) out.push(`| through the helper, pty mode (default) | ${(pMs / 1000).toFixed(2)} | ${fmt(mib / (pMs / 1000))} | ${((pMs / dMs - 1) * 100).toFixed(0)} % |`)
out.push('', `Target: relay ≤ 10 % over a direct pipe → pipe mode **${ratio <= 0.1 ? 'met' : 'missed'}** (${(ratio * 100).toFixed(1)} %).` + (pMs !== undefined ? ' The pty is the kernel\'s tty layer (2 KiB write chunks through n_tty), not the helper; use `--no-pty` for very large logs.' : ''), '')
process.stdout.write(out.join('\n') + '\n')
