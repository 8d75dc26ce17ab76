import { drvDisplayName } from '../dialects/drv-name.js'
import type { LogEvent } from '../events.js'
import { lineBytes } from './line-bytes.js'

/**
 * The clean face for event streams (internal-json): the log as `nix build -L` shows it — Nix's
 * messages as they are, build output prefixed with the build's name (`hello> …`, the prefix dimmed
 * in colour).
 */
export class EventCleanWriter {
  private readonly parts: Buffer[] = []
  /** For every open section: its parent, and the build name when it is a build. */
  private readonly sections = new Map<number, { parent: number; build?: string }>()

  constructor(private readonly color: boolean) {}

  readonly sink = (event: LogEvent): void => {
    switch (event.type) {
      case 'open': {
        const drv = event.attrs?.drv
        const build = event.kind === 'build' ? (typeof drv === 'string' && drv ? drvDisplayName(drv) : event.title ?? '') : undefined
        this.sections.set(event.id, build === undefined ? { parent: event.parent } : { parent: event.parent, build })
        break
      }
      case 'close':
        this.sections.delete(event.id)
        break
      case 'line': {
        const build = this.buildOf(event.section)
        if (build !== undefined) this.parts.push(Buffer.from(this.color ? `\x1b[2m${build}> \x1b[0m` : `${build}> `))
        this.parts.push(lineBytes(event.text, event.styles, this.color), NEWLINE)
        break
      }
      default:
        break
    }
  }

  private buildOf(section: number): string | undefined {
    for (let id = section, hops = 0; id !== 0 && hops < 1000; hops++) {
      const s = this.sections.get(id)
      if (!s) return undefined
      if (s.build !== undefined) return s.build
      id = s.parent
    }
    return undefined
  }

  take(): Buffer | null {
    if (this.parts.length === 0) return null
    const out = Buffer.concat(this.parts)
    this.parts.length = 0
    return out
  }
}

const NEWLINE = Buffer.from('\n')
