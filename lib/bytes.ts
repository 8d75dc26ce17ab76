/**
 * Copies src[start, end) into dst at `at` and returns the count. Short ranges — most log lines —
 * are copied by a plain loop: Buffer#copy and subarray() allocate a view object per call, which
 * on millions of lines costs more than the bytes themselves.
 */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  const n = end - start
  if (n > 128) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset + start, n), at)
  } else {
    for (let i = 0; i < n; i++) dst[at + i] = src[start + i]!
  }
  return n
}
