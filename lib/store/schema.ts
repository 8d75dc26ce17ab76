/**
 * The index database: opening it (WAL, busy timeout, a small WAL) and its schema, versioned by
 * `PRAGMA user_version`. A store whose version is newer than this buildlog knows is refused before
 * anything is written to it. Space is reclaimed with incremental auto-vacuum, never VACUUM (in WAL
 * mode VACUUM makes a WAL as large as the database that cannot shrink while anyone reads).
 */
import Database from 'better-sqlite3'
import { StoreError, toStoreError } from './errors.js'
import { databasePath, ensureStoreDir, precreatePrivateFile } from './paths.js'

export type Db = Database.Database

/** The schema this buildlog writes. Bump it with a new entry in MIGRATIONS. */
export const SCHEMA_VERSION = 1
/** 'BLOG' in the database header: another program's SQLite file is not mistaken for a store. */
export const APPLICATION_ID = 0x424c4f47
export const DEFAULT_BUSY_TIMEOUT_MS = 5000
/** After a checkpoint the WAL is cut back to this size. */
export const WAL_SIZE_LIMIT = 1024 * 1024

/** MIGRATIONS[v] takes a store from version v to v + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     id              INTEGER PRIMARY KEY AUTOINCREMENT,
     started_at      INTEGER NOT NULL,          -- ms since the epoch
     ended_at        INTEGER,                   -- null while running
     command         TEXT NOT NULL,             -- JSON array of strings
     cwd             TEXT NOT NULL,
     status          TEXT NOT NULL,             -- running | ok | failed | interrupted
     exit_code       INTEGER,
     reason          TEXT,                      -- the launcher's reason (exited, signaled, timeout, ...)
     message         TEXT,                      -- the launcher's one line, when it had one
     duration_ms     INTEGER,
     log_file        TEXT NOT NULL,             -- relative to the store directory
     log_bytes       INTEGER NOT NULL DEFAULT 0, -- uncompressed bytes seen
     stored_bytes    INTEGER,                   -- compressed bytes on disk, at the end
     store_error     TEXT,                      -- why the stored log is incomplete (disk full, ...)
     errors          INTEGER NOT NULL DEFAULT 0,
     warnings        INTEGER NOT NULL DEFAULT 0,
     failing_section TEXT,
     host            TEXT NOT NULL,
     pid             INTEGER NOT NULL,          -- the recording process
     pid_start       TEXT,                      -- its start time (/proc), against pid reuse
     buildlog_version TEXT
   );
   CREATE INDEX runs_by_status ON runs(status, id);`,
]

export interface OpenOptions {
  busyTimeoutMs?: number
}

/**
 * The store's version, application id and table count, read by one statement: one snapshot.
 * Read one by one, a first run migrating at the same moment could be seen half way (version 0,
 * but its tables already there), and a fresh store mistaken for another program's database.
 */
function header(db: Db): { version: number; appId: number; tables: number } {
  return db
    .prepare(
      `SELECT (SELECT user_version FROM pragma_user_version) AS version,
              (SELECT application_id FROM pragma_application_id) AS appId,
              (SELECT count(*) FROM sqlite_master) AS tables`,
    )
    .get() as { version: number; appId: number; tables: number }
}

/** Refuses a newer store, or a SQLite file that belongs to another program. Reads only. */
function checkVersion(db: Db, file: string): number {
  const { version, appId, tables } = header(db)
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      'newer-version',
      `the store '${file}' was written by a newer buildlog (store version ${version}, this buildlog knows up to ${SCHEMA_VERSION}); upgrade buildlog or use --store-dir`,
    )
  }
  if (appId !== 0 && appId !== APPLICATION_ID) throw new StoreError('not-a-store', `'${file}' is not a buildlog store database`)
  if (version === 0 && appId === 0 && tables > 0) throw new StoreError('not-a-store', `'${file}' is not a buildlog store database`)
  return version
}

function migrate(db: Db, file: string): void {
  if (checkVersion(db, file) === SCHEMA_VERSION) return
  db.exec('BEGIN IMMEDIATE')
  try {
    // another process may have migrated while this one waited for the lock
    const from = checkVersion(db, file)
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!)
    if (from !== SCHEMA_VERSION) {
      db.pragma(`application_id = ${APPLICATION_ID}`)
      db.pragma(`user_version = ${SCHEMA_VERSION}`)
    }
    db.exec('COMMIT')
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK')
    throw err
  }
}

/**
 * Opens (creating if needed) the index in `dir`. Throws StoreError: newer-version, not-a-store,
 * locked (past the busy timeout), full, io.
 */
export function openDatabase(dir: string, options: OpenOptions = {}): Db {
  const file = databasePath(dir)
  const timeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS
  let db: Db | undefined
  try {
    ensureStoreDir(dir)
    precreatePrivateFile(file)
    db = new Database(file, { timeout })
    checkVersion(db, file)
    // Before anything creates the database's first page (switching to WAL does): it cannot be
    // changed afterwards without a VACUUM. (On an existing store the pragma would wait for a lock.)
    if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL')
    // Switching to WAL takes an exclusive lock that the busy handler does not always wait for
    // (several first runs at once): retry until the timeout.
    const deadline = Date.now() + timeout
    for (;;) {
      try {
        db.pragma('journal_mode = WAL')
        break
      } catch (err) {
        if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || Date.now() > deadline) throw err
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
      }
    }
    db.pragma('synchronous = NORMAL')
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`)
    migrate(db, file)
    return db
  } catch (err) {
    db?.close()
    throw toStoreError(err, file)
  }
}
