import { describe, expect, it } from 'vitest'
import {
  isPhysicalMetric,
  lowVariance,
  outOfPhysicalRange,
  PHYSICAL_RANGES,
  type Point,
  SANITY_DEFAULTS,
  stuckValue,
} from '../../../../services/processor/rules/sanity.ts'
import {
  EnvSensorReading,
  envMetrics,
  PondSensorReading,
  pondMetrics,
} from '../../../../shared/index.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = Date.parse('2026-11-23T00:00:00Z')

/** One point every `stepMs` from T0, values from `f(i)`. */
function series(n: number, stepMs: number, f: (i: number) => number): Point[] {
  return Array.from({ length: n }, (_, i) => ({ ts: T0 + i * stepMs, value: f(i) }))
}

describe('stuckValue', () => {
  const opts = { minDurationMs: HOUR, minPoints: 5 }

  it('flags a run lasting exactly minDurationMs (inclusive)', () => {
    // 6.2, then 7 readings of 5.0 every 10 min: T0 … T0 + 60 min, exactly 1 h
    const pts = [{ ts: T0 - 10 * MIN, value: 6.2 }, ...series(7, 10 * MIN, () => 5)]
    expect(stuckValue(pts, opts)).toEqual({ since: T0, value: 5 })
  })

  it('does not flag one millisecond short of minDurationMs', () => {
    const pts = series(7, 10 * MIN, () => 5)
    const last = pts[6] as Point
    pts[6] = { ts: last.ts - 1, value: 5 }
    expect(stuckValue(pts, opts)).toBeNull()
  })

  it('needs minPoints as well as the duration', () => {
    const sparse = series(3, 30 * MIN, () => 5) // 60 min but 3 points
    expect(stuckValue(sparse, opts)).toBeNull()
    expect(stuckValue(sparse, { ...opts, minPoints: 3 })).toEqual({ since: T0, value: 5 })
  })

  it('uses the spread of the whole run against the tolerance', () => {
    const jitter = series(7, 10 * MIN, (i) => (i % 2 === 0 ? 5.0 : 5.01))
    expect(stuckValue(jitter, opts)).toBeNull() // default tolerance 0
    expect(stuckValue(jitter, { ...opts, tolerance: 0.02 })?.since).toBe(T0)
    // A slow drift of 0.01 per step never exceeds 0.01 between neighbours, but spans 0.06.
    const drift = series(7, 10 * MIN, (i) => 5 + i * 0.01)
    expect(stuckValue(drift, { ...opts, tolerance: 0.015 })).toBeNull()
  })

  it('only looks at the trailing run and ignores order and non-finite values', () => {
    const pts = [...series(7, 10 * MIN, () => 5), { ts: T0 + 70 * MIN, value: 5.4 }]
    expect(stuckValue(pts, opts)).toBeNull()
    const shuffled = [...series(7, 10 * MIN, () => 5)].reverse()
    shuffled.push({ ts: T0 + 5 * MIN, value: Number.NaN })
    expect(stuckValue(shuffled, opts)).toEqual({ since: T0, value: 5 })
    expect(stuckValue([], opts)).toBeNull()
  })
})

/** Diurnal pond DO: low at dawn (06:00), high mid-afternoon. */
function diurnalDo(stepMs: number, hours: number, mean: number, amplitude: number): Point[] {
  const n = Math.floor((hours * HOUR) / stepMs) + 1
  return series(n, stepMs, (i) => {
    const h = (i * stepMs) / HOUR
    return mean + amplitude * Math.sin((2 * Math.PI * (h - 12)) / 24)
  })
}

