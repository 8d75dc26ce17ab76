/**
 * What the index says about a log's content, learnt by decoding it as it streams: the counts of
 * error and warning lines (the one severity rule, lib/tree/severity.ts) and the failing section's
 * title, the innermost titled section that holds the first error line.
 */
import { createDecoder, type SniffingDecoder } from '../decoder.js'
import type { LogEvent } from '../events.js'
import { lineSeverity } from '../tree/severity.js'

const MAX_TITLE = 200

interface OpenSection {
  parent: number
  title: string | null
}

export class LogStats {
  errors = 0
  warnings = 0
  failingSection: string | null = null
  private readonly sections = new Map<number, OpenSection>()
  private readonly decoder: SniffingDecoder
  private broken = false

  constructor() {
    this.decoder = createDecoder((e) => this.onEvent(e))
  }

  write(chunk: Buffer): void {
    if (this.broken) return
    try {
      this.decoder.write(chunk)
    } catch {
      this.broken = true // counting is a bonus: it never stops the recording
    }
  }

  end(): void {
    if (this.broken) return
    try {
      this.decoder.end()
    } catch {
      this.broken = true
    }
  }

  private onEvent(e: LogEvent): void {
    switch (e.type) {
      case 'open':
        this.sections.set(e.id, { parent: e.parent, title: e.title ? clip(e.title) : null })
        break
      case 'close':
        this.sections.delete(e.id)
        break
      case 'line': {
        if (e.head) {
          const s = this.sections.get(e.section)
          if (s && s.title === null) s.title = clip(e.text.toString('utf8'))
        }
        const severity = lineSeverity(e)
        if (severity === 'warning') this.warnings++
        else if (severity === 'error') {
          if (this.errors++ === 0) this.failingSection = this.titleOf(e.section)
        }
        break
      }
      default:
        break
    }
  }

  private titleOf(id: number): string | null {
    for (let s = this.sections.get(id); s; s = this.sections.get(s.parent)) if (s.title) return s.title
    return null
  }
}

function clip(title: string): string {
  const t = title.replace(/[\x00-\x1f\x7f]+/g, ' ').trim()
  return t.length > MAX_TITLE ? t.slice(0, MAX_TITLE - 1) + '…' : t
}
