import { describe, expect, it } from 'vitest'
import type { FieldSpec } from '../../../../firmware-sim/world/index.ts'
import { at, clearSky, HOUR, MINUTE, makeWorld, range, sample } from './helpers.ts'

const drip: FieldSpec = {
  id: 'veg-1',
  kind: 'field',
  crop: 'vegetables',
  irrigation: {
    schedule: [
      { startLocalHour: 6, durationMin: 30 },
      { startLocalHour: 17.5, durationMin: 45 },
    ],
    nominalFlowLMin: 20,
    nominalPressureBar: 1.5,
  },
}

describe('drip irrigation', () => {
  it('flows only with the valve open, except while a leak is active', () => {
    const world = makeWorld([drip])
    const leakFrom = at(0, 10)
    const leakTo = at(0, 12.5)
    world.addEvent({
      type: 'leak',
      siteId: 'veg-1',
      fromMs: leakFrom,
      toMs: leakTo,
      litresPerMin: 4,
    })
    const times = range(at(0, 0) + 1, at(1, 0), 3 * MINUTE + 7)
    const states = sample(world, times, () => world.irrigation('veg-1'))
    let open = 0
    states.forEach((s, i) => {
      const t = times[i] ?? 0
      const leaking = t >= leakFrom && t < leakTo
      if (!s.valveOpen) {
        expect(s.flowLMin).toBe(leaking ? 4 : 0)
        expect(s.pressureBar).toBe(0)
      } else {
        open++
        expect(s.flowLMin).toBeGreaterThan(0)
      }
    })
    expect(open).toBeGreaterThan(20)
  })

  it('ramps to nominal flow and pressure within minutes of opening', () => {
    const world = makeWorld([drip])
    world.advanceTo(at(0, 6) + 30_000)
    const early = world.irrigation('veg-1')
    world.advanceTo(at(0, 6) + 10 * MINUTE)
    const settled = world.irrigation('veg-1')
    expect(early.valveOpen).toBe(true)
    expect(early.flowLMin).toBeLessThan(10)
    expect(settled.flowLMin).toBeCloseTo(20, 1)
    expect(settled.pressureBar).toBeCloseTo(1.5, 1)
    world.advanceTo(at(0, 7))
    const closed = world.irrigation('veg-1')
    expect(closed).toMatchObject({ valveOpen: false, flowLMin: 0, pressureBar: 0 })
    // 30 min at 20 L/min less the ~1 min ramp.
    expect(closed.volumeTotalL).toBeGreaterThan(570)
    expect(closed.volumeTotalL).toBeLessThan(600)
  })

  it('sags pressure under a leak and raises it (with less flow) when clogged', () => {
    const leaky = makeWorld([drip])
    leaky.addEvent({ type: 'leak', siteId: 'veg-1', fromMs: at(0, 5), litresPerMin: 8 })
    leaky.advanceTo(at(0, 6.25))
    const l = leaky.irrigation('veg-1')
    expect(l.pressureBar).toBeLessThan(1.5 * 0.95)
    expect(l.flowLMin).toBeGreaterThan(20)

    const clogged = makeWorld([drip])
    clogged.addEvent({ type: 'clog', siteId: 'veg-1', fromMs: at(0, 5), fraction: 0.5 })
    clogged.advanceTo(at(0, 6.25))
    const c = clogged.irrigation('veg-1')
    expect(c.flowLMin).toBeGreaterThan(20 * 0.5)
    expect(c.flowLMin).toBeLessThan(20 * 0.6)
    expect(c.pressureBar).toBeGreaterThan(1.5)
    expect(c.pressureBar).toBeLessThan(1.5 * 1.2)
  })

  it('never decreases the volume total', () => {
    const world = makeWorld([drip])
    world.addEvent({
      type: 'leak',
      siteId: 'veg-1',
      fromMs: at(1, 3),
      toMs: at(1, 9),
      litresPerMin: 2,
    })
    world.addEvent({ type: 'clog', siteId: 'veg-1', fromMs: at(1, 17), fraction: 0.3 })
    const volumes = sample(world, range(at(0, 0), at(3, 0), 4 * MINUTE), () => {
      return world.irrigation('veg-1').volumeTotalL
    })
    for (let i = 1; i < volumes.length; i++) {
      expect(volumes[i]).toBeGreaterThanOrEqual(volumes[i - 1] ?? 0)
    }
    expect(volumes.at(-1)).toBeGreaterThan(3 * (580 + 880))
  })

  it('wets the soil around the emitters', () => {
    const world = makeWorld([drip])
    clearSky(world, 2)
    world.advanceTo(at(0, 5.9))
    const before = world.field('veg-1').soilMoisturePct
    world.advanceTo(at(0, 6.5) + HOUR / 12)
    expect(world.field('veg-1').soilMoisturePct).toBeGreaterThan(before + 0.5)
  })

  it('throws for a field without irrigation', () => {
    const world = makeWorld([{ id: 'dry', kind: 'field' }])
    expect(() => world.irrigation('dry')).toThrow(/dry/)
  })
})
