/**
 * `buildlog gc`: removes old runs (their rows, then their log files) and log files no row names.
 * Running runs are never removed. Space in the database is given back with incremental vacuum,
 * and the WAL is checkpointed and truncated; never VACUUM (see schema.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { LOGS_DIR } from './paths.js'
import type { RunRecord } from './runs.js'
import type { Store } from './store.js'

export interface GcOptions {
  /** keep the N newest runs */
  keep?: number
  /** remove only runs that started more than this many ms ago */
  olderThanMs?: number
  now?: number
  dryRun?: boolean
}

export interface GcResult {
  removed: RunRecord[]
  /** compressed bytes of the removed logs (and orphan files) */
  freedBytes: number
  /** log files that no row named */
  orphans: number
}

/**
 * With both options a run goes only if it is beyond the N newest AND older than the age: "drop
 * what is older than 30 days, but keep at least the last 10".
 */
export function collectGarbage(store: Store, options: GcOptions): GcResult {
  const now = options.now ?? Date.now()
  const all = store.runs.list() // newest first; reconciles dead writers to 'interrupted'
  const removed = all.filter((run, i) => {
    if (run.status === 'running') return false
    if (options.keep !== undefined && i < options.keep) return false
    if (options.olderThanMs !== undefined && run.startedAt > now - options.olderThanMs) return false
    return options.keep !== undefined || options.olderThanMs !== undefined
  })
  let freedBytes = 0
  const sizeOf = (file: string): number => {
    try {
      return fs.statSync(file).size
    } catch {
      return 0
    }
  }
  for (const run of removed) freedBytes += sizeOf(store.runs.logPath(run))
  if (options.dryRun) return { removed, freedBytes, orphans: 0 }

  // Rows first: a crash in between leaves orphan files, which the sweep below removes next time.
  store.runs.delete(removed.map((r) => r.id))
  for (const run of removed) fs.rmSync(store.runs.logPath(run), { force: true })

  // The directory before the ids: a recorder commits its row before it creates its file, so every
  // file listed here whose row exists is in `known`.
  let orphans = 0
  const logs = path.join(store.dir, LOGS_DIR)
  const names = fs.readdirSync(logs)
  const known = store.runs.allIds()
  for (const name of names) {
    const m = /^(\d+)\.log\.gz$/.exec(name)
    if (!m || known.has(Number(m[1]))) continue
    const file = path.join(logs, name)
    freedBytes += sizeOf(file)
    fs.rmSync(file, { force: true })
    orphans++
  }

  try {
    store.runs.db.pragma('incremental_vacuum')
    store.runs.db.pragma('wal_checkpoint(TRUNCATE)')
  } catch {
    // busy: space comes back on a later gc
  }
  return { removed, freedBytes, orphans }
}

/** `30d`, `12h`, `90m`, `45s`, `2w`: a duration in ms, or null. */
export function parseAge(text: string): number | null {
  const m = /^(\d+)([smhdw])$/.exec(text)
  if (!m) return null
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w']
  return Number(m[1]) * unit
}
