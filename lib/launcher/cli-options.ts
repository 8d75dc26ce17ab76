import { resolve } from 'node:path'
import type { BindSpec, SandboxOptions } from './options.js'
import { validateOptions } from './spec-encoding.js'

/** Parsed `buildlog run` command line: the sandbox options plus the CLI's own. */
export interface RunCliOptions extends SandboxOptions {
  /** --log FILE: also write the full raw log there */
  logFile?: string
  /** false with --no-view: stream `nixlog-clean` output instead of opening the pager */
  view: boolean
  /** --help was given */
  help: boolean
}

export const RUN_HELP = `Usage: buildlog run [options] -- BUILDER [ARGS...]

Run BUILDER in a Linux namespace sandbox (modelled on Nix's) and stream its log into the
pager (or, with --no-view, into nixlog-clean output).

The builder runs as uid 1000 (builder), gid 100, with no capabilities, no_new_privs and a
seccomp filter, on a fresh read-only root with only what is declared below, a new /proc,
a minimal /dev, no network but loopback, and a clean environment.  When the builder exits,
everything it started is killed.

Mounts:
  --ro-bind SRC[:DST]     bind SRC read-only at DST (default: same path); a symlink is recreated
  --bind SRC[:DST]        bind SRC writable (nosuid, nodev)
  --build-dir DIR         bind DIR writable at /build: the cwd, TMPDIR and NIX_BUILD_TOP
  --store DIR             a store directory that cannot be listed (mode 0111) ...
  --path P                ... in which only these store paths exist (repeatable)

Builder:
  --env K=V               set a variable (repeatable); otherwise only HOME, PATH=/path-not-set,
                          TMPDIR & co., NIX_LOG_FD, TERM are set
  --network               share the host network (default: loopback only)
  --build-uid UID[:GID]   required as root: run the build as this host uid (never root)
  --allow-userns          let the builder create nested user namespaces
  --no-pty                give the builder a pipe instead of a pty (no colours)

Limits (0 = none):
  --timeout DUR           wall-clock limit, e.g. 90, 90s, 15m, 2h (plain numbers are seconds)
  --max-silent-time DUR   kill the build after DUR without output
  --max-log-size SIZE     cut the log at exactly SIZE bytes and kill the build (e.g. 100000, 10M, 1G;
                          K/M/G/T are powers of 1024)

Checks and output:
  --disallow PATH         after a successful build, fail if an output in the build dir refers to
                          the store path PATH (its 32-character hash part); repeatable
  --log FILE              also write the raw log to FILE
  --no-view               do not open the pager; print the cleaned log to stdout
  -h, --help              show this help

Exit status: the builder's code; 128+N if it was killed by signal N; 124 timeout,
123 max-silent-time, 122 max-log-size, 125 setup error, 126/127 builder not executable/not
found, 130 cancelled, 69 sandbox unavailable, 65 disallowed reference, 2 usage error.
`

const DUR_UNITS: Record<string, number> = { ms: 1, s: 1000, '': 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90" (seconds), "1.5s", "500ms", "15m", "2h", "1d" -> milliseconds; undefined if invalid. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min|h|d)?$/.exec(s.trim())
  if (!m) return undefined
  const ms = Number(m[1]) * (DUR_UNITS[m[2] ?? ''] as number)
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : undefined
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** "100000", "10M", "10MiB", "1G", "512k" -> bytes (binary multiples); undefined if invalid. */
export function parseSize(s: string): number | undefined {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(s.trim())
  if (!m) return undefined
  const v = Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] as number)
  return Number.isSafeInteger(v) ? v : undefined
}

function parseBind(v: string): BindSpec {
  // SRC[:DST]: split at the last ':' followed by '/', so that SRC may contain ':'.
  // A relative SRC is taken relative to the cwd; DST defaults to the resolved SRC.
  const i = v.lastIndexOf(':/')
  return i > 0 ? { src: resolve(v.slice(0, i)), dst: v.slice(i + 1) } : { src: resolve(v) }
}

