/**
 * A log FILE, indexed in the background: the file is read in chunks and fed to the decoder, whose
 * events build the LogTree (offsets and flags only; no line text is kept). Line text is read on
 * demand: the raw byte range of the line is pread and decoded again, through a small cache.
 */

import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import { SniffingDecoder, decode, forcedDetection, type ByteDecoder, type DialectChoice } from '../decoder.js'
import { activityLogDecoder, BuildLogDecoder } from '../dialects/build-log.js'
import { DecodeContext } from '../dialects/context.js'
import type { Detection } from '../dialects/detect.js'
import { InternalJsonDecoder } from '../dialects/internal-json.js'
import { IndexDecoder } from './index-decoder.js'
import { ParallelIndex, type SplitOptions } from './parallel-index.js'
import type { LineEvent, LogEvent, StyleMark } from '../events.js'
import { LogTree } from './tree.js'
import { ROW_LIMIT, TITLE_CHARS } from './section-table.js'
import { SNIFF_BYTES } from '../dialects/detect.js'

export interface LineText {
  text: Buffer
  styles?: StyleMark[] | undefined
  /** Where escapes were removed, in UTF-16 units of the decoded text (for placeholders). */
  removed?: number[] | undefined
}

export interface ByteRange {
  offset: number
  end: number
}

/** Dialect of the input, as far as the index is concerned (re-decoding one line needs it). */
export type IndexDialect = DialectChoice

/**
 * One read of the index: small enough that the buffer it is read into stays in the core's L2
 * cache between reads (the kernel's copy into an evicted buffer once took an eighth of the
 * index's time), big enough that chunk ends are rare: a line cut by one went through the framer's
 * JavaScript path, and in a fresh process (not yet optimised) 64 KiB reads cost the 200 MiB
 * legacy corpus's index a fifth more than 256 KiB (medians of 7 fresh processes: 0.30–0.35 s
 * against 0.26 s; 1 MiB 0.27 s). Reads now end at a line end anyway (step()).
 */
const SLICE_BYTES = 256 * 1024
const LF = 0x0a
/** How much indexSync() reads at a time while the dialect is undecided. */
const SNIFF_STEP = 8192
const SLICE_MS = 12
/**
 * The most rows (lines and sections) one step can add: the decoders make at most one line per byte
 * and one section per 3 (an `ESC[p`), and the sniffer may let its whole window go at once.
 */
const ROWS_PER_STEP = 2 * (SNIFF_BYTES + 2 * SLICE_BYTES)
const MAX_LINE_READ = 256 * 1024
const CACHE_SIZE = 4096

/**
 * Re-decodes one line's raw byte range with the dialect the index used. For build logs (legacy
 * escapes, @nix lines) the range decodes on its own; the first line event starting at the range
 * start is the line.
 */
export function lineTextAt(raw: Buffer, dialect: IndexDialect = 'build'): LineText {
  let first: LineEvent | undefined
  for (const e of decode(raw, { dialect: dialect === 'auto' ? 'build' : dialect })) {
    if (e.type !== 'line') continue
    if (e.offset === 0 || first === undefined) {
      first = e
      if (e.offset === 0) break
    }
  }
  if (!first) return { text: Buffer.alloc(0) }
  const text = first.text
  const removed = first.removed?.map((at) => text.toString('utf8', 0, at).length)
  return { text, styles: first.styles, removed }
}

/** What the status line says when reading the log failed (`read error (EIO)`); search says the same. */
export const readErrorReason = (err: unknown): string => `read error (${(err as NodeJS.ErrnoException).code ?? String(err)})`

export interface LogSourceOptions {
  /** Keep reading after EOF (follow mode, or a pipe still being spooled). */
  follow?: boolean
  /** The input may still grow (a spool file fed by a pipe): EOF is not the end until `complete()`. */
  growing?: boolean
  /**
   * The input is written as it is read (a build `buildlog run` runs): sections are timed by their
   * arrival from the start, not only once a poll has waited for the writer (markLive).
   */
  live?: boolean
  pollMs?: number
  dialect?: DialectChoice
  /**
   * How build logs are indexed: `fast` (default) writes offsets straight into the tree and uses
   * events only for structure (IndexDecoder); `events` feeds every decoder event to the tree.
   */
  index?: 'fast' | 'events'
  /** Rows (lines and sections) the index may hold: ROW_LIMIT, unless a test wants a smaller one. */
  rowLimit?: number
  /**
   * Whether a big build log's later part is indexed on a second thread (parallel-index.ts), and
   * where it is split (for tests). Default: yes, unless BUILDLOG_INDEX_THREADS=1.
   */
  split?: SplitOptions | false
}

