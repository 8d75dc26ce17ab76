import fs from 'node:fs'
import { PassThrough, Writable } from 'node:stream'
import { runMain } from './io.js'

/** The executables in bin/ are one-line shims into this; each loads only its own program. */
export function start(program: 'buildlog' | 'nixlog-clean'): void {
  void runMain(program, async () => {
    const argv = process.argv.slice(2)
    return program === 'buildlog' ? (await import('./buildlog.js')).buildlogMain(argv) : (await import('./nixlog-clean.js')).cleanMain(argv)
  })
}

/**
 * Paints the first screen of each log file into a string, through the same modules as
 * `buildlog view FILE` on a 120×40 terminal. The build runs it (scripts/record-code-cache.cjs) just
 * before it records V8's code cache of the bundle, so that the cache holds the compiled code of
 * everything the first screen runs.
 */
export async function paintFirstScreens(files: readonly string[]): Promise<string[]> {
  const { LogSource } = await import('../tree/source.js')
  const { FirstScreen } = await import('../tui/first-screen.js')
  return files.map((file) => {
    let frame = ''
    const output = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          frame += chunk.toString()
          done()
        },
      }),
      { columns: 120, rows: 40 },
    )
    const source = LogSource.open(file)
    try {
      new FirstScreen({ input: new PassThrough(), output }).paint(source, { chop: false, lineNumbers: false, elide: true, color: true })
    } finally {
      source.close()
    }
    return frame
  })
}

/**
 * Runs each log file through the `nixlog-clean` pipeline in both colour modes and returns the
 * output sizes. Like paintFirstScreens, for the build (scripts/record-code-cache.cjs): so that
 * nixlog-clean's code cache holds the compiled code of what the filter runs.
 */
export async function cleanSamples(files: readonly string[]): Promise<number[]> {
  const { Cleaner } = await import('../render/cleaner.js')
  return files.flatMap((file) =>
    [true, false].map((color) => {
      const cleaner = new Cleaner({ color, scratchInput: true })
      cleaner.write(fs.readFileSync(file))
      cleaner.end()
      return cleaner.takePieces().reduce((n, piece) => n + piece.length, 0)
    }),
  )
}
