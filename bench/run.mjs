#!/usr/bin/env node
// buildlog benchmark runner (`npm run bench`).
//
//   node bench/run.mjs [--runs N] [--size 200M] [--big-size 1G] [--skip-1g] [--quick]
//                      [--only baseline,clean,decoder,memory] [--flavours legacy,modern,…]
//                      [--seed N] [--out bench/RESULTS.md]
//
// 1. Generates the corpus once (bench/corpus/, git-ignored; see bench/corpus.mjs).
// 2. Collects the measurements of the selected sections (bench/sections/*.mjs; each exports
//    `name`, `description` and `measurements(ctx)` returning command specs, see below).
// 3. Runs them input by input, interleaving the commands run by run (run 1 of every command, then
//    run 2, …) after warming the page cache, and takes medians.
// 4. Writes bench/RESULTS.md (and the raw figures to bench/out/results.json).
//
// A measurement spec: { id, group, input, label, cmd, args, stdout?: 'null'|'pipe', runs?,
//   timeoutMs?, role?: 'floor'|'npm', targets?: [{issue, text, metric: 'mibs'|'vsCat'|'vsNpm'|'rss',
//   min?, max?}], parse?(stdout) → extra, describe?(summary) → note }. To add a face (pager, HTML,
// sandbox, …) drop a module in bench/sections/ and add its name to SECTION_ORDER.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { parseSize } from './corpus.mjs'
import { ensureCorpus, generatorHash, sizeLabel } from './lib/corpus-cache.mjs'
import { measure, median, machineBusySeconds, HAVE_GNU_TIME, RSS_METHOD } from './lib/measure.mjs'
import { renderResults, MiB } from './lib/report.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.dirname(BENCH)
const SECTION_ORDER = ['baseline', 'clean', 'decoder', 'memory']
/** Every section module in bench/sections/, default ones first; the others run only with --only. */
const ALL_SECTIONS = [...SECTION_ORDER, ...fs.readdirSync(path.join(BENCH, 'sections')).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4)).filter((n) => !SECTION_ORDER.includes(n)).sort()]
const THROUGHPUT_FLAVOURS = ['legacy', 'modern', 'prefixed', 'internal-json', 'plain']

const HELP = `Usage: node bench/run.mjs [OPTION]...   (npm run bench -- [OPTION]...)
Generates the corpus (once, bench/corpus/) and measures cat|cat, split2+strip-ansi, nixlog-clean
and the decoder side by side; writes bench/RESULTS.md.

  --runs N           runs per command, median reported (default 5)
  --size S           size of each flavour's corpus file (default 200M)
  --big-size S       size of the legacy file for the peak-RSS run (default 1G)
  --skip-1g          skip the big-file RSS run
  --quick            smoke run: --size 8M --big-size 32M --runs 1, written to bench/out/RESULTS-quick.md
  --only LIST        sections to run, comma-separated (default ${SECTION_ORDER.join(',')}; also
                     available: ${ALL_SECTIONS.filter((n) => !SECTION_ORDER.includes(n)).join(',') || 'none'})
                     (baseline is added when clean or decoder run, for the ratios)
  --flavours LIST    throughput flavours (default ${THROUGHPUT_FLAVOURS.join(',')})
  --wait-idle SECS   before each command, wait while other processes keep more than 0.5 of a
                     core busy (sampled over 0.5 s), spending at most SECS seconds in all (default 0)
  --seed N           corpus seed (default 1)
  --out FILE         where to write the report (default bench/RESULTS.md)
  -h, --help
`

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`)
  process.exit(2)
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      size: { type: 'string' },
      'big-size': { type: 'string' },
      'skip-1g': { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      flavours: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'wait-idle': { type: 'string', default: '0' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    process.exit(0)
  }
  const q = values.quick
  const runs = Number(values.runs ?? (q ? 1 : 5))
  if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer`)
  const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : SECTION_ORDER
  for (const s of only) if (!ALL_SECTIONS.includes(s)) fail(`unknown section '${s}' (one of ${ALL_SECTIONS.join(', ')})`)
  if ((only.includes('clean') || only.includes('decoder')) && !only.includes('baseline')) only.unshift('baseline')
  const flavours = values.flavours ? values.flavours.split(',').map((s) => s.trim()) : THROUGHPUT_FLAVOURS
  for (const f of flavours) if (!THROUGHPUT_FLAVOURS.includes(f)) fail(`unknown flavour '${f}' (one of ${THROUGHPUT_FLAVOURS.join(', ')})`)
  return {
    argv,
    runs,
    size: parseSize(values.size ?? (q ? '8M' : '200M')),
    bigSize: parseSize(values['big-size'] ?? (q ? '32M' : '1G')),
    skipBig: values['skip-1g'],
    only: ALL_SECTIONS.filter((s) => only.includes(s)),
    flavours,
    seed: Number(values.seed),
    waitIdle: Number(values['wait-idle']),
    out: path.resolve(values.out ?? (q ? path.join(BENCH, 'out', 'RESULTS-quick.md') : path.join(BENCH, 'RESULTS.md'))),
    quick: q,
  }
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