export declare interface LogSource {
  on(event: 'progress' | 'eof' | 'grow', listener: () => void): this
}

export class LogSource extends EventEmitter {
  readonly tree = new LogTree()
  private readonly pendingEvents: LogEvent[] = []
  private readonly decoder: SniffingDecoder
  private readonly readBuf = Buffer.allocUnsafe(SLICE_BYTES)
  private readonly cache = new Map<number, LineText>()
  private pos = 0
  private size = 0
  private ended = false
  private running = false
  private timer: NodeJS.Timeout | undefined
  private closed = false
  follow: boolean
  growing: boolean
  /** Time spent indexing (ms of CPU slices), for the bench. */
  indexMs = 0
  /**
   * Why indexing stopped before the end of the file, when it did (for the status line): the next
   * step could have passed the row limit, the file shrank under it, or a read failed. What was
   * indexed before stays.
   */
  stopped: string | undefined
  private readonly rowLimit: number
  /** The last byte read (finish() flushes an unterminated last line), or -1. */
  private lastByte = -1

  constructor(readonly fd: number, options: LogSourceOptions = {}) {
    super()
    this.follow = options.follow ?? false
    this.growing = options.growing ?? false
    if (options.live === true) this.markLive()
    this.size = fs.fstatSync(fd).size
    this.pollMs = options.pollMs ?? 200
    this.rowLimit = options.rowLimit ?? ROW_LIMIT
    const fast = (options.index ?? 'fast') === 'fast'
    this.splitOptions = options.split ?? (process.env['BUILDLOG_INDEX_THREADS'] === '1' ? false : {})
    this.decoder = new SniffingDecoder((d) => this.createDecoder(d, fast), forcedDetection(options.dialect ?? 'auto'))
  }

  /** The decoder for the detected dialect (as createDecoder picks it), or the index fast path. */
  private createDecoder(d: Detection, fast: boolean): ByteDecoder {
    const emit = (e: LogEvent): void => {
      this.pendingEvents.push(e)
    }
    if (d.dialect === 'internal-json') return new InternalJsonDecoder(emit, new DecodeContext(), activityLogDecoder)
    if (d.prefixed || !fast) return new BuildLogDecoder(emit, new DecodeContext(), { prefixed: d.prefixed })
    // structure events go to the tree at once: the fast path adds lines to it directly, in order
    return (this.indexDecoder = new IndexDecoder(this.tree))
  }

  /** The index fast path, when the input is a build log it handles. */
  indexDecoder: IndexDecoder | undefined

  private readonly splitOptions: SplitOptions | false
  /** The worker indexing the file's later part, until its records are played or given up. */
  private parallel: ParallelIndex | undefined
  /** Playing the worker's records (not reading the file); the nests open here meanwhile. */
  private playing = false
  private level = 0
  /**
   * For tests and the bench: where the worker's part started (-1: no split), the records played,
   * the bytes they covered, and where they lay ([from, to) ranges, adjacent ones merged).
   */
  splitAt = -1
  /** Where the worker stopped (-1: it has not): the end of its part, or where it gave up. */
  get workerEnd(): number {
    return this.parallel?.workerEnd ?? this.lastWorkerEnd
  }
  private lastWorkerEnd = -1
  replayedRecords = 0
  readonly playedRanges: Array<[number, number]> = []
  get replayedBytes(): number {
    return this.playedRanges.reduce((sum, [from, to]) => sum + to - from, 0)
  }

