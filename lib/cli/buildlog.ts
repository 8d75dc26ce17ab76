import { UsageError } from './args.js'
import { exportMain } from './export.js'
import { packageVersion } from './io.js'

export const BUILDLOG_HELP = `Usage: buildlog COMMAND [OPTION]... [ARG]...
Read Nix and CI build logs as a tree of sections and lines.

Commands:
  export --format FORMAT [FILE|-]   convert a log (xml)

Options:
  -h, --help       show this help (or 'buildlog COMMAND --help') and exit
  -V, --version    show the version and exit

For a plain, readable log in a pipe use nixlog-clean.
`

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  export: exportMain,
}

export async function buildlogMain(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined) throw new UsageError('missing command')
  if (first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(BUILDLOG_HELP)
    return 0
  }
  if (first === '-V' || first === '--version') {
    process.stdout.write(`buildlog ${packageVersion()}\n`)
    return 0
  }
  const command = COMMANDS[first]
  if (!command) throw new UsageError(`unknown command '${first}'`)
  return command(rest)
}
