import { spawnSync } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Locates native/build/buildlog-sandbox, rebuilding it with scripts/build-native.mjs when it is
 * missing or older than native/buildlog-sandbox.c (this also covers `--ignore-scripts`).
 */

/** The package root: this module lives in lib/launcher/ (sources) or dist/launcher/ (compiled). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const HELPER_SOURCE = join(PACKAGE_ROOT, 'native', 'buildlog-sandbox.c')
export const HELPER_BINARY = join(PACKAGE_ROOT, 'native', 'build', 'buildlog-sandbox')
export const BUILD_SCRIPT = join(PACKAGE_ROOT, 'scripts', 'build-native.mjs')

/** The sandbox cannot run here; `details` carries e.g. the compiler output. */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError'
  constructor(
    message: string,
    readonly details = '',
  ) {
    super(message)
  }
}

function mtimeMs(p: string): number | undefined {
  try {
    return statSync(p).mtimeMs
  } catch {
    return undefined
  }
}

function isFresh(): boolean {
  const bin = mtimeMs(HELPER_BINARY)
  if (bin === undefined) return false
  const src = mtimeMs(HELPER_SOURCE)
  return src === undefined || bin >= src
}

let cached: string | undefined

/** Returns the helper's path, compiling it first if needed; throws SandboxUnavailableError. */
export function ensureHelperBinary(): string {
  if (cached !== undefined && isFresh()) return cached
  if (process.platform !== 'linux') throw new SandboxUnavailableError('the build sandbox needs Linux')
  if (!isFresh()) {
    // synchronous on purpose: it runs at most once per install, and runSandboxed stays simple
    const r = spawnSync(process.execPath, [BUILD_SCRIPT], { encoding: 'utf8', env: process.env })
    if (!isFresh()) {
      const out = `${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}`.trim()
      throw new SandboxUnavailableError(
        `sandbox unavailable: could not compile the sandbox helper ${HELPER_BINARY} (needs a C compiler, e.g. \`apt-get install gcc libc6-dev\`, or set CC)`,
        out,
      )
    }
  }
  try {
    accessSync(HELPER_BINARY, constants.X_OK)
  } catch (e) {
    throw new SandboxUnavailableError(`sandbox unavailable: ${HELPER_BINARY} is not executable`, String(e))
  }
  cached = HELPER_BINARY
  return cached
}
