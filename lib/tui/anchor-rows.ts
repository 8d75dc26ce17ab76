/**
 * The HTML page's anchors (lib/render/anchors.ts) in the pager's tree: where `#L120` or `#S2.1`
 * points (`buildlog view --at`), and the anchor of a section (`=`). Lines count from 1 with heads
 * included, sections by their ordinals among their siblings in stream order — the tree's own
 * orders, so the pager and the page agree.
 */

import { ANCHOR_DEPTH, lineAnchor, sectionAnchor, type Anchor } from '../render/anchors.js'
import type { LogTree, Row } from '../tree/tree.js'

/** Where an anchor points: a row; `later` while the index has not reached it; `missing` when the log has no such line or section. */
export type AnchorTarget = { row: Row } | 'later' | 'missing'

export function anchorTarget(tree: LogTree, anchor: Anchor): AnchorTarget {
  const ended = tree.done
  if (anchor.kind === 'line') {
    const line = anchor.from - 1
    if (line < tree.lines.length) return { row: tree.rowForLine(line) }
    return ended ? 'missing' : 'later'
  }
  let s = 0
  for (const ordinal of anchor.path) {
    const children = tree.children(s)
    if (ordinal > children.length) return ended ? 'missing' : 'later'
    s = children[ordinal - 1]!
  }
  return { row: { header: s } }
}

/** A section's anchor, `S` and its ordinals; undefined deeper than the page gives anchors. */
export function sectionAnchorOf(tree: LogTree, s: number): string | undefined {
  const path: number[] = []
  for (let x = s; x > 0; x = tree.sections.parent.get(x)) {
    if (path.length === ANCHOR_DEPTH) return undefined
    path.push(tree.children(tree.sections.parent.get(x)).indexOf(x) + 1)
  }
  return sectionAnchor(path.reverse())
}

/** A line's anchor (its 0-based index in the tree). */
export function lineAnchorOf(line: number): string {
  return lineAnchor(line + 1)
}
