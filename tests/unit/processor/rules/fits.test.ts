import { describe, expect, it } from 'vitest'
import {
  crossing,
  nextLocalTime,
  project,
  ratePerHour,
  type TimedValue,
  trend,
} from '../../../../services/processor/rules/fits.ts'

const HOUR = 3_600_000
const DAY = 86_400_000
// 22:00 in Asia/Ho_Chi_Minh (UTC+7).
const T22 = Date.parse('2026-06-10T15:00:00Z')
const at = (hours: number, value: number): TimedValue => ({ ts: T22 + hours * HOUR, value })

describe('ratePerHour', () => {
  // 6.0, 5.5, 5.0 mg/L at 22:00, 23:00, 24:00: a straight line falling 0.5 mg/L an hour.
  const pts = [at(0, 6.0), at(1, 5.5), at(2, 5.0)]

  it('is the least-squares slope in unit/h', () => {
    expect(ratePerHour(pts, 2 * HOUR, T22 + 2 * HOUR)).toBeCloseTo(-0.5, 12)
  })

  it('does not depend on input order', () => {
    expect(
      ratePerHour([pts[2], pts[0], pts[1]] as TimedValue[], 2 * HOUR, T22 + 2 * HOUR),
    ).toBeCloseTo(-0.5, 12)
  })

  it('fits only the points inside the window', () => {
    // A 21:00 value of 0 would pull the slope if it were used.
    expect(ratePerHour([at(-1, 0), ...pts], 2 * HOUR, T22 + 2 * HOUR)).toBeCloseTo(-0.5, 12)
  })

  it('least squares over noisy points: 6, 5, 5.5, 4 at 0..3 h', () => {
    // Sxy = Σ(x-1.5)·y = -1.5·6 - 0.5·5 + 0.5·5.5 + 1.5·4 = -2.75; Sxx = 5; slope -0.55.
    const noisy = [at(0, 6), at(1, 5), at(2, 5.5), at(3, 4)]
    expect(ratePerHour(noisy, 3 * HOUR, T22 + 3 * HOUR)).toBeCloseTo(-0.55, 12)
  })

  it('is null with fewer than 2 points in the window', () => {
    expect(ratePerHour([at(2, 5)], 2 * HOUR, T22 + 2 * HOUR)).toBeNull()
    expect(ratePerHour([], 2 * HOUR, T22 + 2 * HOUR)).toBeNull()
  })

  it('is null when the points span less than half the window', () => {
    // 4 h window, points 1.5 h apart: under 2 h.
    expect(ratePerHour([at(0.5, 6), at(2, 5)], 4 * HOUR, T22 + 2 * HOUR)).toBeNull()
    // Exactly half is enough.
    expect(ratePerHour([at(0, 6), at(2, 5)], 4 * HOUR, T22 + 2 * HOUR)).toBeCloseTo(-0.5, 12)
  })
})

