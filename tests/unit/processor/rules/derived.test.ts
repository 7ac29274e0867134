import { describe, expect, it } from 'vitest'
import {
  accumulateDegreeDays,
  dailyMinMax,
  degreeDaysBetween,
  detectBiofix,
  NH3_PER_N,
  PEST_PRESETS,
  unionizedAmmonia,
} from '../../../../services/processor/rules/derived.ts'

describe('unionizedAmmonia (Emerson et al. 1975)', () => {
  it('TAN 1.0 mg/L at pH 8.0 and 28 °C', () => {
    // T = 301.15 K; pKa = 0.09018 + 2729.92 / 301.15 = 9.155164;
    // fraction = 1 / (10^1.155164 + 1) = 1 / (14.2946 + 1) = 0.065384
    const r = unionizedAmmonia({ tanMgL: 1, ph: 8, waterTempC: 28 })
    expect(r.pKa).toBeCloseTo(9.155164, 6)
    expect(r.fraction).toBeCloseTo(0.065384, 6)
    expect(r.nh3MgL).toBeCloseTo(0.065384, 6)
    expect(r.salinityCorrected).toBe(false)
  })

  it('scales with TAN and rises with pH and temperature', () => {
    // T = 303.15 K; pKa = 9.095359; fraction = 1 / (10^0.095359 + 1) = 0.445326
    const hot = unionizedAmmonia({ tanMgL: 2, ph: 9, waterTempC: 30 })
    expect(hot.fraction).toBeCloseTo(0.445326, 6)
    expect(hot.nh3MgL).toBeCloseTo(0.890653, 5)
    expect(hot.fraction).toBeGreaterThan(
      unionizedAmmonia({ tanMgL: 2, ph: 8, waterTempC: 30 }).fraction,
    )
    expect(unionizedAmmonia({ tanMgL: 1, ph: 8, waterTempC: 32 }).fraction).toBeGreaterThan(
      0.065384,
    )
  })

  it('is half un-ionized when pH equals pKa', () => {
    const { pKa } = unionizedAmmonia({ tanMgL: 1, ph: 7, waterTempC: 25 })
    expect(unionizedAmmonia({ tanMgL: 1, ph: pKa, waterTempC: 25 }).fraction).toBeCloseTo(0.5, 12)
  })

  it('ignores salinity (freshwater pKa) and converts NH3-N to NH3', () => {
    const fresh = unionizedAmmonia({ tanMgL: 1, ph: 8, waterTempC: 28 })
    const brackish = unionizedAmmonia({ tanMgL: 1, ph: 8, waterTempC: 28, salinityPpt: 15 })
    expect(brackish.fraction).toBe(fresh.fraction)
    expect(NH3_PER_N).toBeCloseTo(1.2159, 4)
  })

  it('rejects non-finite and negative input', () => {
    expect(() => unionizedAmmonia({ tanMgL: Number.NaN, ph: 8, waterTempC: 28 })).toThrow(
      RangeError,
    )
    expect(() => unionizedAmmonia({ tanMgL: -1, ph: 8, waterTempC: 28 })).toThrow(RangeError)
  })
})

/** Independent check: integrate the clipped sine numerically over one day. */
function numericSine(min: number, max: number, lower: number, upper: number): number {
  const steps = 200_000
  let sum = 0
  for (let i = 0; i < steps; i++) {
    const t = ((i + 0.5) / steps) * 2 * Math.PI
    const temp = (max + min) / 2 + ((max - min) / 2) * Math.sin(t)
    sum += Math.min(Math.max(temp, lower), upper) - lower
  }
  return sum / steps
}

