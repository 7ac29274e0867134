import { lowerBound, type Series, seriesOf } from './series.ts'

/**
 * Sensor sanity checks. A fouled optical DO probe (biofilm, algae on the cap) reads a
 * flat line; a broken one reads impossible values. Pure functions over time series.
 */

export type Point = { ts: number; value: number }
/** A window's view (in ts order), or points in any order. */
export type Points = Series | readonly Point[]

export type StuckOptions = {
  /** The flat run must span at least this long (inclusive: duration ≥ minDurationMs). */
  minDurationMs: number
  /** …and contain at least this many readings. */
  minPoints: number
  /** Largest max−min spread of the run still counted as flat. Default 0 (exactly equal). */
  tolerance?: number
}

/**
 * The trailing run of readings whose spread (max − min) stays within `tolerance`. When it
 * spans ≥ minDurationMs from its first to its last reading and has ≥ minPoints readings,
 * returns when it started and the latest value; otherwise null. The spread is measured
 * over the whole run rather than against the last value so a slow drift cannot chain
 * small steps into a "flat" line.
 */
export function stuckValue(
  points: Points,
  opts: StuckOptions,
): { since: number; value: number } | null {
  const tolerance = opts.tolerance ?? 0
  const s = seriesOf(points)
  if (s.length === 0) return null
  const lastTs = s.ts(s.length - 1)
  const lastValue = s.value(s.length - 1)
  let lo = lastValue
  let hi = lastValue
  let since = lastTs
  let n = 0
  for (let i = s.length - 1; i >= 0; i--) {
    const v = s.value(i)
    const nextLo = Math.min(lo, v)
    const nextHi = Math.max(hi, v)
    if (nextHi - nextLo > tolerance) break
    lo = nextLo
    hi = nextHi
    since = s.ts(i)
    n++
  }
  if (n < opts.minPoints || lastTs - since < opts.minDurationMs) return null
  return { since, value: lastValue }
}

export type LowVarianceOptions = {
  /** Look-back from the latest reading; points with ts ≥ latest − windowMs count. */
  windowMs: number
  /** Fewer readings than this in the window: no verdict (null). At least 2. */
  minPoints: number
  /** Flag when the sample standard deviation is strictly below this. */
  minStdDev: number
}

/**
 * Sample standard deviation (n − 1) of the readings in the trailing window; returns it
 * when implausibly low, else null. Complements stuckValue: a fouled probe often still
 * jitters by its last digit, so it is never exactly flat but its diurnal cycle is gone.
 */
export function lowVariance(
  points: Points,
  opts: LowVarianceOptions,
): { stdDev: number; n: number; mean: number; spanMs: number } | null {
  const s = seriesOf(points)
  if (s.length === 0) return null
  const lastTs = s.ts(s.length - 1)
  const from = lowerBound(s, lastTs - opts.windowMs)
  const n = s.length - from
  if (n < Math.max(2, opts.minPoints)) return null
  // A pond's oxygen barely moves within an hour at night: a new probe's first dozen
  // readings are not a flat day. Judged only once the points cover the window.
  const spanMs = lastTs - s.ts(from)
  if (spanMs < MIN_COVERAGE * opts.windowMs) return null
  // Sample standard deviation (n − 1), in two passes as simple-statistics computes it.
  let sum = 0
  for (let i = from; i < s.length; i++) sum += s.value(i)
  const mean = sum / n
  let squares = 0
  for (let i = from; i < s.length; i++) squares += (s.value(i) - mean) ** 2
  const stdDev = Math.sqrt(squares / (n - 1))
  if (stdDev >= opts.minStdDev) return null
  return { stdDev, n, mean, spanMs }
}

/** Share of the window the points must span before a flat line is judged. */
const MIN_COVERAGE = 0.9

