/**
 * The last index in [0, count) whose key is at most `target`, for keys that never decrease; 0
 * when there is none (or count is 0). One binary search for the line table, the tree's segments
 * and the pager's rows.
 */
export function lastAtMost(count: number, key: (index: number) => number, target: number): number {
  let lo = 0
  let hi = count - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (key(mid) <= target) lo = mid
    else hi = mid - 1
  }
  return lo
}
