#!/usr/bin/env node
// Compiles native/buildlog-sandbox.c to native/build/buildlog-sandbox with ${CC:-cc}.
//
// Called from package.json "prepare" (after tsc) and by lib/launcher/helper-binary.ts when the
// binary is missing or stale (which also covers `npm install --ignore-scripts`).
//
// A compile error is printed to stderr but the script still exits 0 (see sandbox.md §2): the
// rest of buildlog (decoder, pager, exports) must install and work on machines without a C
// compiler; `buildlog run` then reports "sandbox unavailable" together with the compiler
// output.  Pass --strict to exit 1 on a compile error instead.
//
// Skips the compile when the binary is newer than the source (--force overrides).
import { spawnSync } from 'node:child_process'
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'native', 'buildlog-sandbox.c')
const outDir = join(root, 'native', 'build')
const out = join(outDir, 'buildlog-sandbox')
const args = new Set(process.argv.slice(2))

const mtime = p => {
  try {
    return statSync(p).mtimeMs
  } catch {
    return undefined
  }
}

const srcTime = mtime(src)
if (srcTime === undefined) {
  process.stderr.write(`build-native: ${src} not found; the sandbox helper is unavailable\n`)
  process.exit(args.has('--strict') ? 1 : 0)
}
const outTime = mtime(out)
if (!args.has('--force') && outTime !== undefined && outTime >= srcTime) {
  process.exit(0)
}
if (process.platform !== 'linux') {
  process.stderr.write('build-native: the sandbox helper is Linux-only; skipped\n')
  process.exit(args.has('--strict') ? 1 : 0)
}

const cc = process.env.CC || 'cc'
const flags = [
  '-O2', '-Wall', '-Wextra', '-Werror',
  // hardening
  '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong', '-fstack-clash-protection',
  '-fPIE', '-pie', '-Wl,-z,relro,-z,now,-z,noexecstack',
]
if (process.arch === 'x64') flags.push('-fcf-protection')

mkdirSync(outDir, { recursive: true })
// compile to a private temp name and rename: concurrent builds never see a half-written binary
const tmp = `${out}.tmp-${process.pid}`
const r = spawnSync(cc, [...flags, '-o', tmp, src], { encoding: 'utf8', shell: false })
if (r.status === 0) {
  renameSync(tmp, out)
  process.exit(0)
}
rmSync(tmp, { force: true })
const why = r.error ? `${cc}: ${r.error.message}` : `${r.stdout ?? ''}${r.stderr ?? ''}`
process.stderr.write(
  `build-native: compiling the sandbox helper failed; \`buildlog run\` will report "sandbox unavailable".\n` +
    `$ ${cc} ${flags.join(' ')} -o ${out} ${src}\n${why}\n`,
)
process.exit(args.has('--strict') ? 1 : 0)