describe('trend', () => {
  // Pest counts per night, growing ×1.3 a night (the last rounded: 219.7·1.3 = 285.61).
  const nights = [100, 130, 169, 219.7, 285.6].map((v, i) => ({ ts: i * DAY, value: v }))

  it('slope per day and relative slope = slope / mean', () => {
    // x = 0..4 days, x̄ = 2, Sxx = 10. Sxy = Σ(x-2)·y = -200 - 130 + 0 + 219.7 + 571.2 = 460.9,
    // slope = 46.09/day. Mean = 904.3 / 5 = 180.86. Relative = 46.09 / 180.86 ≈ 0.25484.
    const t = trend(nights, { windowMs: 5 * DAY, minPoints: 3 })
    expect(t).not.toBeNull()
    expect(t?.slope).toBeCloseTo(46.09, 9)
    expect(t?.relativeSlope).toBeCloseTo(46.09 / 180.86, 12)
    expect(t?.n).toBe(5)
    expect(t?.r2).toBeGreaterThan(0.95)
    expect(t?.r2).toBeLessThan(1)
  })

  it('relative: fits ln(count), so growth ×1.3 a night reads as +30 %', () => {
    // ln of a ×1.3 series is a line of slope ln 1.3; the rounded last value moves it by
    // about 2·ln(285.6/285.61)/10 ≈ -7e-6, so e^slope - 1 ≈ 0.29999.
    const t = trend(nights, { windowMs: 5 * DAY, minPoints: 3, relative: true })
    expect(t?.slope).toBeCloseTo(Math.log(1.3), 4)
    expect(t?.relativeSlope).toBeCloseTo(0.3, 4)
    expect(t?.r2).toBeGreaterThan(0.99999)
  })

  it('perMs rescales the slope', () => {
    const t = trend(nights, { windowMs: 5 * DAY, minPoints: 3, perMs: HOUR })
    expect(t?.slope).toBeCloseTo(46.09 / 24, 9)
    expect(t?.relativeSlope).toBeCloseTo(46.09 / 24 / 180.86, 12)
  })

  it('uses the window ending at the newest point', () => {
    // 2.5-day window keeps nights 2, 3, 4: Sxy = -169 + 285.6 = 116.6, Sxx = 2 → 58.3/day.
    const t = trend(nights, { windowMs: 2.5 * DAY, minPoints: 3 })
    expect(t?.n).toBe(3)
    expect(t?.slope).toBeCloseTo(58.3, 9)
  })

  it('is null with fewer than minPoints', () => {
    expect(trend(nights, { windowMs: 5 * DAY, minPoints: 6 })).toBeNull()
    expect(trend(nights.slice(0, 1), { windowMs: 5 * DAY, minPoints: 1 })).toBeNull()
    expect(trend([], { windowMs: 5 * DAY, minPoints: 1 })).toBeNull()
  })

  it('relativeSlope is null when the mean is not positive; a flat series has r2 1', () => {
    const zeros = [0, 0, 0].map((v, i) => ({ ts: i * DAY, value: v }))
    expect(trend(zeros, { windowMs: 3 * DAY, minPoints: 2 })).toEqual({
      slope: 0,
      relativeSlope: null,
      n: 3,
      r2: 1,
    })
  })
})