function loadavg() {
  return os.loadavg().map((x) => x.toFixed(2)).join(' / ')
}

function distBuiltAt() {
  try {
    return fs.statSync(path.join(ROOT, 'dist', 'index.js')).mtime.toISOString()
  } catch {
    return 'missing'
  }
}

function machineInfo(loadAtStart, distTime) {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown'
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]
  const memTotal = /^MemTotal:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1]
  const head = sh('git', ['rev-parse', '--short', 'HEAD'])
  const dirty = sh('git', ['status', '--porcelain', '--', 'lib', 'bin'])
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  return {
    date,
    rows: [
      ['date (UTC)', date],
      ['CPU', `${model}${mhz ? ` (${Number(mhz).toFixed(0)} MHz)` : ''}`],
      ['nproc', String(sh('nproc', []) ?? os.availableParallelism())],
      ['memory', memTotal ? `${(Number(memTotal) / 1048576).toFixed(1)} GiB` : 'unknown'],
      ['kernel', `${os.type()} ${os.release()} ${os.arch()}`],
      ['node', process.version],
      ['buildlog', `git ${head ?? '?'}${dirty ? ' + uncommitted changes in lib/ or bin/' : ''}; dist/ built ${distTime} (snapshot taken at the start)`],
      ['native pass-through addon', fs.existsSync(path.join(ROOT, 'native', 'build', 'pass-through.node')) ? 'built (nixlog-clean frames in C)' : 'missing: nixlog-clean measured on its JavaScript path'],
      ['load average (1/5/15 min)', `${loadAtStart} at start, ${loadavg()} at the end`],
      ['peak RSS method', RSS_METHOD],
    ],
  }
}

function warnIfStale() {
  const dist = path.join(ROOT, 'dist', 'index.js')
  if (!fs.existsSync(dist)) fail('dist/ is missing: run `npm run build` first')
  const distTime = fs.statSync(dist).mtimeMs
  const newer = []
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (p.endsWith('.ts') && fs.statSync(p).mtimeMs > distTime) newer.push(path.relative(ROOT, p))
    }
  }
  walk(path.join(ROOT, 'lib'))
  if (newer.length > 0) process.stderr.write(`bench: warning: ${newer.length} file(s) in lib/ are newer than dist/ (e.g. ${newer[0]}); run \`npm run build\` to measure them\n`)
  return newer.length
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Waits while the machine is busy with other work; returns the seconds spent waiting. */
async function waitIdle(budget) {
  let waited = 0
  while (waited < budget) {
    const b0 = machineBusySeconds()
    await sleep(500)
    const cores = (machineBusySeconds() - b0) / 0.5
    if (!(cores > 0.5)) break
    waited += 0.5
  }
  return waited
}

function catFile(file) {
  // warm the page cache
  execFileSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file])
}

