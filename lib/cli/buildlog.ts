import { UsageError } from './args.js'
import fs from 'node:fs'
import { exportMain } from './export.js'
import { packageVersion } from './io.js'
import { runMain } from './run.js'
import { gcMain, isStoreRef, listMain, showMain } from './store-commands.js'
import { viewMain } from './view.js'

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

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  export: exportMain,
  view: viewMain,
  run: runMain,
  list: listMain,
  show: showMain,
  gc: gcMain,
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
