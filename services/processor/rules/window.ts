/**
 * A per-(device, metric) buffer of recent points in event time, sorted by ts.
 *
 * Points can arrive late and out of order (a device flushing its backlog) and twice
 * (QoS 1 redelivery, which repeats the payload: same ts), so `add` inserts in place and
 * drops a point whose ts is already held. The seq alone is not a duplicate: a device
 * that reboots starts counting again, and its new readings must not be thrown away. Eviction is relative to the newest point held, not to wall-clock time,
 * so a backlog replayed hours late is windowed the same way as live data.
 *
 * Storage is parallel Float64Arrays (16 bytes a point, 24 once a seq is seen), grown
 * by doubling up to `maxPoints`: with 10k+ devices × metrics, most series hold a few
 * points and should not pay for 512.
 */

export type SeriesPoint = { ts: number; value: number; seq?: number }

export type AddResult = 'added' | 'duplicate' | 'too_old'

export type SeriesWindow = {
  /**
   * Inserts in ts order; a point with a held ts or seq changes nothing. Throws a
   * RangeError on a non-finite ts or value.
   */
  add(point: SeriesPoint): AddResult
  /** Points with fromMs <= ts <= toMs (both optional), oldest first; a fresh array. */
  points(fromMs?: number, toMs?: number): SeriesPoint[]
  latest(): SeriesPoint | null
  readonly size: number
}

export type SeriesWindowOptions = { spanMs: number; maxPoints?: number }

export const DEFAULT_MAX_POINTS = 512
const INITIAL_CAPACITY = 8

export function createSeriesWindow(opts: SeriesWindowOptions): SeriesWindow {
  const { spanMs } = opts
  const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS
  if (!(spanMs > 0) || !Number.isFinite(spanMs)) {
    throw new RangeError(`spanMs must be a positive finite number, got ${spanMs}`)
  }
  if (!Number.isInteger(maxPoints) || maxPoints < 1) {
    throw new RangeError(`maxPoints must be a positive integer, got ${maxPoints}`)
  }

  let capacity = 0
  let n = 0
  let tss = new Float64Array(0)
  let values = new Float64Array(0)
  // Allocated on the first point that carries a seq; NaN marks "no seq".
  let seqs: Float64Array | null = null

  /** First index whose ts >= t. */
  function lowerBound(t: number): number {
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((tss[mid] as number) < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** First index whose ts > t. */
  function upperBound(t: number): number {
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((tss[mid] as number) <= t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  function resize(newCapacity: number): void {
    const t = new Float64Array(newCapacity)
    const v = new Float64Array(newCapacity)
    t.set(tss.subarray(0, n))
    v.set(values.subarray(0, n))
    tss = t
    values = v
    if (seqs) {
      const s = new Float64Array(newCapacity).fill(Number.NaN)
      s.set(seqs.subarray(0, n))
      seqs = s
    }
    capacity = newCapacity
  }

  function dropFront(k: number): void {
    if (k <= 0) return
    tss.copyWithin(0, k, n)
    values.copyWithin(0, k, n)
    seqs?.copyWithin(0, k, n)
    n -= k
    // Give memory back when a burst (a replayed backlog) has been evicted.
    if (capacity > INITIAL_CAPACITY && n <= capacity / 4) {
      resize(Math.max(INITIAL_CAPACITY, capacity >>> 1))
    }
  }

  function pointAt(i: number): SeriesPoint {
    const p: SeriesPoint = { ts: tss[i] as number, value: values[i] as number }
    const s = seqs?.[i]
    if (s !== undefined && !Number.isNaN(s)) p.seq = s
    return p
  }

  return {
    add(point) {
      const { ts, value, seq } = point
      if (!Number.isFinite(ts) || !Number.isFinite(value)) {
        throw new RangeError(`point ts and value must be finite, got ts=${ts} value=${value}`)
      }
      let idx = lowerBound(ts)
      if (idx < n && tss[idx] === ts) return 'duplicate'
      const newest = n > 0 ? (tss[n - 1] as number) : ts
      if (ts < newest - spanMs) return 'too_old'
      if (n === maxPoints) {
        // Full: the oldest point goes. A point older than all held would be that point.
        if (idx === 0) return 'too_old'
        dropFront(1)
        idx--
      }
      if (n === capacity) resize(Math.min(maxPoints, Math.max(INITIAL_CAPACITY, capacity * 2)))
      if (seq !== undefined && !seqs) seqs = new Float64Array(capacity).fill(Number.NaN)
      if (idx < n) {
        tss.copyWithin(idx + 1, idx, n)
        values.copyWithin(idx + 1, idx, n)
        seqs?.copyWithin(idx + 1, idx, n)
      }
      tss[idx] = ts
      values[idx] = value
      if (seqs) seqs[idx] = seq ?? Number.NaN
      n++
      if (idx === n - 1) dropFront(lowerBound(ts - spanMs))
      return 'added'
    },

    points(fromMs, toMs) {
      const lo = fromMs === undefined ? 0 : lowerBound(fromMs)
      const hi = toMs === undefined ? n : upperBound(toMs)
      const out: SeriesPoint[] = []
      for (let i = lo; i < hi; i++) out.push(pointAt(i))
      return out
    },

    latest() {
      return n > 0 ? pointAt(n - 1) : null
    },

    get size() {
      return n
    },
  }
}
