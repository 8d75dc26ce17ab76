/**
 * A big build log indexed on two cores. The main thread indexes the file up to a line start some
 * way in (the split, mainShare) as always, while a worker (index-worker.ts)
 * indexes from there on with the same code and records what it decided (index-record.ts), in
 * records that start and end where all its state is a fresh line's. Where the main thread is at a
 * record's start in that same state it plays the record into its tree, which takes about a tenth
 * of the time reading those bytes itself would. Where it is not — the split falls inside a newline
 * group, a record closes more nests than the main thread has open, the worker left a gap at a line
 * only the dialect's decoder reads — it reads the file itself up to the next record's start and
 * tries again there. So the tree is the one a single thread makes (test/parallel-index.test.ts
 * compares them), only sooner.
 */

import fs from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { IndexRecord } from './index-record.js'
import type { IndexWorkerInput, IndexWorkerMessage } from './index-worker.js'

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist')
/**
 * The worker's code: the one-file bundle `npm run build` makes (scripts/build-cli.mjs), whose
 * first record comes a median 62 ms after the worker is made, against 100 ms for the tsc output's
 * ~20 modules; those where the bundle is missing.
 */
const WORKER_MODULE = [join(DIST, 'bin', 'index-worker.cjs'), join(DIST, 'tree', 'index-worker.js')].find((p) => fs.existsSync(p))!

/**
 * Below this much left to index, one thread is as fast or faster: the worker's start and its
 * first, unoptimised megabytes cost it ~60–150 ms, and the two threads slow each other down on
 * this machine's two cores. Legacy corpus, alternated medians: 20 MiB 0.34 s on two threads
 * against 0.22 on one, 64 MiB 0.62 against 0.44, 120 MiB 0.72 against 0.74, 200 MiB 0.92 against
 * 1.04, 1 GiB 1.04–1.6× faster (bench/RESULTS.md). With the decoding in C since (medians of four
 * alternated rounds): 64 MiB 0.17 s against 0.18, 120 MiB 0.28 against 0.37, 200 MiB 0.43 against 0.50.
 * With the tree written in C (warm runs, four each): 128 MiB 0.15–0.19 s against 0.18–0.19, 160 MiB
 * 0.16–0.20 against 0.21–0.23. With the severity rules in C and reads ending at line ends (medians
 * of 10 fresh processes): 64 MiB 0.098 s against 0.092, 100 MiB 0.124 against 0.130, 128 MiB
 * 0.135 against 0.165.
 */
const PARALLEL_MIN_BYTES = 96 << 20
/**
 * Seconds a GiB of the legacy corpus costs each side with both threads running (fresh processes,
 * 200 MiB and 1 GiB files): the main thread decoding its share and writing the tree (1.36–1.66,
 * a slow run 2.0), the main thread playing the worker's records into the tree (in C:
 * native-tree.ts; 0.24–0.28), and the worker decoding (1.03–1.23); and the seconds from the
 * worker's start to its first record (51–67 ms).
 */
const MAIN_DECODES = 1.45
const MAIN_PLAYS = 0.25
const WORKER_DECODES = 1.1
const WORKER_START = 0.06

/**
 * Where the split goes, as the main thread's share of the `bytes` left: where both threads finish
 * together, s·MAIN_DECODES + (1 − s)·MAIN_PLAYS = WORKER_START/GiB + (1 − s)·WORKER_DECODES. The
 * worker's start is paid once, so a smaller file leaves the main thread more: 40 % of 1 GiB,
 * 50 % of 200 MiB, 58 % of 128 MiB. Measured, 25 fresh processes each on the 200 MiB file
 * (median wall): 0.45 0.181 s, 0.50 0.175, 0.55 0.184, 0.60 0.200; on 1 GiB, 0.34 to 0.43 alike
 * and 0.50 0.82 s against 0.77. (Before the tree was written in C, a third was best.)
 */
