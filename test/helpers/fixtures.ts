import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const fixtures = path.join(repoRoot, 'test/fixtures')
export const sharedDir = path.resolve(repoRoot, '../shared')

/** Node's Node-API headers: where they exist, `npm install` builds the addon, and no test may do without it. */
export const nodeApiHeaders = path.join(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h')

/** `addon` as given; where it is null, `t` checks that it cannot be built here (this Node ships no Node-API headers). */
export function addonOrNoHeaders<A>(t: Tap.Test, addon: A | null): A | null {
  if (addon === null) t.notOk(fs.existsSync(nodeApiHeaders), 'no addon only where Node has no Node-API headers')
  return addon
}

export interface LegacyVector {
  id: string
  desc: string
  input_hex: string
  chunks_hex?: string[]
  log2xml_stdout_hex: string
  log2xml_stderr: string
  filterANSIEscapes_head_keepSGR_hex: string
  filterANSIEscapes_head_filterAll_hex: string
  nixBuildLogLines_C_hex: string[]
  recommended_default?: { fixes: string[]; xml_hex: string; stderr: string }
}

export interface SplitVector {
  id: string
  desc: string
  input_hex: string
  A_hex: string[]
  B_hex: string[]
  C_hex: string[]
}

export interface JsonVector {
  id: string
  line_hex: string
  handled: boolean | null
  effects: string
}

export interface Vectors {
  legacyEscapes: LegacyVector[]
  nixLineSplitting: SplitVector[]
  nixJsonHandling: JsonVector[]
}

export const vectors: Vectors = JSON.parse(fs.readFileSync(path.join(fixtures, 'vectors.json'), 'utf8'))

export function hex(h: string): Buffer {
  return Buffer.from(h, 'hex')
}

export function sample(name: string): Buffer {
  return fs.readFileSync(path.join(fixtures, 'samples', name))
}

/**
 * Every way to cut `input` that the chunk-invariance rule asks for: whole, one byte per chunk,
 * every 2-way split, and (for short inputs) every 3-way split.
 */
export function* splits(input: Buffer, threeWayUpTo = 48): Generator<Buffer[]> {
  yield [input]
  yield [...input].map((b) => Buffer.from([b]))
  for (let i = 0; i <= input.length; i++) yield [input.subarray(0, i), input.subarray(i)]
  if (input.length <= threeWayUpTo) {
    for (let i = 1; i < input.length; i++) for (let j = i + 1; j < input.length; j++) yield [input.subarray(0, i), input.subarray(i, j), input.subarray(j)]
  }
}
