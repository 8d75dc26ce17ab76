/**
 * The worker thread of a parallel index (parallel-index.ts). It indexes the file's bytes
 * [from, to) with the main thread's own fast path (IndexDecoder), assuming what the main thread
 * checks once it gets there: that `from` starts a fresh line. How deep the nests open at `from`
 * are it cannot know, so it starts as deep as no log gets, and each record says how far its closes
 * went below its start. It posts a record (index-record.ts) every RECORD_BYTES or so, each from
 * and to a point where all its state is a fresh line's, so that the main thread can take over at
 * either end. Where only the main thread can decide (a line for the dialect's decoder, a
 * diagnostic) the record is dropped, and the next starts at the next such point: a gap the main
 * thread reads itself.
 */

import fs from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { IndexDecoder } from './index-decoder.js'
import { IndexRecorder, type IndexRecord } from './index-record.js'

export interface IndexWorkerInput {
  fd: number
  from: number
  to: number
  /** Input a record covers at least (RECORD_BYTES; tests make it small). */
  recordBytes?: number | undefined
}

/** What the worker posts: records, then `done`: where it stopped (nothing follows it). */
export type IndexWorkerMessage = { record: IndexRecord } | { done: number }

/**
 * A read: small enough to stay in the core's 1 MiB L2 cache while it is decoded, and big enough
 * that the calls cost little — the worker's 90 MiB of the 200 MiB legacy corpus took 134–143 ms
 * at 256 KiB against 142–172 at 64 KiB.
 */
const READ_BYTES = 256 * 1024
/** Input a record covers at least: where a record does not fit, the main thread reads at most this much itself. */
const RECORD_BYTES = 1 << 20
/**
 * Past this many records' worth of input, a worker that got less than half of it into records
 * (lines for the dialect's decoder everywhere) gives up: the main thread reads all of it anyway,
 * and runs faster alone.
 */
const TRIAL_RECORDS = 4
/** Nests open at `from`, as far as this thread knows: closes never run out. */
const DEEP = 2 ** 30
const LF = 0x0a

function post(message: IndexWorkerMessage): void {
  if ('record' in message) parentPort!.postMessage(message, [message.record.words.buffer as ArrayBuffer])
  else parentPort!.postMessage(message)
}

/** Indexes [from, to) and posts the records; returns where it stopped. */
function indexPart({ fd, from, to, recordBytes = RECORD_BYTES }: IndexWorkerInput): number {
  const recorder = new IndexRecorder(from)
  const decoder = new IndexDecoder(recorder)
  decoder.resumeAt(from, DEEP)
  const buf = Buffer.allocUnsafe(READ_BYTES)
  let pos = from
  // buf[0, held): read, not yet written — the start of a line; writes end with an LF, so that
  // after each one the main thread could take over
  let held = 0
  let posted = 0
  while (pos < to) {
    const n = fs.readSync(fd, buf, held, Math.min(READ_BYTES - held, recordBytes, to - pos), pos)
    if (n <= 0) break
    pos += n
    const filled = held + n
    const lastLf = buf.lastIndexOf(LF, filled - 1)
    const cut = lastLf >= 0 ? lastLf + 1 : filled
    decoder.write(buf.subarray(0, cut))
    buf.copy(buf, 0, cut, filled)
    held = filled - cut
    const at = decoder.offset
    if (at - from >= TRIAL_RECORDS * recordBytes && posted < (at - from) / 2) return at
    if (!decoder.resumable) continue
    if (recorder.broken) recorder.restartAt(at)
    else if ((at - recorder.start >= recordBytes || pos >= to) && recorder.size > 0) {
      posted += at - recorder.start
      post({ record: recorder.take(at) })
    }
  }
  return pos
}

const input = workerData as IndexWorkerInput
let stoppedAt = input.from
try {
  stoppedAt = indexPart(input)
} catch {
  // a read that failed: the main thread reads the rest itself, and says why if it fails there too
}
post({ done: stoppedAt })