export type SanityDefaults = {
  stuck: Required<StuckOptions>
  /** null: the metric can legitimately be flat over the window, so the check is off. */
  lowVariance: LowVarianceOptions | null
  rationale: string
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * Defaults assume a reading every 5–15 min. A sine with peak-to-peak swing A has
 * standard deviation A / (2√2) ≈ 0.35 A, which links the minimum plausible daily
 * swing to minStdDev below.
 */
export const SANITY_DEFAULTS = {
  dissolved_oxygen_mg_l: {
    stuck: { minDurationMs: 3 * HOUR, minPoints: 12, tolerance: 0 },
    lowVariance: { windowMs: DAY, minPoints: 48, minStdDev: 0.08 },
    rationale:
      'Photosynthesis by day and respiration by night move pond DO by ≥ 0.3 mg/L a day, ' +
      'usually several mg/L (σ of a 0.3 mg/L sine ≈ 0.106). Optical probes resolve 0.01 mg/L, ' +
      'so three hours on one value is a fouled or frozen probe.',
  },
  ph: {
    stuck: { minDurationMs: 6 * HOUR, minPoints: 24, tolerance: 0 },
    lowVariance: { windowMs: DAY, minPoints: 48, minStdDev: 0.03 },
    rationale:
      'CO2 uptake by phytoplankton swings pond pH by ≥ 0.1 a day, typically 0.3–1.0 ' +
      '(σ of a 0.1 sine ≈ 0.035); a glass electrode with a dry or clogged junction goes flat.',
  },
  water_temp_c: {
    stuck: { minDurationMs: 6 * HOUR, minPoints: 24, tolerance: 0 },
    lowVariance: { windowMs: DAY, minPoints: 48, minStdDev: 0.15 },
    rationale:
      'Ponds 1–1.5 m deep warm and cool by ≥ 0.5 °C a day in the delta (σ of a 0.5 °C sine ' +
      '≈ 0.18); 0.1 °C resolution allows a few flat hours at night, not six.',
  },
  salinity_ppt: {
    stuck: { minDurationMs: 3 * DAY, minPoints: 100, tolerance: 0 },
    lowVariance: null,
    rationale:
      'Salinity changes only with rain, evaporation and water exchange, so a flat day is ' +
      'normal; only a reading frozen to the last digit for three days is suspicious.',
  },
} as const satisfies Record<string, SanityDefaults>

/**
 * Physically possible ranges, inclusive, matching the reading contracts in
 * shared/readings.ts (a value outside them is quarantined at ingest; this check is for
 * derived series and readings that bypass the contracts).
 */
export const PHYSICAL_RANGES = {
  dissolved_oxygen_mg_l: { min: 0, max: 25, unit: 'mg/L' },
  ph: { min: 0, max: 14, unit: 'pH' },
  water_temp_c: { min: 0, max: 45, unit: '°C' },
  salinity_ppt: { min: 0, max: 70, unit: 'ppt' },
  tan_mg_l: { min: 0, max: 100, unit: 'mg/L' },
  turbidity_ntu: { min: 0, max: 4000, unit: 'NTU' },
  air_temp_c: { min: -20, max: 60, unit: '°C' },
  rel_humidity_pct: { min: 0, max: 100, unit: '%' },
  leaf_wetness_pct: { min: 0, max: 100, unit: '%' },
  rainfall_mm: { min: 0, max: 500, unit: 'mm' },
  soil_moisture_pct: { min: 0, max: 100, unit: '%' },
  flow_l_min: { min: 0, max: 5000, unit: 'L/min' },
  pressure_bar: { min: 0, max: 16, unit: 'bar' },
  volume_total_l: { min: 0, max: 1e12, unit: 'L' },
  battery_pct: { min: 0, max: 100, unit: '%' },
  battery_v: { min: 0, max: 60, unit: 'V' },
  rssi_dbm: { min: -150, max: 0, unit: 'dBm' },
} as const satisfies Record<string, { min: number; max: number; unit: string }>

export type PhysicalMetric = keyof typeof PHYSICAL_RANGES

export function isPhysicalMetric(metric: string): metric is PhysicalMetric {
  return Object.hasOwn(PHYSICAL_RANGES, metric)
}

/** A reason string when `value` is impossible for `metric`; null when plausible. Bounds inclusive. */
export function outOfPhysicalRange(metric: PhysicalMetric, value: number): string | null {
  const r = PHYSICAL_RANGES[metric]
  if (!Number.isFinite(value)) return `${metric} is ${value}, not a finite number`
  if (value < r.min) return `${metric} ${value} ${r.unit} is below the physical minimum ${r.min}`
  if (value > r.max) return `${metric} ${value} ${r.unit} is above the physical maximum ${r.max}`
  return null
}
