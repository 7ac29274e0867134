/**
 * A per-(device, metric) buffer of recent points in event time, sorted by ts.
 *
 * Points can arrive late and out of order (a device flushing its backlog) and twice
 * (QoS 1 redelivery, which repeats the payload: same ts), so `add` inserts in place and
 * drops a point whose ts is already held. A device's seq is not held: it is no test of
 * a duplicate (a device that reboots counts from 1 again, and its new readings must not
 * be thrown away) and judging reads only ts and value. Eviction is relative to the
 * newest point held, not to wall-clock time, so a backlog replayed hours late is
 * windowed the same way as live data.
 *
 * Storage is one plain array of unboxed doubles, two a point (ts, value): 16 bytes a
 * point and a few dozen for the window itself. Both ends of the fleet count: with 10k+
 * devices × metrics, most series of an idle fleet hold a few points (a window object
 * with a closure per method and preallocated typed arrays cost ~2 KB each, which was
 * most of an idle device's memory), and a busy one fills windows of up to 512 points,
 * where a third slot for the seq made it 24 bytes a point.
 */

import { between, lowerBound, type Series } from './series.ts'

export type SeriesPoint = { ts: number; value: number }

export type AddResult = 'added' | 'duplicate' | 'too_old'

export type SeriesWindow = {
  /**
   * Inserts in ts order; a point with a held ts changes nothing. Throws a RangeError on
   * a non-finite ts or value.
   */
  add(point: SeriesPoint): AddResult
  /** The same, without a point object. */
  addPoint(ts: number, value: number): AddResult
  /** Points with fromMs <= ts <= toMs (both optional), oldest first; a fresh array. */
  points(fromMs?: number, toMs?: number): SeriesPoint[]
  /**
   * The same points as a view that copies nothing, for judging a reading. Valid until
   * the window next changes.
   */
  view(fromMs?: number, toMs?: number): Series
  latest(): SeriesPoint | null
  readonly size: number
}

export type SeriesWindowOptions = { spanMs: number; maxPoints?: number }

export const DEFAULT_MAX_POINTS = 512
const STRIDE = 2

/** Shared by every window of the same span and size (a number field costs a box each). */
type Limits = { spanMs: number; maxPoints: number }
const limitsHeld = new Map<string, Limits>()
function limitsOf(spanMs: number, maxPoints: number): Limits {
  const key = `${spanMs}/${maxPoints}`
  let limits = limitsHeld.get(key)
  if (!limits) {
    limits = { spanMs, maxPoints }
    limitsHeld.set(key, limits)
  }
  return limits
}

/** In place: `splice` would hand back an array of what it removed on every eviction. */
function dropOldest(d: number[], slots: number) {
  d.copyWithin(0, slots)
  d.length -= slots
}

class Window implements SeriesWindow, Series {
  readonly #limits: Limits
  /** ts, value per point, oldest first. */
  #data: number[] = []

  constructor(limits: Limits) {
    this.#limits = limits
  }

  get size(): number {
    return this.#data.length / STRIDE
  }

  get length(): number {
    return this.#data.length / STRIDE
  }

  ts(i: number): number {
    return this.#data[i * STRIDE] as number
  }

  value(i: number): number {
    return this.#data[i * STRIDE + 1] as number
  }

  view(fromMs?: number, toMs?: number): Series {
    if (fromMs === undefined && toMs === undefined) return this
    return between(this, fromMs ?? Number.NEGATIVE_INFINITY, toMs ?? Number.POSITIVE_INFINITY)
  }

  #bound(t: number, after: boolean): number {
    return lowerBound(this, t, after)
  }

  #pointAt(i: number): SeriesPoint {
    const d = this.#data
    const k = i * STRIDE
    return { ts: d[k] as number, value: d[k + 1] as number }
  }

  add(point: SeriesPoint): AddResult {
    return this.addPoint(point.ts, point.value)
  }

  addPoint(ts: number, value: number): AddResult {
    if (!Number.isFinite(ts) || !Number.isFinite(value)) {
      throw new RangeError(`point ts and value must be finite, got ts=${ts} value=${value}`)
    }
    const d = this.#data
    const n = d.length / STRIDE
    if (n === 0) {
      // Exactly two slots: most series of an idle fleet never get a second point.
      this.#data = [ts, value]
      return 'added'
    }
    const newest = d[(n - 1) * STRIDE] as number
    if (ts > newest) {
      d.push(ts, value)
      // Eviction is relative to the newest point.
      const { spanMs, maxPoints } = this.#limits
      let drop = this.#bound(ts - spanMs, false)
      if (n + 1 - drop > maxPoints) drop = n + 1 - maxPoints
      if (drop > 0) dropOldest(d, drop * STRIDE)
      return 'added'
    }
    let idx = this.#bound(ts, false)
    if (d[idx * STRIDE] === ts) return 'duplicate'
    if (ts < newest - this.#limits.spanMs) return 'too_old'
    if (n === this.#limits.maxPoints) {
      // Full: the oldest point goes. A point older than all held would be that point.
      if (idx === 0) return 'too_old'
      dropOldest(d, STRIDE)
      idx--
    }
    d.splice(idx * STRIDE, 0, ts, value)
    return 'added'
  }

  points(fromMs?: number, toMs?: number): SeriesPoint[] {
    const lo = fromMs === undefined ? 0 : this.#bound(fromMs, false)
    const hi = toMs === undefined ? this.size : this.#bound(toMs, true)
    const out: SeriesPoint[] = []
    for (let i = lo; i < hi; i++) out.push(this.#pointAt(i))
    return out
  }

  latest(): SeriesPoint | null {
    const n = this.size
    return n > 0 ? this.#pointAt(n - 1) : null
  }
}

export function createSeriesWindow(opts: SeriesWindowOptions): SeriesWindow {
  const { spanMs } = opts
  const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS
  if (!(spanMs > 0) || !Number.isFinite(spanMs)) {
    throw new RangeError(`spanMs must be a positive finite number, got ${spanMs}`)
  }
  if (!Number.isInteger(maxPoints) || maxPoints < 1) {
    throw new RangeError(`maxPoints must be a positive integer, got ${maxPoints}`)
  }
  return new Window(limitsOf(spanMs, maxPoints))
}
