/**
 * `buildlog export --format html`: one self-contained page (inline CSS and JS, no network).
 *
 * Failure-aware folding needs to know, when a section opens, whether it will contain an error.
 * Give `writeHtml` a *factory* that can produce the events twice and it makes two passes: the first
 * counts (memory bounded by the number of sections), the second writes static HTML with the right
 * `open` attributes and header counts (correct even without JavaScript). Give it a plain iterable
 * and it makes one pass: sections are written closed and the page script opens the hot ones and
 * fills in the counts from a data block at the end of the page.
 */
import type { Writable } from 'node:stream'
import type { LogEvent } from '../../events.js'
import { planFromEvents, StatsCollector as StatsCollectorSync } from './stats.js'
import { HtmlWriter } from './writer.js'

export type EventSource = AsyncIterable<LogEvent> | Iterable<LogEvent>

export interface HtmlExportOptions {
  /** Page title (`<title>` and the header). Default: "Build log". */
  title?: string
}

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

async function write(out: Writable, s: string): Promise<void> {
  if (s.length === 0) return
  if (out.write(s, 'utf8') || out.writableLength < MAX_QUEUED) return
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
 * Writes the page for `source` to `out` (which is not ended). With a factory, two passes (static
 * folding); with an iterable, one pass (folding applied by the page script).
 */
export async function writeHtml(source: EventSource | (() => EventSource), out: Writable, options: HtmlExportOptions = {}): Promise<void> {
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
export { renderLine, styleAttrs } from './line.js'
export { escapeHtml, escapeLogText } from './escape.js'
