import { medianSorted } from 'simple-statistics'
import { parseDuration } from '../../../shared/duration.ts'
import type { Condition } from '../../../shared/index.ts'
import { memoize } from '../../../shared/memo.ts'
import { crossing, nextLocalTime, project, ratePerHour, trend } from './fits.ts'
import { localHHMM, localMinutes } from './local-time.ts'
import { lowVariance, stuckValue } from './sanity.ts'
import { between, type Series, seriesOf, type TimedValue, valuesOf } from './series.ts'
import { breached, cleared } from './threshold.ts'
import type { SeriesWindow } from './window.ts'

/**
 * One condition kind per branch: given the metric's latest value and its event-time
 * window, is the condition met (to start an alert) or over (to end one)? `null` means
 * there is not enough data to decide, which changes nothing.
 */
export type Judgement = {
  breached: boolean
  cleared: boolean
  /** What the alert reports: the reading's value, or the rate per hour. */
  value: number
  /** The bound it was compared with, and on which side trouble lies. */
  threshold: number
  op: 'above' | 'below'
  /** Extra message placeholders (a projection's times). */
  extras?: Record<string, string>
  /** A projection's value and the time it is for. */
  projection?: { value: number; targetTs: number }
  /** A projection rule outside its hours: the night it judged is over. */
  nightOver?: boolean
}

export type JudgeContext = { ts: number; timeZone: string }

/** "05:30" → [5, 30]; kept by text, as a rule's few texts are read for every reading. */
const hm = memoize((text: string) => text.split(':').map(Number) as [number, number])