async function main() {
  const options = parseOptions(process.argv.slice(2))
  const started = process.hrtime.bigint()
  const loadAtStart = loadavg()
  for (const dep of ['split2', 'strip-ansi']) {
    if (!fs.existsSync(path.join(ROOT, 'node_modules', dep)) && options.only.includes('baseline')) fail(`node_modules/${dep} is missing (a devDependency of the bench): run npm install`)
  }
  const staleFiles = warnIfStale()
  const sections = []
  for (const name of options.only) sections.push(await import(`./sections/${name}.mjs`))

  // corpus
  const wanted = options.flavours.map((flavour) => ({ flavour, size: options.size }))
  if (options.only.includes('memory')) {
    wanted.push({ flavour: 'single-line', size: options.size })
    if (!options.skipBig) wanted.push({ flavour: 'legacy', size: options.bigSize })
  }
  const corpus = await ensureCorpus(path.join(BENCH, 'corpus'), wanted, options.seed)
  const entry = (flavour, size) => {
    const e = corpus.get(`${flavour}@${size}`)
    return { ...e, sizeLabel: sizeLabel(size).replace(/([KMG])$/, ' $1iB') }
  }
  const inputs = {}
  for (const f of options.flavours) inputs[f] = entry(f, options.size)
  if (options.only.includes('memory')) {
    inputs['single-line'] = entry('single-line', options.size)
    if (!options.skipBig) inputs.big = entry('legacy', options.bigSize)
  }
  // Measure a snapshot of dist/ + bin/ + the native builds: other sessions may rebuild them while
  // the bench runs. (Without native/build the snapshot's nixlog-clean would run its JavaScript path.)
  const snapshot = path.join(BENCH, 'out', 'snapshot')
  const distTime = distBuiltAt()
  fs.rmSync(snapshot, { recursive: true, force: true })
  fs.mkdirSync(snapshot, { recursive: true })
  for (const d of ['dist', 'bin', 'native/build']) {
    // native/build is missing where nothing could be compiled: the report says so (below)
    if (fs.existsSync(path.join(ROOT, d))) fs.cpSync(path.join(ROOT, d), path.join(snapshot, d), { recursive: true })
  }
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(snapshot, 'package.json'))
  const ctx = {
    root: ROOT,
    node: process.execPath,
    path: (p) => path.join(ROOT, p),
    /** An executable of the dist/ snapshot. */
    bin: (name) => path.join(snapshot, 'bin', name),
    dist: path.join(snapshot, 'dist'),
    runs: options.runs,
    flavours: options.flavours,
    inputs,
    npmLineTimeoutMs: options.quick ? 20_000 : 30_000,
  }

  // measurements
  // Sections either return command specs (measurements(ctx), measured and tabulated here) or run
  // themselves and return a markdown section (run({corpusDir, runs, …})).
  const specs = sections.filter((s) => !s.run).flatMap((s) => (s.measurements?.(ctx) ?? []).map((spec) => ({ ...spec, section: s.name ?? 'section' })))
  const groups = [
    ...options.flavours.map((f) => ({ id: f, title: `Throughput: ${f} (${inputs[f].sizeLabel})`, intro: FLAVOUR_INTRO[f] })),
    { id: 'memory', title: 'Peak memory: big input and a single line without LF', intro: MEMORY_INTRO },
  ]
  const results = new Map(specs.map((s) => [s.id, { spec: s, runs: [] }]))
  const total = specs.reduce((n, s) => n + (s.runs ?? options.runs), 0)
  let done = 0
  let idleBudget = options.waitIdle
  for (const g of groups) {
    const gs = specs.filter((s) => s.group === g.id)
    if (gs.length === 0) continue
    for (const file of new Set(gs.map((s) => s.input.file))) catFile(file)
    const maxRuns = Math.max(...gs.map((s) => s.runs ?? options.runs))
    for (let run = 0; run < maxRuns; run++) {
      for (const spec of gs) {
        if (run >= (spec.runs ?? options.runs)) continue
        const r = results.get(spec.id)
        if (r.runs.length > 0 && !r.runs[r.runs.length - 1].ok) continue // do not repeat a failure
        if (idleBudget > 0) idleBudget -= await waitIdle(idleBudget)
        const m = await measure({ cmd: spec.cmd, args: spec.args, stdout: spec.stdout ?? 'null', timeoutMs: spec.timeoutMs ?? 0, cwd: ROOT })
        if (m.ok && spec.parse) {
          try {
            m.extra = spec.parse(m.stdout)
          } catch (e) {
            m.ok = false
            m.stderr += `\ncannot parse output: ${e.message}`
          }
        }
        delete m.stdout
        r.runs.push(m)
        done++
        const mibs = spec.input.size / MiB / m.wall
        process.stderr.write(
          `[${String(done).padStart(3)}/${total}] ${g.id.padEnd(13)} ${spec.label.replace(/`/g, '').padEnd(46)} run ${run + 1}: ${m.ok ? `${m.wall.toFixed(3)} s  ${mibs.toFixed(1)} MiB/s  ${m.rssKiB === null ? '?' : (m.rssKiB / 1024).toFixed(1)} MiB  cpu ${m.cpu === null ? '?' : m.cpu.toFixed(2)} s  others ${m.otherCores === null ? '?' : m.otherCores.toFixed(2)} cores` : m.timedOut ? 'timed out' : `FAILED (exit ${m.code ?? m.signal}): ${m.stderr.trim().split('\n').slice(-3).join(' | ')}`}\n`,
        )
      }
    }
  }

  const extraMarkdown = []
  for (const s of sections.filter((m) => m.run)) {
    process.stderr.write(`section ${s.name ?? '?'} …\n`)
    try {
      extraMarkdown.push(String(await s.run({ corpusDir: path.join(BENCH, 'corpus'), runs: options.runs, root: ROOT, dist: ctx.dist })))
    } catch (e) {
      extraMarkdown.push(`## ${s.name ?? 'section'}\n\nfailed: ${e.message}\n`)
    }
  }

  // summaries
  const summaries = []
  for (const { spec, runs } of results.values()) {
    const okRuns = runs.filter((m) => m.ok)
    const walls = okRuns.map((m) => m.wall)
    const medianWall = median(walls)
    const bad = runs.find((m) => !m.ok)
    const rss = runs.map((m) => m.rssKiB).filter((x) => x !== null)
    const extras = okRuns.map((m) => m.extra).filter(Boolean)
    const s = {
      spec,
      ok: bad === undefined && okRuns.length > 0,
      timedOut: bad?.timedOut ?? false,
      timeoutMs: spec.timeoutMs,
      failure: bad ? (bad.timedOut ? 'timeout' : `exit ${bad.code ?? bad.signal}: ${bad.stderr.trim().split('\n').slice(-1)[0] ?? ''}`) : null,
      walls: runs.map((m) => m.wall),
      medianWall: bad ? median(runs.map((m) => m.wall)) : medianWall,
      mibs: spec.input.size / MiB / medianWall,
      minMiBs: spec.input.size / MiB / Math.max(...walls),
      maxMiBs: spec.input.size / MiB / Math.min(...walls),
      rssMaxKiB: rss.length ? Math.max(...rss) : null,
      medianCpu: median(okRuns.map((m) => m.cpu).filter((x) => x !== null)),
      medianOther: median(runs.map((m) => m.otherCores).filter((x) => x !== null)),
      extra: extras[extras.length - 1] ?? null,
      medianInner: median(extras.map((x) => x.seconds).filter((x) => typeof x === 'number')),
      vsCat: NaN,
      vsNpm: NaN,
    }
    summaries.push(s)
  }
  for (const s of summaries) {
    const same = (role) => summaries.find((o) => o.spec.role === role && o.spec.input.file === s.spec.input.file && o.ok)
    const cat = same('floor')
    const npm = same('npm')
    if (cat && s.ok) s.vsCat = s.medianWall / cat.medianWall
    if (npm && s.ok) s.vsNpm = npm.medianWall / s.medianWall
    s.note = s.ok && s.spec.describe ? s.spec.describe(s) : ''
  }

  const elapsed = Number(process.hrtime.bigint() - started) / 1e9
  const notes = [
    `Wall time: \`process.hrtime\` around spawn → exit in the runner (includes Node start-up, ~40 ms, for the Node commands). Peak RSS: ${RSS_METHOD}.`,
    'Each input file is read once with `cat` before its commands run, so all of them read from the page cache; commands are interleaved run by run (run 1 of each, then run 2, …) so slow drifts hit all of them alike.',
    `The npm pipeline (split2 + strip-ansi) runs ${options.runs} time(s) on legacy and at most 3 times on the other flavours, to keep the default run within ~10 minutes; on the single line it runs once with a ${(ctx.npmLineTimeoutMs / 1000).toFixed(0)} s timeout (split2 re-scans the growing unfinished line on every chunk).`,
    'What is measured is a copy of `dist/` and `bin/` taken when the run started (`bench/out/snapshot/`), so a rebuild by someone else during the run cannot mix two builds in one report.',
    'The 1 GiB RSS runs are single runs (they measure memory, not speed); the single-line rows use at most 3 runs.',
    '`bench/decoder.mjs` reports its own time from the first read to the last event ("in-process" MiB/s, without start-up) and the event counts; events/s = events / median wall time.',
    'Corpus flavours: legacy = nixpkgs stdenv + patched make nesting escapes; modern = the same builds with `Running phase:` / `@nix setPhase` lines (spaced, echo and compact spellings); prefixed = `nix build -L` output, 1–4 (mostly 3) builds interleaved with `name> ` prefixes; internal-json = `nix build --log-format internal-json` (ids > 2^53); plain = a GitHub Actions log. All carry SGR, store paths, CR progress, 10–100 KiB lines and UTF-8; see `bench/corpus.mjs`.',
  ]
  if (options.waitIdle > 0) notes.push(`With --wait-idle ${options.waitIdle}: ${(options.waitIdle - idleBudget).toFixed(1)} s were spent waiting for other processes to calm down before commands.`)
  notes.push(
    process.env.NODE_EXTRA_CA_CERTS
      ? `NODE_EXTRA_CA_CERTS was set for this run (${process.env.NODE_EXTRA_CA_CERTS}): Node reads and parses that certificate bundle at every start, which cost ~100 ms per Node process on this machine and is included in every Node command's wall time.`
      : 'NODE_EXTRA_CA_CERTS was unset for this run. (This workplace sets it in sessions; Node then parses a certificate bundle at every start, ~100 ms per Node process here, which a user\'s shell normally does not pay. buildlog makes no TLS connections.)',
  )
  if (!HAVE_GNU_TIME) notes.push('GNU time was not found, so the RSS of `sh -c` pipelines is the shell\'s only.')
  if (staleFiles > 0) notes.push(`Warning: ${staleFiles} file(s) in lib/ were newer than dist/ when this ran; the figures are for dist/ as built.`)
  for (const s of sections) if (s.notes) notes.push(...s.notes(ctx, summaries))

  const md = renderResults({
    machine: machineInfo(loadAtStart, distTime),
    options,
    corpus: {
      generatorHash: generatorHash(),
      entries: [...new Set(Object.values(inputs))].map((e) => ({ ...e })),
    },
    groups,
    summaries,
    sections: sections.map((s, i) => ({ name: s.name ?? options.only[i] })),
    notes,
    elapsed,
    extraMarkdown,
  })
  fs.mkdirSync(path.dirname(options.out), { recursive: true })
  fs.writeFileSync(options.out, md)
  fs.mkdirSync(path.join(BENCH, 'out'), { recursive: true })
  fs.writeFileSync(
    path.join(BENCH, 'out', options.quick ? 'results-quick.json' : 'results.json'),
    JSON.stringify(
      summaries.map((s) => ({ id: s.spec.id, group: s.spec.group, label: s.spec.label, input: s.spec.input.name, bytes: s.spec.input.size, ok: s.ok, walls: s.walls, medianWall: s.medianWall, medianCpu: s.medianCpu, medianOther: s.medianOther, mibs: s.mibs, vsCat: s.vsCat, vsNpm: s.vsNpm, rssMaxKiB: s.rssMaxKiB, extra: s.extra })),
      null,
      2,
    ) + '\n',
  )
  process.stderr.write(`wrote ${path.relative(process.cwd(), options.out)} (${(elapsed / 60).toFixed(1)} min)\n`)
}

const FLAVOUR_INTRO = {
  legacy: 'nixpkgs stdenv / patched make nesting escapes (the issue #2 targets apply here).',
  modern: 'Stored build logs with `@nix` setPhase lines in all three spellings, no legacy escapes.',
  prefixed: '`nix build -L` output: builds interleaved line by line with `name> ` prefixes.',
  'internal-json': '`--log-format internal-json`: every line `@nix {json}`.',
  plain: 'A GitHub Actions job log without any Nix protocol (`##[group]`, `::group::`, SGR, CR).',
}
const MEMORY_INTRO = 'Peak RSS must not grow with the input size (1 GiB legacy) nor with the line length (one line without LF).'

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack ?? e}\n`)
  process.exit(1)
})
