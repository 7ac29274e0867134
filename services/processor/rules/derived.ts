/**
 * Derived agronomic and aquaculture quantities computed from stored readings. Pure
 * functions, no I/O: callers fetch the readings and decide what to alert on.
 */

// ---------------------------------------------------------------------------
// Un-ionized ammonia
// ---------------------------------------------------------------------------

export type UnionizedAmmoniaInput = {
  /** Total ammonia nitrogen (NH3-N + NH4+-N), mg/L as N — the `tan_mg_l` contract field. */
  tanMgL: number
  ph: number
  waterTempC: number
  /**
   * Accepted so callers can pass the probe reading, but NOT applied: see `salinityCorrected`.
   */
  salinityPpt?: number
}

export type UnionizedAmmonia = {
  /** Un-ionized ammonia as nitrogen (NH3-N), mg/L. Multiply by NH3_PER_N for mg/L as NH3. */
  nh3MgL: number
  /** Share of TAN present as NH3, 0–1. */
  fraction: number
  /** pKa of NH4+ used, freshwater. */
  pKa: number
  /** Always false: no ionic-strength correction is applied (see unionizedAmmonia). */
  salinityCorrected: false
}

/** Mass ratio NH3 / N (17.031 / 14.007): converts mg/L NH3-N to mg/L NH3. */
export const NH3_PER_N = 17.031 / 14.007

/**
 * Un-ionized share of total ammonia after Emerson, Russo, Lund & Thurston (1975),
 * "Aqueous ammonia equilibrium calculations: effect of pH and temperature",
 * J. Fish. Res. Board Can. 32:2379–2383:
 *
 *   pKa = 0.09018 + 2729.92 / T        (T in kelvin, fitted over 0–30 °C)
 *   fraction = 1 / (10^(pKa − pH) + 1)
 *
 * Because TAN is reported as nitrogen, `nh3MgL` is mg/L NH3-N (the usual reporting
 * basis for toxicity criteria in shrimp culture); NH3_PER_N converts it.
 *
 * This is the freshwater pKa. Ionic strength raises pKa in brackish and sea water
 * (Johansson & Wedborg 1980, Oceanol. Acta 3:345; Bower & Bidwell 1978, J. Fish. Res.
 * Board Can. 35:1012), so at the 5–30 ppt of Mekong shrimp ponds the fraction here is
 * slightly too high — the safe side for an alarm. The correction is not implemented
 * because the widely copied Khoo et al. (1977) salinity expression is wrong (Bell,
 * Johnson, Jickells & Liss 2007, Environ. Chem. 4:183) and Johansson & Wedborg's
 * coefficients should be taken from the paper, not from memory.
 */
export function unionizedAmmonia(input: UnionizedAmmoniaInput): UnionizedAmmonia {
  const { tanMgL, ph, waterTempC } = input
  if (![tanMgL, ph, waterTempC].every(Number.isFinite)) {
    throw new RangeError('unionizedAmmonia: tanMgL, ph and waterTempC must be finite numbers')
  }
  if (tanMgL < 0) throw new RangeError('unionizedAmmonia: tanMgL must be non-negative')
  const tK = waterTempC + 273.15
  const pKa = 0.09018 + 2729.92 / tK
  const fraction = 1 / (10 ** (pKa - ph) + 1)
  return { nh3MgL: tanMgL * fraction, fraction, pKa, salinityCorrected: false }
}

// ---------------------------------------------------------------------------
// Degree-days
// ---------------------------------------------------------------------------

export type DegreeDayMethod = 'average' | 'single-sine'

/**
 * Degree-days for one day from its min and max air temperature, with a horizontal
 * cutoff at `upperC` (development assumed to continue at the upper-threshold rate).
 *
 * - 'average': both min and max are clamped to [lowerC, upperC] before averaging, the
 *   "modified average" form; it is 0 for a day entirely below `lowerC`.
 * - 'single-sine': the day's temperature is a sine between min and max and the area
 *   between the thresholds is integrated (Baskerville & Emin 1969, Ecology 50:514;
 *   formulas as given by UC IPM, "Degree-days: methods", Zalom et al. 1983, UC DANR
 *   Leaflet 21373).
 */
