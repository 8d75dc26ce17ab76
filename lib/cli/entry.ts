import { buildlogMain } from './buildlog.js'
import { runMain } from './io.js'
import { cleanMain } from './nixlog-clean.js'

/** The executables in bin/ are one-line shims into this. */
export function start(program: 'buildlog' | 'nixlog-clean'): void {
  const main = program === 'buildlog' ? buildlogMain : cleanMain
  void runMain(program, () => main(process.argv.slice(2)))
}
