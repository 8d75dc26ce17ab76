import type { Section, SectionTable } from '../../dist/tree/section-table.js'

/** Snapshots of every section of a table, in id order (small trees in tests). */
export function allSections(table: SectionTable): Section[] {
  return Array.from({ length: table.length }, (_, s) => table.get(s))
}
