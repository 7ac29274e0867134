import { describe, expect, it } from 'vitest'
import type { SiteSpec, World } from '../../../../firmware-sim/world/index.ts'
import { clearSkyIrradiance, sinSolarElevation } from '../../../../firmware-sim/world/sun.ts'
import { at, DAY, HOUR, MINUTE, makeWorld, range, START, sample } from './helpers.ts'

const sites: SiteSpec[] = [
  { id: 'pond-1', kind: 'pond' },
  { id: 'pond-2', kind: 'pond', aeratorsOn: true, biomassKgPerM3: 2, initial: { salinityPpt: 10 } },
  {
    id: 'rice-1',
    kind: 'field',
    crop: 'rice',
    pests: [{ species: 'brown_planthopper', initialPopulation: 2000 }],
  },
  {
    id: 'veg-1',
    kind: 'field',
    irrigation: {
      schedule: [{ startLocalHour: 6.25, durationMin: 20 }],
      nominalFlowLMin: 12,
      nominalPressureBar: 1.2,
    },
  },
]

function withEvents(world: World): World {
  world.addEvent({ type: 'rain', fromMs: at(1, 3), toMs: at(1, 4.2), mmPerHour: 14 })
  world.addEvent({ type: 'cloud_cover', fromMs: at(1, 9), toMs: at(1, 15), cover: 0.8 })
  world.addEvent({
    type: 'outbreak',
    siteId: 'rice-1',
    species: 'brown_planthopper',
    atMs: at(0, 20),
    immigrants: 9000,
  })
  world.addEvent({
    type: 'leak',
    siteId: 'veg-1',
    fromMs: at(1, 6.3),
    toMs: at(1, 8),
    litresPerMin: 3,
  })
  world.addEvent({ type: 'aerators', siteId: 'pond-1', fromMs: at(1, 1), toMs: at(1, 5), on: true })
  return world
}

function snapshot(world: World) {
  return {
    weather: world.weather(),
    pond1: world.pond('pond-1'),
    pond2: world.pond('pond-2'),
    rice: world.field('rice-1'),
    veg: world.field('veg-1'),
    drip: world.irrigation('veg-1'),
    catch: world.trapCatch('rice-1', START, world.nowMs),
  }
}

describe('world', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = withEvents(makeWorld(sites, 3))
    const b = withEvents(makeWorld(sites, 3))
    const c = withEvents(makeWorld(sites, 4))
    const times = range(START, at(3, 0), HOUR)
    const sa = sample(a, times, () => snapshot(a))
    const sb = sample(b, times, () => snapshot(b))
    const sc = sample(c, times, () => snapshot(c))
    expect(sb).toEqual(sa)
    expect(sc).not.toEqual(sa)
  })

  it('gives the same state whether advanced in one call or many small ones', () => {
    const end = at(2, 13) + 2 * MINUTE + 17_000 // off the 5-minute grid on purpose
    const once = withEvents(makeWorld(sites))
    once.advanceTo(end)
    const steps = withEvents(makeWorld(sites))
    let t = START
    const strides = [MINUTE, 7 * MINUTE + 3_000, 11 * MINUTE, 30_000]
    let i = 0
    while (t < end) {
      t = Math.min(end, t + (strides[i++ % strides.length] ?? MINUTE))
      steps.advanceTo(t)
      if (i % 5 === 0) snapshot(steps) // querying mid-cell must not disturb the integration
    }
    const a = snapshot(once)
    const b = snapshot(steps)
    expect(b.catch).toEqual(a.catch)
    for (const key of ['weather', 'pond1', 'pond2', 'rice', 'veg', 'drip'] as const) {
      for (const [name, value] of Object.entries(a[key])) {
        const other = (b[key] as Record<string, unknown>)[name]
        if (typeof value === 'number') expect(other, `${key}.${name}`).toBeCloseTo(value, 9)
        else expect(other, `${key}.${name}`).toBe(value)
      }
    }
  })

  it('ignores going back in time', () => {
    const world = makeWorld(sites)
    world.advanceTo(at(0, 12))
    const before = snapshot(world)
    world.advanceTo(at(0, 6))
    expect(world.nowMs).toBe(at(0, 12))
    expect(snapshot(world)).toEqual(before)
  })

  it('names unknown or mismatched sites in errors', () => {
    const world = makeWorld(sites)
    expect(() => world.pond('nope')).toThrow(/nope/)
    expect(() => world.field('pond-1')).toThrow(/pond-1/)
    expect(() => world.trapCatch('ghost', START, START)).toThrow(/ghost/)
    expect(() =>
      world.addEvent({ type: 'clog', siteId: 'ghost', fromMs: START, fraction: 0.2 }),
    ).toThrow(/ghost/)
  })

  it('has a tropical weather cycle', () => {
    const world = makeWorld(sites)
    world.addEvent({ type: 'cloud_cover', fromMs: START, toMs: at(3, 0), cover: 0 })
    const states = sample(world, range(at(1, 0), at(2, 0), 10 * MINUTE), () => world.weather())
    const temps = states.map((s) => s.airTempC)
    expect(Math.min(...temps)).toBeGreaterThan(23)
    expect(Math.min(...temps)).toBeLessThan(27)
    expect(Math.max(...temps)).toBeGreaterThan(31)
    expect(Math.max(...temps)).toBeLessThan(35)
    const dawn = states[33] // 05:30
    const afternoon = states[90] // 15:00
    expect(dawn?.relHumidityPct).toBeGreaterThan(90)
    expect(afternoon?.relHumidityPct).toBeLessThan(75)
    expect(dawn?.irradianceWm2).toBe(0)
    expect(afternoon?.irradianceWm2).toBeGreaterThan(500)
  })

  it('computes clear-sky sunlight from latitude, day and hour', () => {
    const noon = sinSolarElevation(at(0, 12), 420, 10)
    expect(clearSkyIrradiance(noon)).toBeGreaterThan(950)
    expect(clearSkyIrradiance(noon)).toBeLessThan(1100)
    expect(clearSkyIrradiance(sinSolarElevation(at(0, 0), 420, 10))).toBe(0)
  })

  it('rains over the wet season with a growing total', () => {
    const world = makeWorld(sites, 11)
    const totals = sample(world, range(START, START + 20 * DAY, 6 * HOUR), () => {
      return world.weather().rainTotalMm
    })
    for (let i = 1; i < totals.length; i++) {
      expect(totals[i]).toBeGreaterThanOrEqual(totals[i - 1] ?? 0)
    }
    // ~8 mm/day on average in the wet season; wide bounds for one random month.
    expect(totals.at(-1)).toBeGreaterThan(40)
    expect(totals.at(-1)).toBeLessThan(600)
  })

  it('steps 10 sites over 7 simulated days well under a second', () => {
    const many: SiteSpec[] = []
    for (let i = 0; i < 5; i++) {
      many.push({ id: `pond-${i}`, kind: 'pond' })
      many.push({
        id: `field-${i}`,
        kind: 'field',
        irrigation: {
          schedule: [{ startLocalHour: 6, durationMin: 30 }],
          nominalFlowLMin: 20,
          nominalPressureBar: 1.5,
        },
        pests: [
          { species: 'brown_planthopper', initialPopulation: 5000 },
          { species: 'stem_borer', initialPopulation: 500 },
        ],
      })
    }
    const world = makeWorld(many)
    const t0 = performance.now()
    for (let t = START; t <= START + 7 * DAY; t += MINUTE) world.advanceTo(t)
    const ms = performance.now() - t0
    expect(ms).toBeLessThan(1000)
  })
})