const WITH_VALUE = new Set([
  '--ro-bind', '--bind', '--build-dir', '--store', '--path', '--env', '--timeout',
  '--max-silent-time', '--max-log-size', '--build-uid', '--disallow', '--log',
])
const FLAGS = new Set(['--network', '--no-view', '--allow-userns', '--no-pty', '--pty', '-h', '--help'])

/**
 * Parses `buildlog run` arguments (without the leading "run").  Errors are one-line messages
 * for the CLI to print before exiting with 2.
 */
export function parseRunArgs(argv: string[]): { options: RunCliOptions; errors: string[] } {
  const o: RunCliOptions = { argv: [], view: true, help: false }
  const errors: string[] = []
  let i = 0
  for (; i < argv.length; i++) {
    let a = argv[i] as string
    if (a === '--') {
      i++
      break
    }
    let value: string | undefined
    const eq = a.startsWith('--') ? a.indexOf('=') : -1
    if (eq > 0 && WITH_VALUE.has(a.slice(0, eq))) {
      value = a.slice(eq + 1)
      a = a.slice(0, eq)
    }
    if (WITH_VALUE.has(a)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) {
          errors.push(`${a} needs a value`)
          continue
        }
        value = argv[++i] as string
      }
    } else if (!FLAGS.has(a)) {
      if (a.startsWith('-')) errors.push(`unknown option ${a} (see buildlog run --help)`)
      else {
        // no '--': the builder starts at the first non-option
        break
      }
      continue
    }
    const v = value as string
    switch (a) {
      case '--ro-bind':
        ;(o.roBinds ??= []).push(parseBind(v))
        break
      case '--bind':
        ;(o.binds ??= []).push(parseBind(v))
        break
      case '--build-dir':
        o.buildDir = resolve(v)
        break
      case '--store':
        o.storeDir = v
        break
      case '--path':
        ;(o.paths ??= []).push(v)
        break
      case '--env': {
        const k = v.indexOf('=')
        if (k <= 0) errors.push(`--env needs K=V, got ${JSON.stringify(v)}`)
        else (o.env ??= {})[v.slice(0, k)] = v.slice(k + 1)
        break
      }
      case '--timeout':
      case '--max-silent-time': {
        const ms = parseDuration(v)
        if (ms === undefined) errors.push(`${a} needs a duration like 90, 90s, 15m or 2h, got ${JSON.stringify(v)}`)
        else if (a === '--timeout') o.timeoutMs = ms
        else o.maxSilentMs = ms
        break
      }
      case '--max-log-size': {
        const n = parseSize(v)
        if (n === undefined) errors.push(`--max-log-size needs a size like 100000, 10M or 1G, got ${JSON.stringify(v)}`)
        else o.maxLogBytes = n
        break
      }
      case '--build-uid': {
        const m = /^(\d+)(?::(\d+))?$/.exec(v)
        if (!m || Number(m[1]) === 0 || (m[2] !== undefined && Number(m[2]) === 0)) errors.push(`--build-uid needs UID[:GID], non-zero numbers, got ${JSON.stringify(v)}`)
        else {
          o.buildUid = Number(m[1])
          if (m[2] !== undefined) o.buildGid = Number(m[2])
        }
        break
      }
      case '--disallow':
        ;(o.disallow ??= []).push(v)
        break
      case '--log':
        o.logFile = v
        break
      case '--network':
        o.network = true
        break
      case '--no-view':
        o.view = false
        break
      case '--allow-userns':
        o.allowUserns = true
        break
      case '--no-pty':
        o.pty = false
        break
      case '--pty':
        o.pty = true
        break
      case '-h':
      case '--help':
        o.help = true
        break
    }
  }
  o.argv = argv.slice(i)
  if (o.argv.length === 0 && !o.help) errors.push('no builder given: buildlog run [options] -- BUILDER [ARGS...]')
  if (errors.length === 0 && !o.help) {
    try {
      validateOptions(o)
    } catch (e) {
      errors.push((e as Error).message)
    }
  }
  return { options: o, errors }
}
