import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { BuildLogDecoder } from './dialects/build-log.js'
import { DecodeContext } from './dialects/context.js'
import type { LogEvent } from './events.js'

export interface DecodeOptions {
  /** Reserved for dialect selection; the build-log dialect (legacy escapes + @nix lines) is used. */
  dialect?: 'auto' | 'build'
}

/** Something that takes bytes and calls back with events, synchronously. */
interface ByteDecoder {
  write(chunk: Uint8Array): void
  end(): void
}

function createByteDecoder(emit: (event: LogEvent) => void, _options: DecodeOptions): ByteDecoder {
  return new BuildLogDecoder(emit, new DecodeContext())
}

/** Decodes a whole log held in memory. */
export function decode(input: Uint8Array | string, options: DecodeOptions = {}): LogEvent[] {
  const events: LogEvent[] = []
  const decoder = createByteDecoder((e) => events.push(e), options)
  decoder.write(typeof input === 'string' ? Buffer.from(input) : input)
  decoder.end()
  return events
}

/**
 * A Transform stream: bytes in, LogEvent objects out (object mode on the readable side). The
 * result does not depend on how the input is chunked.
 */
export class LogDecoderStream extends Transform {
  private readonly decoder: ByteDecoder
  private readonly pending: LogEvent[] = []

  constructor(options: DecodeOptions = {}) {
    super({ readableObjectMode: true, writableObjectMode: false })
    this.decoder = createByteDecoder((e) => this.pending.push(e), options)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.decoder.write(chunk)
    this.drain()
    callback()
  }

  override _flush(callback: TransformCallback): void {
    this.decoder.end()
    this.drain()
    callback()
  }

  private drain(): void {
    for (const event of this.pending) this.push(event)
    this.pending.length = 0
  }
}

/** Decodes a byte stream (a file stream, stdin, a child's stdout) as an async iterable of events. */
export async function* decodeStream(source: Readable | AsyncIterable<Uint8Array>, options: DecodeOptions = {}): AsyncGenerator<LogEvent> {
  const pending: LogEvent[] = []
  const decoder = createByteDecoder((e) => pending.push(e), options)
  for await (const chunk of source) {
    decoder.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    yield* pending
    pending.length = 0
  }
  decoder.end()
  yield* pending
}
