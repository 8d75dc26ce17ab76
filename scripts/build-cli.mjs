#!/usr/bin/env node
// Bundles the command-line programs (lib/cli/entry.ts and everything it imports) into one
// CommonJS file, dist/bin/cli.cjs, and records V8's code cache for it (record-code-cache.cjs);
// the shims in bin/ load both through bin/load-cli.cjs.
//
// Why (issue 5): as separate ES modules, `buildlog view FILE` resolved, read, compiled and
// linked ~40 files before its first screen, and Node's ESM loader itself had to start; that was
// most of the time from spawn to the first frame. One CommonJS file costs a single read, and the
// modules inside it still run only when first imported: esbuild turns each `await import()` into a
// deferred initialiser, and packages (blessed, better-sqlite3) stay require() calls inside those
// initialisers, so the pager and SQLite still load only when used. The code cache then spares V8
// parsing the bundle and compiling what the first screen runs.
//
// The same build bundles the pager's index worker into dist/bin/index-worker.cjs (no code cache:
// a worker thread loads it as a file).
//
// The tsc output in dist/ (the library's export map, the tests) is unchanged; this runs after tsc
// in `npm run build`. dist/bin/ sits two levels below the package root like dist/cli/, so paths
// the code derives from its own location (package.json, native/, scripts/) resolve the same.
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'bin')

/** The programs in bin/, each with a code cache of its own. */
const PROGRAMS = ['buildlog', 'nixlog-clean']

// V8 checks a cache against the length of the source only: never leave one beside a new bundle
for (const program of PROGRAMS) rmSync(join(outdir, `cli.cjs.${program}.cache`), { force: true })
rmSync(join(outdir, 'cli.cjs.cache'), { force: true }) // the single cache of earlier builds

const { metafile, outputFiles } = await build({
  absWorkingDir: root,
  // The pager's index worker (lib/tree/index-worker.ts) is bundled too, into a file of its own:
  // as the tsc output's ~20 modules its first record came a median 100 ms after it was made, 62 bundled.
  entryPoints: { cli: 'lib/cli/entry.ts', 'index-worker': 'lib/tree/index-worker.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // dependencies are loaded from node_modules at run time, as the tsc output loads them
  packages: 'external',
  // CommonJS has no import.meta: give the bundle its own file URL, which is what the code wants.
  // The banner comes before esbuild's own "use strict", so it repeats it: ES modules are strict.
  define: { 'import.meta.url': '__bundleFileUrl' },
  banner: { js: "'use strict';\nconst __bundleFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  metafile: true,
  write: false,
  logLevel: 'warning',
})

// bin/load-cli.cjs runs the bundle as a vm script, which has no loader for import(): a dynamic
// import left in it (of a package or a node: module) would fail at run time, so fail here
for (const [file, output] of Object.entries(metafile.outputs)) {
  const left = output.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path)
  if (left.length > 0) {
    process.stderr.write(`build-cli: ${file} keeps import() of ${left.join(', ')}; import these statically\n`)
    process.exit(1)
  }
}

// esbuild escapes non-ASCII characters in code but keeps comments as they are written; all-ASCII,
// the file decodes on Node's fast path and V8 holds it as one-byte text
mkdirSync(outdir, { recursive: true })
for (const file of outputFiles) writeFileSync(file.path, file.text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))

// a child with no flags of ours: V8 accepts a cache only from the same flags
for (const program of PROGRAMS) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'record-code-cache.cjs'), program], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
