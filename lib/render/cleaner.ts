import { forcedDetection, SniffingDecoder, type ByteDecoder, type DialectChoice } from '../decoder.js'
import { activityLogDecoder } from '../dialects/build-log.js'
import { BuildLogFramer } from '../dialects/build-log-framer.js'
import { DecodeContext } from '../dialects/context.js'
import type { Detection } from '../dialects/detect.js'
import { InternalJsonDecoder } from '../dialects/internal-json.js'
import { CleanWriter, type CleanOptions } from './clean.js'
import { EventCleanWriter } from './clean-events.js'

export interface CleanerOptions extends CleanOptions {
  /** Keep SGR colour; without it every escape goes. */
  color: boolean
  dialect?: DialectChoice
}

/**
 * The whole `nixlog-clean` pipeline: sniff the dialect, then either the byte-level fast path
 * (build logs: framer → CleanWriter) or the event path (internal-json → EventCleanWriter).
 */
export class Cleaner implements ByteDecoder {
  readonly decoder: SniffingDecoder
  private output: { take(): Buffer | null; takePieces?(): Buffer[] } | null = null

  constructor(options: CleanerOptions) {
    this.decoder = new SniffingDecoder((d) => this.create(d, options), forcedDetection(options.dialect))
  }

  private create(detection: Detection, options: CleanerOptions): ByteDecoder {
    if (detection.dialect === 'internal-json') {
      const writer = new EventCleanWriter(options.color)
      this.output = writer
      return new InternalJsonDecoder(writer.sink, new DecodeContext(), activityLogDecoder)
    }
    const writer = new CleanWriter(options)
    this.output = writer
    return new BuildLogFramer(writer, { keepSgr: options.color })
  }

  write(chunk: Uint8Array): void {
    this.decoder.write(chunk)
  }

  end(): void {
    this.decoder.end()
  }

  /** Output produced since the last call. */
  take(): Buffer | null {
    return this.output ? this.output.take() : null
  }

  /** Output produced since the last call, as pieces to write in order (no joining copy). */
  takePieces(): Buffer[] {
    const output = this.output
    if (output === null) return []
    if (output.takePieces) return output.takePieces()
    const out = output.take()
    return out ? [out] : []
  }
}