describe('lowVariance', () => {
  const doOpts = SANITY_DEFAULTS.dissolved_oxygen_mg_l.lowVariance

  it('flags a flat DO line with last-digit jitter', () => {
    const flat = series(24 * 6 + 1, 10 * MIN, (i) => (i % 2 === 0 ? 6.1 : 6.11))
    const r = lowVariance(flat, doOpts)
    expect(r?.n).toBe(145)
    expect(r?.stdDev).toBeCloseTo(0.005, 3)
  })

  it('passes a normal diurnal DO curve (4–8 mg/L) and one with only a 0.3 mg/L swing', () => {
    expect(lowVariance(diurnalDo(10 * MIN, 24, 6, 2), doOpts)).toBeNull()
    // Peak-to-peak 0.3 mg/L: σ ≈ 0.3 / (2√2) ≈ 0.106 > 0.08
    expect(lowVariance(diurnalDo(10 * MIN, 24, 6, 0.15), doOpts)).toBeNull()
  })

  it('uses sample standard deviation over the trailing window only', () => {
    // 1 h window, readings every 30 min: only the last three count: 2, 4, 6 → s = 2
    const pts = [{ ts: T0 - HOUR, value: 100 }, ...series(3, 30 * MIN, (i) => 2 + 2 * i)]
    const opts = { windowMs: HOUR, minPoints: 3, minStdDev: 2.5 }
    expect(lowVariance(pts, opts)).toMatchObject({ stdDev: 2, n: 3, mean: 4 })
    expect(lowVariance(pts, { ...opts, minStdDev: 2 })).toBeNull() // strict <
  })

  it('gives no verdict before the points span the window: a new probe’s first hours at night', () => {
    // Every 5 minutes for 2 h, oxygen drifting 0.01 mg/L: flat for 2 h is a calm night,
    // not a fouled probe. The default window is a day.
    const firstHours = series(25, 5 * MIN, (i) => 5.2 - i * 0.0004)
    expect(lowVariance(firstHours, doOpts)).toBeNull()
    // The same flatness over a whole day is.
    const day = series(24 * 12 + 1, 5 * MIN, (i) => 5.2 - (i % 2) * 0.01)
    expect(lowVariance(day, doOpts)).toMatchObject({ n: 289 })
  })

  it('gives no verdict with too few points', () => {
    const flat = series(10, 10 * MIN, () => 6)
    expect(lowVariance(flat, doOpts)).toBeNull()
    expect(lowVariance(flat, { ...doOpts, minPoints: 10, windowMs: 90 * MIN })).toMatchObject({
      stdDev: 0,
      n: 10,
    })
    expect(
      lowVariance([{ ts: T0, value: 1 }], { windowMs: HOUR, minPoints: 1, minStdDev: 1 }),
    ).toBeNull()
  })
})

describe('SANITY_DEFAULTS', () => {
  it('covers the four pond metrics with rationales', () => {
    expect(Object.keys(SANITY_DEFAULTS).sort()).toEqual(
      ['dissolved_oxygen_mg_l', 'ph', 'salinity_ppt', 'water_temp_c'].sort(),
    )
    for (const d of Object.values(SANITY_DEFAULTS)) expect(d.rationale.length).toBeGreaterThan(40)
  })

  it('does not flag a normal day for any metric that has a variance check', () => {
    // Smallest plausible daily swings: DO 0.3 mg/L, pH 0.1, water temp 0.5 °C.
    const swings = { dissolved_oxygen_mg_l: 0.3, ph: 0.1, water_temp_c: 0.5 } as const
    for (const [metric, swing] of Object.entries(swings)) {
      const opts = SANITY_DEFAULTS[metric as keyof typeof swings].lowVariance
      expect(lowVariance(diurnalDo(15 * MIN, 24, 7, swing / 2), opts)).toBeNull()
    }
  })
})

describe('outOfPhysicalRange', () => {
  it('accepts the bounds (inclusive) and rejects just outside', () => {
    expect(outOfPhysicalRange('dissolved_oxygen_mg_l', 0)).toBeNull()
    expect(outOfPhysicalRange('dissolved_oxygen_mg_l', 25)).toBeNull()
    expect(outOfPhysicalRange('dissolved_oxygen_mg_l', 25.01)).toBe(
      'dissolved_oxygen_mg_l 25.01 mg/L is above the physical maximum 25',
    )
    expect(outOfPhysicalRange('ph', -0.1)).toBe('ph -0.1 pH is below the physical minimum 0')
    expect(outOfPhysicalRange('ph', 14)).toBeNull()
    expect(outOfPhysicalRange('air_temp_c', -20)).toBeNull()
    expect(outOfPhysicalRange('air_temp_c', -20.1)).toMatch(/below/)
    expect(outOfPhysicalRange('turbidity_ntu', 4000)).toBeNull()
    expect(outOfPhysicalRange('rel_humidity_pct', 100.5)).toMatch(/above/)
  })

  it('rejects non-finite values', () => {
    expect(outOfPhysicalRange('water_temp_c', Number.NaN)).toMatch(/not a finite number/)
    expect(outOfPhysicalRange('salinity_ppt', Number.POSITIVE_INFINITY)).toMatch(/not a finite/)
  })

  it('narrows unknown metric names', () => {
    expect(isPhysicalMetric('tan_mg_l')).toBe(true)
    expect(isPhysicalMetric('toString')).toBe(false)
    expect(isPhysicalMetric('co2_ppm')).toBe(false)
  })

  it('matches the reading contracts at every pond and env bound', () => {
    const base = { ts: T0, seq: 1, battery_pct: 80, rssi_dbm: -90 }
    const cases = [
      ...pondMetrics.map((m) => [PondSensorReading, m] as const),
      ...envMetrics.map((m) => [EnvSensorReading, m] as const),
    ]
    for (const [schema, metric] of cases) {
      const { min, max } = PHYSICAL_RANGES[metric]
      for (const [v, ok] of [
        [min, true],
        [max, true],
        [min - 0.001, false],
        [max + 0.001, false],
      ] as const) {
        expect(schema.safeParse({ ...base, [metric]: v }).success, `${metric}=${v}`).toBe(ok)
        expect(outOfPhysicalRange(metric, v) === null, `${metric}=${v}`).toBe(ok)
      }
    }
  })
})
