import { localParts, zoneOffsetMs } from './local-time.ts'
import { between, type Series, seriesOf, type TimedValue } from './series.ts'

/**
 * Least-squares fits over event-time points, for rate, trend and forecast rules.
 * Inputs are a window's view (in ts order) or points in any order. Times are centred on
 * a reference instant (and scaled to hours or days) before fitting so that epoch-ms
 * magnitudes do not cost precision.
 */

export type { TimedValue }
export type Points = Series | readonly TimedValue[]

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

type Fit = { m: number; b: number; r2: number; n: number }

/**
 * x = (ts - refTs) / unitMs, y = value or ln(value) (then points <= 0 are left out).
 * Null when fewer than `minPoints` (at least 2) points or all share one ts. The sums are
 * those of simple-statistics' linearRegression and rSquared, taken over the series in
 * place: its input is an [x, y] array per point, and this runs on every reading.
 */
function fitLine(
  s: Series,
  refTs: number,
  unitMs: number,
  log: boolean,
  minPoints = 2,
): Fit | null {
  let n = 0
  let sx = 0
  let sy = 0
  let sxx = 0
  let sxy = 0
  let minTs = Number.POSITIVE_INFINITY
  let maxTs = Number.NEGATIVE_INFINITY
  for (let i = 0; i < s.length; i++) {
    const v = s.value(i)
    if (log && !(v > 0)) continue
    const ts = s.ts(i)
    const x = (ts - refTs) / unitMs
    const y = log ? Math.log(v) : v
    n++
    sx += x
    sy += y
    sxx += x * x
    sxy += x * y
    if (ts < minTs) minTs = ts
    if (ts > maxTs) maxTs = ts
  }
  if (n < Math.max(2, minPoints) || maxTs === minTs) return null
  const m = (n * sxy - sx * sy) / (n * sxx - sx * sx)
  const b = sy / n - (m * sx) / n
  // r² = 1 - SSres / SStot, a second pass (the one-pass form loses digits on flat series).
  const meanY = sy / n
  let ssRes = 0
  let ssTot = 0
  for (let i = 0; i < s.length; i++) {
    const v = s.value(i)
    if (log && !(v > 0)) continue
    const y = log ? Math.log(v) : v
    const e = y - (m * ((s.ts(i) - refTs) / unitMs) + b)
    ssRes += e * e
    ssTot += (y - meanY) * (y - meanY)
  }
  const r2 = 1 - ssRes / ssTot
  // r² is 0/0 when every y is equal; a flat line fits that exactly.
  return { m, b, r2: Number.isNaN(r2) ? 1 : r2, n }
}

/**
 * Change per hour over [nowTs - windowMs, nowTs]: the least-squares slope of the points
 * inside, in unit/h. Null when fewer than 2 points are inside or they span less than
 * half the window (a slope from two close points is mostly noise).
 */
export function ratePerHour(points: Points, windowMs: number, nowTs: number): number | null {
  if (!(windowMs > 0)) return null
  const inside = between(seriesOf(points), nowTs - windowMs, nowTs)
  if (inside.length < 2) return null
  if (inside.ts(inside.length - 1) - inside.ts(0) < windowMs / 2) return null
  return fitLine(inside, nowTs, HOUR_MS, false)?.m ?? null
}

export type TrendOptions = {
  windowMs: number
  minPoints: number
  /**
   * Fit ln(value) instead (points <= 0 dropped): `slope` is then in ln-units per perMs
   * and `relativeSlope` the compound growth per perMs, e^slope - 1. Suits counts that
   * multiply (pests per night) rather than add.
   */
  relative?: boolean
  /** Slope unit; default one day. */
  perMs?: number
}

export type TrendResult = {
  slope: number
  /**
   * slope / mean(values), e.g. 0.3 = +30 % per perMs; null when the mean is <= 0.
   * With `relative`, e^slope - 1 instead.
   */
  relativeSlope: number | null
  n: number
  r2: number
}

/**
 * Least-squares trend of the points in the window ending at the newest point.
 * Null when fewer than minPoints (and at least 2) points, or all share one ts.
 */
export function trend(points: Points, opts: TrendOptions): TrendResult | null {
  const perMs = opts.perMs ?? DAY_MS
  const all = seriesOf(points)
  if (all.length === 0 || !(opts.windowMs > 0) || !(perMs > 0)) return null
  const newest = all.ts(all.length - 1)
  const inside = between(all, newest - opts.windowMs, newest)
  const minPoints = Math.max(2, opts.minPoints)
  if (opts.relative) {
    const fit = fitLine(inside, newest, perMs, true, minPoints)
    if (!fit) return null
    return { slope: fit.m, relativeSlope: Math.expm1(fit.m), n: fit.n, r2: fit.r2 }
  }
  if (inside.length < minPoints) return null
  const fit = fitLine(inside, newest, perMs, false)
  if (!fit) return null
  let sum = 0
  for (let i = 0; i < inside.length; i++) sum += inside.value(i)
  const avg = sum / inside.length
  return { slope: fit.m, relativeSlope: avg > 0 ? fit.m / avg : null, n: fit.n, r2: fit.r2 }
}

