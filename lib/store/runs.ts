/**
 * The index of runs: a row is inserted when a run starts, updated with progress while it runs and
 * finished at the end. A row still `running` whose writer is dead (SIGKILL, power loss) is marked
 * `interrupted` by whoever reads it next; its counts are those of the last progress update.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Db } from './schema.js'
import { logFileName } from './paths.js'
import { writerAlive } from './liveness.js'

export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted'

export interface RunRecord {
  id: number
  /** ms since the epoch */
  startedAt: number
  endedAt: number | null
  command: string[]
  cwd: string
  status: RunStatus
  exitCode: number | null
  reason: string | null
  message: string | null
  durationMs: number | null
  /** relative to the store directory */
  logFile: string
  /** uncompressed bytes of log seen */
  logBytes: number
  /** compressed bytes on disk (known once the run ends) */
  storedBytes: number | null
  /** why the stored log is incomplete, when it is (e.g. the disk was full) */
  storeError: string | null
  errors: number
  warnings: number
  failingSection: string | null
  host: string
  pid: number
}

interface Row {
  id: number
  started_at: number
  ended_at: number | null
  command: string
  cwd: string
  status: RunStatus
  exit_code: number | null
  reason: string | null
  message: string | null
  duration_ms: number | null
  log_file: string
  log_bytes: number
  stored_bytes: number | null
  store_error: string | null
  errors: number
  warnings: number
  failing_section: string | null
  host: string
  pid: number
  pid_start: string | null
}

function fromRow(r: Row): RunRecord {
  let command: string[]
  try {
    command = JSON.parse(r.command) as string[]
  } catch {
    command = [r.command]
  }
  return {
    id: r.id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    command,
    cwd: r.cwd,
    status: r.status,
    exitCode: r.exit_code,
    reason: r.reason,
    message: r.message,
    durationMs: r.duration_ms,
    logFile: r.log_file,
    logBytes: r.log_bytes,
    storedBytes: r.stored_bytes,
    storeError: r.store_error,
    errors: r.errors,
    warnings: r.warnings,
    failingSection: r.failing_section,
    host: r.host,
    pid: r.pid,
  }
}

export interface NewRun {
  startedAt: number
  command: readonly string[]
  cwd: string
  host: string
  pid: number
  pidStart: string | null
  version: string | null
}

export interface Progress {
  logBytes: number
  errors: number
  warnings: number
  failingSection: string | null
}

export interface Finish extends Progress {
  endedAt: number
  status: 'ok' | 'failed'
  exitCode: number
  reason: string
  message: string | null
  storedBytes: number | null
  storeError: string | null
}

/** Which runs to list: the newest first. */
export interface ListQuery {
  /** only runs that did not succeed (failed or interrupted) */
  failed?: boolean
  limit?: number
}

export class RunIndex {
  constructor(
    readonly db: Db,
    readonly dir: string,
  ) {}

  /** Inserts a `running` row and returns its id; the log file name follows from the id. */
  insert(run: NewRun): number {
    const insert = this.db.prepare(
      `INSERT INTO runs (started_at, command, cwd, status, log_file, host, pid, pid_start, buildlog_version)
       VALUES (?, ?, ?, 'running', '', ?, ?, ?, ?)`,
    )
    const setFile = this.db.prepare(`UPDATE runs SET log_file = ? WHERE id = ?`)
    return this.db.transaction(() => {
      const id = Number(insert.run(run.startedAt, JSON.stringify(run.command), run.cwd, run.host, run.pid, run.pidStart, run.version).lastInsertRowid)
      setFile.run(logFileName(id), id)
      return id
    }).immediate()
  }

  progress(id: number, p: Progress): void {
    this.db
      .prepare(`UPDATE runs SET log_bytes = ?, errors = ?, warnings = ?, failing_section = ? WHERE id = ? AND status = 'running'`)
      .run(p.logBytes, p.errors, p.warnings, p.failingSection, id)
  }

  finish(id: number, f: Finish): void {
    this.db
      .prepare(
        `UPDATE runs SET ended_at = ?, duration_ms = ? - started_at, status = ?, exit_code = ?, reason = ?, message = ?,
           log_bytes = ?, stored_bytes = ?, store_error = ?, errors = ?, warnings = ?, failing_section = ?
         WHERE id = ?`,
      )
      .run(f.endedAt, f.endedAt, f.status, f.exitCode, f.reason, f.message, f.logBytes, f.storedBytes, f.storeError, f.errors, f.warnings, f.failingSection, id)
  }

  get(id: number): RunRecord | null {
    const row = this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as Row | undefined
    return row ? this.reconcile([row])[0]! : null
  }

  list(query: ListQuery = {}): RunRecord[] {
    const limit = query.limit ?? -1
    // Rows still `running` are reconciled first, so that `--failed` sees the interrupted ones.
    this.reconcile(this.db.prepare(`SELECT * FROM runs WHERE status = 'running'`).all() as Row[])
    const sql = query.failed
      ? `SELECT * FROM runs WHERE status IN ('failed', 'interrupted') ORDER BY id DESC LIMIT ?`
      : `SELECT * FROM runs ORDER BY id DESC LIMIT ?`
    return (this.db.prepare(sql).all(limit) as Row[]).map(fromRow)
  }

  /** `last`, `last-failed` or a decimal id. */
  resolve(ref: string): RunRecord | null {
    if (ref === 'last') return this.list({ limit: 1 })[0] ?? null
    if (ref === 'last-failed') return this.list({ failed: true, limit: 1 })[0] ?? null
    if (/^\d{1,15}$/.test(ref)) return this.get(Number(ref))
    return null
  }

  /** Deletes rows (not their files). */
  delete(ids: readonly number[]): void {
    const del = this.db.prepare(`DELETE FROM runs WHERE id = ? AND status != 'running'`)
    this.db.transaction(() => {
      for (const id of ids) del.run(id)
    }).immediate()
  }

  allIds(): Set<number> {
    return new Set((this.db.prepare(`SELECT id FROM runs`).pluck().all() as number[]))
  }

  logPath(run: RunRecord): string {
    return path.join(this.dir, run.logFile)
  }

  /**
   * Rows `running` with a dead writer become `interrupted` (saved when the database can be
   * written; shown as such either way). The end time is the log file's last change.
   */
  private reconcile(rows: Row[]): RunRecord[] {
    const mark = this.db.prepare(`UPDATE runs SET status = 'interrupted', ended_at = ?, duration_ms = ? - started_at WHERE id = ? AND status = 'running'`)
    return rows.map((row) => {
      if (row.status !== 'running' || writerAlive(row.host, row.pid, row.pid_start)) return fromRow(row)
      let endedAt = row.started_at
      try {
        endedAt = Math.max(row.started_at, Math.round(fs.statSync(path.join(this.dir, row.log_file)).mtimeMs))
      } catch {
        // no log file: it ended where it started
      }
      try {
        mark.run(endedAt, endedAt, row.id)
      } catch {
        // read-only or locked: the next reader saves it
      }
      return fromRow({ ...row, status: 'interrupted', ended_at: endedAt, duration_ms: endedAt - row.started_at })
    })
  }
}
