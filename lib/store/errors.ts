/**
 * The store's failures, each with a kind the commands turn into one clear line (exit 2), and the
 * translation of SQLite's and the file system's error codes into them.
 */

export type StoreErrorKind =
  | 'newer-version' // the store was written by a newer buildlog: refused, never rewritten
  | 'not-a-store' // the database file is not SQLite, or not buildlog's
  | 'locked' // another process held the database past the busy timeout
  | 'full' // no space left (or a quota, or a file size limit)
  | 'missing-log' // the index names a log file that is gone
  | 'corrupt-log' // the log file is not gzip, or is damaged before its end
  | 'no-such-run' // an id, `last` or `last-failed` that names no run
  | 'io' // anything else the file system or SQLite reported

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
  ) {
    super(message)
  }
}

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL'])

export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (FULL_CODES.has(code) || code.startsWith('SQLITE_FULL'))
}

export function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  switch (e?.code) {
    case 'ENOENT': return 'No such file or directory'
    case 'EACCES': return 'Permission denied'
    case 'ENOSPC': return 'No space left on device'
    case 'EDQUOT': return 'Disk quota exceeded'
    case 'EFBIG': return 'File too large'
    case 'EROFS': return 'Read-only file system'
    default: return String(e?.message ?? e).replace(/^[A-Z]+: /, '')
  }
}

/** SQLite's and the OS's errors, as store errors; a StoreError passes through unchanged. */
export function toStoreError(err: unknown, databaseFile: string): StoreError {
  if (err instanceof StoreError) return err
  const code = String((err as { code?: unknown } | null)?.code ?? '')
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('locked', `the store database '${databaseFile}' is locked by another process; try again`)
  }
  if (isDiskFull(err)) return new StoreError('full', `cannot write the store database '${databaseFile}': ${code.startsWith('SQLITE') ? 'database or disk is full' : errorText(err)}`)
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError('not-a-store', `'${databaseFile}' is not a buildlog store database (${errorText(err)})`)
  }
  return new StoreError('io', `store database '${databaseFile}': ${errorText(err)}`)
}
