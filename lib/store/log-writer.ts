/**
 * Writes a run's log as one gzip stream while the build runs. The compressor is flushed with
 * Z_SYNC_FLUSH every FLUSH_BYTES of input or FLUSH_MS after the first unflushed byte, and its output
 * goes to the file with synchronous writes, so a writer killed with SIGKILL leaves a gzip prefix
 * that the reader decodes up to the last flush (at most FLUSH_MS or FLUSH_BYTES behind).
 *
 * A write error (disk full, quota, file size limit) never reaches the caller: the writer stops,
 * reports once through `onError` and keeps counting, so the build goes on and its end is recorded.
 */
import fs from 'node:fs'
import zlib from 'node:zlib'

export const FLUSH_BYTES = 64 * 1024
export const FLUSH_MS = 200

export interface LogWriterOptions {
  flushBytes?: number
  flushMs?: number
  /** Called once, with the first error; the writer stores nothing after it. */
  onError?: (err: Error) => void
}

export class CompressedLogWriter {
  /** Uncompressed bytes given to write(). */
  bytesIn = 0
  /** Compressed bytes on disk. */
  bytesOut = 0
  /** The first error; nothing was stored after it. */
  error: Error | null = null

  private fd: number | null
  private readonly gzip: zlib.Gzip
  private unflushed = 0
  private timer: NodeJS.Timeout | null = null
  private readonly flushBytes: number
  private readonly flushMs: number
  private readonly ended: Promise<void>

  /** Creates `file` (0600, must not exist); throws if it cannot. */
  constructor(
    file: string,
    private readonly options: LogWriterOptions = {},
  ) {
    this.flushBytes = options.flushBytes ?? FLUSH_BYTES
    this.flushMs = options.flushMs ?? FLUSH_MS
    this.fd = fs.openSync(file, 'wx', 0o600)
    this.gzip = zlib.createGzip({ level: 6 })
    this.gzip.on('data', (out: Buffer) => this.store(out))
    this.ended = new Promise<void>((resolve) => {
      this.gzip.on('end', resolve)
      this.gzip.on('error', (err) => {
        this.fail(err)
        resolve()
      })
    })
  }

  write(chunk: Buffer): void {
    this.bytesIn += chunk.length
    if (this.error) return
    this.gzip.write(chunk)
    this.unflushed += chunk.length
    if (this.unflushed >= this.flushBytes) this.flush()
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.flushMs)
      this.timer.unref()
    }
  }

  /** Ends the gzip stream, waits until it is on disk and closes the file. Never rejects. */
  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (!this.gzip.destroyed && !this.gzip.writableEnded) this.gzip.end()
    await this.ended
    this.closeFd()
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.unflushed = 0
    if (!this.error && !this.gzip.writableEnded) this.gzip.flush(zlib.constants.Z_SYNC_FLUSH)
  }

  private store(out: Buffer): void {
    if (this.fd === null || this.error) return
    try {
      for (let at = 0; at < out.length; ) {
        const n = fs.writeSync(this.fd, out, at, out.length - at)
        at += n
        this.bytesOut += n
      }
    } catch (err) {
      this.fail(err as Error)
    }
  }

  private fail(err: Error): void {
    if (this.error) return
    this.error = err
    this.closeFd()
    this.options.onError?.(err)
  }

  private closeFd(): void {
    if (this.fd === null) return
    try {
      fs.closeSync(this.fd)
    } catch {
      // already gone
    }
    this.fd = null
  }
}
