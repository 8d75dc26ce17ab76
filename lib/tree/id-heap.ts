/**
 * Section ids, largest first (a max-heap). A section's id is above its parent's, so counts owed up
 * the tree are paid from the deepest owed section up: every child's before its parent's, and each
 * ancestor once however many of its descendants owe it (deferred-counts.ts).
 */
export class IdHeap {
  private heap = new Int32Array(64)
  size = 0

  push(id: number): void {
    if (this.size === this.heap.length) {
      const grown = new Int32Array(2 * this.size)
      grown.set(this.heap)
      this.heap = grown
    }
    const heap = this.heap
    let k = this.size++
    while (k > 0) {
      const up = (k - 1) >> 1
      if (heap[up]! >= id) break
      heap[k] = heap[up]!
      k = up
    }
    heap[k] = id
  }

  /** The largest id (the heap must not be empty). */
  peek(): number {
    return this.heap[0]!
  }

  /** The largest id, taken out (the heap must not be empty). */
  pop(): number {
    const heap = this.heap
    const top = heap[0]!
    const last = heap[--this.size]!
    let k = 0
    for (;;) {
      let child = 2 * k + 1
      if (child >= this.size) break
      if (child + 1 < this.size && heap[child + 1]! > heap[child]!) child++
      if (heap[child]! <= last) break
      heap[k] = heap[child]!
      k = child
    }
    heap[k] = last
    return top
  }
}
