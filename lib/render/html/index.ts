/**
 * `buildlog export --format html`: one self-contained page (inline CSS and JS, no network).
 *
 * Two pages. The *live* page (./writer.ts) has every line in the DOM, so browser find sees all of
 * it; failure-aware folding needs to know, when a section opens, whether it will contain an
 * error, so it is written from a `Plan` (./stats.ts) made in a first pass — static folding, correct
 * without JavaScript — or, from a plain iterable in one pass, applied by the page script from a
 * data block at the end. The *lazy* page (./lazy.ts) is for big logs: inert text blocks that the
 * page script turns into DOM when shown, written in one pass.
 *
 * `writeHtml` decodes once either way: it holds events until the log proves big (LAZY_THRESHOLD);
 * a small log is then rendered live from the held events, a big one continues as the lazy page.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { LogEvent } from '../../events.js'
import { planFromEvents, StatsCollector as StatsCollectorSync } from './stats.js'
import { HtmlWriter } from './writer.js'
import { LazyHtmlWriter } from './lazy.js'

export type EventSource = AsyncIterable<LogEvent> | Iterable<LogEvent>

export interface HtmlExportOptions {
  /** Page title (`<title>` and the header). Default: "Build log". */
  title?: string
  /**
   * The lazy page (content turned into DOM by the page script when shown; browser find sees only
   * what is shown) instead of the live one (everything in the DOM). Default 'auto': lazy above
   * LAZY_THRESHOLD.
   */
  lazy?: boolean | 'auto'
}

/**
 * Above this much log text (bytes of line text) or this many lines, `lazy: 'auto'` writes the lazy
 * page. Measured in headless Chromium on this project's legacy corpus (2 cores): the live page of a
 * 1 MiB log (11 k lines) was ready in 1.5 s, 2 MiB (22 k lines) in 3 s, 8 MiB (87 k lines) in
 * about 10 s. Below the threshold browser find (Ctrl-F) sees every line; see the README.
 */
export const LAZY_THRESHOLD = { bytes: 2 << 20, lines: 25_000 } as const

/** The options the CLI should offer for `export --format html`, for its help text. */
export const HTML_EXPORT_OPTIONS = [
  { flag: '-o, --output FILE', help: 'write the page to FILE instead of standard output' },
  { flag: '--title TITLE', help: 'page title (default: the input file name, or "Build log")' },
] as const

/** Flush to `out` when this many characters are pending. */
const FLUSH_AT = 1 << 20
/**
 * Wait for 'drain' only when more than this many bytes are queued in `out`: a file stream's
 * high-water mark is 16 KiB, and a round trip per chunk would dominate the export time. Memory
 * stays bounded by this plus one flush.
 */
const MAX_QUEUED = 8 << 20

async function write(out: Writable, s: string | Buffer): Promise<void> {
  if (s.length === 0) return
  if (out.write(s) || out.writableLength < MAX_QUEUED) return
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      out.off('error', onError)
      resolve()
    }
    const onError = (err: Error) => {
      out.off('drain', onDrain)
      reject(err)
    }
    out.once('drain', onDrain)
    out.once('error', onError)
  })
}

/**
 * Writes the page for `source` to `out` (which is not ended).
 *
 * `lazy: 'auto'` (the default): events are held in memory until the log proves big (more than
 * LAZY_THRESHOLD text bytes or lines). A small log then gets the live page, rendered from the held
 * events without decoding twice: static folding with a factory (works without JavaScript), one pass
 * with an iterable. A big log switches to the lazy page (./lazy.ts), still in one pass.
 * `lazy: true` / `false` force either page (`false` with a factory decodes twice, as before).
 */
export async function writeHtml(source: EventSource | (() => EventSource), out: Writable, options: HtmlExportOptions = {}): Promise<void> {
  const mode = options.lazy ?? 'auto'
  if (mode === false) return writeLive(source, out, options)
  const factory = typeof source === 'function'
  const events = factory ? source() : source
  let lazy: LazyHtmlWriter | undefined
  let spool: { path: string; stream: WriteStream } | undefined
  let held: LogEvent[] = []
  let bytes = 0
  let lines = 0
  const startLazy = async () => {
    // the blocks go to a temporary file: the page needs the data block (known at the end) first
    const dir = await mkdtemp(join(tmpdir(), 'buildlog-html-'))
    spool = { path: join(dir, 'blocks'), stream: createWriteStream(join(dir, 'blocks')) }
    lazy = new LazyHtmlWriter({ title: options.title })
    lazy.start()
    for (const e of held) lazy.event(e)
    held = []
  }
  try {
    if (mode === true) await startLazy()
    for await (const e of events) {
      if (lazy) {
        lazy.event(e)
        if (lazy.pending >= FLUSH_AT) await write(spool!.stream, lazy.take())
        continue
      }
      held.push(e)
      if (e.type === 'line') {
        lines++
        bytes += e.text.length
        if (bytes > LAZY_THRESHOLD.bytes || lines > LAZY_THRESHOLD.lines) await startLazy()
      }
    }
    if (!lazy) return await writeLive(factory ? () => held : held, out, options)
    const { head, tail } = lazy.finish()
    await write(spool!.stream, lazy.take())
    spool!.stream.end()
    await finished(spool!.stream)
    await write(out, head)
    for await (const chunk of createReadStream(spool!.path, { highWaterMark: 1 << 20 })) await write(out, chunk as Buffer)
    await write(out, tail)
  } finally {
    if (spool) {
      spool.stream.destroy()
      await rm(dirname(spool.path), { recursive: true, force: true })
    }
  }
}

/** The live page: with a factory, two passes (static folding); with an iterable, one pass. */
async function writeLive(source: EventSource | (() => EventSource), out: Writable, options: HtmlExportOptions): Promise<void> {
  let events: EventSource
  let writer: HtmlWriter
  if (typeof source === 'function') {
    const plan = await planFromEvents(source())
    events = source()
    writer = new HtmlWriter({ title: options.title, plan })
  } else {
    events = source
    writer = new HtmlWriter({ title: options.title })
  }
  writer.start()
  for await (const e of events) {
    writer.event(e)
    if (writer.pending >= FLUSH_AT) await write(out, writer.take())
  }
  writer.finish()
  await write(out, writer.take())
}

/** The whole page as one string, for small logs and tests. `twoPass` (default true) gives static folding. */
export function renderHtml(events: readonly LogEvent[], options: HtmlExportOptions & { twoPass?: boolean } = {}): string {
  if (options.lazy === true) {
    const lazy = new LazyHtmlWriter({ title: options.title })
    lazy.start()
    for (const e of events) lazy.event(e)
    const { head, tail } = lazy.finish()
    return head + lazy.take().toString('utf8') + tail
  }
  let plan
  if (options.twoPass !== false) {
    const c = new StatsCollectorSync()
    for (const e of events) c.event(e)
    plan = c.finish()
  }
  const writer = new HtmlWriter({ title: options.title, plan })
  writer.start()
  for (const e of events) writer.event(e)
  writer.finish()
  return writer.take()
}

export { StatsCollector, planFromEvents, type Plan, type SectionStats } from './stats.js'
export { HtmlWriter, CHUNK_LINES } from './writer.js'
export { LazyHtmlWriter, BLOCK_CHARS } from './lazy.js'
export { renderLine, styleAttrs, REMOVED_MARK } from './line.js'
export { escapeHtml, escapeLogText } from './escape.js'
