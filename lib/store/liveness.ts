/**
 * Whether the process that is recording a run still lives. A recorder killed with SIGKILL never
 * finishes its row; whoever reads the index later sees a dead writer and calls the run
 * interrupted. The pid's start time (from /proc) guards against the pid being reused.
 */
import fs from 'node:fs'
import os from 'node:os'

/** The start time of `pid` in clock ticks since boot (Linux), or null where /proc cannot tell. */
export function processStartTime(pid: number): string | null {
  const stat = procStat(pid)
  return stat ? (stat[19] ?? null) : null
}

/** The fields of /proc/PID/stat after the command name (field 3, the state, is [0]). */
function procStat(pid: number): string[] | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

export const HOST = os.hostname()

/**
 * True unless the writer is certainly gone: on this host, no process with that pid, a zombie, or
 * one that started at another time. A writer on another host (a shared home) is taken as alive.
 */
export function writerAlive(host: string, pid: number, pidStart: string | null): boolean {
  if (host !== HOST) return true
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  const stat = procStat(pid)
  if (stat === null) return true // it exists; /proc cannot say more
  if (stat[0] === 'Z' || stat[0] === 'X') return false
  return pidStart === null || stat[19] === pidStart
}
