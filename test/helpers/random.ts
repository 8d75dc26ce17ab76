/** A small deterministic PRNG (mulberry32), so a failing fuzz case can be replayed from its seed. */
export function prng(seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return (((x ^ (x >>> 14)) >>> 0) % n)
  }
}

/** Pieces that exercise every tokenizer state and every dialect, glued at random. */
export const FUZZ_PIECES: string[] = [
  'text', ' ', 'é', '€', '\n', '\r', '\r\n', '\t', '\x00', '\x07', '\x7f', '\xc2\x9b', '\xff', '\xc3',
  '\x1b', '\x1b[', '\x1b[p', '\x1b[3p', '\x1b[q', '\x1b[s', '\x1b[3s', '\x1b[a', '\x1b[b', '\x1b[e', '\x1b[w',
  '\x1b[31m', '\x1b[0m', '\x1b[38:2::1:2:3m', '\x1b[>4;2m', '\x1b[2K', '\x1b[10A', '\x1b[ q', '\x1b[?25l',
  '\x1b]0;title\x07', '\x1b]52;c;Zm9v\x1b\\', '\x1b]8;;http://x\x1b\\', '\x1b(B', '\x1bP', '\x1b\\', '\x1b7',
  '@nix {"action":"setPhase","phase":"buildPhase"}\n', '@nix {"action":"msg","level":0,"msg":"boom"}\n', '@nix {bad\n',
  '/nix/store/0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6-hello-2.10/bin/hello', 'Running phase: buildPhase\n',
  '::group::Build\n', '::endgroup::\n', '\x1b[0Ksection_start:1:build\r\x1b[0KBuilding\n', 'hello> line\n',
]

export function fuzzInput(rnd: (n: number) => number, pieces: number): Buffer {
  const parts: Buffer[] = []
  for (let k = 0; k < pieces; k++) {
    if (rnd(8) === 0) parts.push(Buffer.from([rnd(256)]))
    else parts.push(Buffer.from(FUZZ_PIECES[rnd(FUZZ_PIECES.length)]!, 'latin1'))
  }
  return Buffer.concat(parts)
}

/** Cuts a buffer at random points. */
export function randomChunks(rnd: (n: number) => number, input: Buffer): Buffer[] {
  const chunks: Buffer[] = []
  let at = 0
  while (at < input.length) {
    const n = 1 + rnd(Math.min(64, input.length - at))
    chunks.push(input.subarray(at, at + n))
    at += n
  }
  return chunks
}
