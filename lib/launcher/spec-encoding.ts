import type { SandboxOptions } from './options.js'

/**
 * Encodes SandboxOptions as the helper's spec: NUL-terminated tokens on fd 3 (sandbox.md §2).
 * No JSON parser in the security-critical C, every byte but NUL allowed, no ARG_MAX, and nothing
 * secret in /proc/<pid>/cmdline.  The helper validates everything again.
 */

export const SPEC_VERSION = 'v1'
export const SPEC_MAX_BYTES = 4 * 1024 * 1024
export const BUILD_DIR_IN_SANDBOX = '/build'

export class SpecError extends Error {
  override name = 'SpecError'
}

/** Absolute, normalised: no empty, `.` or `..` components, no trailing slash, no NUL. */
export function isNormalisedAbsolute(p: string): boolean {
  if (!p.startsWith('/') || p.includes('\0')) return false
  if (p === '/') return true
  return p
    .slice(1)
    .split('/')
    .every(c => c !== '' && c !== '.' && c !== '..')
}

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : dir + '/')
}

function checkPath(what: string, p: string): void {
  if (!isNormalisedAbsolute(p)) throw new SpecError(`${what} must be an absolute normalised path (no '..', '.', '//' or trailing '/'): ${JSON.stringify(p)}`)
}

function checkDst(what: string, p: string): void {
  checkPath(what, p)
  if (p === '/') throw new SpecError(`${what} cannot be /`)
  if (isUnder(p, '/proc') || isUnder(p, '/dev')) throw new SpecError(`${what} cannot be under /proc or /dev: ${p}`)
}

function checkMs(what: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new SpecError(`${what} must be a non-negative integer, got ${v}`)
}

/** The 32-character nix32 hash part of a store path (or a bare hash). */
export const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz'
export function hashPartOf(path: string): string | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1)
  const h = base.slice(0, 32)
  if (h.length !== 32 || (base.length > 32 && base[32] !== '-')) return undefined
  for (const c of h) if (!NIX32_ALPHABET.includes(c)) return undefined
  return h
}

/** Validates the options; throws SpecError with a one-line message. */
export function validateOptions(o: SandboxOptions): void {
  if (!Array.isArray(o.argv) || o.argv.length === 0 || o.argv[0] === '') throw new SpecError('no builder given')
  for (const a of o.argv) if (a.includes('\0')) throw new SpecError('builder arguments cannot contain NUL')
  const dsts = new Map<string, string>()
  const addDst = (dst: string, what: string) => {
    const prev = dsts.get(dst)
    if (prev !== undefined) throw new SpecError(`two mounts on ${dst} (${prev} and ${what})`)
    dsts.set(dst, what)
  }
  for (const [kind, list] of [['--ro-bind', o.roBinds], ['--bind', o.binds]] as const) {
    for (const b of list ?? []) {
      checkPath(`${kind} source`, b.src)
      const dst = b.dst ?? b.src
      checkDst(`${kind} destination`, dst)
      addDst(dst, `${kind} ${b.src}`)
    }
  }
  if (o.buildDir !== undefined) {
    checkPath('--build-dir', o.buildDir)
    addDst(BUILD_DIR_IN_SANDBOX, `--build-dir ${o.buildDir}`)
  }
  if (o.cwd !== undefined) checkPath('cwd', o.cwd)
  if (o.paths?.length && o.storeDir === undefined) throw new SpecError('--path needs --store')
  if (o.storeDir !== undefined) {
    checkDst('--store', o.storeDir)
    if (dsts.has(o.storeDir)) throw new SpecError(`--store ${o.storeDir} is also a mount destination`)
    for (const p of o.paths ?? []) {
      checkPath('--path', p)
      if (!isUnder(p, o.storeDir) || p === o.storeDir) throw new SpecError(`--path ${p} is not inside the store ${o.storeDir}`)
      addDst(p, `--path ${p}`)
    }
  }
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) throw new SpecError(`bad environment variable name or value: ${JSON.stringify(k)}`)
  }
  checkMs('timeout', o.timeoutMs)
  checkMs('max-silent-time', o.maxSilentMs)
  checkMs('max-log-size', o.maxLogBytes)
  if (o.buildUid !== undefined) {
    const g = o.buildGid ?? o.buildUid
    if (!Number.isSafeInteger(o.buildUid) || o.buildUid <= 0 || o.buildUid >= 0xffffffff) throw new SpecError(`--build-uid must be a non-zero uid, got ${o.buildUid}`)
    if (!Number.isSafeInteger(g) || g <= 0 || g >= 0xffffffff) throw new SpecError(`--build-uid gid must be non-zero, got ${g}`)
  }
  if (o.disallow?.length && o.buildDir === undefined) throw new SpecError('--disallow needs --build-dir (the outputs to scan)')
  for (const d of o.disallow ?? []) {
    if (hashPartOf(d) === undefined) throw new SpecError(`--disallow needs a store path whose name starts with a 32-character nix32 hash: ${d}`)
  }
  if (typeof o.pty === 'object') {
    const { cols, rows } = o.pty
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1 || cols > 10000 || rows > 10000) throw new SpecError('pty size must be 1..10000')
  }
}

/** Encodes validated options into the spec bytes. */
export function encodeSpec(o: SandboxOptions): Buffer {
  validateOptions(o)
  const t: string[] = [SPEC_VERSION]
  for (const b of o.roBinds ?? []) t.push('ro', b.src, b.dst ?? b.src)
  for (const b of o.binds ?? []) t.push('rw', b.src, b.dst ?? b.src)
  if (o.buildDir !== undefined) t.push('rw', o.buildDir, BUILD_DIR_IN_SANDBOX)
  if (o.storeDir !== undefined) {
    t.push('store', o.storeDir)
    for (const p of o.paths ?? []) t.push('ro', p, p)
  }
  const cwd = o.cwd ?? (o.buildDir !== undefined ? BUILD_DIR_IN_SANDBOX : undefined)
  if (cwd !== undefined) t.push('cwd', cwd)
  for (const [k, v] of Object.entries(o.env ?? {})) t.push('env', `${k}=${v}`)
  if (o.timeoutMs) t.push('timeout-ms', String(o.timeoutMs))
  if (o.maxSilentMs) t.push('max-silent-ms', String(o.maxSilentMs))
  if (o.maxLogBytes) t.push('max-log-bytes', String(o.maxLogBytes))
  t.push('net', o.network ? 'host' : 'none')
  if (o.buildUid !== undefined) t.push('build-uid', String(o.buildUid), String(o.buildGid ?? o.buildUid))
  const pty = o.pty ?? true
  if (pty !== false) {
    const { cols, rows } = pty === true ? { cols: 80, rows: 24 } : pty
    t.push('pty', String(cols), String(rows))
  }
  if (o.allowUserns) t.push('allow-userns')
  if (o.seccomp === false) t.push('no-seccomp')
  t.push('--', ...o.argv)
  const buf = Buffer.concat(t.map(s => Buffer.from(s + '\0', 'utf8')))
  if (buf.length > SPEC_MAX_BYTES) throw new SpecError(`spec is larger than ${SPEC_MAX_BYTES} bytes`)
  return buf
}
