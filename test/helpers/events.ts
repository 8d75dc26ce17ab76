import type { LogEvent } from '../../dist/index.js'

/** Compact, comparable rendering of events: `open 1<0 phase "x"`, `line 1 "text" head`, `close 1`. */
export function brief(events: LogEvent[]): string[] {
  return events.map((e) => {
    switch (e.type) {
      case 'open': return `open ${e.id}<${e.parent} ${e.kind}${e.title !== undefined ? ` ${JSON.stringify(e.title)}` : ''}`
      case 'line': return `line ${e.section} ${JSON.stringify(e.text.toString())}${e.head ? ' head' : ''}${e.error ? ' error' : ''}${e.warning ? ' warning' : ''}`
      case 'close': return `close ${e.id}${e.status ? ` ${e.status}` : ''}`
      case 'status': return `status ${e.id} ${JSON.stringify(e.attrs)}`
      case 'diagnostic': return `diagnostic ${e.code}`
    }
  })
}

/** The invariants every event stream keeps: ids unique, lines only in open sections, one close per open. */
export function invariantProblems(events: LogEvent[]): string[] {
  const problems: string[] = []
  const open = new Set<number>([0])
  const seen = new Set<number>()
  let index = 0
  for (const e of events) {
    if (e.type === 'open') {
      if (seen.has(e.id) || e.id === 0) problems.push(`duplicate id ${e.id}`)
      if (!open.has(e.parent)) problems.push(`open ${e.id} under closed parent ${e.parent}`)
      seen.add(e.id)
      open.add(e.id)
    } else if (e.type === 'close') {
      if (!open.delete(e.id)) problems.push(`close of ${e.id}, which is not open`)
    } else if (e.type === 'line') {
      if (!open.has(e.section)) problems.push(`line ${e.index} in closed section ${e.section}`)
      if (e.index !== ++index) problems.push(`line index ${e.index}, expected ${index}`)
    }
  }
  open.delete(0)
  if (open.size) problems.push(`never closed: ${[...open].join(',')}`)
  return problems
}
