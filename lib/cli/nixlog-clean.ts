import { DIALECTS, type DialectChoice } from '../decoder.js'
import { Cleaner } from '../render/cleaner.js'
import { flag, parseArgs, stringOption } from './args.js'
import { wantColor, type ColorChoice } from './color.js'
import { runFilter } from './filter.js'
import { packageVersion } from './io.js'

export const CLEAN_HELP = `Usage: nixlog-clean [OPTION]... [FILE]...
Print build logs (Nix, nixpkgs stdenv, CI) as a terminal shows them, without the protocol:
nesting escapes, handled @nix lines, cursor movement, titles, hyperlinks and other escapes are
removed, carriage-return progress collapses to its final state. Colours stay on a colour terminal.
With no FILE, or when FILE is -, read standard input; several files are read one after another.

  --color=WHEN       keep SGR colours: auto (default: when stdout is a terminal, TERM is not
                     dumb and NO_COLOR is unset; FORCE_COLOR forces colour), always, never
  --keep-nix-lines   keep the @nix lines that Nix itself would consume
  --dialect=D        auto (default: sniffed from the start of the input), legacy, build, ci,
                     prefixed (nix build -L output), internal-json (shown as nix build -L
                     would show it: messages, and build output prefixed with the build's name)
  -h, --help         show this help and exit
  -V, --version      show the version and exit

Exit status: 0 on success, 2 on a usage error or an unreadable input.
`

export async function cleanMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    color: { value: true, choices: ['auto', 'always', 'never'] },
    'keep-nix-lines': {},
    dialect: { value: true, choices: DIALECTS },
    help: { short: 'h' },
    version: { short: 'V' },
  })
  if (flag(args, 'help')) {
    process.stdout.write(CLEAN_HELP)
    return 0
  }
  if (flag(args, 'version')) {
    process.stdout.write(`nixlog-clean ${packageVersion()}\n`)
    return 0
  }
  const choice = (stringOption(args, 'color') ?? 'auto') as ColorChoice
  const color = wantColor(choice, process.stdout.isTTY === true, process.env)
  const dialect = stringOption(args, 'dialect') as DialectChoice | undefined
  await runFilter(args.operands, new Cleaner({ color, keepNixLines: flag(args, 'keep-nix-lines'), scratchInput: true, ...(dialect ? { dialect } : {}) }))
  return 0
}
