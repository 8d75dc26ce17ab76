/**
 * The log store's commands: `buildlog list`, `buildlog show`, `buildlog gc`; `resolveLogRef` for
 * `view` and `export` (a store id wherever a file is accepted); the recorder for `buildlog run`;
 * and `--store-dir`. Store problems (a newer store, a locked database, a missing or corrupt log)
 * are one line on stderr and exit 2.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { CleanStream } from '../render/streams.js'
import { StoreError } from '../store/errors.js'
import { collectGarbage, parseAge } from '../store/gc.js'
import { openRecording as openStoreRecording, type Recording, type RecordingOptions } from '../store/recorder.js'
import type { RunRecord } from '../store/runs.js'
import { isStoreRef, openStore, type Store } from '../store/store.js'
import { flag, parseArgs, stringOption, UsageError, type OptionSpec, type ParsedArgs } from './args.js'
import { wantColor, type ColorChoice } from './color.js'
import { InputError, packageVersion } from './io.js'
import { formatBytes, formatTable, runJson } from './store-format.js'

export type { Recording, RecordingOptions, RecordingResult } from '../store/recorder.js'
export { isStoreRef } from '../store/store.js'
export { resolveStoreDir } from '../store/paths.js'

/** Spread into a command's parseArgs spec: `--store-dir DIR`. */
export const STORE_DIR_OPTION: Record<string, OptionSpec> = { 'store-dir': { value: true } }

const STORE_DIR_HELP = `      --store-dir DIR   the store (default: $XDG_STATE_HOME/buildlog, else ~/.local/state/buildlog)`

export function storeDirOf(args: ParsedArgs): string | undefined {
  return stringOption(args, 'store-dir')
}

/**
 * For `buildlog run`, whose options go to the launcher's own parser: takes `--store-dir DIR`,
 * `--store-dir=DIR` and `--no-record` out of the options (never after `--`).
 */
export function extractStoreOptions(argv: readonly string[]): { storeDir?: string; record: boolean; argv: string[] } {
  const rest: string[] = []
  let storeDir: string | undefined
  let record = true
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      rest.push(...argv.slice(i))
      break
    }
    if (a === '--store-dir') {
      if (i + 1 >= argv.length) throw new UsageError(`option '--store-dir' needs a value`)
      storeDir = argv[++i]!
    } else if (a.startsWith('--store-dir=')) storeDir = a.slice('--store-dir='.length)
    else if (a === '--no-record') record = false
    else rest.push(a)
  }
  return { ...(storeDir !== undefined ? { storeDir } : {}), record, argv: rest }
}

/**
 * Starts recording a `buildlog run`. Never throws and never stops the build: a store that cannot
 * be opened or written is reported once on stderr (`buildlog run: …`) and the returned recording
 * then does as much as it can (id null when nothing is recorded).
 */
export function openRecording(options: RecordingOptions): Recording {
  let version: string | undefined
  try {
    version = packageVersion()
  } catch {
    version = undefined
  }
  return openStoreRecording({ ...(version !== undefined ? { version } : {}), ...options })
}

function withStore<T>(storeDir: string | undefined, f: (store: Store) => T): T {
  let store: Store | undefined
  try {
    store = openStore(storeDir !== undefined ? { dir: storeDir } : {})
    return f(store)
  } catch (err) {
    if (err instanceof StoreError) throw new InputError(err.message)
    throw err
  } finally {
    store?.close()
  }
}

async function withStoreAsync<T>(storeDir: string | undefined, f: (store: Store) => Promise<T>): Promise<T> {
  let store: Store | undefined
  try {
    store = openStore(storeDir !== undefined ? { dir: storeDir } : {})
    return await f(store)
  } catch (err) {
    if (err instanceof StoreError) throw new InputError(err.message)
    throw err
  } finally {
    store?.close()
  }
}

function positiveInt(args: ParsedArgs, name: string, display: string): number | undefined {
  const v = stringOption(args, name)
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new UsageError(`${display} takes a whole number, not '${v}'`)
  return Number(v)
}

