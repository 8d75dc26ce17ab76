import { isErrorLine, sectionPath, walkTree, type TreeLine, type TreeSection } from '../tree/event-tree.js'

export interface OutlineOptions {
  /** Expand sections down to this depth; deeper ones show as one summary line. Unlimited by default. */
  depth?: number
}

function summary(s: TreeSection): string {
  const parts = [`${s.counts.lines} line${s.counts.lines === 1 ? '' : 's'}`]
  if (s.counts.errors) parts.push(`${s.counts.errors} error${s.counts.errors === 1 ? '' : 's'}`)
  if (s.counts.warnings) parts.push(`${s.counts.warnings} warning${s.counts.warnings === 1 ? '' : 's'}`)
  if (s.duration !== undefined) parts.push(`${s.duration}s`)
  const status = s.status === 'failed' ? ' FAILED' : s.status === 'interrupted' ? ' INTERRUPTED' : ''
  return `▸ ${s.title || s.kind}  (${parts.join(', ')})${status}`
}

function lineText(line: TreeLine): string {
  return line.event.text.toString('utf8').replace(/\n/g, '\n    ')
}

/** The log as an indented outline: section headers with counts, lines indented under them. */
export function writeOutline(root: TreeSection, options: OutlineOptions, write: (s: string) => void): void {
  const maxDepth = options.depth ?? Infinity
  walkTree(root, {
    section(section, _at, depth) {
      write(`${'  '.repeat(depth)}${summary(section)}\n`)
      return depth + 1 <= maxDepth
    },
    line(line, parent, _at, depth) {
      if (!(line.event.head && parent !== root)) write(`${'  '.repeat(depth)}${lineText(line)}\n`)
    },
  })
}

/**
 * A failure extract: every error line with its section path and `context` lines around it from
 * the same section, in log order (so the first error comes first).
 */
export function writeErrors(root: TreeSection, context: number, write: (s: string) => void): number {
  const hits: Array<{ section: TreeSection; at: number }> = []
  walkTree(root, {
    line(line, section, at) {
      if (isErrorLine(line.event)) hits.push({ section, at })
    },
  })
  hits.sort((a, b) => lineOf(a) - lineOf(b))
  hits.forEach((hit, k) => {
    const path = sectionPath(hit.section)
    const line = (hit.section.children[hit.at] as TreeLine).event
    write(`${k > 0 ? '\n' : ''}error ${k + 1} of ${hits.length}${path.length ? ` in ${path.join(' › ')}` : ''} (line ${line.index}):\n`)
    const from = Math.max(0, hit.at - context)
    const to = Math.min(hit.section.children.length - 1, hit.at + context)
    for (let i = from; i <= to; i++) {
      const child = hit.section.children[i]!
      if (child.type === 'section') write(`  | ${summary(child)}\n`)
      else write(`${i === hit.at ? '  > ' : '  | '}${lineText(child)}\n`)
    }
  })
  return hits.length
}

function lineOf(hit: { section: TreeSection; at: number }): number {
  return (hit.section.children[hit.at] as TreeLine).event.index
}
