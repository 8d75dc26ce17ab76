'use strict'
// Loads the bundled programs (dist/bin/cli.cjs, made by scripts/build-cli.mjs) together with the
// V8 code cache that the build recorded beside it for the program (cli.cjs.<program>.cache): with
// the cache, V8 neither parses the bundle nor compiles the functions the program runs first, which
// is a good part of `buildlog view`'s time to its first screen and of `nixlog-clean`'s start. A
// cache that does not fit this Node (another V8, other V8 flags) is rejected by V8 itself, and
// the bundle is then compiled as usual.
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const { createRequire } = require('node:module')

const BUNDLE = path.join(__dirname, '..', 'dist', 'bin', 'cli.cjs')

/**
 * Each program has a cache of its own, holding what it runs first (the pager's first screen, the
 * filter): one cache with both cost the first screen the time to read and load the other's code.
 */
function cacheFile(program = 'buildlog') {
  return `${BUNDLE}.${program}.cache`
}

/** The bundle as a script (without its cache when `cachedData` is undefined). */
function compileCli(cachedData) {
  // the wrapper Node's CommonJS loader puts around a module, on the source's first line
  const source = `(function (exports, require, module, __filename, __dirname) { ${fs.readFileSync(BUNDLE, 'utf8')}\n})`
  return new vm.Script(source, { filename: BUNDLE, cachedData })
}

/** Runs the bundle's top level as a CommonJS module; returns its exports. */
function runCli(script) {
  const module = { exports: {} }
  script.runInThisContext().call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, path.dirname(BUNDLE))
  return module.exports
}

/** The program's recorded cache, unless the bundle was rebuilt after it (V8 would only compare lengths). */
function readCache(program) {
  const cache = cacheFile(program)
  try {
    if (fs.statSync(cache).mtimeMs < fs.statSync(BUNDLE).mtimeMs) return undefined
    return fs.readFileSync(cache)
  } catch {
    return undefined // built without a cache: compile as usual
  }
}

function loadCli(program) {
  return runCli(compileCli(readCache(program)))
}

module.exports = { BUNDLE, cacheFile, compileCli, readCache, runCli, loadCli }
