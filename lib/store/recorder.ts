/**
 * Records one `buildlog run`: a `running` row at the start, the log compressed as it streams, the
 * counts and the failing section decoded on the way, progress saved every few seconds and the end
 * (exit status, reason, sizes) saved at the end. Nothing here ever stops a build: a store that
 * cannot be opened, a full disk or a locked database is reported once (through `warn`) and the
 * build goes on unrecorded or partly recorded.
 */
import path from 'node:path'
import process from 'node:process'
import { errorText, StoreError, toStoreError } from './errors.js'
import { HOST, processStartTime } from './liveness.js'
import { CompressedLogWriter } from './log-writer.js'
import { databasePath, logFileName } from './paths.js'
import { LogStats } from './stats.js'
import { openStore, type Store } from './store.js'

export const PROGRESS_MS = 2000

export interface RecordingOptions {
  /** the builder's argv as the user gave it */
  command: readonly string[]
  cwd: string
  /** --store-dir; default $XDG_STATE_HOME/buildlog */
  storeDir?: string
  busyTimeoutMs?: number
  /** how problems are told; default: one line on stderr */
  warn?: (message: string) => void
  version?: string
  /** how often the row's size and counts are brought up to date while the build runs */
  progressMs?: number
  flushMs?: number
  flushBytes?: number
}

export interface RecordingResult {
  exitCode: number
  reason: string
  message?: string
}

export interface Recording {
  /** the run's id in the store, or null when this run is not being recorded */
  readonly id: number | null
  /** Never throws: a failing store is reported once and the build goes on. */
  write(chunk: Buffer): void
  /** Saves the end of the run. Never rejects; calling it again returns the same promise. */
  finish(result: RecordingResult): Promise<void>
}

const NOT_RECORDING: Recording = {
  id: null,
  write: () => {},
  finish: async () => {},
}

function describe(err: unknown): string {
  return err instanceof StoreError ? err.message : errorText(err)
}

/**
 * A file size limit (ulimit -f) raises SIGXFSZ, whose default action kills the process: the
 * launcher would die with its build. Handled, the write fails with EFBIG like a full disk instead.
 */
let fileSizeLimitHandled = false
function surviveFileSizeLimit(): void {
  if (fileSizeLimitHandled || process.platform === 'win32') return
  fileSizeLimitHandled = true
  // Even when others listen: signal-exit (loaded by test harnesses) re-raises the signal when
  // its own listeners are the only ones.
  process.on('SIGXFSZ', () => {})
}

export function openRecording(options: RecordingOptions): Recording {
  surviveFileSizeLimit()
  const warn = options.warn ?? ((m: string) => void process.stderr.write(`buildlog run: ${m}\n`))
  const progressMs = options.progressMs ?? PROGRESS_MS
  let store: Store
  try {
    store = openStore({ ...(options.storeDir !== undefined ? { dir: options.storeDir } : {}), ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}) })
  } catch (err) {
    warn(`not recording this run: ${describe(err)}`)
    return NOT_RECORDING
  }
  const startedAt = Date.now()
  let id: number
  try {
    id = store.runs.insert({
      startedAt,
      command: [...options.command],
      cwd: options.cwd,
      host: HOST,
      pid: process.pid,
      pidStart: processStartTime(process.pid),
      version: options.version ?? null,
    })
  } catch (err) {
    warn(`not recording this run: ${toStoreError(err, databasePath(store.dir)).message}`)
    store.close()
    return NOT_RECORDING
  }

  let storeError: string | null = null
  const onError = (err: unknown): void => {
    if (storeError !== null) return
    storeError = errorText(err)
    warn(`cannot store the log of run ${id} (${storeError}); the build goes on, the stored log stops here`)
  }
  let writer: CompressedLogWriter | null = null
  try {
    writer = new CompressedLogWriter(path.join(store.dir, logFileName(id)), {
      onError,
      ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
      ...(options.flushBytes !== undefined ? { flushBytes: options.flushBytes } : {}),
    })
  } catch (err) {
    onError(err)
  }

  const stats = new LogStats()
  let logBytes = 0
  let lastProgress = startedAt
  let finished: Promise<void> | null = null
  const progress = () => ({ logBytes, errors: stats.errors, warnings: stats.warnings, failingSection: stats.failingSection })

  return {
    id,
    write(chunk: Buffer): void {
      if (finished) return
      logBytes += chunk.length
      writer?.write(chunk)
      stats.write(chunk)
      const now = Date.now()
      if (now - lastProgress >= progressMs) {
        lastProgress = now
        try {
          store.runs.progress(id, progress())
        } catch {
          // locked or full: the end of the run saves it all
        }
      }
    },
    finish(result: RecordingResult): Promise<void> {
      finished ??= (async () => {
        stats.end()
        await writer?.close()
        const ok = result.exitCode === 0
        try {
          store.runs.finish(id, {
            ...progress(),
            endedAt: Date.now(),
            status: ok ? 'ok' : 'failed',
            exitCode: result.exitCode,
            reason: result.reason,
            message: result.message ?? null,
            storedBytes: writer?.bytesOut ?? null,
            storeError,
          })
        } catch (err) {
          warn(`cannot record the end of run ${id}: ${toStoreError(err, databasePath(store.dir)).message}`)
        }
        store.checkpoint()
        try {
          store.close()
        } catch {
          // closed
        }
      })()
      return finished
    },
  }
}
