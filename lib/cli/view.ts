/**
 * `buildlog view [FILE|-]`: the terminal pager. From a pipe, the input is spooled to a temporary
 * file (mode 0600, unlinked at once) and keys come from /dev/tty, like less. When stdout is not a
 * terminal it behaves like nixlog-clean. The terminal is restored on every exit path.
 */

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tty from 'node:tty'
import { flag, parseArgs, stringOption, UsageError } from './args.js'
import { wantColor, type ColorChoice } from './color.js'
import { runFilter } from './filter.js'
import { InputError } from './io.js'
import { parseAnchor, type Anchor } from '../render/anchors.js'

export const VIEW_HELP = `Usage: buildlog view [OPTION]... [FILE|-|ID|last|last-failed]
Page through a build log as a tree of sections: sections with errors open down to the first
error and the view starts there; the others are closed. With no FILE, or when FILE is -, read
standard input (spooled to a temporary file; keys come from the terminal).
When standard output is not a terminal, print the log like nixlog-clean.

  -S, --chop         chop long lines instead of wrapping them (the -S key toggles)
  -N, --line-numbers show line numbers (the -N key toggles)
      --store-dir DIR  where recorded runs live (for ID, last, last-failed)
  -H, --hashes       show store paths in full (default: /nix/store/<hash>-name as …-name)
  -F, --follow       start in follow mode (like less +F)
      --at ANCHOR    open at a line or a section, named as the HTML export's links and the
                     = key name them: L120 (or 120), L120-L140, S2.1 (the first child of the
                     second top-level section); a leading # is allowed
      --color=WHEN   colours from the log: auto (default), always, never
      --no-mouse     leave the mouse to the terminal (no wheel scrolling)
  -h, --help         show this help and exit

Keys: H or F1 inside the pager; q quits.
Exit status: 0 on quit, 2 on a usage error or an unreadable input, 128+N when killed by signal N.
`

interface Spool {
  fd: number
  done: Promise<void>
  ended: boolean
}

/** Copies stdin into an unlinked temporary file as it arrives; RAM use does not grow with the input. */
function spoolStdin(onData: () => void): Spool {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-'))
  const file = path.join(dir, 'stdin.log')
  const wfd = fs.openSync(file, 'wx', 0o600)
  const rfd = fs.openSync(file, 'r')
  fs.unlinkSync(file)
  fs.rmdirSync(dir)
  const spool: Spool = { fd: rfd, ended: false, done: Promise.resolve() }
  spool.done = new Promise<void>((resolve) => {
    const finish = (): void => {
      if (spool.ended) return
      spool.ended = true
      try {
        fs.closeSync(wfd)
      } catch {
        // closed
      }
      resolve()
    }
    process.stdin.on('data', (chunk: Buffer) => {
      fs.writeSync(wfd, chunk)
      onData()
    })
    process.stdin.on('end', finish)
    process.stdin.on('error', finish)
  })
  return spool
}

export async function viewMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    chop: { short: 'S' },
    'line-numbers': { short: 'N' },
    hashes: { short: 'H' },
    follow: { short: 'F' },
    color: { value: true, choices: ['auto', 'always', 'never'] },
    'no-mouse': {},
    at: { value: true },
    // the spec of STORE_DIR_OPTION (store-commands.ts), repeated so that viewing a file never loads the store
    'store-dir': { value: true },
    help: { short: 'h' },
  })
  if (flag(args, 'help')) {
    process.stdout.write(VIEW_HELP)
    return 0
  }
  if (args.operands.length > 1) throw new UsageError('view takes one FILE')
  const atOption = stringOption(args, 'at')
  const at = atOption === undefined ? undefined : parseAnchor(/^#?[0-9]+$/.test(atOption) ? `L${atOption.replace('#', '')}` : atOption)
  if (atOption !== undefined && at === undefined) throw new UsageError(`--at: '${atOption}' is not a line or section anchor (L120, L120-L140, S2.1)`)
  // a file (or stdin) opens at once; only a run id (ID, last, last-failed) loads the store
  let operand = args.operands[0] ?? '-'
  if (operand !== '-' && !fs.existsSync(operand)) {
    const { resolveLogOperand, storeDirOf } = await import('./store-commands.js')
    operand = await resolveLogOperand(operand, storeDirOf(args))
  }
  const choice = (stringOption(args, 'color') ?? 'auto') as ColorChoice

  if (!process.stdout.isTTY) {
    const color = wantColor(choice, false, process.env)
    const { Cleaner } = await import('../render/cleaner.js')
    await runFilter([operand], new Cleaner({ color, scratchInput: true }))
    return 0
  }

  // open the input before touching the terminal
  let fd: number
  let spoolWake: (() => void) | undefined
  let spool: Spool | undefined
  if (operand === '-') {
    if (process.stdin.isTTY) throw new UsageError('no input: give a FILE or pipe a log into buildlog view')
    spool = spoolStdin(() => spoolWake?.())
    fd = spool.fd
  } else {
    try {
      fd = fs.openSync(operand, 'r')
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      throw new InputError(`cannot open '${operand}': ${e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'EACCES' ? 'Permission denied' : e.message}`)
    }
    if (fs.fstatSync(fd).isDirectory()) throw new InputError(`cannot read '${operand}': Is a directory`)
  }

  const code = await pageFile(fd, {
    growing: spool && !spool.ended ? { onData: (wake) => (spoolWake = wake), done: spool.done } : undefined,
    chop: flag(args, 'chop'),
    lineNumbers: flag(args, 'line-numbers'),
    elide: !flag(args, 'hashes'),
    follow: flag(args, 'follow'),
    color: choice !== 'never',
    mouse: !flag(args, 'no-mouse'),
    at,
  })
  // stdin may still be flowing (a pipe): exit now rather than wait for it
  process.exit(code)
}

