import { linearRegression, rSquared, sampleStandardDeviation } from 'simple-statistics'
import { describe, expect, it } from 'vitest'
import { project, ratePerHour, trend } from '../../../../services/processor/rules/fits.ts'
import { lowVariance, stuckValue } from '../../../../services/processor/rules/sanity.ts'
import { between, seriesOf } from '../../../../services/processor/rules/series.ts'
import { createSeriesWindow } from '../../../../services/processor/rules/window.ts'

const MIN = 60_000
const HOUR = 3_600_000
const T0 = Date.parse('2026-06-10T15:00:00Z')

/** A pond's night: oxygen falling with a little sensor noise, one reading each 5 minutes. */
function night(n: number) {
  const points: { ts: number; value: number }[] = []
  for (let i = 0; i < n; i++)
    points.push({ ts: T0 + i * 5 * MIN, value: 7 - 0.4 * (i / 12) + 0.03 * Math.sin(i * 1.7) })
  return points
}

function windowOf(points: { ts: number; value: number }[]) {
  const w = createSeriesWindow({ spanMs: 48 * HOUR })
  // Added out of order, as a device flushing its backlog would.
  for (const p of [...points].reverse()) w.add(p)
  return w
}

describe('a window view', () => {
  it('reads the same points as points(), in ts order, within the same bounds', () => {
    const points = night(40)
    const w = windowOf(points)
    for (const [from, to] of [
      [undefined, undefined],
      [T0 + 10 * MIN, T0 + 60 * MIN],
      [T0 + 12 * MIN, T0 + 12 * MIN],
      [T0 - HOUR, T0],
      [T0 + 500 * MIN, T0 + 600 * MIN],
    ] as const) {
      const view = w.view(from, to)
      const copied = w.points(from, to)
      expect(view.length).toBe(copied.length)
      for (let i = 0; i < view.length; i++) {
        expect(view.ts(i)).toBe(copied[i]?.ts)
        expect(view.value(i)).toBe(copied[i]?.value)
      }
    }
  })

  it('between can leave out its upper bound (the newest point, for a usual level)', () => {
    const w = windowOf(night(10))
    const upTo = between(w.view(), T0, T0 + 45 * MIN)
    const before = between(w.view(), T0, T0 + 45 * MIN, true)
    expect(upTo.length).toBe(10)
    expect(before.length).toBe(9)
    expect(before.ts(before.length - 1)).toBe(T0 + 40 * MIN)
  })

  it('an array in any order becomes a sorted series, without non-finite points', () => {
    const s = seriesOf([
      { ts: T0 + 2, value: 3 },
      { ts: T0, value: 1 },
      { ts: T0 + 1, value: Number.NaN },
      { ts: T0 + 1, value: 2 },
    ])
    expect([0, 1, 2].map((i) => s.value(i))).toEqual([1, 2, 3])
    expect(s.length).toBe(3)
  })
})

describe('fits and sanity checks over a view', () => {
  const points = night(36)
  const w = windowOf(points)
  const now = T0 + 35 * 5 * MIN

  it('give what they give over the points as an array', () => {
    expect(ratePerHour(w.view(), 2 * HOUR, now)).toBe(ratePerHour(points, 2 * HOUR, now))
    expect(trend(w.view(), { windowMs: 2 * HOUR, minPoints: 4 })).toEqual(
      trend(points, { windowMs: 2 * HOUR, minPoints: 4 }),
    )
    const opts = {
      fit: 'log-linear' as const,
      fromTs: now,
      toTs: now + 4 * HOUR,
      windowMs: 3 * HOUR,
    }
    expect(project(w.view(), opts)).toEqual(project(points, opts))
    const low = { windowMs: 2 * HOUR, minPoints: 10, minStdDev: 5 }
    expect(lowVariance(w.view(), low)).toEqual(lowVariance(points, low))
    const stuck = { minDurationMs: HOUR, minPoints: 3, tolerance: 1 }
    expect(stuckValue(w.view(), stuck)).toEqual(stuckValue(points, stuck))
  })

  it('agree with simple-statistics on the slope, r² and standard deviation', () => {
    const inside = points.filter((p) => p.ts >= now - 3 * HOUR)
    const xy = inside.map((p) => [(p.ts - now) / HOUR, Math.log(p.value)])
    const { m, b } = linearRegression(xy)
    const r2 = rSquared(xy, (x) => m * x + b)
    const fitted = project(w.view(), {
      fit: 'log-linear',
      fromTs: now,
      toTs: now + 2 * HOUR,
      windowMs: 3 * HOUR,
    })
    expect(fitted?.slopePerHour).toBeCloseTo(m, 12)
    expect(fitted?.r2).toBeCloseTo(r2, 12)
    expect(fitted?.value).toBeCloseTo(Math.exp(b + 2 * m), 10)
    const day = inside.map((p) => p.value)
    const flat = lowVariance(w.view(), { windowMs: 3 * HOUR, minPoints: 2, minStdDev: 10 })
    expect(flat?.stdDev).toBeCloseTo(sampleStandardDeviation(day), 12)
  })
})
