import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseRunArgs, RUN_HELP, runSandboxed, SandboxUnavailableError, SpecError, EXIT_UNAVAILABLE } from '../launcher/index.js'
import { CleanStream } from '../render/streams.js'
import { UsageError } from './args.js'
import { wantColor } from './color.js'
import { InputError } from './io.js'
import { extractStoreOptions, openRecording } from './store-commands.js'
import { pageFile } from './view.js'

const STORE_HELP = `
Recording (see 'buildlog list'):
  --store-dir DIR         record the run in DIR instead of $XDG_STATE_HOME/buildlog
  --no-record             do not record this run
`

/** A temporary file for the live log, private to the user and removed when the run ends. */
function liveLogFile(): { path: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-run-'))
  const file = path.join(dir, 'build.log')
  return { path: file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/**
 * `buildlog run [options] -- BUILDER [ARGS…]`: the builder runs in the sandbox; its log streams
 * into the pager (on a terminal) or through nixlog-clean to stdout, and `--log FILE` keeps the
 * raw bytes. The launcher's own messages go to stderr, never into the log. Exits with the
 * builder's status (lib/launcher/exit-codes.ts).
 */
export async function runMain(argv: readonly string[]): Promise<number> {
  const storeOptions = extractStoreOptions(argv)
  const { options, errors } = parseRunArgs([...storeOptions.argv])
  if (options.help) {
    process.stdout.write(RUN_HELP + STORE_HELP)
    return 0
  }
  if (errors.length > 0) throw new UsageError(errors[0]!)
  if (options.argv.length === 0) throw new UsageError('run needs a builder: buildlog run [OPTION]... -- BUILDER [ARG]...')

  let logFd: number | undefined
  if (options.logFile !== undefined) {
    try {
      logFd = fs.openSync(options.logFile, 'w', 0o600)
    } catch (err) {
      throw new InputError(`cannot write '${options.logFile}': ${(err as Error).message.replace(/^[A-Z]+: /, '')}`)
    }
  }

  let run
  try {
    run = runSandboxed(options)
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(err.message)
    if (err instanceof SandboxUnavailableError) {
      process.stderr.write(`buildlog run: sandbox unavailable: ${err.message}\n${err.details ? err.details.trimEnd() + '\n' : ''}`)
      return EXIT_UNAVAILABLE
    }
    throw err
  }

  const view = options.view && process.stdout.isTTY === true && process.stdin.isTTY === true
  // Store warnings wait until the pager is gone: they must not scribble over it.
  const deferred: string[] = []
  const recording = storeOptions.record
    ? openRecording({
        command: options.argv,
        cwd: process.cwd(),
        ...(storeOptions.storeDir !== undefined ? { storeDir: storeOptions.storeDir } : {}),
        ...(view ? { warn: (m: string) => void deferred.push(m) } : {}),
      })
    : null
  const live = view ? liveLogFile() : undefined
  const liveFd = live ? fs.openSync(live.path, 'w+', 0o600) : undefined
  // Every byte goes to --log and to the face, in order; nothing is lost on a kill.
  const relay = new PassThrough()
  run.log.on('data', (chunk: Buffer) => {
    recording?.write(chunk)
    if (logFd !== undefined) fs.writeSync(logFd, chunk)
    if (liveFd !== undefined) {
      fs.writeSync(liveFd, chunk)
      wake?.()
    }
    if (!view) relay.write(chunk)
  })
  run.log.on('end', () => relay.end())
  let wake: (() => void) | undefined

  /** The run is over: the whole log is in, the recording is closed, the messages are out. */
  const finish = async (result: { exitCode: number; reason: string; message?: string }): Promise<number> => {
    if (!run.log.readableEnded) await new Promise((resolve) => run.log.once('end', resolve))
    await recording?.finish({ exitCode: result.exitCode, reason: result.reason, ...(result.message ? { message: result.message } : {}) })
    if (result.message) process.stderr.write(`buildlog run: ${result.message}\n`)
    for (const m of deferred) process.stderr.write(`buildlog run: ${m}\n`)
    return result.exitCode
  }

  let code: number
  if (view) {
    const pageCode = pageFile(liveFd!, {
      growing: { onData: (w) => (wake = w), done: run.result, live: true },
      chop: false,
      lineNumbers: false,
      elide: true,
      follow: true,
      color: wantColor('auto', true, process.env),
      mouse: true,
      onQuitEarly: () => run.cancel(),
    })
    const [result] = await Promise.all([run.result, pageCode])
    code = await finish(result)
    live!.remove()
  } else {
    const color = wantColor('auto', process.stdout.isTTY === true, process.env)
    const filtered = pipeline(relay, new CleanStream({ color }), process.stdout, { end: false })
    const result = await run.result
    await filtered
    code = await finish(result)
  }
  if (logFd !== undefined) fs.closeSync(logFd)
  return code
}