describe('degreeDaysBetween', () => {
  it('average method with horizontal cutoff: 24/34 over 10–32 = (24 + 32)/2 − 10 = 18', () => {
    expect(degreeDaysBetween(24, 34, 10, 32, 'average')).toBe(18)
  })

  it('average method clamps the min to the lower threshold and is 0 below it', () => {
    expect(degreeDaysBetween(6, 20, 10, 32, 'average')).toBe(5) // (10 + 20)/2 − 10
    expect(degreeDaysBetween(4, 9, 10, 32, 'average')).toBe(0)
    expect(degreeDaysBetween(33, 38, 10, 32, 'average')).toBe(22)
  })

  it('single-sine: day entirely below the lower threshold is 0', () => {
    expect(degreeDaysBetween(5, 9, 10, 32, 'single-sine')).toBe(0)
    expect(degreeDaysBetween(5, 10, 10, 32, 'single-sine')).toBe(0)
  })

  it('single-sine: day between the thresholds is mean − lower', () => {
    expect(degreeDaysBetween(20, 30, 10, 32, 'single-sine')).toBe(15)
  })

  it('single-sine: day entirely above the upper threshold is upper − lower', () => {
    expect(degreeDaysBetween(33, 38, 10, 32, 'single-sine')).toBe(22)
  })

  it('single-sine: crossing the lower threshold at the mean gives α/π = 10/π', () => {
    expect(degreeDaysBetween(0, 20, 10, 32, 'single-sine')).toBeCloseTo(10 / Math.PI, 10)
  })

  it('single-sine: crossing the upper threshold at the mean gives 22 − 10/π', () => {
    // M = 32 = upper, α = 10, θ2 = 0: (1/π)[22·π/2 + 22·π/2 − 10]
    expect(degreeDaysBetween(22, 42, 10, 32, 'single-sine')).toBeCloseTo(22 - 10 / Math.PI, 10)
  })

  it('single-sine: 24/34 over 10–32 = 18.6123 (θ2 = asin(3/5))', () => {
    // (1/π)[19(θ2 + π/2) + 22(π/2 − θ2) − 5 cos θ2], cos θ2 = 0.8
    expect(degreeDaysBetween(24, 34, 10, 32, 'single-sine')).toBeCloseTo(18.612262, 6)
  })

  it('single-sine agrees with numeric integration, including both cutoffs at once', () => {
    for (const [min, max] of [
      [5, 25],
      [8, 36],
      [24, 34],
      [0, 40],
      [12, 13],
    ] as const) {
      expect(degreeDaysBetween(min, max, 10, 32, 'single-sine')).toBeCloseTo(
        numericSine(min, max, 10, 32),
        4,
      )
    }
  })

  it('accepts min and max swapped and rejects inverted thresholds', () => {
    expect(degreeDaysBetween(34, 24, 10, 32, 'average')).toBe(18)
    expect(() => degreeDaysBetween(20, 30, 32, 10, 'average')).toThrow(RangeError)
  })
})

describe('accumulateDegreeDays', () => {
  const days = [
    { date: '2026-03-03', minC: 24, maxC: 34 }, // out of order on purpose
    { date: '2026-02-28', minC: 22, maxC: 30 }, // before biofix
    { date: '2026-03-01', minC: 22, maxC: 30 },
    { date: '2026-03-02', minC: 8, maxC: 9 },
  ]

  it('sums from the biofix date, inclusive', () => {
    const series = accumulateDegreeDays(days, {
      lowerC: 10,
      upperC: 32,
      biofixDate: '2026-03-01',
      method: 'average',
    })
    expect(series).toEqual([
      { date: '2026-03-01', degreeDays: 16, cumulative: 16 },
      { date: '2026-03-02', degreeDays: 0, cumulative: 16 },
      { date: '2026-03-03', degreeDays: 18, cumulative: 34 },
    ])
  })

  it('works with a preset and the single-sine method', () => {
    const { lowerC, upperC } = PEST_PRESETS.brown_planthopper
    const series = accumulateDegreeDays(days, {
      lowerC,
      upperC,
      biofixDate: '2026-03-03',
      method: 'single-sine',
    })
    expect(series).toHaveLength(1)
    expect(series[0]?.cumulative).toBeCloseTo(degreeDaysBetween(24, 34, 11, 32, 'single-sine'), 12)
  })

  it('rejects malformed dates', () => {
    expect(() =>
      accumulateDegreeDays(days, {
        lowerC: 10,
        upperC: 32,
        biofixDate: '1/3/2026',
        method: 'average',
      }),
    ).toThrow(RangeError)
  })
})

