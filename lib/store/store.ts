/** The store as the commands see it: the directory, its index and the way to a run's log. */
import { StoreError, toStoreError } from './errors.js'
import { readStoredLog } from './log-reader.js'
import { databasePath, resolveStoreDir } from './paths.js'
import { RunIndex, type RunRecord } from './runs.js'
import { openDatabase, type OpenOptions } from './schema.js'

export interface Store {
  dir: string
  runs: RunIndex
  /** The decompressed bytes of a run's log, up to wherever it was cut. */
  readLog(run: RunRecord): AsyncGenerator<Buffer>
  /** Finds a run by id, `last` or `last-failed`; StoreError 'no-such-run' if none. */
  find(ref: string): RunRecord
  /** Moves the WAL's content into the database and cuts the WAL back; never blocks on readers. */
  checkpoint(): void
  close(): void
}

export interface StoreOptions extends OpenOptions {
  /** --store-dir; default $XDG_STATE_HOME/buildlog */
  dir?: string
}

export function openStore(options: StoreOptions = {}): Store {
  const dir = resolveStoreDir(options.dir)
  const db = openDatabase(dir, options)
  const runs = new RunIndex(db, dir)
  const guard = <T>(f: () => T): T => {
    try {
      return f()
    } catch (err) {
      throw toStoreError(err, databasePath(dir))
    }
  }
  return {
    dir,
    runs,
    readLog: (run) => readStoredLog(runs.logPath(run), `run ${run.id}`),
    find(ref) {
      const run = guard(() => runs.resolve(ref))
      if (run) return run
      if (ref === 'last') throw new StoreError('no-such-run', `no runs recorded yet in '${dir}'`)
      if (ref === 'last-failed') throw new StoreError('no-such-run', `no failed runs recorded in '${dir}'`)
      throw new StoreError('no-such-run', `no run ${ref} in '${dir}' (see 'buildlog list')`)
    },
    checkpoint() {
      try {
        db.pragma('wal_checkpoint(PASSIVE)')
      } catch {
        // busy: the next one will do
      }
    },
    close: () => db.close(),
  }
}

export { isStoreRef } from './paths.js'
