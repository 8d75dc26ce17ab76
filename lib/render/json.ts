import type { LineEvent, LogEvent } from '../events.js'
import { walkTree, type TreeSection } from '../tree/event-tree.js'

/** Version of the `--format json` and `--format jsonl` schemas (README: "JSON schemas"). */
export const JSON_SCHEMA_VERSION = 1

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A line's text as JSON: a string, plus the raw bytes in base64 when they are not valid UTF-8. */
function textFields(text: Buffer): { text: string; bytes?: string } {
  try {
    return { text: utf8.decode(text) }
  } catch {
    return { text: text.toString('utf8'), bytes: text.toString('base64') }
  }
}

export function lineJson(e: LineEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { type: 'line', n: e.index, ...textFields(e.text) }
  if (e.styles) out.styles = e.styles
  if (e.head) out.head = true
  if (e.error) out.error = true
  if (e.warning) out.warning = true
  if (e.priority !== 1) out.priority = e.priority
  if (e.level !== undefined) out.level = e.level
  out.offset = e.offset
  out.end = e.end
  return out
}

/** One event of the `jsonl` stream. */
export function eventJson(e: LogEvent): string {
  if (e.type === 'line') return JSON.stringify({ ...lineJson(e), section: e.section })
  return JSON.stringify(e)
}

function sectionHeader(s: TreeSection): Record<string, unknown> {
  const out: Record<string, unknown> = { type: 'section', id: s.id, kind: s.kind, title: s.title }
  if (s.status) out.status = s.status
  if (s.duration !== undefined) out.duration = s.duration
  out.offset = s.offset
  if (s.end !== undefined) out.end = s.end
  out.counts = s.counts
  if (Object.keys(s.attrs).length > 0) out.attrs = s.attrs
  return out
}

/**
 * Writes the tree as one JSON document, node by node, so no single string holds the whole log:
 * `{"format":"buildlog","version":1,"meta":{…},"root":{"counts":…,"children":[…]}}`.
 */
export function writeTreeJson(root: TreeSection, meta: Record<string, unknown>, write: (s: string) => void): void {
  write(`{"format":"buildlog","version":${JSON_SCHEMA_VERSION},"meta":${JSON.stringify(meta)},"root":{"counts":${JSON.stringify(root.counts)},"children":[`)
  writeChildren(root, write)
  write(']}}\n')
}

function writeChildren(root: TreeSection, write: (s: string) => void): void {
  walkTree(root, {
    line(line, _parent, at) {
      write((at > 0 ? ',' : '') + JSON.stringify(lineJson(line.event)))
    },
    section(section, at) {
      const header = JSON.stringify(sectionHeader(section))
      write((at > 0 ? ',' : '') + header.slice(0, -1) + ',"children":[')
    },
    leave() {
      write(']}')
    },
  })
}