  /**
   * Once the fast path is chosen, for a file that will not grow: the worker starts on the later
   * part, and reading here stops at the split until the records are played.
   */
  private trySplit(): void {
    if (this.decoder.detection === null) return
    this.splitTried = true
    if (this.splitOptions === false || !this.indexDecoder || this.follow || this.growing) return
    // A log whose start has `@nix` lines or CI markers has them all along: the worker could play
    // little between them (its records end at each), and would only slow this thread down
    if (this.indexDecoder.dialectLines > 0 && this.splitOptions.force !== true) return
    this.parallel = ParallelIndex.start(this.fd, this.pos, this.size, this.splitOptions)
    if (this.parallel) this.splitAt = this.parallel.split
  }
  private splitTried = false

  /**
   * How much the next read may take: up to the split, or to the next record's start, where
   * playing may take over — at the earliest where the last record that arrived ends.
   */
  private readLimit(max: number): number {
    const parallel = this.parallel
    if (!parallel) return max
    const pos = this.pos
    const posted = parallel.postedTo
    const stop = pos < parallel.split ? parallel.split : (parallel.recordFrom(pos)?.from ?? (posted > pos ? posted : undefined))
    return stop === undefined ? max : Math.min(max, stop - pos)
  }

  /**
   * Past the split: plays the worker's record that starts here if this thread's state allows
   * ('played'), or reads the file up to the next record ('read'), or waits for the worker to post
   * one ('wait') while it is ahead.
   */
  private replayStep(parallel: ParallelIndex): 'played' | 'wait' | 'read' {
    const decoder = this.indexDecoder!
    const record = parallel.recordFrom(this.pos)
    if (record === undefined) {
      if (!parallel.finishedPosting && parallel.postedTo >= this.pos) return 'wait'
      if (parallel.finishedPosting) this.endParallel()
      return this.readHere()
    }
    if (record.from > this.pos) return this.readHere()
    if (!this.playing) {
      if (!decoder.resumable) {
        // not a fresh line here, as it was for the worker: read this record's bytes, try the next
        parallel.drop()
        return 'read'
      }
      this.playing = true
      this.level = decoder.level
    }
    const rows = this.tree.lines.length + this.tree.sections.length + record.count
    if (this.level + record.minDepth < 0 || rows > this.rowLimit - ROWS_PER_STEP) {
      parallel.drop()
      return this.readHere()
    }
    parallel.drop()
    decoder.replay(record)
    this.level += record.depth
    this.pos = record.to
    this.lastByte = 0x0a
    this.tree.indexedBytes = this.pos
    this.replayedRecords++
    const last = this.playedRanges.at(-1)
    if (last && last[1] === record.from) last[1] = record.to
    else this.playedRanges.push([record.from, record.to])
    return 'played'
  }

  /** This thread reads the file from here: after records, the decoder goes on where they ended. */
  private readHere(): 'read' {
    if (this.playing) this.indexDecoder!.resumeAt(this.pos, this.level)
    this.playing = false
    return 'read'
  }

  private endParallel(): void {
    if (this.parallel) this.lastWorkerEnd = this.parallel.workerEnd
    this.parallel?.stop()
    this.parallel = undefined
  }

  /** The dialect the decoder chose (auto-detected from the first bytes), used to re-decode lines. */
  get dialect(): IndexDialect {
    const d = this.decoder.detection
    if (!d) return 'build'
    return d.dialect === 'internal-json' ? 'internal-json' : d.prefixed ? 'prefixed' : 'build'
  }

  /**
   * A growing input shorter than the sniff window would show nothing until it grows: decide the
   * dialect from what there is.
   */
  private decideEarly(): void {
    if (this.decoder.detection === null) {
      this.decoder.decideNow()
      this.drain()
    }
  }

  readonly pollMs: number

  static open(path: string, options: LogSourceOptions = {}): LogSource {
    return new LogSource(fs.openSync(path, 'r'), options)
  }

  /** Bytes in the file as last seen. */
  get fileSize(): number {
    return this.size
  }

  get indexedBytes(): number {
    return this.pos
  }

  get indexing(): boolean {
    return !this.tree.done || (this.pos < this.size && this.stopped === undefined)
  }