function mainShare(bytes: number): number {
  const share = (WORKER_START / (bytes / 2 ** 30) + WORKER_DECODES - MAIN_PLAYS) / (MAIN_DECODES - MAIN_PLAYS + WORKER_DECODES)
  return Math.min(share, MAX_SHARE)
}

/** The most the main thread takes: tests split files of kilobytes, which the model leaves all to it. */
const MAX_SHARE = 0.75
/** How far past the chosen point a line start is looked for; a log without one there is not split. */
const LINE_SEARCH_BYTES = 1 << 20

const LF = 0x0a

/** The first line start in [at, at + LINE_SEARCH_BYTES) of the file, or -1. */
function lineStartFrom(fd: number, at: number, end: number): number {
  const buf = Buffer.allocUnsafe(64 * 1024)
  for (let pos = at; pos < Math.min(end, at + LINE_SEARCH_BYTES); ) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos)
    if (n <= 0) return -1
    const lf = buf.subarray(0, n).indexOf(LF)
    if (lf !== -1) return pos + lf + 1 < end ? pos + lf + 1 : -1
    pos += n
  }
  return -1
}

/**
 * Where to split (for tests and the bench): the main thread's share, the least to split at all,
 * the input a record covers, and `force` to split a log whose start has lines only the dialect's
 * decoder reads (which LogSource otherwise leaves to one thread).
 */
export interface SplitOptions {
  share?: number
  minBytes?: number
  recordBytes?: number
  force?: boolean
}

export class ParallelIndex {
  private readonly worker: Worker
  private readonly records: IndexRecord[] = []
  private finished = false
  /** Called when a record or the worker's end arrives. */
  onMessage: (() => void) | undefined

  private constructor(
    fd: number,
    /** Where the worker's part starts: a line start. */
    readonly split: number,
    end: number,
    recordBytes: number | undefined,
  ) {
    this.postedTo = split
    const input: IndexWorkerInput = { fd, from: split, to: end, recordBytes }
    // (execArgv: none of the parent's loader hooks, which a test runner's are, at ~1 s a start)
    this.worker = new Worker(WORKER_MODULE, { workerData: input, execArgv: [] })
    this.worker.on('message', (message: IndexWorkerMessage) => {
      if ('record' in message) {
        this.records.push(message.record)
        this.postedTo = message.record.to
      } else {
        this.finished = true
        this.workerEnd = message.done
      }
      this.onMessage?.()
    })
    // a worker that could not start or failed leaves the rest to the main thread
    const over = (): void => {
      this.finished = true
      this.onMessage?.()
    }
    this.worker.on('error', over)
    this.worker.on('exit', over)
  }

  /**
   * Starts the worker on the later part of [from, end) of the file, when there is enough to share
   * and a line start to split at.
   */
  static start(fd: number, from: number, end: number, options: SplitOptions = {}): ParallelIndex | undefined {
    const { share = mainShare(end - from), minBytes = PARALLEL_MIN_BYTES } = options
    if (end - from < minBytes) return undefined
    let split: number
    try {
      split = lineStartFrom(fd, from + Math.floor(share * (end - from)), end)
    } catch {
      return undefined
    }
    return split > from ? new ParallelIndex(fd, split, end, options.recordBytes) : undefined
  }

  /**
   * The first record that starts at or after `pos`, once it has arrived (those before are of no
   * more use: the main thread read their bytes itself).
   */
  recordFrom(pos: number): IndexRecord | undefined {
    while (this.records.length > 0 && this.records[0]!.from < pos) this.records.shift()
    return this.records[0]
  }

  /** The record recordFrom() gave was played or given up. */
  drop(): void {
    this.records.shift()
  }

  /** Where the worker stopped, from its last message (-1 before it). */
  workerEnd = -1

  /** Where the last record that arrived ends (the split before any). */
  postedTo: number

  /** The worker has posted all it will. */
  get finishedPosting(): boolean {
    return this.finished
  }

  stop(): void {
    this.onMessage = undefined
    void this.worker.terminate()
  }
}
