/**
 * A duration as the pager's headers and the HTML page's show it: `340 ms`, `4.2 s`, `42 s`,
 * `2 min 5 s`, `3 h 5 min`. Self-contained: the page's script is built from its source text
 * (html/page.ts).
 */
export function formatDuration(ms: number): string {
  if (ms < 999.5) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 9950) return `${(ms / 1000).toFixed(1)} s`
  // whole seconds first, so that 119.6 s is `2 min 0 s`, not `1 min 60 s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}
