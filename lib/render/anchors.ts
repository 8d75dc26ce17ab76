/**
 * Stable anchors shared by the HTML export and the pager (notes/pager.md §1.2 #8). They are built
 * only from our own numbers, never from log bytes, and do not depend on fold state.
 *
 * - `L<n>`: line n, the 1-based line index of the events (heads included, Hydra's numbering; the
 *   numbers `-N` shows in the pager).
 * - `L<a>-L<b>`: lines a…b inclusive (a ≤ b after normalising; `L9-L3` means `L3-L9`).
 * - `S<p>`: a section by its path of 1-based ordinals among its siblings in stream order, dot
 *   separated: `S2` is the second top-level section, `S2.1.3` the third child of the first child of
 *   it. Sections have no ids of their own in the log; names are not unique and come from log bytes.
 *
 * `parseAnchor` is also embedded verbatim (via `Function.prototype.toString`) in the HTML page's
 * script, so it must stay self-contained: no imports, no closures over module state.
 */

export type Anchor =
  | { kind: 'line'; from: number; to: number }
  | { kind: 'section'; path: number[] }

export function lineAnchor(n: number): string {
  return 'L' + n
}

export function rangeAnchor(from: number, to: number): string {
  if (from > to) [from, to] = [to, from]
  return from === to ? 'L' + from : 'L' + from + '-L' + to
}

export function sectionAnchor(path: readonly number[]): string {
  return 'S' + path.join('.')
}

/**
 * Sections deeper than this have no anchor: parseAnchor takes at most this many ordinals (its
 * regex), and a path per section would make a log nested tens of thousands deep (a few hundred
 * KB of `ESC[p`) cost its depth squared in markup and memory.
 */
export const ANCHOR_DEPTH = 256

/** The anchor path of a parent's child number `ordinal`; undefined past ANCHOR_DEPTH. */
export function childPath(parent: readonly number[] | undefined, ordinal: number): number[] | undefined {
  return parent === undefined || parent.length >= ANCHOR_DEPTH ? undefined : [...parent, ordinal]
}

/** The header's link to its own section (HTML). */
export function sectionLink(anchor: string): string {
  return `<a class="sa" href="#${anchor}" title="Link to this section">§</a>`
}

/** Parses an anchor, with or without the leading `#`; undefined when it is not one of ours. */
export function parseAnchor(hash: string): Anchor | undefined {
  const h = hash.charAt(0) === '#' ? hash.slice(1) : hash
  const line = /^L([1-9][0-9]{0,14})(?:-L([1-9][0-9]{0,14}))?$/.exec(h)
  if (line) {
    const a = Number(line[1])
    const b = line[2] === undefined ? a : Number(line[2])
    return { kind: 'line', from: Math.min(a, b), to: Math.max(a, b) }
  }
  // at most ANCHOR_DEPTH ordinals (the page embeds this function alone, so the number is written out)
  const sec = /^S([1-9][0-9]{0,9}(?:\.[1-9][0-9]{0,9}){0,255})$/.exec(h)
  if (sec) return { kind: 'section', path: sec[1]!.split('.').map(Number) }
  return undefined
}
