/**
 * Where the store lives and how its files are made private: `$XDG_STATE_HOME/buildlog`
 * (default `~/.local/state/buildlog`), `--store-dir` overrides. The directory is 0700, the
 * database and every log file 0600 (SQLite gives its -wal and -shm files the database's mode).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const DB_NAME = 'index.sqlite'
export const LOGS_DIR = 'logs'

/** The store directory: the override, else $XDG_STATE_HOME/buildlog, else ~/.local/state/buildlog. */
export function resolveStoreDir(override?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (override !== undefined && override !== '') return path.resolve(override)
  // The XDG spec says relative values are invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'buildlog')
  return path.join(env.HOME || os.homedir(), '.local', 'state', 'buildlog')
}

/** Makes `dir` (and parents) if needed; the store's own directories are narrowed to 0700. */
function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = fs.statSync(dir)
  if (!st.isDirectory()) throw Object.assign(new Error(`'${dir}' is not a directory`), { code: 'ENOTDIR' })
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) fs.chmodSync(dir, 0o700)
}

export function ensureStoreDir(dir: string): void {
  ensurePrivateDir(dir)
  ensurePrivateDir(path.join(dir, LOGS_DIR))
}

export function databasePath(dir: string): string {
  return path.join(dir, DB_NAME)
}

/** A run's log file, relative to the store directory (what the index records). */
export function logFileName(id: number): string {
  return path.join(LOGS_DIR, `${id}.log.gz`)
}

/** Creates the database file 0600 before SQLite does (SQLite would honour the umask). */
export function precreatePrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

/** Whether a command-line operand names a recorded run (an id, `last`, `last-failed`) rather than a file. */
export function isStoreRef(ref: string): boolean {
  return ref === 'last' || ref === 'last-failed' || /^\d{1,15}$/.test(ref)
}
