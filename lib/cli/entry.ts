import { runMain } from './io.js'

/** The executables in bin/ are one-line shims into this; each loads only its own program. */
export function start(program: 'buildlog' | 'nixlog-clean'): void {
  void runMain(program, async () => {
    const argv = process.argv.slice(2)
    return program === 'buildlog' ? (await import('./buildlog.js')).buildlogMain(argv) : (await import('./nixlog-clean.js')).cleanMain(argv)
  })
}
