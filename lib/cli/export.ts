import { XmlStream } from '../render/streams.js'
import { flag, parseArgs, stringOption, UsageError } from './args.js'
import { runFilter } from './io.js'

export const EXPORT_FORMATS = ['xml'] as const

export const EXPORT_HELP = `Usage: buildlog export --format FORMAT [FILE|-]
Convert a build log. With no FILE, or when FILE is -, read standard input.

  -f, --format FORMAT   xml: log2xml-compatible XML (nests, heads, lines, store references);
                        diagnostics for unbalanced closes go to stderr, as nix-log2xml wrote them
  -h, --help            show this help and exit
`

export async function exportMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    format: { value: true, short: 'f', choices: EXPORT_FORMATS },
    help: { short: 'h' },
  })
  if (flag(args, 'help')) {
    process.stdout.write(EXPORT_HELP)
    return 0
  }
  const format = stringOption(args, 'format')
  if (format === undefined) throw new UsageError('export needs --format (one of: ' + EXPORT_FORMATS.join(', ') + ')')
  if (args.operands.length > 1) throw new UsageError('export reads one log (FILE or -)')
  await runFilter(args.operands, new XmlStream((d) => process.stderr.write(d)))
  return 0
}