export function judge(
  c: Condition,
  value: number,
  window: SeriesWindow,
  at: JudgeContext,
): Judgement | null {
  const ts = at.ts
  switch (c.type) {
    case 'no_data':
      // Judged on the clock by the engine's silence watch, not per reading.
      return null
    case 'deviation': {
      // The usual level excludes the newest point, so a sudden drop stands out against it.
      const history = between(window.view(), ts - parseDuration(c.window), ts, true)
      if (history.length < c.min_points) return null
      const usual = medianSorted(valuesOf(history).sort((a, b) => a - b))
      if (!(usual > 0)) return null
      const pct = (value / usual) * 100
      const clearAt = c.clear_percent ?? c.percent
      return c.op === 'below'
        ? {
            breached: pct < c.percent,
            cleared: pct >= clearAt,
            value: pct,
            threshold: c.percent,
            op: 'below',
          }
        : {
            breached: pct > c.percent,
            cleared: pct <= clearAt,
            value: pct,
            threshold: c.percent,
            op: 'above',
          }
    }
    case 'range': {
      const points = window.view(ts - parseDuration(c.window), ts)
      if (points.length < c.min_points) return null
      let lo = Number.POSITIVE_INFINITY
      let hi = Number.NEGATIVE_INFINITY
      for (let i = 0; i < points.length; i++) {
        const v = points.value(i)
        if (v < lo) lo = v
        if (v > hi) hi = v
      }
      const spread = hi - lo
      return {
        breached: spread > c.max_spread,
        cleared: spread <= (c.clear_spread ?? c.max_spread),
        value: spread,
        threshold: c.max_spread,
        op: 'above',
      }
    }
    case 'sanity': {
      const windowMs = parseDuration(c.window)
      const points = window.view(ts - windowMs, ts)
      const stuck = c.stuck_for
        ? stuckValue(points, {
            minDurationMs: parseDuration(c.stuck_for),
            minPoints: c.min_points,
            tolerance: c.tolerance,
          })
        : null
      const flat =
        c.min_std_dev !== undefined
          ? lowVariance(points, { windowMs, minPoints: c.min_points, minStdDev: c.min_std_dev })
          : null
      if (points.length < c.min_points) return null
      if (flat && !stuck)
        // Barely moving rather than stuck: how long it has been flat (h) and around what.
        return {
          breached: true,
          cleared: false,
          value: Math.round(flat.spanMs / 360_000) / 10,
          threshold: windowMs / 3_600_000,
          op: 'above',
          extras: { stuck_at: flat.mean.toFixed(2), std_dev: flat.stdDev.toFixed(3) },
        }
      return {
        breached: stuck !== null,
        cleared: stuck === null,
        // How long it has been stuck (h).
        value: stuck ? (ts - stuck.since) / 3_600_000 : 0,
        threshold: c.stuck_for ? parseDuration(c.stuck_for) / 3_600_000 : 0,
        op: 'above',
        extras: { stuck_at: stuck ? String(stuck.value) : '' },
      }
    }
    case 'trend': {
      const windowMs = parseDuration(c.window)
      const raw = window.view(ts - windowMs - DAY_MS, ts)
      const points = c.bucket === 'night' ? nightlyTotals(raw, ts, at.timeZone) : raw
      const t = trend(points, { windowMs, minPoints: c.min_points, relative: c.relative })
      if (!t) return null
      const rate = c.relative ? t.relativeSlope : t.slope
      if (rate === null) return null
      const clearAt = c.clear_per_day ?? c.per_day
      return c.direction === 'rising'
        ? {
            breached: rate >= c.per_day,
            cleared: rate < clearAt,
            value: rate,
            threshold: c.per_day,
            op: 'above',
          }
        : {
            breached: rate <= -c.per_day,
            cleared: rate > -clearAt,
            value: rate,
            threshold: -c.per_day,
            op: 'below',
          }
    }
    case 'threshold':
      return {
        breached: breached(c, value),
        cleared: cleared(c, value),
        value,
        threshold: c.value,
        op: c.op,
      }
    case 'rate_of_change': {
      const rate = ratePerHour(window.view(), parseDuration(c.window), ts)
      if (rate === null) return null
      const clearAt = c.clear_per_hour ?? c.per_hour
      return c.direction === 'falling'
        ? {
            breached: rate <= -c.per_hour,
            cleared: rate > -clearAt,
            value: rate,
            threshold: -c.per_hour,
            op: 'below',
          }
        : {
            breached: rate >= c.per_hour,
            cleared: rate < clearAt,
            value: rate,
            threshold: c.per_hour,
            op: 'above',
          }
    }
    case 'projection': {
      const [fromH, fromM] = hm(c.from)
      const [byH, byM] = hm(c.by)
      const now = localMinutes(ts, at.timeZone)
      const start = fromH * 60 + fromM
      const end = byH * 60 + byM
      const active = start <= end ? now >= start && now < end : now >= start || now < end
      // Outside the judged hours (the night is over): nothing to warn about, and an open
      // warning ends.
      if (!active)
        return {
          breached: false,
          cleared: true,
          value,
          threshold: c.bound,
          op: c.op,
          nightOver: true,
        }
      const toTs = nextLocalTime(ts, byH, byM, at.timeZone)
      const opts = {
        fit: c.fit,
        fromTs: ts,
        toTs,
        windowMs: parseDuration(c.window),
        minPoints: c.min_points,
      }
      const points = window.view(ts - opts.windowMs, ts)
      // Minutes of data projected hours ahead is noise: the fit needs half its window.
      if (points.length === 0 || ts - points.ts(0) < opts.windowMs / 2) return null
      const projection = project(points, opts)
      if (!projection) return null
      const crossesAt = crossing(points, { ...opts, bound: c.bound, direction: c.op })
      const beyond = c.op === 'below' ? projection.value < c.bound : projection.value > c.bound
      return {
        breached: beyond,
        cleared: !beyond,
        value: projection.value,
        threshold: c.bound,
        op: c.op,
        projection: { value: projection.value, targetTs: toTs },
        extras: {
          by: c.by,
          reached_at: crossesAt === null ? c.by : localHHMM(crossesAt, at.timeZone),
        },
      }
    }
  }
}

const DAY_MS = 86_400_000

/**
 * Sums per night — noon to noon in the farm's time — for the nights that are over by
 * `nowTs`, each placed at its noon start (a trap reports hourly; a night is one catch).
 */
function nightlyTotals(points: Series, nowTs: number, timeZone: string): Series {
  const noonBefore = (ts: number) => {
    const minutes = localMinutes(ts, timeZone)
    const sinceNoon = (((minutes - 720) % 1440) + 1440) % 1440
    return Math.floor((ts - sinceNoon * 60_000) / 60_000) * 60_000
  }
  const current = noonBefore(nowTs)
  const totals = new Map<number, number>()
  for (let i = 0; i < points.length; i++) {
    const start = noonBefore(points.ts(i))
    if (start >= current) continue
    totals.set(start, (totals.get(start) ?? 0) + points.value(i))
  }
  return seriesOf([...totals].map(([ts, value]): TimedValue => ({ ts, value })))
}

/** How long the condition must hold before the alert fires (threshold `for`). */
export function holdFor(c: Condition): number {
  return c.type === 'threshold' && c.for ? parseDuration(c.for) : 0
}
