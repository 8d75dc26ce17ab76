import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { asBuffer } from './bytes.js'
import { activityLogDecoder, BuildLogDecoder } from './dialects/build-log.js'
import { DecodeContext } from './dialects/context.js'
import { SNIFF_BYTES, SNIFF_LINES, detect, type Detection } from './dialects/detect.js'
import { InternalJsonDecoder } from './dialects/internal-json.js'
import type { EventSink, LogEvent } from './events.js'

/**
 * Which dialect to read (`--dialect`). `auto` sniffs the start of the input (spec §1); `legacy`,
 * `build` and `ci` all mean the build-log decoder (legacy escapes, `@nix` lines and CI markers are
 * one layered decoder); `prefixed` is build-log mode with `nix build -L` prefixes demultiplexed.
 */
export const DIALECTS = ['auto', 'legacy', 'build', 'ci', 'prefixed', 'internal-json'] as const
export type DialectChoice = (typeof DIALECTS)[number]

export interface DecodeOptions {
  dialect?: DialectChoice
}

/** Something that takes bytes and calls back with events, synchronously. */
export interface ByteDecoder {
  write(chunk: Uint8Array): void
  end(): void
}

function decoderFor(detection: Detection, emit: EventSink, context: DecodeContext): ByteDecoder {
  if (detection.dialect === 'internal-json') {
    return new InternalJsonDecoder(emit, context, activityLogDecoder)
  }
  return new BuildLogDecoder(emit, context, { prefixed: detection.prefixed })
}

/**
 * Holds input back until the dialect is known (at most SNIFF_BYTES or SNIFF_LINES complete lines,
 * or end of input), then replays it into the chosen decoder. The decision depends only on those
 * first bytes, so the output does not depend on how the input was chunked.
 */
export class SniffingDecoder implements ByteDecoder {
  private inner: ByteDecoder | null = null
  private held: Buffer[] = []
  private heldBytes = 0
  private heldLines = 0
  /** What was decided, once it is. */
  detection: Detection | null = null

  constructor(
    private readonly create: (detection: Detection) => ByteDecoder,
    forced: Detection | null = null,
  ) {
    if (forced) this.decide(forced)
  }

  write(chunk: Uint8Array): void {
    if (this.inner) return this.inner.write(chunk)
    const buf = asBuffer(chunk)
    this.heldBytes += buf.length
    for (let at = buf.indexOf(0x0a); at !== -1 && this.heldLines < SNIFF_LINES; at = buf.indexOf(0x0a, at + 1)) this.heldLines++
    if (this.heldBytes >= SNIFF_BYTES || this.heldLines >= SNIFF_LINES) {
      this.held.push(buf) // replayed before this call returns: no copy needed
      this.decideFromHead(false)
    } else {
      this.held.push(Buffer.from(buf)) // kept past this call: the caller may reuse its buffer
    }
  }

  end(): void {
    if (!this.inner) this.decideFromHead(true)
    this.inner!.end()
  }

  /** Decides on what has arrived so far (a live view cannot wait for 64 KiB that may never come). */
  decideNow(): void {
    if (!this.inner) this.decideFromHead(false)
  }

  private decideFromHead(atEof: boolean): void {
    const head = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, Math.min(this.heldBytes, SNIFF_BYTES))
    this.decide(detect(head.subarray(0, SNIFF_BYTES), atEof && this.heldBytes <= SNIFF_BYTES))
  }

  private decide(detection: Detection): void {
    this.detection = detection
    this.inner = this.create(detection)
    const held = this.held
    this.held = []
    for (const chunk of held) this.inner.write(chunk)
  }
}

/**
 * How long a stream waits for more input before deciding the dialect on what it has: a live build
 * piped in must not sit silent until 64 KiB or 200 lines have arrived. Files arrive faster than
 * this, so for them the decision still rests on the full sniff window.
 */
export const SNIFF_PATIENCE_MS = 50

/** Arms (once) a timer that decides the dialect if input stalls before the sniff window fills. */
export class SniffTimer {
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly decoder: SniffingDecoder,
    private readonly onDecided: () => void,
  ) {}

  afterWrite(): void {
    if (this.decoder.detection !== null || this.timer !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      if (this.decoder.detection === null) {
        this.decoder.decideNow()
        this.onDecided()
      }
    }, SNIFF_PATIENCE_MS)
    this.timer.unref()
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}

