/** A binary min-heap of timed actions, earliest first; equal times keep insertion order. */
export type Timed = { t: number; order: number }

export function createEventQueue<T extends Timed>() {
  const heap: T[] = []
  const less = (a: T, b: T) => a.t < b.t || (a.t === b.t && a.order < b.order)
  const swap = (i: number, j: number) => {
    const x = heap[i] as T
    heap[i] = heap[j] as T
    heap[j] = x
  }
  return {
    get size() {
      return heap.length
    },
    push(item: T) {
      heap.push(item)
      let i = heap.length - 1
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (!less(heap[i] as T, heap[parent] as T)) break
        swap(i, parent)
        i = parent
      }
    },
    pop(): T | undefined {
      if (heap.length === 0) return undefined
      const top = heap[0]
      const last = heap.pop() as T
      if (heap.length > 0) {
        heap[0] = last
        let i = 0
        for (;;) {
          const l = 2 * i + 1
          const r = l + 1
          let m = i
          if (l < heap.length && less(heap[l] as T, heap[m] as T)) m = l
          if (r < heap.length && less(heap[r] as T, heap[m] as T)) m = r
          if (m === i) break
          swap(i, m)
          i = m
        }
      }
      return top
    },
  }
}
