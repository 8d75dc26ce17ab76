/**
 * A headless terminal for tests and the bench (pager.md §4): the pager writes into fake TTY streams
 * of a fixed size, every byte goes to @xterm/headless (a devDependency: only tests and the bench
 * import this module), and keys are raw bytes pushed into the input.
 */

import { PassThrough, Writable } from 'node:stream'
import xterm from '@xterm/headless'
import { LogSource, type LogSourceOptions } from '../tree/source.js'
import { FirstScreen } from './first-screen.js'
import { Pager, type PagerOptions } from './pager.js'

export interface Headless {
  pager: Pager
  term: InstanceType<typeof xterm.Terminal>
  /** Every byte written to the terminal (the first screen's, then the pager's). */
  written: Buffer[]
  /** With `firstScreen`: the bytes of the first screen and the screen they drew, before the pager took over. */
  first?: { written: Buffer; screen: string[] } | undefined
  press(keys: string): Promise<void>
  settle(): Promise<void>
  /** The screen as text, one string per row, right-trimmed. */
  screen(): string[]
  resize(cols: number, rows: number): Promise<void>
  close(): Promise<number>
}

/**
 * Opens the pager on a headless terminal. With `firstScreen`, the CLI's start is reproduced: the
 * first screen is painted (and captured) before the pager is created and takes over.
 */
export async function openHeadless(path: string, opts: PagerOptions & { cols?: number; rows?: number; source?: LogSourceOptions; firstScreen?: boolean } = {}): Promise<Headless> {
  const cols = opts.cols ?? 80
  const rows = opts.rows ?? 24
  const term = new xterm.Terminal({ cols, rows, allowProposedApi: true })
  const written: Buffer[] = []
  let pending: Promise<void> = Promise.resolve()
  const output = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        const b = Buffer.from(chunk)
        written.push(b)
        pending = pending.then(() => new Promise<void>((r) => term.write(new Uint8Array(b), r)))
        cb()
      },
    }),
    { isTTY: true, columns: cols, rows },
  )
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode(m: boolean) {
      this.isRaw = m
      return this
    },
  })
  const source = LogSource.open(path, opts.source)
  const screen = (): string[] => {
    const out: string[] = []
    const buf = term.buffer.active
    for (let y = 0; y < term.rows; y++) out.push(buf.getLine(y)?.translateToString(true).trimEnd() ?? '')
    return out
  }
  let first: Headless['first']
  let firstScreen: FirstScreen | undefined
  if (opts.firstScreen) {
    firstScreen = new FirstScreen({ input, output })
    firstScreen.paint(source, { elide: opts.elide ?? true, chop: opts.chop ?? false, lineNumbers: opts.lineNumbers ?? false, color: opts.color ?? true })
    await pending
    first = { written: Buffer.concat(written), screen: screen() }
  }
  const pager = new Pager(source, { input, output }, { term: 'xterm-256color', ...opts, ...(firstScreen ? { firstBytes: 0 } : {}) })
  firstScreen?.handOver()
  const settle = async (): Promise<void> => {
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setTimeout(r, 5))
    await pending
  }
  await settle()
  return {
    pager,
    term,
    written,
    first,
    settle,
    async press(keys: string) {
      input.write(keys)
      await settle()
    },
    screen,
    async resize(c: number, r: number) {
      output.columns = c
      output.rows = r
      term.resize(c, r)
      output.emit('resize')
      await settle()
    },
    async close() {
      pager.quit(0)
      await settle()
      return pager.exited
    },
  }
}

/** Waits until `pred` holds (polling), at most `ms`. */
export async function until(pred: () => boolean, ms = 5000): Promise<boolean> {
  const t0 = Date.now()
  while (!pred()) {
    if (Date.now() - t0 > ms) return false
    await new Promise((r) => setTimeout(r, 10))
  }
  return true
}
