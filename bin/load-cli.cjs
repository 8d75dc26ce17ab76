'use strict'
// Loads the bundled programs (dist/bin/cli.cjs, made by scripts/build-cli.mjs) together with the
// V8 code cache that the build recorded beside it (cli.cjs.cache): with the cache, V8 neither
// parses the bundle nor compiles the functions the first screen runs, which is a good part of
// `buildlog view`'s time to its first screen. A cache that does not fit this Node (another V8,
// other V8 flags) is rejected by V8 itself, and the bundle is then compiled as usual.
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const { createRequire } = require('node:module')

const BUNDLE = path.join(__dirname, '..', 'dist', 'bin', 'cli.cjs')
const CACHE = `${BUNDLE}.cache`

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

/** The recorded cache, unless the bundle was rebuilt after it (V8 would only compare lengths). */
function readCache() {
  try {
    if (fs.statSync(CACHE).mtimeMs < fs.statSync(BUNDLE).mtimeMs) return undefined
    return fs.readFileSync(CACHE)
  } catch {
    return undefined // built without a cache: compile as usual
  }
}

function loadCli() {
  return runCli(compileCli(readCache()))
}

module.exports = { BUNDLE, CACHE, compileCli, readCache, runCli, loadCli }