/** The detection a `--dialect` choice forces, or null for `auto`. */
export function forcedDetection(choice: DialectChoice | undefined): Detection | null {
  switch (choice ?? 'auto') {
    case 'auto': return null
    case 'internal-json': return { dialect: 'internal-json', prefixed: false }
    case 'prefixed': return { dialect: 'build', prefixed: true }
    default: return { dialect: 'build', prefixed: false }
  }
}

export function createDecoder(emit: EventSink, options: DecodeOptions = {}): SniffingDecoder {
  const context = new DecodeContext()
  return new SniffingDecoder((d) => decoderFor(d, emit, context), forcedDetection(options.dialect))
}

/** Decodes a whole log held in memory. */
export function decode(input: Uint8Array | string, options: DecodeOptions = {}): LogEvent[] {
  const events: LogEvent[] = []
  const decoder = createDecoder((e) => events.push(e), options)
  decoder.write(typeof input === 'string' ? Buffer.from(input) : input)
  decoder.end()
  return events
}

/** Input bytes LogDecoderStream takes before it asks its source to wait. */
const INPUT_AHEAD_BYTES = 1 << 20

export interface DecoderStreamOptions extends DecodeOptions {
  /**
   * Push one array of events per input chunk instead of one event at a time. The events are the
   * same; a stream's per-item bookkeeping (a push and a 'data' event) is then paid per chunk.
   */
  batch?: boolean
}

/**
 * A Transform stream: bytes in, LogEvent objects out (object mode on the readable side; with
 * `batch`, LogEvent[] arrays). The result does not depend on how the input is chunked.
 */
export class LogDecoderStream extends Transform {
  private readonly decoder: SniffingDecoder
  private pending: LogEvent[] = []
  private readonly sniffTimer: SniffTimer
  private readonly batch: boolean

  constructor(options: DecoderStreamOptions = {}) {
    // Room for a few input chunks: a source piped in reads ahead while a chunk decodes instead of
    // waiting for each decode to drain the default 16 KiB (measured on the 200 MiB legacy file:
    // the main thread's idle time 221 -> 38 ms, medians 2.02 -> 1.93 s in 8 alternating runs).
    super({ readableObjectMode: true, writableObjectMode: false, writableHighWaterMark: INPUT_AHEAD_BYTES })
    this.batch = options.batch === true
    this.decoder = createDecoder((e) => this.pending.push(e), options)
    this.sniffTimer = new SniffTimer(this.decoder, () => this.drain())
  }

  /**
   * Decodes each chunk one turn of the event loop after it arrives. A source in flowing mode
   * (`pipe`, `pipeline`) asks for its next chunk only once its 'data' handlers return: decoding
   * inside them would leave the read waiting for the decode and the decode for the read. Deferred,
   * the read (a file's runs on libuv's thread pool) overlaps the decode on another core.
   */
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    setImmediate(() => this.decodeChunk(chunk, callback))
  }

  private decodeChunk(chunk: Buffer, callback: TransformCallback): void {
    try {
      this.decoder.write(chunk)
    } catch (err) {
      callback(err as Error)
      return
    }
    this.drain()
    this.sniffTimer.afterWrite()
    callback()
  }

  override _flush(callback: TransformCallback): void {
    this.sniffTimer.cancel()
    this.decoder.end()
    this.drain()
    callback()
  }

  private drain(): void {
    if (this.pending.length === 0) return
    if (this.batch) {
      this.push(this.pending)
      this.pending = []
      return
    }
    for (const event of this.pending) this.push(event)
    this.pending.length = 0
  }
}

/** Decodes a byte stream (a file stream, stdin, a child's stdout) as an async iterable of events. */
export async function* decodeStream(source: Readable | AsyncIterable<Uint8Array>, options: DecodeOptions = {}): AsyncGenerator<LogEvent> {
  const pending: LogEvent[] = []
  const decoder = createDecoder((e) => pending.push(e), options)
  for await (const chunk of source) {
    decoder.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    yield* pending
    pending.length = 0
  }
  decoder.end()
  yield* pending
}
