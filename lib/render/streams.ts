import { Transform, type TransformCallback } from 'node:stream'
import { BuildLogFramer } from '../dialects/build-log-framer.js'
import { CleanWriter, type CleanOptions } from './clean.js'
import { XmlWriter } from './xml.js'

/** `nixlog-clean` as a Transform: log bytes in, cleaned bytes out, as each chunk arrives. */
export class CleanStream extends Transform {
  private readonly writer: CleanWriter
  private readonly framer: BuildLogFramer

  constructor(options: CleanOptions & { color: boolean }) {
    super()
    this.writer = new CleanWriter(options)
    this.framer = new BuildLogFramer(this.writer, { keepSgr: options.color })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.framer.write(chunk)
    callback(null, this.writer.take() ?? undefined)
  }

  override _flush(callback: TransformCallback): void {
    this.framer.end()
    callback(null, this.writer.take() ?? undefined)
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