  /**
   * Index synchronously up to `bytes` more (the first screen), and on until the dialect is
   * decided: until then the sniffing decoder holds everything back and the screen would be empty
   * (a log of long lines has fewer than 200 in 32 KiB). It decides by 64 KiB (SNIFF_BYTES) at the latest.
   */
  indexSync(bytes: number): void {
    const stop = Math.min(this.size, this.pos + bytes)
    while (this.pos < stop) if (!this.step(Math.min(SLICE_BYTES, stop - this.pos))) return
    while (this.decoder.detection === null && this.pos < this.size) if (!this.step(Math.min(SNIFF_STEP, this.size - this.pos))) return
  }

  /** Starts (or resumes) background indexing. */
  start(): void {
    if (this.running || this.closed) return
    if (this.stopped !== undefined) {
      // indexSync() stopped it: tell those waiting for the end
      setImmediate(() => this.emit('eof'))
      return
    }
    this.running = true
    setImmediate(() => this.slice())
  }

  private slice(): void {
    if (this.closed) return
    const t0 = performance.now()
    let progressed = false
    while (performance.now() - t0 < SLICE_MS) {
      // (the first steps decide the dialect, and with it whether the fast path can split)
      if (!this.splitTried) this.trySplit()
      const parallel = this.parallel
      if (parallel && this.pos >= parallel.split) {
        const played = this.replayStep(parallel)
        if (played === 'wait') {
          // the worker is behind: go on when it posts
          this.indexMs += performance.now() - t0
          if (progressed) this.emit('progress')
          this.running = false
          parallel.onMessage = () => {
            parallel.onMessage = undefined
            this.start()
          }
          return
        }
        if (played === 'played') {
          progressed = true
          continue
        }
      }
      if (this.pos >= this.size) {
        this.refreshSize()
        if (this.pos >= this.size) break
      }
      // (until the dialect is known, no more than the sniffer's window: the split comes after it)
      if (!this.step(this.decoder.detection === null ? SNIFF_BYTES : SLICE_BYTES)) break
      progressed = true
    }
    this.indexMs += performance.now() - t0
    if (progressed) this.emit('progress')
    if (this.pos < this.size && this.stopped === undefined) {
      setImmediate(() => this.slice())
      return
    }
    this.running = false
    if (this.stopped !== undefined) {
      this.emit('eof')
      return
    }
    if (this.follow || this.growing) this.decideEarly()
    if (!this.follow && !this.growing) this.finish()
    this.emit('eof')
    if ((this.follow || this.growing) && !this.closed) this.poll()
  }

