import { spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { describeHits, scanForDisallowed, type DisallowedHit } from './disallow-scan.js'
import { EXIT_DISALLOWED_REFERENCE, EXIT_INTERNAL, EXIT_UNAVAILABLE, type SandboxReason } from './exit-codes.js'
import { NdjsonSplitter, SandboxEvents, type ExitEvent, type HelperError } from './events.js'
import { ensureHelperBinary } from './helper-binary.js'
import type { SandboxOptions } from './options.js'
import { encodeSpec } from './spec-encoding.js'

export interface SandboxResult {
  /** what `buildlog run` should exit with (lib/launcher/exit-codes.ts) */
  exitCode: number
  reason: SandboxReason
  /** the signal that killed the builder (reason 'signaled') */
  signal?: number
  /** the builder's own exit code (reason 'exited' or 'disallowed-reference') */
  builderExitCode?: number
  /** one line for the user, for everything but a clean exit */
  message?: string
  error?: HelperError
  logBytes: number
  truncated: boolean
  wallMs?: number
  setupMs?: number
  runMs?: number
  disallowed?: DisallowedHit[]
  /** the raw exit event, when there was one */
  event?: ExitEvent
}

export interface SandboxRun {
  /** the helper's pid (signal it to test cancellation; cancel() is the normal way) */
  readonly pid: number | undefined
  /**
   * The raw log (builder stdout+stderr merged), byte-exact.  It must be consumed (read, piped
   * or resume()d): backpressure runs end to end, so an unread log stalls the builder.
   */
  readonly log: Readable
  /** NDJSON events from fd 4: EventEmitter ('event', 'started', 'exit') and async iterable. */
  readonly events: SandboxEvents
  /** Writes `cancel\n` to the helper's fd 0: the sandbox is killed, reason 'cancelled'. */
  cancel(): void
  /** Settles once the helper has exited, all its output is drained and the exit event parsed. */
  readonly result: Promise<SandboxResult>
  /** alias of result (the name used in sandbox.md) */
  readonly done: Promise<SandboxResult>
  /** the helper's diagnostics (fd 2) so far, for a debug log */
  diagnostics(): string
}

const DIAG_CAP = 64 * 1024

const REASONS: Record<ExitEvent['reason'], SandboxReason> = {
  exited: 'exited',
  signaled: 'signaled',
  timeout: 'timeout',
  'max-silent': 'silence',
  'log-limit': 'log-limit',
  cancelled: 'cancelled',
  'setup-error': 'setup-error',
}

function messageFor(ev: ExitEvent, o: SandboxOptions): string | undefined {
  switch (ev.reason) {
    case 'exited':
      return ev.exitCode === 0 ? undefined : `builder exited with code ${ev.exitCode}`
    case 'signaled':
      return `builder killed by signal ${ev.signal}`
    case 'timeout':
      return `build timed out after ${o.timeoutMs} ms`
    case 'max-silent':
      return `build killed after ${o.maxSilentMs} ms without output`
    case 'log-limit':
      return `build log reached the limit of ${o.maxLogBytes} bytes; log cut there and build killed`
    case 'cancelled':
      return 'build cancelled'
    case 'setup-error':
      return ev.error?.message ?? 'sandbox setup failed'
  }
}

/**
 * Runs `options.argv` in the sandbox.  Throws SpecError for invalid options and
 * SandboxUnavailableError when the helper cannot be built, before anything starts.
 */
export function runSandboxed(options: SandboxOptions): SandboxRun {
  const spec = encodeSpec(options)
  const helper = options.helperPath ?? ensureHelperBinary()
  const prefix = options.launchPrefix ?? []
  const [cmd, ...args] = prefix.length ? [...prefix, helper] : [helper]
  // five pipe slots (libuv makes them socketpairs), a clean env; spawned from the calling
  // thread (PDEATHSIG fires when the forking thread exits: never call this from a Worker)
  const child = spawn(cmd as string, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], env: {} })
  const [ctl, log, diag, specFd, eventsFd] = child.stdio as unknown as [Writable, Readable, Readable, Writable, Readable]
  const events = new SandboxEvents()
  let diagText = ''
  let exitEvent: ExitEvent | undefined
  let badLines = ''
  const splitter = new NdjsonSplitter(
    ev => {
      if (ev.event === 'exit') exitEvent = ev
      events.push(ev)
    },
    line => {
      badLines += line.slice(0, 200) + '\n'
    },
  )
  for (const s of [ctl, specFd]) s.on('error', () => {}) // EPIPE once the helper is gone
  diag.on('error', () => {})
  eventsFd.on('error', () => {})
  diag.on('data', (b: Buffer) => {
    if (diagText.length < DIAG_CAP) diagText += b.toString()
  })
  eventsFd.on('data', (b: Buffer) => splitter.write(b))
  eventsFd.on('end', () => splitter.end())
  specFd.end(spec)

  let spawnError: Error | undefined
  child.on('error', e => {
    spawnError = e
  })

  const result = new Promise<SandboxResult>(resolve => {
    child.on('close', (code, sig) => {
      splitter.end()
      events.close()
      ctl.destroy()
      void finish(code, sig).then(resolve, e =>
        resolve({ exitCode: EXIT_INTERNAL, reason: 'internal', message: `internal error: ${String(e)}`, logBytes: 0, truncated: false }),
      )
    })
  })

  const finish = async (code: number | null, sig: NodeJS.Signals | null): Promise<SandboxResult> => {
    if (spawnError) {
      return { exitCode: EXIT_UNAVAILABLE, reason: 'unavailable', message: `sandbox unavailable: cannot start ${helper}: ${spawnError.message}`, logBytes: 0, truncated: false }
    }
    const ev = exitEvent
    if (!ev) {
      const how = sig ? `signal ${sig}` : `code ${code}`
      return {
        exitCode: EXIT_INTERNAL,
        reason: 'internal',
        message: `the sandbox helper ended (${how}) without an exit event${diagText ? `: ${diagText.trim().split('\n').pop()}` : ''}${badLines ? ` (bad event lines: ${badLines.trim()})` : ''}`,
        logBytes: 0,
        truncated: false,
      }
    }
    const reason: SandboxReason = ev.reason === 'setup-error' && ev.error?.unavailable ? 'unavailable' : REASONS[ev.reason]
    const r: SandboxResult = {
      exitCode: ev.status,
      reason,
      logBytes: ev.logBytes,
      truncated: ev.truncated,
      wallMs: ev.wallMs,
      setupMs: ev.setupMs,
      runMs: ev.runMs,
      event: ev,
    }
    if (ev.signal !== null) r.signal = ev.signal
    if (ev.exitCode !== null) r.builderExitCode = ev.exitCode
    if (ev.error) r.error = ev.error
    const msg = messageFor(ev, options)
    if (msg !== undefined) r.message = msg
    if (ev.reason === 'exited' && ev.exitCode === 0 && options.disallow?.length && options.buildDir !== undefined) {
      const hits = await scanForDisallowed(options.buildDir, options.disallow)
      if (hits.length) {
        r.reason = 'disallowed-reference'
        r.exitCode = EXIT_DISALLOWED_REFERENCE
        r.disallowed = hits
        r.message = `disallowed reference: ${describeHits(hits)}`
      }
    }
    return r
  }

  return {
    pid: child.pid,
    log,
    events,
    cancel() {
      if (!ctl.destroyed && ctl.writable) ctl.write('cancel\n')
    },
    result,
    done: result,
    diagnostics: () => diagText,
  }
}