describe('PEST_PRESETS', () => {
  it('has thresholds in the plausible range and a source for each pest', () => {
    for (const p of Object.values(PEST_PRESETS)) {
      expect(p.lowerC).toBeGreaterThanOrEqual(10)
      expect(p.lowerC).toBeLessThanOrEqual(15)
      expect(p.upperC).toBeGreaterThanOrEqual(32)
      expect(p.upperC).toBeLessThanOrEqual(35)
      expect(p.source.length).toBeGreaterThan(20)
    }
  })
})

describe('dailyMinMax', () => {
  it('groups by local date in the given time zone', () => {
    // Asia/Ho_Chi_Minh is UTC+7: 16:59Z is 23:59 local on the 1st, 17:00Z is 00:00 on the 2nd.
    const readings = [
      { ts: Date.parse('2026-03-01T00:00:00Z'), airTempC: 26 },
      { ts: Date.parse('2026-03-01T07:00:00Z'), airTempC: 34.5 },
      { ts: Date.parse('2026-03-01T16:59:00Z'), airTempC: 25 },
      { ts: Date.parse('2026-03-01T17:00:00Z'), airTempC: 24.8 },
      { ts: Date.parse('2026-03-02T06:00:00Z'), airTempC: Number.NaN },
      { ts: Date.parse('2026-03-02T07:00:00Z'), airTempC: 33 },
    ]
    expect(dailyMinMax(readings, 'Asia/Ho_Chi_Minh')).toEqual([
      { date: '2026-03-01', minC: 25, maxC: 34.5, n: 3 },
      { date: '2026-03-02', minC: 24.8, maxC: 33, n: 2 },
    ])
    // In UTC the 16:59 and 17:00 readings share 2026-03-01.
    expect(dailyMinMax(readings, 'UTC').map((d) => d.date)).toEqual(['2026-03-01', '2026-03-02'])
    expect(dailyMinMax(readings, 'UTC')[0]).toMatchObject({ minC: 24.8, n: 4 })
  })

  it('throws on an unknown time zone', () => {
    expect(() => dailyMinMax([], 'Mars/Olympus')).toThrow(RangeError)
  })
})

describe('detectBiofix', () => {
  const opts = { threshold: 50, consecutiveNights: 3 }

  it('returns the first night of the first sustained run', () => {
    const catches = [
      { date: '2026-03-01', count: 80 },
      { date: '2026-03-02', count: 20 }, // below threshold: breaks the run
      { date: '2026-03-03', count: 60 },
      { date: '2026-03-04', count: 50 }, // equal to threshold counts
      { date: '2026-03-05', count: 70 },
      { date: '2026-03-06', count: 90 },
    ]
    expect(detectBiofix(catches, opts)).toBe('2026-03-03')
  })

  it('a missing night breaks the run', () => {
    const catches = [
      { date: '2026-03-01', count: 80 },
      { date: '2026-03-02', count: 80 },
      // 2026-03-03 missing: trap down, not a catch
      { date: '2026-03-04', count: 80 },
      { date: '2026-03-05', count: 80 },
      { date: '2026-03-06', count: 80 },
    ]
    expect(detectBiofix(catches, opts)).toBe('2026-03-04')
    expect(detectBiofix(catches.slice(0, 4), opts)).toBeNull()
  })

  it('handles unsorted input and a run crossing a month end', () => {
    const catches = [
      { date: '2026-03-01', count: 55 },
      { date: '2026-02-27', count: 55 },
      { date: '2026-02-28', count: 55 },
    ]
    expect(detectBiofix(catches, opts)).toBe('2026-02-27')
  })

  it('returns null when no run is long enough', () => {
    expect(detectBiofix([], opts)).toBeNull()
    expect(detectBiofix([{ date: '2026-03-01', count: 999 }], opts)).toBeNull()
  })
})