export type ProjectFit = 'linear' | 'log-linear'

export type ProjectOptions = {
  /**
   * 'log-linear' fits ln(value), i.e. exponential decay or growth; points <= 0 are
   * dropped. Madenjian et al. (1987, Trans. Am. Fish. Soc.) found it predicts night-time
   * pond dissolved oxygen better than linear extrapolation.
   */
  fit: ProjectFit
  /** The fit uses points in [fromTs - windowMs, fromTs]. */
  fromTs: number
  toTs: number
  windowMs: number
  /** Default 2 (also the floor). */
  minPoints?: number
}

export type Projection = {
  value: number
  fit: ProjectFit
  n: number
  /** Of the fit in its own space (ln(value) for log-linear). */
  r2: number
  /** unit/h for linear; ln-units/h for log-linear (-0.1 = about -10 %/h, continuous). */
  slopePerHour: number
}

/** x in hours from fromTs, y = value or ln(value). */
function fitWindow(points: Points, opts: ProjectOptions): Fit | null {
  if (!(opts.windowMs > 0)) return null
  const inside = between(seriesOf(points), opts.fromTs - opts.windowMs, opts.fromTs)
  return fitLine(inside, opts.fromTs, HOUR_MS, opts.fit === 'log-linear', opts.minPoints ?? 2)
}

/** Fits the window ending at fromTs and returns the fitted value at toTs. */
export function project(points: Points, opts: ProjectOptions): Projection | null {
  const fit = fitWindow(points, opts)
  if (!fit) return null
  const y = fit.b + fit.m * ((opts.toTs - opts.fromTs) / HOUR_MS)
  return {
    value: opts.fit === 'log-linear' ? Math.exp(y) : y,
    fit: opts.fit,
    n: fit.n,
    r2: fit.r2,
    slopePerHour: fit.m,
  }
}

export type CrossingOptions = ProjectOptions & { bound: number; direction: 'below' | 'above' }

/**
 * First time in [fromTs, toTs] at which the projection reaches the bound (<= for
 * 'below', >= for 'above'), in epoch ms (fractional). fromTs itself when the fitted
 * line is already there at fromTs; null when it does not get there by toTs or there
 * are too few points to fit.
 */
export function crossing(points: Points, opts: CrossingOptions): number | null {
  if (opts.toTs < opts.fromTs) return null
  const fit = fitWindow(points, opts)
  if (!fit) return null
  const below = opts.direction === 'below'
  let target = opts.bound
  if (opts.fit === 'log-linear') {
    // exp(y) > 0 never reaches a bound <= 0 from above, and is always above one.
    if (opts.bound <= 0) return below ? null : opts.fromTs
    target = Math.log(opts.bound)
  }
  const y0 = fit.b
  if (below ? y0 <= target : y0 >= target) return opts.fromTs
  if (below ? fit.m >= 0 : fit.m <= 0) return null
  const t = opts.fromTs + ((target - fit.b) / fit.m) * HOUR_MS
  return t <= opts.toTs ? t : null
}

/**
 * The instant of a local wall time (given as if UTC). Ambiguous or skipped times are
 * resolved as Temporal's 'compatible' disambiguation does: the earlier instant in a
 * fall-back overlap; in a spring-forward gap, the time pushed later by the gap length
 * (02:30 on a Berlin spring-forward day becomes 03:30 CEST).
 */
function instantOfWall(wall: number, timeZone: string): number {
  const before = wall - zoneOffsetMs(wall - DAY_MS, timeZone)
  const after = wall - zoneOffsetMs(wall + DAY_MS, timeZone)
  const beforeOk = zoneOffsetMs(before, timeZone) === wall - before
  const afterOk = zoneOffsetMs(after, timeZone) === wall - after
  if (beforeOk && afterOk) return Math.min(before, after)
  if (beforeOk) return before
  if (afterOk) return after
  return before
}

/**
 * Epoch ms of the next occurrence, strictly after fromTs, of localHour:localMinute
 * wall-clock time in an IANA zone. Offsets come from Intl.DateTimeFormat, so DST rules
 * are the runtime's tz database. Throws a RangeError on an unknown zone.
 */
export function nextLocalTime(
  fromTs: number,
  localHour: number,
  localMinute: number,
  timeZone: string,
): number {
  if (!Number.isInteger(localHour) || localHour < 0 || localHour > 23) {
    throw new RangeError(`localHour must be an integer 0-23, got ${localHour}`)
  }
  if (!Number.isInteger(localMinute) || localMinute < 0 || localMinute > 59) {
    throw new RangeError(`localMinute must be an integer 0-59, got ${localMinute}`)
  }
  const today = localParts(fromTs, timeZone)
  // Today's occurrence may be past; tomorrow's cannot be, as fromTs is on today's date.
  for (let d = 0; d < 2; d++) {
    const wall = Date.UTC(today.year, today.month - 1, today.day + d, localHour, localMinute)
    const t = instantOfWall(wall, timeZone)
    if (t > fromTs) return t
  }
  throw new Error(`no ${localHour}:${localMinute} after ${fromTs} in ${timeZone}`)
}