/** Tells on stderr when a log is not the whole story. */
function noteOnLog(run: RunRecord): void {
  if (run.status === 'running') process.stderr.write(`buildlog: run ${run.id} is still running; this is its log so far\n`)
  else if (run.status === 'interrupted') process.stderr.write(`buildlog: run ${run.id} was interrupted; its log ends where the recording stopped\n`)
  if (run.storeError) process.stderr.write(`buildlog: the stored log of run ${run.id} is incomplete (${run.storeError})\n`)
}

// ---------------------------------------------------------------------------------------------
// list

export const LIST_HELP = `Usage: buildlog list [OPTION]...
List the recorded runs of 'buildlog run', newest first: id, when it started, status, duration,
log size, number of error lines and the command.

  -n, --limit N         only the N newest
      --failed          only runs that failed or were interrupted
      --json            a JSON array of runs (every field, times in ISO 8601)
${STORE_DIR_HELP}
  -h, --help            show this help and exit

Status: ok, failed (EXIT), a launcher reason such as timeout (EXIT), running, or interrupted (the
recording process was killed; the log is kept up to that point).
`

export async function listMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { limit: { value: true, short: 'n' }, failed: {}, json: {}, ...STORE_DIR_OPTION, help: { short: 'h' } })
  if (flag(args, 'help')) {
    process.stdout.write(LIST_HELP)
    return 0
  }
  if (args.operands.length > 0) throw new UsageError(`list takes no operands`)
  const limit = positiveInt(args, 'limit', '-n')
  const { runs, dir } = withStore(storeDirOf(args), (store) => ({
    runs: store.runs.list({ failed: flag(args, 'failed'), ...(limit !== undefined ? { limit } : {}) }),
    dir: store.dir,
  }))
  if (flag(args, 'json')) {
    process.stdout.write(JSON.stringify(runs.map((r) => runJson(r, dir)), null, 2) + '\n')
    return 0
  }
  if (runs.length === 0) {
    process.stderr.write(flag(args, 'failed') ? `buildlog: no failed runs recorded in '${dir}'\n` : `buildlog: no runs recorded in '${dir}'\n`)
    return 0
  }
  const width = process.stdout.isTTY ? process.stdout.columns : undefined
  process.stdout.write(formatTable(runs, Date.now(), width))
  return 0
}

// ---------------------------------------------------------------------------------------------
// show

export const SHOW_HELP = `Usage: buildlog show [OPTION]... [ID|last|last-failed]
Print a recorded run's log (default: the last run) as nixlog-clean prints it, or raw.

      --raw             the log's bytes as the build wrote them
      --color=WHEN      colours from the log: auto (default), always, never
${STORE_DIR_HELP}
  -h, --help            show this help and exit

Exit status: 0, or 2 when there is no such run or its log is missing or corrupt.
`

export async function showMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { raw: {}, color: { value: true, choices: ['auto', 'always', 'never'] }, ...STORE_DIR_OPTION, help: { short: 'h' } })
  if (flag(args, 'help')) {
    process.stdout.write(SHOW_HELP)
    return 0
  }
  if (args.operands.length > 1) throw new UsageError('show takes one run (ID, last or last-failed)')
  const ref = args.operands[0] ?? 'last'
  if (!isStoreRef(ref)) throw new UsageError(`not a run: '${ref}' (expected an id, last or last-failed)`)
  const color = wantColor((stringOption(args, 'color') ?? 'auto') as ColorChoice, process.stdout.isTTY === true, process.env)
  await withStoreAsync(storeDirOf(args), async (store) => {
    const run = store.find(ref)
    const log = store.readLog(run) // opens the file now: a missing log fails before any output
    noteOnLog(run)
    if (flag(args, 'raw')) await pipeline(log, process.stdout, { end: false })
    else await pipeline(log, new CleanStream({ color }), process.stdout, { end: false })
  })
  return 0
}

