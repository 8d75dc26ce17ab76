#!/usr/bin/env node
// Compiles the C parts of buildlog with ${CC:-cc} into native/build/:
//   buildlog-sandbox      the sandbox helper of `buildlog run` (native/buildlog-sandbox.c)
//   pass-through.node     a Node-API addon: the framer's pass-through path (native/pass-through.c),
//                         chunk-wide scans (native/scanners.c), the fold model's passes
//                         (native/fold-passes.c) and the index's tree writes (native/tree-writer.c),
//                         against the Node-API headers that come with Node
//                         (<prefix>/include/node)
//
// Called from package.json "prepare" (after tsc) and by lib/launcher/helper-binary.ts when the
// helper is missing or stale (which also covers `npm install --ignore-scripts`).
//
// A compile error is printed to stderr but the script still exits 0 (see sandbox.md §2): the
// rest of buildlog must install and work on machines without a C compiler. Without the helper,
// `buildlog run` reports "sandbox unavailable" together with the compiler output; without the
// addon, nixlog-clean frames every line on its JavaScript path (same output, slower). Pass
// --strict to exit 1 on a compile error instead.
//
// Skips a target whose output is newer than its source (--force overrides).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'native', 'build')
const args = new Set(process.argv.slice(2))
const cc = process.env.CC || 'cc'
const nodeHeaders = join(dirname(process.execPath), '..', 'include', 'node')

const hardening = ['-O2', '-Wall', '-Wextra', '-Werror', '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong', '-fstack-clash-protection']
if (process.arch === 'x64') hardening.push('-fcf-protection')

const targets = [
  {
    what: 'the sandbox helper',
    srcs: ['buildlog-sandbox.c'],
    out: 'buildlog-sandbox',
    flags: [...hardening, '-fPIE', '-pie', '-Wl,-z,relro,-z,now,-z,noexecstack'],
    without: '`buildlog run` will report "sandbox unavailable"',
  },
  {
    what: 'the pass-through addon',
    srcs: ['pass-through.c', 'scanners.c', 'fold-passes.c', 'tree-writer.c'],
    headers: ['addon.h'],
    out: 'pass-through.node',
    // Node-API symbols resolve against the running node at load time, as node-gyp builds do.
    // -O3 (after the -O2 above): 5 % fewer instructions for the filter's inner loop.
    flags: [...hardening, '-O3', '-fPIC', '-shared', '-fvisibility=hidden', '-Wl,-z,relro,-z,now,-z,noexecstack', `-I${nodeHeaders}`],
    needs: () => (existsSync(join(nodeHeaders, 'node_api.h')) ? null : `the Node-API headers are not in ${nodeHeaders}`),
    without: 'nixlog-clean will use its slower JavaScript path',
  },
]

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs
  } catch {
    return undefined
  }
}

let failed = false
for (const target of targets) {
  const srcs = target.srcs.map((f) => join(root, 'native', f))
  const out = join(outDir, target.out)
  const inputs = [...srcs, ...(target.headers ?? []).map((f) => join(root, 'native', f))]
  const absent = inputs.find((f) => mtime(f) === undefined)
  if (absent !== undefined) {
    process.stderr.write(`build-native: ${absent} not found; ${target.without}\n`)
    failed = true
    continue
  }
  const srcTime = Math.max(...inputs.map(mtime))
  const outTime = mtime(out)
  if (!args.has('--force') && outTime !== undefined && outTime >= srcTime) continue
  const missing = process.platform !== 'linux' ? 'it is Linux-only' : (target.needs?.() ?? null)
  if (missing !== null) {
    process.stderr.write(`build-native: skipped ${target.what}: ${missing}; ${target.without}\n`)
    failed = true
    continue
  }
  mkdirSync(outDir, { recursive: true })
  // compile to a private temp name and rename: concurrent builds never see a half-written file
  const tmp = `${out}.tmp-${process.pid}`
  const r = spawnSync(cc, [...target.flags, '-o', tmp, ...srcs], { encoding: 'utf8', shell: false })
  if (r.status === 0) {
    renameSync(tmp, out)
    continue
  }
  // a stale build of an older source must not stay behind and be loaded
  rmSync(tmp, { force: true })
  rmSync(out, { force: true })
  const why = r.error ? `${cc}: ${r.error.message}` : `${r.stdout ?? ''}${r.stderr ?? ''}`
  process.stderr.write(`build-native: compiling ${target.what} failed; ${target.without}.\n$ ${cc} ${target.flags.join(' ')} -o ${out} ${srcs.join(' ')}\n${why}\n`)
  failed = true
}
process.exit(failed && args.has('--strict') ? 1 : 0)
