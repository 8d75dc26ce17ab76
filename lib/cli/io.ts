import fs from 'node:fs'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { SniffTimer, type SniffingDecoder } from '../decoder.js'
import { UsageError } from './args.js'

/** Exit codes: 0 success, 1 a failure the command reports (e.g. a failed build), 2 usage or input errors. */
export const EXIT_USAGE = 2

/** An input problem the user can fix (missing file, unreadable, a directory): one line, exit 2. */
export class InputError extends Error {}

const READ_CHUNK = 256 * 1024

function describe(err: NodeJS.ErrnoException): string {
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

/** The inputs one after another, as one byte stream (like `cat a b`). */
export async function* concatInputs(inputs: Array<{ name: string; fd: number }>): AsyncGenerator<Buffer> {
  for (const input of inputs) {
    const stream: Readable = input.fd === 0 ? process.stdin : fs.createReadStream('', { fd: input.fd, highWaterMark: READ_CHUNK })
    try {
      for await (const chunk of stream) yield chunk as Buffer
    } catch (err) {
      throw new InputError(`cannot read '${input.name}': ${describe(err as NodeJS.ErrnoException)}`)
    }
  }
}

/** A Transform built from a per-chunk function and an end function, both returning output bytes. */
export function byteTransform(onChunk: (chunk: Buffer) => Buffer | string | null, onEnd: () => Buffer | string | null): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback) {
      const out = onChunk(chunk)
      callback(null, out === null || out.length === 0 ? undefined : out)
    },
    flush(callback: TransformCallback) {
      const out = onEnd()
      callback(null, out === null || out.length === 0 ? undefined : out)
    },
  })
}

/** A byte face the filter pump drives: the Cleaner (bytes in, output pieces out). */
export interface ByteFilter {
  write(chunk: Buffer): void
  end(): void
  /** Output since the last call, in order; pieces may point into the last chunk written. */
  takePieces(): Buffer[]
  /** The dialect sniffer, which a stalled pipe must not keep waiting. */
  readonly decoder: SniffingDecoder
}

/**
 * Streams the inputs through `filter` to stdout, ending quietly if the reader goes away.
 *
 * Regular files are read with blocking reads into one reused buffer, and output is written with
 * blocking writes as soon as each chunk is filtered: a file never stalls, and this loop costs a
 * fraction of what stream machinery does per chunk. Pipes and terminals are read as streams, so
 * that a stalled build still gets its dialect decided after SNIFF_PATIENCE_MS (SniffTimer).
 */
export async function runFilter(operands: readonly string[], filter: ByteFilter): Promise<void> {
  const inputs = openInputs(operands)
  const out = new BlockingWriter(1)
  const flush = (): void => out.write(filter.takePieces())
  let buffer: Buffer | null = null
  for (const input of inputs) {
    if (input.fd !== 0 && fs.fstatSync(input.fd).isFile()) {
      buffer ??= Buffer.allocUnsafe(READ_CHUNK)
      for (;;) {
        const n = readInput(input, buffer)
        if (n === 0) break
        filter.write(buffer.subarray(0, n))
        flush()
      }
      continue
    }
    const sniffTimer = new SniffTimer(filter.decoder, flush)
    try {
      for await (const chunk of concatInputs([input])) {
        filter.write(chunk)
        flush()
        sniffTimer.afterWrite()
      }
    } finally {
      sniffTimer.cancel()
    }
  }
  filter.end()
  flush()
}

function readInput(input: { name: string; fd: number }, buffer: Buffer): number {
  try {
    return fs.readSync(input.fd, buffer, 0, buffer.length, null)
  } catch (err) {
    throw new InputError(`cannot read '${input.name}': ${describe(err as NodeJS.ErrnoException)}`)
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/**
 * Blocking writes to a file descriptor. If the descriptor was left non-blocking (Node makes a
 * pipe on stdout non-blocking once `process.stdout` is touched), a full pipe answers EAGAIN: wait
 * a millisecond and try again, which is how a slow reader (`| less`) holds the filter back.
 */
export class BlockingWriter {
  constructor(private readonly fd: number) {}

  write(pieces: readonly Buffer[]): void {
    for (const piece of pieces) {
      let at = 0
      while (at < piece.length) {
        try {
          at += fs.writeSync(this.fd, piece, at, piece.length - at)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
          Atomics.wait(sleeper, 0, 0, 1)
        }
      }
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
