import { describe, expect, it } from 'vitest'
import { oxygenSaturationMgL } from '../../../../firmware-sim/world/chemistry.ts'
import { at, clearSky, HOUR, MINUTE, makeWorld, range, sample } from './helpers.ts'

const pond = { id: 'pond-1', kind: 'pond' as const }

describe('oxygen saturation (Benson & Krause 1984)', () => {
  it('matches the APHA table', () => {
    expect(oxygenSaturationMgL(20, 0)).toBeCloseTo(9.09, 1)
    expect(oxygenSaturationMgL(30, 0)).toBeCloseTo(7.56, 1)
    expect(oxygenSaturationMgL(25, 35)).toBeCloseTo(6.75, 1)
  })
})

describe('shrimp pond on clear days', () => {
  const world = makeWorld([pond])
  clearSky(world, 4)
  // Day 2 (the third day) is past the start-up transient.
  const times = range(at(2, 0), at(3, 0), 5 * MINUTE)
  const states = sample(world, times, () => world.pond('pond-1'))
  const byHour = (h: number) => {
    const s = states[Math.round((h * HOUR) / (5 * MINUTE))]
    if (!s) throw new Error(`no sample at ${h}`)
    return s
  }

  it('peaks mid-afternoon and bottoms at dawn, staying above 3.5 mg/L', () => {
    const dawn = byHour(5).dissolvedOxygenMgL
    const afternoon = byHour(15).dissolvedOxygenMgL
    expect(afternoon - dawn).toBeGreaterThan(4)
    expect(afternoon).toBeGreaterThan(9)
    expect(afternoon).toBeLessThan(13)
    expect(dawn).toBeGreaterThan(4)
    expect(dawn).toBeLessThan(5.5)
    expect(Math.min(...states.map((s) => s.dissolvedOxygenMgL))).toBeGreaterThanOrEqual(3.5)
  })

  it('has a higher pH in the afternoon than at dawn', () => {
    const dawn = byHour(5.5).ph
    const afternoon = byHour(15).ph
    expect(afternoon - dawn).toBeGreaterThan(0.4)
    expect(afternoon).toBeGreaterThan(8.3)
    expect(afternoon).toBeLessThan(8.9)
    expect(dawn).toBeGreaterThan(7.5)
    expect(dawn).toBeLessThan(8)
  })

  it('keeps water temperature in a narrower band than the air', () => {
    const water = states.map((s) => s.waterTempC)
    const swing = Math.max(...water) - Math.min(...water)
    expect(swing).toBeGreaterThan(1)
    expect(swing).toBeLessThan(5)
    expect(Math.min(...water)).toBeGreaterThan(27)
    expect(Math.max(...water)).toBeLessThan(34)
  })

  it('keeps ammonia and turbidity in intensive-pond ranges', () => {
    for (const s of states) {
      expect(s.totalAmmoniaMgL).toBeGreaterThan(0.1)
      expect(s.totalAmmoniaMgL).toBeLessThan(2)
      expect(s.turbidityNtu).toBeGreaterThanOrEqual(20)
      expect(s.turbidityNtu).toBeLessThanOrEqual(60)
    }
  })
})

describe('shrimp pond after an overcast day', () => {
  const overcast = (withAerators: boolean) => {
    const world = makeWorld([pond])
    world.addEvent({ type: 'cloud_cover', fromMs: at(0, 0), toMs: at(2, 5.5), cover: 0 })
    world.addEvent({ type: 'cloud_cover', fromMs: at(2, 5.5), toMs: at(2, 18.5), cover: 0.9 })
    world.addEvent({ type: 'cloud_cover', fromMs: at(2, 18.5), toMs: at(4, 0), cover: 0 })
    if (withAerators) {
      world.addEvent({
        type: 'aerators',
        siteId: 'pond-1',
        fromMs: at(2, 19),
        toMs: at(3, 7),
        on: true,
      })
    }
    const night = range(at(2, 18), at(3, 5.5), 5 * MINUTE)
    return sample(world, night, () => world.pond('pond-1').dissolvedOxygenMgL)
  }

  it('falls below 3 mg/L before the next dawn with the default (no) aeration', () => {
    const night = overcast(false)
    expect(Math.min(...night)).toBeLessThan(3)
    expect(night.at(-1)).toBeLessThan(3)
  })

  it('is rescued by an aerators event', () => {
    const night = overcast(true)
    expect(Math.min(...night)).toBeGreaterThan(3.5)
  })
})

describe('rain on a pond', () => {
  it('dilutes salinity by mass balance and raises turbidity', () => {
    const world = makeWorld([pond])
    clearSky(world, 3)
    world.addEvent({ type: 'rain', fromMs: at(1, 12), toMs: at(1, 14), mmPerHour: 30 })
    world.advanceTo(at(1, 12))
    const before = world.pond('pond-1')
    const rainBefore = world.weather().rainTotalMm
    world.advanceTo(at(1, 14))
    const after = world.pond('pond-1')
    expect(world.weather().rainTotalMm - rainBefore).toBeCloseTo(60, 6)
    // 60 mm on 1.2 m: salinity × 1.2 / 1.26, less a sliver of recovery over 2 h.
    expect(after.salinityPpt).toBeCloseTo((before.salinityPpt * 1.2) / 1.26, 1)
    expect(after.salinityPpt).toBeLessThan(before.salinityPpt - 0.5)
    expect(after.turbidityNtu).toBeGreaterThan(before.turbidityNtu + 20)
    // It recovers slowly afterwards.
    world.advanceTo(at(2, 14))
    const later = world.pond('pond-1')
    expect(later.salinityPpt).toBeGreaterThan(after.salinityPpt)
    expect(later.salinityPpt).toBeLessThan(before.salinityPpt)
  })
})

describe('feeding', () => {
  it('raises ammonia when the feed rate goes up', () => {
    const run = (feed?: number) => {
      const world = makeWorld([pond])
      clearSky(world, 3)
      if (feed !== undefined) {
        world.addEvent({
          type: 'feeding',
          siteId: 'pond-1',
          fromMs: at(0, 0),
          feedKgPerDayPerM3: feed,
        })
      }
      world.advanceTo(at(2, 0))
      return world.pond('pond-1').totalAmmoniaMgL
    }
    expect(run(0.135)).toBeGreaterThan(run() * 1.5)
  })
})
