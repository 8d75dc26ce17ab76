import fs from 'node:fs'

/** Text gathered before a write: a gigabyte of outline is then a few thousand writes, not millions. */
const TEXT_BLOCK = 64 * 1024

const sleeper = new Int32Array(new SharedArrayBuffer(4))
/**
 * The waits while a pipe stays full, in ms: one while a reader drains it (shorter ones only made
 * more failed writes: nixlog-clean into `wc` took a fifth longer), doubling up to ten while one
 * waits (`| less` left open), so that an idle reader costs a hundred wake-ups a second.
 */
const FIRST_WAIT_MS = 1
const LONGEST_WAIT_MS = 10

/**
 * Blocking writes to a file descriptor, for output that must not pile up in memory: the filter's
 * pieces (nixlog-clean), and the text of the exports' writers, which call back a line at a time
 * (writeOutline, writeTreeJson) — a Node stream would queue all of it when the reader is behind
 * (a gigabyte of outline for a log nested 30,000 deep; a pipe's writev of that queue failed with
 * ENOBUFS). If the descriptor was left non-blocking (Node makes a pipe on stdout non-blocking once
 * `process.stdout` is touched), a full pipe answers EAGAIN: wait and try again, which is how a
 * slow reader holds the writer back.
 */
export class BlockingWriter {
  private pending = ''

  constructor(private readonly fd: number) {}

  /** Pieces of output, in order, after any text gathered before them. */
  write(pieces: readonly Uint8Array[]): void {
    this.flush()
    for (const piece of pieces) writeAll(this.fd, piece)
  }

  /** Text, gathered into blocks (flush() writes the rest). */
  text(s: string): void {
    this.pending += s
    if (this.pending.length >= TEXT_BLOCK) this.flush()
  }

  flush(): void {
    if (this.pending === '') return
    const buf = Buffer.from(this.pending)
    this.pending = ''
    writeAll(this.fd, buf)
  }
}

function writeAll(fd: number, buf: Uint8Array): void {
  let wait = FIRST_WAIT_MS
  for (let at = 0; at < buf.length; ) {
    try {
      at += fs.writeSync(fd, buf, at, buf.length - at)
      wait = FIRST_WAIT_MS
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      Atomics.wait(sleeper, 0, 0, wait)
      wait = Math.min(LONGEST_WAIT_MS, 2 * wait)
    }
  }
}
