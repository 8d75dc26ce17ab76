import { drvDisplayName } from '../dialects/drv-name.js'
import type { LogEvent, StyleMark } from '../events.js'
import { OutputBuffer } from './output-buffer.js'

/**
 * The clean face for event streams (internal-json): the log as `nix build -L` shows it — Nix's
 * messages up to Info level, `building '…'...` as activities start, build output prefixed with the
 * build's name (`hello> …`, the prefix dimmed in colour).
 */
export class EventCleanWriter {
  private readonly out = new OutputBuffer()
  /** For every open section: its parent, and the `name> ` prefix bytes when it is a build. */
  private readonly sections = new Map<number, { parent: number; prefix?: Buffer }>()

  constructor(private readonly color: boolean) {}

  readonly sink = (event: LogEvent): void => {
    switch (event.type) {
      case 'open': {
        // Nix's plain logger announces an activity at Info level or above as `text...`.
        const level = event.attrs?.level
        if (typeof level === 'number' && level <= INFO && event.title && event.attrs?.activityId !== undefined) this.writeLine(null, Buffer.from(event.title + '...'), undefined)
        const drv = event.attrs?.drv
        if (event.kind !== 'build') {
          this.sections.set(event.id, { parent: event.parent })
          break
        }
        const name = typeof drv === 'string' && drv ? drvDisplayName(drv) : event.title ?? ''
        this.sections.set(event.id, { parent: event.parent, prefix: Buffer.from(this.color ? `\x1b[2m${name}> \x1b[0m` : `${name}> `) })
        break
      }
      case 'close':
        this.sections.delete(event.id)
        break
      case 'line':
        // Messages above Info (talkative, chatty, debug …) are what `nix -v` adds: not shown.
        if (event.level !== undefined && event.level > INFO) break
        this.writeLine(this.prefixOf(event.section), event.text, this.color ? event.styles : undefined)
        break
      default:
        break
    }
  }

  private writeLine(prefix: Buffer | undefined | null, text: Buffer, styles: StyleMark[] | undefined): void {
    if (prefix) this.out.copy(prefix, 0, prefix.length)
    this.writeText(text, styles)
    this.out.copy(NEWLINE, 0, 1)
  }

  private prefixOf(section: number): Buffer | undefined {
    for (let id = section, hops = 0; id !== 0 && hops < 1000; hops++) {
      const s = this.sections.get(id)
      if (!s) return undefined
      if (s.prefix !== undefined) return s.prefix
      id = s.parent
    }
    return undefined
  }

  /**
   * A line's text without BEL and C1 controls, with its SGR marks re-emitted (colour only; a reset
   * at the end if the line left colour on). Only SGR ever comes out: marks hold nothing else.
   */
  private writeText(text: Buffer, styles: StyleMark[] | undefined): void {
    if (!styles || styles.length === 0) return this.out.copySafe(text, 0, text.length)
    let cursor = 0
    for (const mark of styles) {
      this.out.copySafe(text, cursor, mark.at)
      const sgr = Buffer.from(`\x1b[${mark.params}m`, 'latin1')
      this.out.copy(sgr, 0, sgr.length)
      cursor = mark.at
    }
    this.out.copySafe(text, cursor, text.length)
    const last = styles[styles.length - 1]!
    if (last.params !== '0' && last.params !== '') this.out.copy(RESET, 0, RESET.length)
  }

  take(): Buffer | null {
    return this.out.take()
  }
}

const NEWLINE = Buffer.from('\n')
/** Nix's verbosity for ordinary messages (spec §6.4): what `nix build` shows without -v. */
const INFO = 3
const RESET = Buffer.from('\x1b[0m')