export interface PageOptions {
  /**
   * The file is still being written: `onData` hands over a wake-up call, `done` settles at its end;
   * `live`: by a build this process runs, so sections are timed by their arrival from the start.
   */
  growing?: { onData?: (wake: () => void) => void; done: Promise<unknown>; live?: boolean } | undefined
  chop: boolean
  lineNumbers: boolean
  elide: boolean
  follow: boolean
  color: boolean
  mouse: boolean
  /** Where to open: a line or a section (`--at`). */
  at?: Anchor | undefined
  /** Called when the user quits while the file is still growing (e.g. to cancel a build). */
  onQuitEarly?: () => void
}

/**
 * Pages an open file on the terminal until the user quits; resolves with the exit code. The
 * terminal is restored on every path (quit, crash, INT/TERM/QUIT/HUP).
 */
export async function pageFile(fd: number, options: PageOptions): Promise<number> {
  // lazy: the index and the painter load first, blessed and the pager only after the first screen
  const { LogSource: Source } = await import('../tree/source.js')
  const source = new Source(fd, { growing: options.growing !== undefined, live: options.growing?.live === true })
  let finished = options.growing === undefined
  if (options.growing) {
    options.growing.onData?.(() => source.start())
    void options.growing.done.then(() => {
      finished = true
      source.complete()
    })
  }

  let input: tty.ReadStream | NodeJS.ReadStream = process.stdin
  if (!process.stdin.isTTY) {
    try {
      input = new tty.ReadStream(fs.openSync('/dev/tty', 'r'))
    } catch {
      throw new InputError('cannot open /dev/tty for keys')
    }
  }
  const output = process.stdout
  const streams = { input, output }
  // exit paths first, so a signal during the first paint also restores the terminal
  let first: import('../tui/first-screen.js').FirstScreen | undefined
  let pager: import('../tui/pager.js').Pager | undefined
  const cleanup = (): void => {
    pager?.destroy()
    first?.restore()
    if (input !== process.stdin) (input as tty.ReadStream).destroy()
  }
  const die = (code: number) => (): void => {
    cleanup()
    process.exit(code)
  }
  const signals: Array<[NodeJS.Signals, number]> = [['SIGINT', 130], ['SIGTERM', 143], ['SIGQUIT', 131], ['SIGHUP', 129]]
  for (const [sig, code] of signals) process.on(sig, die(code))
  const crash = (err: unknown): void => {
    cleanup()
    process.stderr.write(`buildlog: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exit(70)
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
  const look = { chop: options.chop, lineNumbers: options.lineNumbers, elide: options.elide, color: options.color }
  // A file that is all there gets its first screen before blessed loads; a growing input (a pipe
  // being spooled, a running build) may have nothing to show yet, and the pager waits for it.
  if (!options.growing) {
    const { FirstScreen } = await import('../tui/first-screen.js')
    first = new FirstScreen(streams)
    first.paint(source, look)
  }
  const { Pager } = await import('../tui/pager.js')
  pager = new Pager(source, streams, { ...look, follow: options.follow, mouse: options.mouse, firstBytes: first ? 0 : undefined, at: options.at })
  first?.handOver()
  pager.onCrash = crash
  const code = await pager.exited
  cleanup()
  for (const [sig] of signals) process.removeAllListeners(sig)
  process.removeListener('uncaughtException', crash)
  process.removeListener('unhandledRejection', crash)
  if (!finished) options.onQuitEarly?.()
  return code
}
