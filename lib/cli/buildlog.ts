import fs from 'node:fs'
import { isStoreRef } from '../store/paths.js'
import { UsageError } from './args.js'
import { packageVersion } from './io.js'

export const BUILDLOG_HELP = `Usage: buildlog COMMAND [OPTION]... [ARG]...
       buildlog FILE             (the same as: buildlog view FILE)
       … | buildlog              (the same as: buildlog view -)
Read Nix and CI build logs as a tree of sections and lines.

Commands:
  view [FILE|-]                     page through a log as a collapsible tree
  export --format FORMAT [FILE|-]   convert a log (xml, json, jsonl, text, html)
  run [OPTION]... -- BUILDER [ARG]...
                                    run a build in a sandbox, its log live in the pager
  list [--failed] [-n N] [--json]   the recorded runs, newest first
  show [--raw] [ID|last|last-failed]
                                    print a recorded run's log (cleaned, or raw)
  gc --keep N | --older-than AGE    remove old runs

view and export take a run id, last or last-failed wherever they take a file.

Options:
  -h, --help       show this help (or 'buildlog COMMAND --help') and exit
  -V, --version    show the version and exit

For a plain, readable log in a pipe use nixlog-clean.
`

type Command = (argv: readonly string[]) => Promise<number>

// Each command loads only its own modules: start-up is paid on every invocation, and the pager,
// the HTML writer, the launcher and SQLite have nothing to do with one another.
const viewMain: Command = async (argv) => (await import('./view.js')).viewMain(argv)
const COMMANDS: Record<string, Command> = {
  export: async (argv) => (await import('./export.js')).exportMain(argv),
  view: viewMain,
  run: async (argv) => (await import('./run.js')).runMain(argv),
  list: async (argv) => (await import('./store-commands.js')).listMain(argv),
  show: async (argv) => (await import('./store-commands.js')).showMain(argv),
  gc: async (argv) => (await import('./store-commands.js')).gcMain(argv),
}

export async function buildlogMain(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv
  // Like less: a bare `buildlog` reading a pipe pages it.
  if (first === undefined) {
    if (process.stdin.isTTY) throw new UsageError('missing command')
    return viewMain([])
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(BUILDLOG_HELP)
    return 0
  }
  if (first === '-V' || first === '--version') {
    process.stdout.write(`buildlog ${packageVersion()}\n`)
    return 0
  }
  const command = COMMANDS[first]
  if (!command) {
    // `buildlog FILE` and `buildlog -` view a log.
    if (first === '-' || (!first.startsWith('-') && (fs.existsSync(first) || isStoreRef(first)))) return viewMain(argv)
    throw new UsageError(`unknown command '${first}'`)
  }
  return command(rest)
}
