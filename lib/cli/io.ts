import fs from 'node:fs'
import { UsageError } from './args.js'

/** Exit codes: 0 success, 1 a failure the command reports (e.g. a failed build), 2 usage or input errors. */
export const EXIT_USAGE = 2

/** An input problem the user can fix (missing file, unreadable, a directory): one line, exit 2. */
export class InputError extends Error {}

/** How much one read takes from an input. */
export const READ_CHUNK = 256 * 1024

/** An errno as the one line a user reads after a file name. */
export function describe(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'No such file or directory'
    case 'EACCES': return 'Permission denied'
    case 'EISDIR': return 'Is a directory'
    case 'ENOTDIR': return 'Not a directory'
    case 'ELOOP': return 'Too many levels of symbolic links'
    default: return err.message.replace(/^[A-Z]+: /, '')
  }
}

/**
 * Opens every named input before any output is written, so a typo fails cleanly with exit 2 and
 * no half-written output. `-` (or no operand) is standard input.
 */
export function openInputs(operands: readonly string[]): Array<{ name: string; fd: number }> {
  const names = operands.length === 0 ? ['-'] : operands
  return names.map((name) => {
    if (name === '-') return { name: '<stdin>', fd: 0 }
    let fd: number
    try {
      fd = fs.openSync(name, 'r')
    } catch (err) {
      throw new InputError(`cannot open '${name}': ${describe(err as NodeJS.ErrnoException)}`)
    }
    if (fs.fstatSync(fd).isDirectory()) throw new InputError(`cannot read '${name}': Is a directory`)
    return { name, fd }
  })
}

function readChunk(fd: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.allocUnsafe(READ_CHUNK)
    fs.read(fd, buf, 0, READ_CHUNK, null, (err, n) => (err ? reject(err) : resolve(n < READ_CHUNK ? buf.subarray(0, n) : buf)))
  })
}

/**
 * A regular file's chunks with the next read already under way while the caller works on one:
 * a stream would start it only after, and wait for it (~10 % of nixlog-clean's time on a file).
 * Each chunk is a Buffer of its own, as a stream's are.
 */
export async function* fileChunks(fd: number): AsyncGenerator<Buffer> {
  let next = readChunk(fd)
  for (;;) {
    const chunk = await next
    if (chunk.length === 0) return
    next = readChunk(fd)
    // (a caller that stops early leaves one read under way: its error, if any, must not surface)
    next.catch(() => {})
    yield chunk
  }
}

function isRegularFile(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isFile()
  } catch {
    return false
  }
}

/** The inputs one after another, as one byte stream (like `cat a b`); standard input redirected from a file is read as a file. */
export async function* concatInputs(inputs: Array<{ name: string; fd: number }>): AsyncGenerator<Buffer> {
  for (const input of inputs) {
    const chunks: AsyncIterable<Buffer> = input.fd !== 0 || isRegularFile(0) ? fileChunks(input.fd) : (process.stdin as AsyncIterable<Buffer>)
    try {
      for await (const chunk of chunks) yield chunk
    } catch (err) {
      throw new InputError(`cannot read '${input.name}': ${describe(err as NodeJS.ErrnoException)}`)
    }
  }
}

/** Installs the handlers every command shares: EPIPE ends quietly, errors become one line and exit 2. */
export async function runMain(program: string, main: () => Promise<number | void>): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
  })
  try {
    const code = await main()
    process.exitCode = code ?? 0
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') {
      process.exitCode = 0
      return
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${program}: ${e.message}\nTry '${program} --help' for more information.\n`)
      process.exitCode = EXIT_USAGE
    } else if (e instanceof InputError) {
      process.stderr.write(`${program}: ${e.message}\n`)
      process.exitCode = EXIT_USAGE
    } else {
      process.stderr.write(`${program}: internal error: ${e?.message ?? String(e)}\n`)
      if (process.env.BUILDLOG_DEBUG) process.stderr.write(`${e?.stack}\n`)
      process.exitCode = 70
    }
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
