import fs from 'node:fs'
import { UsageError } from './args.js'

/** Exit codes: 0 success, 1 a failure the command reports (e.g. a failed build), 2 usage or input errors. */
export const EXIT_USAGE = 2
/** The output could not be written (a full disk, a broken device): sysexits' EX_IOERR. */
export const EXIT_OUTPUT = 74

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
    case 'ENOSPC': return 'No space left on device'
    case 'EIO': return 'Input/output error'
    case 'EFBIG': return 'File too large'
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

function isRegularFile(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isFile()
  } catch {
    return false
  }
}

/**
 * An input's chunks. Standard input redirected from a file is read as any file: process.stdin
 * would read it 64 KiB at a time, and `nixlog-clean < log` took twice as long as `nixlog-clean log`.
 */
function chunksOf(input: { fd: number }): AsyncIterable<Buffer> {
  if (input.fd === 0 && !isRegularFile(0)) return process.stdin
  return fs.createReadStream('', { fd: input.fd, highWaterMark: READ_CHUNK, autoClose: input.fd !== 0 })
}

/** The inputs one after another, as one byte stream (like `cat a b`). */
export async function* concatInputs(inputs: Array<{ name: string; fd: number }>): AsyncGenerator<Buffer> {
  for (const input of inputs) {
    const chunks = chunksOf(input)
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
    // what was not written is lost: say so, rather than end as if it all went out
    process.stderr.write(`${program}: cannot write output: ${describe(err)}\n`)
    process.exit(EXIT_OUTPUT)
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
    if (e?.syscall === 'write') {
      process.stderr.write(`${program}: cannot write output: ${describe(e)}\n`)
      process.exitCode = EXIT_OUTPUT
    } else if (e instanceof UsageError) {
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
