import fs from 'node:fs'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import path from 'node:path'
import os from 'node:os'
import { decodeStream, DIALECTS, LogDecoderStream, type DialectChoice } from '../decoder.js'
import { writeHtml } from '../render/html/index.js'
import type { LogEvent } from '../events.js'
import { eventJson, writeTreeJson } from '../render/json.js'
import { XmlStream } from '../render/streams.js'
import { writeErrors, writeOutline } from '../render/text.js'
import { EventTreeBuilder } from '../tree/event-tree.js'
import { flag, parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js'
import { BlockingWriter } from './blocking-writer.js'
import { concatInputs, InputError, openInputs } from './io.js'
import { resolveLogOperand, STORE_DIR_OPTION, storeDirOf } from './store-commands.js'

export const EXPORT_FORMATS = ['xml', 'json', 'jsonl', 'text', 'html'] as const

export const EXPORT_HELP = `Usage: buildlog export --format FORMAT [OPTION]... [FILE|-|ID|last|last-failed]
Convert a build log: a file, standard input (no FILE, or -), or a recorded run.

Formats:
  xml     log2xml-compatible XML (nests, heads, lines, store references); diagnostics for
          unbalanced closes go to stderr, as nix-log2xml wrote them
  json    the section tree as one JSON document (schema in the README, "version": 1)
  jsonl   the decoder's events, one JSON object per line, streamed as they are decoded
  text    an indented outline for e-mails and CI summaries
  html    one self-contained page (no network): the collapsible tree, failures open, colours,
          line anchors (#L123, #L120-L130), store paths shortened, search

Options:
  -f, --format FORMAT   one of: xml, json, jsonl, text, html
  -o, --output FILE     write to FILE instead of standard output
      --dialect D       auto (default), legacy, build, ci, prefixed (nix build -L output),
                        internal-json
      --depth N         text: expand sections down to depth N only
      --errors          text: only a failure extract (every error line with its section path
                        and context, the first error first); exit status 1 if there are errors
      --context N       lines of context around each error (default 3)
      --title TITLE     html: the page title (default: the file name)
      --store-dir DIR   where recorded runs live (for ID, last, last-failed)
  -h, --help            show this help and exit
`

function nonNegativeInt(args: ParsedArgs, name: string): number | undefined {
  const v = stringOption(args, name)
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} takes a whole number, not '${v}'`)
  return Number(v)
}

/**
 * Where output goes: stdout, or a file opened before reading (so a bad path fails early). The
 * streaming formats pipe into `stream`; the whole-tree ones call `write`, which blocks while the
 * reader is behind (BlockingWriter), and `done` flushes.
 */
function openOutput(path: string | undefined): { write: (s: string) => void; stream: NodeJS.WritableStream; done: () => Promise<void> } {
  if (path === undefined) {
    const writer = new BlockingWriter(1)
    return { write: (s) => writer.text(s), stream: process.stdout, done: async () => writer.flush() }
  }
  let fd: number
  try {
    fd = fs.openSync(path, 'w')
  } catch (err) {
    throw new InputError(`cannot write '${path}': ${(err as Error).message.replace(/^[A-Z]+: /, '')}`)
  }
  // the streaming formats pipe into `stream`, the others write through `writer`: never both
  const stream = fs.createWriteStream('', { fd })
  const writer = new BlockingWriter(fd)
  return {
    write: (s) => writer.text(s),
    stream,
    done: () => {
      writer.flush()
      return new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())))
    },
  }
}

/** Copies a stream into an unlinked temporary file (0600) and returns its descriptor. */
async function spoolToFile(source: AsyncIterable<Buffer>): Promise<{ fd: number; remove: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-'))
  const file = path.join(dir, 'stdin.log')
  const fd = fs.openSync(file, 'w+', 0o600)
  fs.unlinkSync(file)
  fs.rmdirSync(dir)
  for await (const chunk of source) fs.writeSync(fd, chunk)
  return { fd, remove: () => fs.closeSync(fd) }
}

export async function exportMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    format: { value: true, short: 'f', choices: EXPORT_FORMATS },
    output: { value: true, short: 'o' },
    dialect: { value: true, choices: DIALECTS },
    depth: { value: true },
    errors: {},
    context: { value: true },
    title: { value: true },
    ...STORE_DIR_OPTION,
    help: { short: 'h' },
  })
  if (flag(args, 'help')) {
    process.stdout.write(EXPORT_HELP)
    return 0
  }
  const format = stringOption(args, 'format')
  if (format === undefined) throw new UsageError('export needs --format (one of: ' + EXPORT_FORMATS.join(', ') + ')')
  if (args.operands.length > 1) throw new UsageError('export reads one log (FILE or -)')
  const dialect = stringOption(args, 'dialect') as DialectChoice | undefined
  const depth = nonNegativeInt(args, 'depth')
  const context = nonNegativeInt(args, 'context') ?? 3
  if (format !== 'text' && (depth !== undefined || flag(args, 'errors'))) throw new UsageError('--depth and --errors go with --format text')
  if (format !== 'html' && stringOption(args, 'title') !== undefined) throw new UsageError('--title goes with --format html')

  const inputs = openInputs(await Promise.all(args.operands.map((o) => resolveLogOperand(o, storeDirOf(args)))))
  const out = openOutput(stringOption(args, 'output'))
  const source = concatInputs(inputs)

  if (format === 'html') {
    // Two passes over a re-readable input: the first learns which sections hold failures, so the
    // page opens them without JavaScript. A pipe is spooled to a temporary file for that.
    const input = inputs[0]!
    const spooled = input.fd === 0 ? await spoolToFile(source) : null
    const fd = spooled ? spooled.fd : input.fd
    const events = () => decodeStream(fs.createReadStream('', { fd, start: 0, autoClose: false, highWaterMark: 256 * 1024 }), dialect ? { dialect } : {})
    const title = stringOption(args, 'title') ?? (input.fd === 0 ? 'build log' : path.basename(input.name))
    await writeHtml(events, out.stream as Writable, { title })
    spooled?.remove()
    await out.done()
    return 0
  }
  if (format === 'xml') {
    await pipeline(source, new XmlStream((d) => process.stderr.write(d)), out.stream)
    return 0
  }
  const events = new LogDecoderStream(dialect ? { dialect } : {})
  if (format === 'jsonl') {
    await pipeline(source, events, async function* (stream: AsyncIterable<LogEvent>) {
      for await (const e of stream) yield eventJson(e) + '\n'
    }, out.stream)
    return 0
  }
  const tree = new EventTreeBuilder()
  await pipeline(source, events, new Writable({ objectMode: true, write: (e: LogEvent, _enc, cb) => (tree.sink(e), cb()) }))
  let status = 0
  if (format === 'json') {
    writeTreeJson(tree.root, { dialect: dialect ?? 'auto' }, out.write)
  } else if (flag(args, 'errors')) {
    status = writeErrors(tree.root, context, out.write) > 0 ? 1 : 0
  } else {
    writeOutline(tree.root, depth === undefined ? {} : { depth }, out.write)
  }
  await out.done()
  return status
}
