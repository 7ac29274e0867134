import { describe, expect, it } from 'vitest'
import { referenceEtMmH } from '../../../../firmware-sim/world/field.ts'
import { at, clearSky, HOUR, makeWorld, range, sample } from './helpers.ts'

const field = { id: 'rice-1', kind: 'field' as const, crop: 'rice' as const }

describe('field water balance', () => {
  it('evapotranspires ~0.9 mm/h at noon in full sun and nothing at night (Priestley–Taylor)', () => {
    expect(referenceEtMmH(1000, 32)).toBeGreaterThan(0.7)
    expect(referenceEtMmH(1000, 32)).toBeLessThan(1.1)
    expect(referenceEtMmH(0, 26)).toBe(0)
  })

  it('dries on clear days and wets up after rain', () => {
    const world = makeWorld([field])
    clearSky(world, 4)
    world.addEvent({ type: 'rain', fromMs: at(2, 13), toMs: at(2, 14), mmPerHour: 25 })
    world.advanceTo(at(0, 6))
    const dawn0 = world.field('rice-1').soilMoisturePct
    world.advanceTo(at(1, 18))
    const dusk1 = world.field('rice-1').soilMoisturePct
    expect(dusk1).toBeLessThan(dawn0 - 1)
    world.advanceTo(at(2, 13))
    const beforeRain = world.field('rice-1').soilMoisturePct
    world.advanceTo(at(2, 14))
    const afterRain = world.field('rice-1').soilMoisturePct
    expect(afterRain).toBeGreaterThan(beforeRain + 5)
    expect(afterRain).toBeLessThanOrEqual(50)
  })
})

describe('leaf wetness', () => {
  it('is wet in rain and dry in the afternoon sun', () => {
    const world = makeWorld([field])
    clearSky(world, 3)
    world.addEvent({ type: 'rain', fromMs: at(1, 20), toMs: at(1, 21), mmPerHour: 10 })
    world.advanceTo(at(1, 14))
    expect(world.field('rice-1').leafWetnessPct).toBeLessThan(5)
    world.advanceTo(at(1, 20.5))
    expect(world.field('rice-1').leafWetnessPct).toBeGreaterThan(90)
  })

  it('collects dew before dawn on humid nights', () => {
    const world = makeWorld([field])
    clearSky(world, 4)
    const nights = sample(world, range(at(1, 3), at(3, 6), HOUR), () => ({
      wet: world.field('rice-1').leafWetnessPct,
      rh: world.weather().relHumidityPct,
    }))
    const humid = nights.filter((n) => n.rh > 95)
    expect(humid.length).toBeGreaterThan(0)
    expect(Math.max(...nights.map((n) => n.wet))).toBeGreaterThan(20)
  })
})
