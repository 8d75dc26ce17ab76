// Runs one command and measures its wall time and peak RSS.
//
// Wall time: process.hrtime around spawn → exit, in this (parent) process.
// Peak RSS:  GNU time (`/usr/bin/time -f '%e %M' -o FILE`, Debian package `time`) when it is
//            installed: %M is ru_maxrss of the command and everything it waited for (for
//            `sh -c 'cat | cat'` that is the largest of sh and the two cats). Without GNU time we
//            fall back to polling VmHWM in /proc/<pid>/status of the direct child every 5 ms (the
//            last value read before it exits; for `sh -c` pipelines that is only the shell's).
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const GNU_TIME = '/usr/bin/time'

function detectGnuTime() {
  try {
    const out = execFileSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: ['ignore', 'pipe', 'pipe'] })
    void out
    return true
  } catch {
    return false
  }
}

export const HAVE_GNU_TIME = detectGnuTime()
export const RSS_METHOD = HAVE_GNU_TIME
  ? "GNU time (`/usr/bin/time -f '%e %M %U %S'`): ru_maxrss of the command and its waited-for children"
  : 'polling VmHWM in /proc/<pid>/status of the direct child every 5 ms (GNU time not installed)'

/** Busy CPU time of the whole machine so far, in seconds (from /proc/stat; USER_HZ = 100). */
export function machineBusySeconds() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8')
    const v = f.slice(0, f.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / 100
  } catch {
    return NaN
  }
}

let seq = 0

/**
 * @param {object} o
 * @param {string} o.cmd
 * @param {string[]} o.args
 * @param {'null'|'pipe'} [o.stdout]  where the command's stdout goes ('null' = /dev/null)
 * @param {number} [o.timeoutMs]      kill the command's process group after this long
 * @param {string} [o.cwd]
 * @returns {Promise<{ok: boolean, wall: number, rssKiB: number|null, cpu: number|null, otherCores: number|null, code: number|null,
 *   signal: string|null, timedOut: boolean, stdout: string, stderr: string}>}
 */
export function measure({ cmd, args, stdout = 'null', timeoutMs = 0, cwd }) {
  return new Promise((resolve) => {
    const devnull = stdout === 'null' ? fs.openSync('/dev/null', 'w') : null
    const timeFile = HAVE_GNU_TIME ? path.join(os.tmpdir(), `buildlog-bench-${process.pid}-${seq++}.time`) : null
    const file = HAVE_GNU_TIME ? GNU_TIME : cmd
    const argv = HAVE_GNU_TIME ? ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args] : args
    const busy0 = machineBusySeconds()
    const t0 = process.hrtime.bigint()
    // detached: own process group, so a timeout can kill the whole pipeline by group id
    const child = spawn(file, argv, { cwd, stdio: ['ignore', devnull ?? 'pipe', 'pipe'], detached: true })
    if (devnull !== null) fs.closeSync(devnull)
    const out = []
    const err = []
    let errLen = 0
    child.stdout?.on('data', (b) => out.push(b))
    child.stderr.on('data', (b) => {
      if (errLen < 1 << 20) err.push(b)
      errLen += b.length
    })
    let hwm = null
    let poll = null
    if (!HAVE_GNU_TIME) {
      poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))
          if (m) hwm = Number(m[1])
        } catch {
          /* exited */
        }
      }, 5)
    }
    let timedOut = false
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true
            try {
              process.kill(-child.pid, 'SIGKILL')
            } catch {
              /* already gone */
            }
          }, timeoutMs)
        : null
    child.on('close', (code, signal) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9
      const busy = machineBusySeconds() - busy0
      if (timer) clearTimeout(timer)
      if (poll) clearInterval(poll)
      let rssKiB = hwm
      let cpu = null
      let exitCode = code
      if (timeFile) {
        try {
          const lines = fs.readFileSync(timeFile, 'utf8').trim().split('\n')
          const m = /^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$/.exec(lines[lines.length - 1] ?? '')
          if (m) {
            rssKiB = Number(m[2])
            cpu = Number(m[3]) + Number(m[4])
          }
          const ex = /Command exited with non-zero status (\d+)/.exec(lines.join('\n'))
          if (ex) exitCode = Number(ex[1])
          if (/Command terminated by signal/.test(lines.join('\n')) && exitCode === 0) exitCode = null
        } catch {
          /* killed before GNU time wrote it */
        }
        fs.rmSync(timeFile, { force: true })
      }
      resolve({
        ok: !timedOut && exitCode === 0 && signal === null,
        wall,
        rssKiB,
        cpu,
        // CPU time the rest of the machine used meanwhile, in cores (background load)
        otherCores: cpu !== null && Number.isFinite(busy) ? Math.max(0, (busy - cpu) / wall) : null,
        code: exitCode,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      })
    })
  })
}

export function median(xs) {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