export function degreeDaysBetween(
  minC: number,
  maxC: number,
  lowerC: number,
  upperC: number,
  method: DegreeDayMethod,
): number {
  if (![minC, maxC, lowerC, upperC].every(Number.isFinite)) {
    throw new RangeError('degreeDaysBetween: temperatures must be finite numbers')
  }
  if (upperC <= lowerC) throw new RangeError('degreeDaysBetween: upperC must exceed lowerC')
  const lo = Math.min(minC, maxC)
  const hi = Math.max(minC, maxC)
  if (method === 'average') {
    const clamp = (t: number) => Math.min(Math.max(t, lowerC), upperC)
    return (clamp(lo) + clamp(hi)) / 2 - lowerC
  }
  return singleSine(lo, hi, lowerC, upperC)
}

function singleSine(min: number, max: number, lower: number, upper: number): number {
  if (max <= lower) return 0
  if (min >= upper) return upper - lower
  const mean = (max + min) / 2
  // min < upper and max > lower here; alpha is 0 only when min == max, which is a
  // constant day strictly between the thresholds.
  if (min >= lower && max <= upper) return mean - lower
  const alpha = (max - min) / 2
  const halfPi = Math.PI / 2
  const th1 = min < lower ? Math.asin((lower - mean) / alpha) : -halfPi
  const th2 = max > upper ? Math.asin((upper - mean) / alpha) : halfPi
  // Integral over the half-cycle of the sine between th1 and th2, plus the cut-off
  // plateau above th2 (UC IPM single-sine, horizontal cutoff).
  const area =
    (mean - lower) * (th2 - th1) +
    alpha * (Math.cos(th1) - Math.cos(th2)) +
    (upper - lower) * (halfPi - th2)
  return area / Math.PI
}

export type DailyMinMax = { date: string; minC: number; maxC: number }

export type DegreeDayOptions = {
  lowerC: number
  upperC: number
  /** Local date (YYYY-MM-DD) accumulation starts on; that day is included. */
  biofixDate: string
  method: DegreeDayMethod
}

export type DegreeDayPoint = { date: string; degreeDays: number; cumulative: number }

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/

/**
 * Cumulative degree-days from the biofix date (inclusive). Days before the biofix are
 * dropped; input order does not matter. Missing days are not interpolated: the series
 * simply skips them, so callers should check for gaps before trusting a generation count.
 */
