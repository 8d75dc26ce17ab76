import { EventEmitter } from 'node:events'

/** `error` member of an exit event (setup errors only). */
export interface HelperError {
  step: string
  errno: number
  message: string
  unavailable: boolean
}

export interface StartedEvent {
  event: 'started'
  setupMs: number
}

/** The one `exit` event the helper writes on fd 4 (see native/buildlog-sandbox.c). */
export interface ExitEvent {
  event: 'exit'
  reason: 'exited' | 'signaled' | 'timeout' | 'max-silent' | 'log-limit' | 'cancelled' | 'setup-error'
  exitCode: number | null
  signal: number | null
  /** the helper's own exit status (the exit-code table) */
  status: number
  wallMs: number
  setupMs: number
  runMs: number
  logBytes: number
  truncated: boolean
  userMs?: number
  sysMs?: number
  error?: HelperError
}

export type SandboxEvent = StartedEvent | ExitEvent

/**
 * The NDJSON events of one run: an EventEmitter ('event' for every event, plus 'started' and
 * 'exit') that is also an async iterable.  Iteration replays events already seen, so a consumer
 * that starts late misses nothing.
 */
export class SandboxEvents extends EventEmitter implements AsyncIterable<SandboxEvent> {
  readonly seen: SandboxEvent[] = []
  #closed = false
  #wake: (() => void) | undefined

  /** @internal */
  push(ev: SandboxEvent): void {
    this.seen.push(ev)
    this.emit('event', ev)
    this.emit(ev.event, ev)
    this.#wake?.()
  }

  /** @internal */
  close(): void {
    this.#closed = true
    this.#wake?.()
    this.emit('end')
  }

  get closed(): boolean {
    return this.#closed
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SandboxEvent> {
    let i = 0
    for (;;) {
      while (i < this.seen.length) yield this.seen[i++] as SandboxEvent
      if (this.#closed) return
      await new Promise<void>(resolve => {
        this.#wake = resolve
      })
      this.#wake = undefined
    }
  }
}

/** Splits fd 4 into lines and parses each as JSON; a malformed line is reported, not thrown. */
export class NdjsonSplitter {
  #rest = ''
  constructor(
    private readonly onEvent: (ev: SandboxEvent) => void,
    private readonly onBadLine: (line: string) => void,
  ) {}

  write(chunk: Buffer | string): void {
    const text = this.#rest + chunk.toString()
    const lines = text.split('\n')
    this.#rest = lines.pop() ?? ''
    for (const line of lines) this.#line(line)
  }

  end(): void {
    if (this.#rest.trim() !== '') this.#line(this.#rest)
    this.#rest = ''
  }

  #line(line: string): void {
    if (line.trim() === '') return
    let v: unknown
    try {
      v = JSON.parse(line)
    } catch {
      this.onBadLine(line)
      return
    }
    if (typeof v === 'object' && v !== null && ((v as { event?: unknown }).event === 'started' || (v as { event?: unknown }).event === 'exit')) {
      this.onEvent(v as SandboxEvent)
    } else {
      this.onBadLine(line)
    }
  }
}
