import { Transform, type TransformCallback } from 'node:stream'
import { SniffTimer } from '../decoder.js'
import { BuildLogFramer } from '../dialects/build-log-framer.js'
import { Cleaner, type CleanerOptions } from './cleaner.js'
import { XmlWriter } from './xml.js'

/** `nixlog-clean` as a Transform: log bytes in, cleaned bytes out, as each chunk arrives. */
export class CleanStream extends Transform {
  private readonly cleaner: Cleaner
  private readonly sniffTimer: SniffTimer

  constructor(options: CleanerOptions) {
    super()
    this.cleaner = new Cleaner(options)
    this.sniffTimer = new SniffTimer(this.cleaner.decoder, () => {
      const out = this.cleaner.take()
      if (out) this.push(out)
    })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.cleaner.write(chunk)
    this.sniffTimer.afterWrite()
    callback(null, this.cleaner.take() ?? undefined)
  }

  override _flush(callback: TransformCallback): void {
    this.sniffTimer.cancel()
    this.cleaner.end()
    callback(null, this.cleaner.take() ?? undefined)
  }
}

/** log2xml-compatible XML as a Transform; unbalanced-close diagnostics go to `onDiagnostic`. */
export class XmlStream extends Transform {
  private readonly parts: string[] = []
  private readonly writer: XmlWriter
  private readonly framer: BuildLogFramer

  constructor(onDiagnostic: (message: string) => void) {
    super()
    this.writer = new XmlWriter((s) => this.parts.push(s), onDiagnostic)
    this.framer = new BuildLogFramer(this.writer, { keepSgr: false })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.framer.write(chunk)
    callback(null, this.takeText())
  }

  override _flush(callback: TransformCallback): void {
    this.framer.end()
    this.writer.finish()
    callback(null, this.takeText())
  }

  private takeText(): Buffer | undefined {
    if (this.parts.length === 0) return undefined
    const out = Buffer.from(this.parts.join(''))
    this.parts.length = 0
    return out
  }
}