  private poll(): void {
    if (this.timer || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.refreshSize()
      if (this.stopped !== undefined) this.emit('progress')
      else if (this.size > this.pos) {
        this.emit('grow')
        this.start()
      } else if (this.follow || this.growing) {
        this.markLive()
        this.poll()
      } else this.finish()
    }, this.pollMs)
  }

  /**
   * A poll found nothing new on input that may grow: its writer is slower than this reader, so
   * what comes from now on is read as it is written (a build running, a log being written), and
   * sections opened from now on are timed by their arrival. A log read at once, or a pipe from
   * `cat`, has no such pause, and no such times.
   */
  private markLive(): void {
    this.tree.now ??= Date.now
  }

  /** The input will not grow any more (the pipe ended). */
  complete(): void {
    this.growing = false
    if (!this.running && !this.follow) {
      this.refreshSize()
      if (this.pos < this.size) this.start()
      else this.finish()
    }
  }

  setFollow(on: boolean): void {
    this.follow = on
    if (on) {
      this.refreshSize()
      if (this.pos < this.size) this.start()
      else this.poll()
    }
  }

  private finish(): void {
    if (this.tree.done) return
    // A file whose last byte is LF has had all its lines decoded; keeping the decoder open lets
    // `F` pick up appended bytes later. Otherwise flush the last, unterminated line.
    const lastIsLf = this.pos === 0 || this.lastByte === 0x0a
    // A log shorter than the sniff window ending in LF: decide on all of it (EOF decides otherwise).
    if (lastIsLf) this.decideEarly()
    if (!lastIsLf && !this.ended) {
      this.ended = true
      this.decoder.end()
      this.drain()
    }
    this.tree.done = true
    this.emit('progress')
  }

  /** Stops indexing for good, with what it has (see `stopped`). */
  private stop(reason: string): void {
    if (this.stopped !== undefined) return
    this.stopped = reason
    this.finish()
  }

  /** The file's size now (the last known one when it cannot be asked). */
  private statSize(): number {
    try {
      return fs.fstatSync(this.fd).size
    } catch (err) {
      this.stop(readErrorReason(err))
      return this.size
    }
  }

  /** Asks the file's size again: shorter than what was indexed, it was truncated or rewritten under us. */
  private refreshSize(): void {
    this.size = this.statSize()
    if (this.size < this.pos) this.stop('file truncated')
  }

  private step(max: number): boolean {
    if (this.stopped !== undefined) return false
    if (this.tree.lines.length + this.tree.sections.length > this.rowLimit - ROWS_PER_STEP) {
      this.stop(`index full at ${Math.floor((100 * this.pos) / Math.max(1, this.size))}%`)
      return false
    }
    let n: number
    const want = this.readLimit(max)
    try {
      n = fs.readSync(this.fd, this.readBuf, 0, want, this.pos)
    } catch (err) {
      this.stop(readErrorReason(err))
      return false
    }
    if (n <= 0) {
      // nothing where the file had bytes: it may have shrunk
      if (this.pos < this.size) this.refreshSize()
      return false
    }
    // A full read ends at its last LF, and the next one reads the rest again: a line cut by a
    // chunk's end goes through the framer's JavaScript path, one at a line end stays in its C run.
    if (n === want) n = this.readBuf.lastIndexOf(LF, n - 1) + 1 || n
    this.lastByte = this.readBuf[n - 1]!
    this.pos += n
    if (this.ended) return true // a finished file grew after its last line was flushed; ignore
    // events may view the chunk; the index fast path keeps no view of it (its events copy text)
    const chunk = this.readBuf.subarray(0, n)
    this.decoder.write(this.indexDecoder ? chunk : Buffer.from(chunk))
    this.drain()
    this.tree.indexedBytes = this.pos
    return true
  }

  private drain(): void {
    const events = this.pendingEvents
    for (let k = 0; k < events.length; k++) this.tree.add(events[k]!)
    events.length = 0
  }

  /** Raw bytes of a range (capped). */
  readRange(range: ByteRange, cap = MAX_LINE_READ): Buffer {
    const len = Math.max(0, Math.min(range.end - range.offset, cap))
    const buf = Buffer.allocUnsafe(len)
    let n = 0
    try {
      if (len > 0) n = fs.readSync(this.fd, buf, 0, len, range.offset)
    } catch (err) {
      // the screen shows what it can; the status line says why the rest is missing
      this.stop(readErrorReason(err))
    }
    return buf.subarray(0, n)
  }

  /** Decoded text of line i, read from the file. */
  lineText(i: number): LineText {
    const hit = this.cache.get(i)
    if (hit) return hit
    const lines = this.tree.lines
    const t = lineTextAt(this.readRange({ offset: lines.offset(i), end: lines.end(i) }), this.dialect)
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!)
    this.cache.set(i, t)
    return t
  }

  /** Line i's bytes as they are in the file, without the LF that ends it (at most `cap`). */
  rawLine(i: number, cap = MAX_LINE_READ): Buffer {
    const lines = this.tree.lines
    const raw = this.readRange({ offset: lines.offset(i), end: lines.end(i) }, cap)
    return raw.length > 0 && raw[raw.length - 1] === 0x0a ? raw.subarray(0, raw.length - 1) : raw
  }

  /** A section's title: its own, else its head line's text (read from the file), cut as titles are. */
  title(s: number): string {
    const sections = this.tree.sections
    const head = sections.head(s)
    if (sections.hasTitle(s) || head < 0) return sections.title(s)
    const text = this.lineText(head).text.toString('utf8')
    return text.length > TITLE_CHARS ? text.slice(0, TITLE_CHARS) : text
  }

  close(): void {
    this.closed = true
    this.endParallel()
    if (this.timer) clearTimeout(this.timer)
    try {
      fs.closeSync(this.fd)
    } catch {
      // already closed
    }
  }
}
