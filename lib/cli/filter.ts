import fs from 'node:fs'
import { SniffTimer, type SniffingDecoder } from '../decoder.js'
import { concatInputs, describe, InputError, openInputs, READ_CHUNK } from './io.js'

// The pipe-filter pump of nixlog-clean (and of buildlog view when stdout is not a terminal),
// apart from io.ts so that commands that do not filter do not load the decoder at start-up.

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
 * Every input is read with fs.read into two buffers in turn: the next chunk is read on libuv's
 * thread pool (the other core) while the filter works on the last one, and the output is
 * written with blocking writes as soon as a chunk is filtered. That keeps a pipe from a build
 * drained (a fifth faster than a stream over stdin) and costs a file nothing. A pipe or terminal
 * may stall: there the dialect is decided after SNIFF_PATIENCE_MS without more input (SniffTimer).
 */
export async function runFilter(operands: readonly string[], filter: ByteFilter): Promise<void> {
  const inputs = openInputs(operands)
  const out = new BlockingWriter(1)
  const flush = (): void => out.write(filter.takePieces())
  const buffers = [Buffer.allocUnsafe(READ_CHUNK), Buffer.allocUnsafe(READ_CHUNK)] as const
  for (const input of inputs) {
    const sniffTimer = fs.fstatSync(input.fd).isFile() ? null : new SniffTimer(filter.decoder, flush)
    const written = (): void => {
      flush()
      sniffTimer?.afterWrite()
    }
    try {
      if (!(await pumpReads(input, filter, buffers, written))) {
        // A non-blocking descriptor (its flags are shared with whoever else holds it): libuv's
        // stream waits for it, where a plain read answers EAGAIN.
        for await (const chunk of concatInputs([input])) {
          filter.write(chunk)
          written()
        }
      }
    } finally {
      sniffTimer?.cancel()
    }
  }
  filter.end()
  flush()
}

type Input = { name: string; fd: number }

/**
 * Reads `input` to its end through `filter`. False when a read answered EAGAIN (a non-blocking
 * descriptor; that read consumed nothing, and everything read before went through the filter):
 * the caller reads the rest another way.
 */
async function pumpReads(input: Input, filter: ByteFilter, buffers: readonly [Buffer, Buffer], written: () => void): Promise<boolean> {
  let next = read(input, buffers[0])
  for (let k = 0; ; k ^= 1) {
    let n: number
    try {
      n = await next
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false
      throw new InputError(`cannot read '${input.name}': ${describe(err as NodeJS.ErrnoException)}`)
    }
    if (n === 0) return true
    // The other buffer's output went out with the last chunk: it is free to read into.
    next = read(input, buffers[k ^ 1])
    filter.write(buffers[k].subarray(0, n))
    written()
  }
}

function read(input: Input, buffer: Buffer): Promise<number> {
  const pending = new Promise<number>((resolve, reject) => {
    fs.read(input.fd, buffer, 0, buffer.length, null, (err, n) => (err ? reject(err) : resolve(n)))
  })
  // If the output fails (EPIPE) while a read is out, nobody awaits it any more: no unhandled rejection.
  pending.catch(() => {})
  return pending
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
