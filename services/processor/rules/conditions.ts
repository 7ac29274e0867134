import { parseDuration } from '../../../shared/duration.ts'
import type { Condition } from '../../../shared/index.ts'
import { ratePerHour } from './fits.ts'
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
}

export function judge(
  c: Condition,
  value: number,
  window: SeriesWindow,
  ts: number,
): Judgement | null {
  switch (c.type) {
    case 'threshold':
      return {
        breached: breached(c, value),
        cleared: cleared(c, value),
        value,
        threshold: c.value,
        op: c.op,
      }
    case 'rate_of_change': {
      const rate = ratePerHour(window.points(), parseDuration(c.window), ts)
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
  }
}

/** How long the condition must hold before the alert fires (threshold `for`). */
export function holdFor(c: Condition): number {
  return c.type === 'threshold' && c.for ? parseDuration(c.for) : 0
}