// ---------------------------------------------------------------------------------------------
// gc

export const GC_HELP = `Usage: buildlog gc [--keep N] [--older-than AGE] [OPTION]...
Remove recorded runs and their logs. Runs still running are never removed.

      --keep N          keep the N newest runs, remove the others
      --older-than AGE  remove runs that started more than AGE ago: 45s, 30m, 12h, 30d, 2w
                        (with --keep as well: only runs that are both beyond the N newest and
                        older than AGE)
      --dry-run         say what would be removed, remove nothing
${STORE_DIR_HELP}
  -h, --help            show this help and exit
`

export async function gcMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { keep: { value: true }, 'older-than': { value: true }, 'dry-run': {}, ...STORE_DIR_OPTION, help: { short: 'h' } })
  if (flag(args, 'help')) {
    process.stdout.write(GC_HELP)
    return 0
  }
  if (args.operands.length > 0) throw new UsageError('gc takes no operands')
  const keep = positiveInt(args, 'keep', '--keep')
  const age = stringOption(args, 'older-than')
  const olderThanMs = age === undefined ? undefined : parseAge(age)
  if (olderThanMs === null) throw new UsageError(`--older-than takes an age such as 30d, 12h, 90m, 2w; not '${age}'`)
  if (keep === undefined && olderThanMs === undefined) throw new UsageError('gc needs --keep N or --older-than AGE')
  const dryRun = flag(args, 'dry-run')
  const result = withStore(storeDirOf(args), (store) =>
    collectGarbage(store, { ...(keep !== undefined ? { keep } : {}), ...(olderThanMs !== undefined ? { olderThanMs } : {}), dryRun }),
  )
  const n = result.removed.length
  const runs = `${n} run${n === 1 ? '' : 's'}`
  const ids = n > 0 ? `: ${result.removed.map((r) => r.id).reverse().join(' ')}` : ''
  if (dryRun) process.stdout.write(`would remove ${runs} (${formatBytes(result.freedBytes)})${ids}\n`)
  else {
    const orphans = result.orphans > 0 ? ` and ${result.orphans} stray log file${result.orphans === 1 ? '' : 's'}` : ''
    process.stdout.write(`removed ${runs}${orphans} (${formatBytes(result.freedBytes)})${ids}\n`)
  }
  return 0
}

// ---------------------------------------------------------------------------------------------
// a store id wherever a file is accepted

const tempDirs = new Set<string>()
let cleanupInstalled = false

function removeTempDirs(): void {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

/**
 * `ID`, `last` or `last-failed` → the path of a temporary file (0600, in a private directory,
 * removed when the process exits) holding the run's decompressed log, named `run-ID.log`. Null
 * when `ref` does not look like a store reference (so the caller treats it as a file name).
 * Throws InputError when it does but names no run, or the log is missing or corrupt.
 * Call it only for an operand that is not an existing file: a file named `12` wins.
 */
export async function resolveLogRef(ref: string, storeDir?: string): Promise<string | null> {
  if (!isStoreRef(ref)) return null
  return withStoreAsync(storeDir, async (store) => {
    const run = store.find(ref)
    const log = store.readLog(run)
    if (!cleanupInstalled) {
      process.on('exit', removeTempDirs)
      cleanupInstalled = true
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-store-'))
    tempDirs.add(dir)
    const file = path.join(dir, `run-${run.id}.log`)
    const fd = fs.openSync(file, 'wx', 0o600)
    try {
      for await (const chunk of log) fs.writeSync(fd, chunk)
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true })
      tempDirs.delete(dir)
      throw err
    } finally {
      fs.closeSync(fd)
    }
    noteOnLog(run)
    return file
  })
}

/** The operand itself when it is `-` or an existing path, else the store's copy of that run's log. */
export async function resolveLogOperand(operand: string, storeDir?: string): Promise<string> {
  if (operand === '-' || fs.existsSync(operand)) return operand
  return (await resolveLogRef(operand, storeDir)) ?? operand
}