export function accumulateDegreeDays(
  days: readonly DailyMinMax[],
  opts: DegreeDayOptions,
): DegreeDayPoint[] {
  if (!ISO_DATE.test(opts.biofixDate)) {
    throw new RangeError('accumulateDegreeDays: biofixDate must be YYYY-MM-DD')
  }
  const sorted = days
    .filter((d) => {
      if (!ISO_DATE.test(d.date)) throw new RangeError(`accumulateDegreeDays: bad date ${d.date}`)
      return d.date >= opts.biofixDate
    })
    .toSorted((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
  let cumulative = 0
  return sorted.map((d) => {
    const degreeDays = degreeDaysBetween(d.minC, d.maxC, opts.lowerC, opts.upperC, opts.method)
    cumulative += degreeDays
    return { date: d.date, degreeDays, cumulative }
  })
}

export type PestPreset = {
  lowerC: number
  upperC: number
  /** Approximate degree-days (above lowerC) from egg to egg-laying adult. */
  degreeDaysPerGeneration: number
  source: string
}

/**
 * Thresholds for rice pests of the Mekong delta. Developmental thresholds vary by
 * population, stage and study; treat these as starting points to be calibrated
 * against local light-trap records.
 */
export const PEST_PRESETS = {
  brown_planthopper: {
    lowerC: 11,
    upperC: 32,
    degreeDaysPerGeneration: 450,
    source:
      'Nilaparvata lugens. lowerC: nymphal thresholds 11.3–12.2 °C, no egg development ' +
      'below 15 °C (Korean laboratory study, ESA Annual Meeting 2001, paper 3564); ' +
      'upperC: development detrimental above 32 °C (IJERD 12(1):108–113, 2022). ' +
      'degreeDaysPerGeneration: estimate from a ~25–30 day generation at 27 °C, ' +
      'not a cited value — calibrate locally.',
  },
  yellow_stem_borer: {
    lowerC: 15,
    upperC: 35,
    degreeDaysPerGeneration: 600,
    source:
      'Scirpophaga incertulas. Typical literature values (lower ~12–15 °C, upper ~35 °C), ' +
      'no single citation verified. degreeDaysPerGeneration: estimate from a ~45 day ' +
      'egg-to-adult cycle at 28 °C (egg ~6 d, larva 25–34 d, pupa 7–9 d) — calibrate locally.',
  },
} as const satisfies Record<string, PestPreset>

// ---------------------------------------------------------------------------
// Daily min/max and biofix
// ---------------------------------------------------------------------------

export type DailyMinMaxRow = DailyMinMax & { n: number }

/**
 * Min and max air temperature per local calendar date in `timeZone` (IANA name, e.g.
 * 'Asia/Ho_Chi_Minh'). Non-finite temperatures are skipped. Sorted by date.
 */
export function dailyMinMax(
  readings: readonly { ts: number; airTempC: number }[],
  timeZone: string,
): DailyMinMaxRow[] {
  // Throws RangeError for an unknown time zone, which is what we want.
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  })
  const byDate = new Map<string, DailyMinMaxRow>()
  for (const r of readings) {
    if (!Number.isFinite(r.ts) || !Number.isFinite(r.airTempC)) continue
    const date = localDate(fmt, r.ts)
    const row = byDate.get(date)
    if (row) {
      row.minC = Math.min(row.minC, r.airTempC)
      row.maxC = Math.max(row.maxC, r.airTempC)
      row.n++
    } else {
      byDate.set(date, { date, minC: r.airTempC, maxC: r.airTempC, n: 1 })
    }
  }
  return [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : 1))
}

function localDate(fmt: Intl.DateTimeFormat, ts: number): string {
  const parts = fmt.formatToParts(ts)
  const get = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')}`
}

const DAY_MS = 86_400_000

/**
 * Biofix as the first sustained trap catch: the first date of the first run of
 * `consecutiveNights` calendar-consecutive nights each with count ≥ threshold. A night
 * below threshold or a missing night (no data is not a catch) breaks the run.
 */
export function detectBiofix(
  nightlyCatches: readonly { date: string; count: number }[],
  opts: { threshold: number; consecutiveNights: number },
): string | null {
  if (!Number.isInteger(opts.consecutiveNights) || opts.consecutiveNights < 1) {
    throw new RangeError('detectBiofix: consecutiveNights must be a positive integer')
  }
  const sorted = nightlyCatches.toSorted((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
  let runStart: string | null = null
  let runLength = 0
  let prevMs = Number.NaN
  for (const night of sorted) {
    if (!ISO_DATE.test(night.date)) throw new RangeError(`detectBiofix: bad date ${night.date}`)
    const ms = Date.parse(`${night.date}T00:00:00Z`)
    const contiguous = ms - prevMs === DAY_MS
    prevMs = ms
    if (night.count >= opts.threshold) {
      if (runLength > 0 && contiguous) {
        runLength++
      } else {
        runStart = night.date
        runLength = 1
      }
      if (runLength >= opts.consecutiveNights) return runStart
    } else {
      runLength = 0
    }
  }
  return null
}