describe('project and crossing', () => {
  // DO decaying as 8·e^(-0.1 t) mg/L, sampled hourly for 4 h from 22:00.
  const decay = [0, 1, 2, 3, 4].map((h) => at(h, 8 * Math.exp(-0.1 * h)))
  const base = { fromTs: T22 + 4 * HOUR, windowMs: 4 * HOUR }

  it('log-linear recovers the exponential exactly', () => {
    const p = project(decay, { ...base, fit: 'log-linear', toTs: T22 + 7.5 * HOUR })
    expect(p).not.toBeNull()
    expect(Math.abs((p?.value ?? 0) - 8 * Math.exp(-0.75))).toBeLessThan(1e-9)
    expect(p?.value).toBeCloseTo(3.779, 3)
    expect(p?.slopePerHour).toBeCloseTo(-0.1, 12)
    expect(p?.r2).toBeCloseTo(1, 12)
    expect(p?.n).toBe(5)
    expect(p?.fit).toBe('log-linear')
  })

  it('linear extrapolation undershoots the same decay', () => {
    // y = 8, 7.238699, 6.549846, 5.926546, 5.362560 at x = 0..4 h; x̄ = 2, Sxx = 10.
    // Sxy = -2·8 - 7.238699 + 5.926546 + 2·5.362560 = -6.587033 → slope -0.6587033 mg/L/h.
    // ȳ = 33.077652 / 5 = 6.615530; at 7.5 h: 6.615530 - 0.6587033·5.5 = 2.992662.
    const p = project(decay, { ...base, fit: 'linear', toTs: T22 + 7.5 * HOUR })
    expect(p?.value).toBeCloseTo(2.992662, 6)
    expect(p?.slopePerHour).toBeCloseTo(-0.6587033, 7)
    expect(p?.r2).toBeLessThan(1)
  })

  it('drops non-positive values for log-linear only', () => {
    const withZero = [...decay, at(3.5, 0)]
    const log = project(withZero, { ...base, fit: 'log-linear', toTs: T22 + 7.5 * HOUR })
    expect(log?.n).toBe(5)
    expect(Math.abs((log?.value ?? 0) - 8 * Math.exp(-0.75))).toBeLessThan(1e-9)
    expect(project(withZero, { ...base, fit: 'linear', toTs: T22 + 7.5 * HOUR })?.n).toBe(6)
  })

  it('is null with too few points', () => {
    expect(project(decay.slice(0, 1), { ...base, fit: 'linear', toTs: T22 + 5 * HOUR })).toBeNull()
    expect(
      project(decay, { ...base, fit: 'linear', toTs: T22 + 5 * HOUR, minPoints: 6 }),
    ).toBeNull()
    // Only 3 h and 4 h are inside a 1.5 h window ending at 4 h.
    expect(
      project(decay, { ...base, windowMs: 1.5 * HOUR, fit: 'linear', toTs: T22 + 5 * HOUR })?.n,
    ).toBe(2)
  })

  it('crossing of 3 mg/L for the decay is at ln(8/3)/0.1 ≈ 9.808 h', () => {
    const t = crossing(decay, {
      ...base,
      fit: 'log-linear',
      toTs: T22 + 12 * HOUR,
      bound: 3,
      direction: 'below',
    })
    expect(t).not.toBeNull()
    const hours = ((t ?? 0) - T22) / HOUR
    expect(Math.abs(hours - Math.log(8 / 3) / 0.1)).toBeLessThan(1e-9)
    expect(hours).toBeCloseTo(9.808, 3)
  })

  it('crossing linear: 7.932937 - 0.6587033·x = 3 at x ≈ 7.4889 h from 22:00', () => {
    // Intercept at x=0 is ȳ + 2·0.6587033 = 7.932937; (7.932937 - 3) / 0.6587033 = 7.48889.
    const t = crossing(decay, {
      ...base,
      fit: 'linear',
      toTs: T22 + 12 * HOUR,
      bound: 3,
      direction: 'below',
    })
    expect(((t ?? 0) - T22) / HOUR).toBeCloseTo(7.48889, 4)
  })

  it('crossing is null when the bound is not reached by toTs', () => {
    const opts = { ...base, fit: 'log-linear' as const, bound: 3, direction: 'below' as const }
    expect(crossing(decay, { ...opts, toTs: T22 + 9 * HOUR })).toBeNull()
    // Falling values never cross above.
    expect(
      crossing(decay, { ...opts, direction: 'above', bound: 9, toTs: T22 + 99 * HOUR }),
    ).toBeNull()
    // Exponential decay never reaches 0.
    expect(crossing(decay, { ...opts, bound: 0, toTs: T22 + 999 * HOUR })).toBeNull()
    expect(crossing(decay.slice(0, 1), { ...opts, toTs: T22 + 99 * HOUR })).toBeNull()
  })

  it('crossing is fromTs when the fit is already past the bound', () => {
    const t = crossing(decay, {
      ...base,
      fit: 'log-linear',
      toTs: T22 + 12 * HOUR,
      bound: 6,
      direction: 'below',
    })
    expect(t).toBe(base.fromTs)
  })

  it('crossing above for rising values', () => {
    // Temperature rising 0.5 °C/h from 28 °C at 22:00: reaches 30 °C at 26:00 (4 h).
    const rising = [0, 1, 2].map((h) => at(h, 28 + 0.5 * h))
    const t = crossing(rising, {
      fit: 'linear',
      fromTs: T22 + 2 * HOUR,
      toTs: T22 + 10 * HOUR,
      windowMs: 2 * HOUR,
      bound: 30,
      direction: 'above',
    })
    expect(((t ?? 0) - T22) / HOUR).toBeCloseTo(4, 9)
  })
})

