import { BuildLogFramer } from '../dialects/build-log-framer.js'
import { Cleaner, type CleanerOptions } from './cleaner.js'
import { XmlWriter } from './xml.js'

/** `nixlog-clean` on a whole buffer. `color` keeps SGR; without it every escape goes. */
export function cleanBuffer(input: Uint8Array, options: CleanerOptions): Buffer {
  const cleaner = new Cleaner(options)
  cleaner.write(input)
  cleaner.end()
  return cleaner.take() ?? Buffer.alloc(0)
}

/** The log2xml-compatible XML of a whole buffer, with the diagnostics the reference wrote to stderr. */
export function xmlBuffer(input: Uint8Array): { xml: Buffer; stderr: string } {
  const parts: string[] = []
  let stderr = ''
  const writer = new XmlWriter((s) => parts.push(s), (d) => (stderr += d))
  const framer = new BuildLogFramer(writer, { keepSgr: false })
  framer.write(input)
  framer.end()
  writer.finish()
  return { xml: Buffer.from(parts.join('')), stderr }
}
