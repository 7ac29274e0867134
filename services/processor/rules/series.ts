/**
 * A run of timed values in ts order, read by index. A rule window hands its points out
 * this way (a view over its own array), so that judging a reading allocates nothing per
 * point: a 24 h window of 5-minute readings as point objects was 288 objects per rule per
 * reading, the largest source of the processor's garbage.
 */
export interface Series {
  readonly length: number
  ts(i: number): number
  value(i: number): number
}

export type TimedValue = { readonly ts: number; readonly value: number }

/** The first index whose ts >= t (or > t when `after`). */
export function lowerBound(s: Series, t: number, after = false): number {
  let lo = 0
  let hi = s.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const ts = s.ts(mid)
    if (ts < t || (after && ts === t)) lo = mid + 1
    else hi = mid
  }
  return lo
}

class SubSeries implements Series {
  readonly #of: Series
  readonly #lo: number
  readonly length: number
  constructor(of: Series, lo: number, hi: number) {
    this.#of = of
    this.#lo = lo
    this.length = Math.max(0, hi - lo)
  }
  ts(i: number): number {
    return this.#of.ts(this.#lo + i)
  }
  value(i: number): number {
    return this.#of.value(this.#lo + i)
  }
}

/** Points with fromTs <= ts <= toTs (ts < toTs when `toExclusive`). */
export function between(s: Series, fromTs: number, toTs: number, toExclusive = false): Series {
  const lo = lowerBound(s, fromTs)
  const hi = lowerBound(s, toTs, !toExclusive)
  return lo === 0 && hi === s.length ? s : new SubSeries(s, lo, hi)
}

class ArraySeries implements Series {
  readonly #ts: number[]
  readonly #values: number[]
  readonly length: number
  constructor(ts: number[], values: number[]) {
    this.#ts = ts
    this.#values = values
    this.length = ts.length
  }
  ts(i: number): number {
    return this.#ts[i] as number
  }
  value(i: number): number {
    return this.#values[i] as number
  }
}

/**
 * A series as it is, or one made from points in any order (sorted by ts, points whose
 * ts or value is not finite left out): for callers that hold arrays, and for tests.
 */
export function seriesOf(points: Series | readonly TimedValue[]): Series {
  if (!Array.isArray(points)) return points as Series
  const kept = (points as readonly TimedValue[])
    .filter((p) => Number.isFinite(p.ts) && Number.isFinite(p.value))
    .sort((a, b) => a.ts - b.ts)
  return new ArraySeries(
    kept.map((p) => p.ts),
    kept.map((p) => p.value),
  )
}

/** The values, in ts order (for a median). */
export function valuesOf(s: Series): number[] {
  const out: number[] = []
  for (let i = 0; i < s.length; i++) out.push(s.value(i))
  return out
}
