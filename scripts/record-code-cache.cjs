'use strict'
// Records V8's code caches of the bundled programs (dist/bin/cli.cjs.<program>.cache; bin/load-cli.cjs reads
// it). Run by scripts/build-cli.mjs in a plain `node`, as the programs run: V8 accepts a cache
// only from the same V8 version and flags.
//
// A cache holds the functions compiled by the time it is recorded, so for `buildlog` the bundle
// first paints the first screen of small sample logs, one per kind of input the index handles
// differently (nesting escapes, @nix setPhase lines, CI fold markers, internal-json), through the
// same modules as `buildlog view FILE`; for `nixlog-clean` it runs the same samples through the
// filter.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { cacheFile, compileCli, runCli } = require('../bin/load-cli.cjs')

const ESC = '\x1b'
const store = (k, name) => `/nix/store/${String(k).padStart(2, '0').repeat(16)}-${name}`

/** The builds every sample shows: configure and compile lines, a warning; the last one fails. */
function* builds() {
  for (let k = 0; k < 6; k++) {
    const out = store(k, `pkg${k}-1.0`)
    const lines = []
    for (let i = 0; i < 40; i++) lines.push(`checking for feature ${i} of pkg${k}... ${i % 3 ? 'yes' : 'no'}`)
    const compile = []
    for (let i = 0; i < 40; i++) compile.push(`${ESC}[32mCC${ESC}[0m src/file${i}.o ${ESC}[2m(${out}/include)${ESC}[0m`)
    compile.push(`src/file7.c:3:9: warning: unused variable 'x' [-Wunused-variable]`)
    if (k === 5) compile.push(`src/file9.c:12:1: error: expected ';' before '}' token`)
    yield { out, configure: lines, build: compile, failed: k === 5 }
  }
}

function legacyLog() {
  let s = ''
  for (const b of builds()) {
    s += `${ESC}[pbuilding ${b.out}\n${ESC}[pconfiguring\n${b.configure.join('\n')}\n${ESC}[q`
    s += `${ESC}[pbuilding\n${b.build.join('\n')}\n${ESC}[q${ESC}[q`
    if (b.failed) s += `error: builder for '${b.out}.drv' failed with exit code 2\n`
  }
  return s
}

function setPhaseLog() {
  let s = ''
  for (const b of builds()) {
    s += `Running phase: configurePhase\n@nix {"action":"setPhase","phase":"configurePhase"}\n${b.configure.join('\n')}\n`
    s += `Running phase: buildPhase\n@nix {"action":"setPhase","phase":"buildPhase"}\n${b.build.join('\n')}\n`
  }
  return s
}

function ciLog() {
  let s = ''
  for (const b of builds()) s += `::group::Build ${b.out}\n${b.configure.join('\n')}\n${b.build.join('\n')}\n::endgroup::\n`
  return s
}

function internalJsonLog() {
  let s = ''
  let id = 1
  for (const b of builds()) {
    const build = id++
    s += `@nix {"action":"start","fields":[${JSON.stringify(`${b.out}.drv`)},"",1,1],"id":${build},"level":3,"parent":0,"text":${JSON.stringify(`building '${b.out}.drv'`)},"type":105}\n`
    s += `@nix {"action":"result","fields":["configurePhase"],"id":${build},"type":104}\n`
    for (const line of b.configure) s += `@nix {"action":"result","fields":[${JSON.stringify(line)}],"id":${build},"type":101}\n`
    s += `@nix {"action":"result","fields":["buildPhase"],"id":${build},"type":104}\n`
    for (const line of b.build) s += `@nix {"action":"result","fields":[${JSON.stringify(line)}],"id":${build},"type":101}\n`
    s += `@nix {"action":"stop","id":${build}}\n`
    if (b.failed) s += `@nix {"action":"msg","level":0,"msg":${JSON.stringify(`error: builder for '${b.out}.drv' failed with exit code 2`)}}\n`
  }
  return s
}

// One program per process: V8 shares compiled functions between scripts of the same source in one
// process, so a second recording here would hold the first one's code too.
const program = process.argv[2]
if (program !== 'buildlog' && program !== 'nixlog-clean') {
  process.stderr.write('usage: record-code-cache.cjs buildlog|nixlog-clean\n')
  process.exit(2)
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-code-cache-'))
  try {
    const samples = { legacy: legacyLog(), 'set-phase': setPhaseLog(), ci: ciLog(), 'internal-json': internalJsonLog() }
    const files = Object.entries(samples).map(([name, text]) => {
      const file = path.join(dir, `${name}.log`)
      fs.writeFileSync(file, text)
      return file
    })
    const script = compileCli(undefined)
    const cli = runCli(script)
    if (program === 'buildlog') {
      const frames = await cli.paintFirstScreens(files)
      // a sample that painted no log line did not run the path the cache is for
      frames.forEach((frame, k) => {
        if (!frame.includes('pkg')) throw new Error(`the first screen of ${path.basename(files[k])} shows no build:\n${JSON.stringify(frame)}`)
      })
    } else {
      const cleaned = await cli.cleanSamples(files)
      // an empty output would mean the filter path did not run
      if (cleaned.some((n) => n === 0)) throw new Error(`nixlog-clean wrote nothing for a sample: ${cleaned}`)
    }
    // under a private name first: a concurrent reader never sees half of it
    const file = cacheFile(program)
    const tmp = `${file}.tmp-${process.pid}`
    fs.writeFileSync(tmp, script.createCachedData())
    fs.renameSync(tmp, file)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  process.stderr.write(`record-code-cache: ${err.stack ?? err}\n`)
  process.exit(1)
})
