import { describe, expect, it } from 'vitest'
import { waveArrived } from '../../../../firmware-sim/world/pests.ts'
import { at, clearSky, DAY, HOUR, makeWorld } from './helpers.ts'

const rice = {
  id: 'rice-1',
  kind: 'field' as const,
  crop: 'rice' as const,
  pests: [
    { species: 'brown_planthopper', initialPopulation: 500 },
    { species: 'stem_borer', initialPopulation: 200 },
  ],
}

/** Nightly (18:00–06:00) and daytime (07:00–17:00) catches for `nights` nights. */
function outbreakRun(seed: number, nights: number) {
  const world = makeWorld([rice], seed)
  clearSky(world, nights + 2)
  world.addEvent({
    type: 'outbreak',
    siteId: 'rice-1',
    species: 'brown_planthopper',
    atMs: at(0, 18),
    immigrants: 30_000,
  })
  const night: Record<string, number>[] = []
  const day: Record<string, number>[] = []
  for (let n = 0; n < nights; n++) {
    world.advanceTo(at(n + 1, 17))
    day.push(world.trapCatch('rice-1', at(n + 1, 7), at(n + 1, 17)))
    night.push(world.trapCatch('rice-1', at(n, 18), at(n + 1, 6)))
  }
  return { world, night, day }
}

describe('light trap catches', () => {
  it('rise markedly across the nights after an immigration wave', () => {
    const { night } = outbreakRun(42, 5)
    const bph = night.map((c) => c.brown_planthopper ?? 0)
    expect(bph[3]).toBeGreaterThan(2 * (bph[0] ?? 0))
    expect(bph[4]).toBeGreaterThan(2 * (bph[0] ?? 0))
    expect(bph[4]).toBeGreaterThan(100)
    // The species without an outbreak stays at its background level.
    const borer = night.map((c) => c.stem_borer ?? 0)
    expect(Math.max(...borer)).toBeLessThan((bph[4] ?? 0) / 4)
  })

  it('catch nothing by day (the lamp is off)', () => {
    const { day } = outbreakRun(42, 5)
    for (const d of day) expect(d).toEqual({ brown_planthopper: 0, stem_borer: 0 })
  })

  it('are integers, additive over sub-intervals and deterministic for the seed', () => {
    const a = outbreakRun(7, 3).world
    const b = outbreakRun(7, 3).world
    let sum = 0
    for (let h = 18; h < 30; h++) {
      const c = a.trapCatch('rice-1', at(1, h), at(1, h + 1)).brown_planthopper ?? 0
      expect(Number.isInteger(c)).toBe(true)
      sum += c
    }
    const whole = a.trapCatch('rice-1', at(1, 18), at(2, 6))
    expect(whole.brown_planthopper).toBe(sum)
    expect(b.trapCatch('rice-1', at(1, 18), at(2, 6))).toEqual(whole)
    const c = outbreakRun(8, 3).world
    expect(c.trapCatch('rice-1', at(1, 18), at(2, 6))).not.toEqual(whole)
  })

  it('are suppressed by heavy rain', () => {
    const run = (rain: boolean) => {
      const world = makeWorld([rice])
      clearSky(world, 3)
      if (rain) world.addEvent({ type: 'rain', fromMs: at(1, 18), toMs: at(2, 6), mmPerHour: 25 })
      world.advanceTo(at(2, 6))
      return world.trapCatch('rice-1', at(1, 18), at(2, 6)).brown_planthopper ?? 0
    }
    expect(run(true)).toBeLessThan(run(false) / 5)
  })

  it('rejects a window reaching past now, and counts an outbreak of an unlisted species', () => {
    const world = makeWorld([rice])
    clearSky(world, 3)
    world.addEvent({
      type: 'outbreak',
      siteId: 'rice-1',
      species: 'leaf_folder',
      atMs: at(0, 12),
      immigrants: 20_000,
    })
    world.advanceTo(at(2, 6))
    expect(() => world.trapCatch('rice-1', at(1, 18), at(2, 7))).toThrow(RangeError)
    expect(world.trapCatch('rice-1', at(1, 18), at(2, 6)).leaf_folder).toBeGreaterThan(10)
  })
})

describe('immigration wave', () => {
  it('arrives over several days', () => {
    expect(waveArrived(0)).toBe(0)
    expect(waveArrived(0.5 * DAY)).toBeLessThan(0.1)
    expect(waveArrived(4 * DAY)).toBeGreaterThan(0.7)
    expect(waveArrived(30 * DAY)).toBeCloseTo(1, 6)
    expect(waveArrived(2 * DAY + HOUR)).toBeGreaterThan(waveArrived(2 * DAY))
  })
})