describe('nextLocalTime', () => {
  const iso = (ts: number) => new Date(ts).toISOString()

  it('Asia/Ho_Chi_Minh (UTC+7, no DST): later today', () => {
    // 15:00Z is 22:00 local on the 10th; next 05:30 local is the 11th = 22:30Z on the 10th.
    const t = nextLocalTime(Date.parse('2026-06-10T15:00:00Z'), 5, 30, 'Asia/Ho_Chi_Minh')
    expect(iso(t)).toBe('2026-06-10T22:30:00.000Z')
  })

  it('Asia/Ho_Chi_Minh: already past today, so tomorrow', () => {
    // 23:00Z is 06:00 local on the 11th; next 05:30 local is the 12th = 22:30Z on the 11th.
    const t = nextLocalTime(Date.parse('2026-06-10T23:00:00Z'), 5, 30, 'Asia/Ho_Chi_Minh')
    expect(iso(t)).toBe('2026-06-11T22:30:00.000Z')
  })

  it('is strictly after fromTs', () => {
    const t = nextLocalTime(Date.parse('2026-06-10T22:30:00Z'), 5, 30, 'Asia/Ho_Chi_Minh')
    expect(iso(t)).toBe('2026-06-11T22:30:00.000Z')
    const t2 = nextLocalTime(Date.parse('2026-06-10T22:29:59.999Z'), 5, 30, 'Asia/Ho_Chi_Minh')
    expect(iso(t2)).toBe('2026-06-10T22:30:00.000Z')
  })

  it('Europe/Berlin across spring-forward (2026-03-29, CET +1 → CEST +2)', () => {
    // Saturday 28th 12:00Z (13:00 CET): 05:30 on the 29th is already CEST → 03:30Z.
    expect(iso(nextLocalTime(Date.parse('2026-03-28T12:00:00Z'), 5, 30, 'Europe/Berlin'))).toBe(
      '2026-03-29T03:30:00.000Z',
    )
    // The day before it was still CET → 04:30Z.
    expect(iso(nextLocalTime(Date.parse('2026-03-27T12:00:00Z'), 5, 30, 'Europe/Berlin'))).toBe(
      '2026-03-28T04:30:00.000Z',
    )
    // 02:30 does not exist on the 29th; like Temporal's 'compatible', it moves to 03:30 CEST.
    expect(iso(nextLocalTime(Date.parse('2026-03-28T12:00:00Z'), 2, 30, 'Europe/Berlin'))).toBe(
      '2026-03-29T01:30:00.000Z',
    )
  })

  it('Europe/Berlin across fall-back (2026-10-25, CEST +2 → CET +1)', () => {
    // Saturday 24th 12:00Z: 05:30 on the 25th is CET → 04:30Z (03:30Z the day before).
    expect(iso(nextLocalTime(Date.parse('2026-10-24T12:00:00Z'), 5, 30, 'Europe/Berlin'))).toBe(
      '2026-10-25T04:30:00.000Z',
    )
    expect(iso(nextLocalTime(Date.parse('2026-10-23T12:00:00Z'), 5, 30, 'Europe/Berlin'))).toBe(
      '2026-10-24T03:30:00.000Z',
    )
    // 02:30 happens twice on the 25th; the first (CEST) one is 00:30Z ...
    const first = nextLocalTime(Date.parse('2026-10-24T12:00:00Z'), 2, 30, 'Europe/Berlin')
    expect(iso(first)).toBe('2026-10-25T00:30:00.000Z')
    // ... and from just after it, the next is the 26th (CET), not the repeat an hour later.
    expect(iso(nextLocalTime(first, 2, 30, 'Europe/Berlin'))).toBe('2026-10-26T01:30:00.000Z')
  })

  it('crosses a month and year end', () => {
    // 2026-12-31 23:00Z is 06:00 on 1 Jan 2027 in Ho Chi Minh City.
    expect(iso(nextLocalTime(Date.parse('2026-12-31T23:00:00Z'), 5, 30, 'Asia/Ho_Chi_Minh'))).toBe(
      '2027-01-01T22:30:00.000Z',
    )
  })

  it('rejects bad input', () => {
    expect(() => nextLocalTime(0, 24, 0, 'Europe/Berlin')).toThrow(RangeError)
    expect(() => nextLocalTime(0, 5, 60, 'Europe/Berlin')).toThrow(RangeError)
    expect(() => nextLocalTime(0, 5, 30, 'Mars/Olympus_Mons')).toThrow(RangeError)
  })
})
