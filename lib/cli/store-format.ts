/** How `buildlog list` shows a run: sizes, durations, times, statuses and commands, and as JSON. */
import type { RunRecord } from '../store/runs.js'

export function formatBytes(n: number): string {
  if (n < 1024) return `${n}B`
  const units = ['K', 'M', 'G', 'T']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  return `${h}h${String(m % 60).padStart(2, '0')}m`
}

/** Local time, `YYYY-MM-DD HH:MM`. */
export function formatWhen(ms: number): string {
  const d = new Date(ms)
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

export function formatStatus(run: RunRecord): string {
  switch (run.status) {
    case 'ok':
    case 'running':
    case 'interrupted':
      return run.status
    case 'failed':
      if (run.reason === 'exited' || run.reason === null) return `failed (${run.exitCode})`
      return `${run.reason} (${run.exitCode})`
  }
}

/** An argv as a shell would take it back. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

export function runDuration(run: RunRecord, now: number): number {
  return run.durationMs ?? now - run.startedAt
}

/** The table: id, when, status, duration, size, errors, command (the last column is not padded). */
export function formatTable(runs: readonly RunRecord[], now: number, width?: number): string {
  const rows = runs.map((r) => [
    String(r.id),
    formatWhen(r.startedAt),
    formatStatus(r),
    formatDuration(runDuration(r, now)),
    formatBytes(r.logBytes),
    String(r.errors),
    shellQuote(r.command),
  ])
  const header = ['ID', 'WHEN', 'STATUS', 'DURATION', 'SIZE', 'ERRORS', 'COMMAND']
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c]!.length)))
  const rightAligned = new Set([0, 3, 4, 5])
  return all
    .map((row) => {
      const line = row
        .map((cell, c) => (c === row.length - 1 ? cell : rightAligned.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
      return width !== undefined && line.length > width ? line.slice(0, Math.max(0, width - 1)) + '…' : line
    })
    .join('\n') + '\n'
}

/** The JSON form of a run (`buildlog list --json`): times as ISO strings, every field present. */
export function runJson(run: RunRecord, storeDir: string): Record<string, unknown> {
  return {
    id: run.id,
    startedAt: new Date(run.startedAt).toISOString(),
    endedAt: run.endedAt === null ? null : new Date(run.endedAt).toISOString(),
    durationMs: run.durationMs,
    command: run.command,
    cwd: run.cwd,
    status: run.status,
    exitCode: run.exitCode,
    reason: run.reason,
    message: run.message,
    logBytes: run.logBytes,
    storedBytes: run.storedBytes,
    storeError: run.storeError,
    errors: run.errors,
    warnings: run.warnings,
    failingSection: run.failingSection,
    logFile: `${storeDir}/${run.logFile}`,
    host: run.host,
    pid: run.pid,
  }
}
