/**
 * The physical world of one farm, stepped in simulated time: weather, shrimp ponds, fields,
 * drip lines and insect pests, as true values (no sensor noise, no radio).
 *
 * Integration runs on a fixed grid of 5-minute cells anchored at `startMs`. State is kept at
 * the last grid point; a query between grid points takes a partial step from there without
 * committing it. With every random draw keyed by day or cell index, the world is the same
 * whether it is advanced in one call or in many small ones.
 */
import { createEventLog } from './events.ts'
import { buildSites, type Farm, type FarmVars, initialFarm, stepFarm } from './farm.ts'
import { expectedCatch, flightActivity, sampleCatchCount, speciesParams } from './pests.ts'
import { pondState } from './pond.ts'
import { createSky } from './sky.ts'
import { localHour, STEP_MS } from './time.ts'
import { createTrapLog } from './trap.ts'
import type {
  FieldState,
  IrrigationState,
  PondState,
  WeatherState,
  World,
  WorldEvent,
  WorldOptions,
} from './types.ts'
import { createWeather } from './weather.ts'

export type * from './types.ts'

export function createWorld(opts: WorldOptions): World {
  const { seed, startMs, utcOffsetMinutes, latitudeDeg } = opts
  const events = createEventLog()
  const weather = createWeather(
    createSky(seed, utcOffsetMinutes),
    events,
    utcOffsetMinutes,
    latitudeDeg,
  )
  const base = { weather, events, utcOffsetMinutes }
  const farm: Farm = { ...base, sites: buildSites(opts.sites, base, startMs) }

  let gridMs = startMs
  let cell = 0
  let grid: FarmVars = initialFarm(farm, opts.sites, startMs)
  let nowMs = startMs
  let current: FarmVars | undefined = grid
  const traps = createTrapLog(seed, startMs)

  const site = (siteId: string, kind: 'pond' | 'field') => {
    const s = farm.sites.get(siteId)
    if (!s) throw new Error(`unknown site: ${siteId}`)
    if (s.kind !== kind) throw new Error(`site ${siteId} is a ${s.kind}, not a ${kind}`)
    return s
  }

  /** Catch counts of the cell starting at the grid point, from the grid state. */
  const cellCatches = (siteId: string): Map<string, number> => {
    const out = new Map<string, number>()
    const s = farm.sites.get(siteId)
    if (s?.kind !== 'field') return out
    const midMs = gridMs + STEP_MS / 2
    const airTempC = grid.weather.airTempC
    const activity = flightActivity(
      weather.irradiance(midMs),
      localHour(midMs, utcOffsetMinutes),
      airTempC,
      weather.rainRate(midMs),
    )
    for (const pest of s.pests) {
      const population = grid.fields[siteId]?.pests[pest.name]?.population ?? 0
      const expected = expectedCatch(pest.species, population, activity, STEP_MS)
      out.set(pest.name, sampleCatchCount(seed, siteId, pest.name, cell, expected))
    }
    return out
  }

  const now = (): FarmVars => {
    current ??= stepFarm(farm, grid, gridMs, nowMs - gridMs)
    return current
  }

  const world: World = {
    get nowMs() {
      return nowMs
    },

    advanceTo(tMs) {
      if (!(tMs > nowMs)) return
      while (gridMs + STEP_MS <= tMs) {
        for (const siteId of farm.sites.keys()) {
          for (const [species, count] of cellCatches(siteId)) {
            traps.commit(siteId, species, cell, count)
          }
        }
        grid = stepFarm(farm, grid, gridMs, STEP_MS)
        gridMs += STEP_MS
        cell++
      }
      nowMs = tMs
      current = gridMs === nowMs ? grid : undefined
    },

    addEvent(event: WorldEvent) {
      if ('siteId' in event) {
        const s = farm.sites.get(event.siteId)
        if (!s) throw new Error(`unknown site: ${event.siteId}`)
        const needs = event.type === 'aerators' || event.type === 'feeding' ? 'pond' : 'field'
        if (s.kind !== needs)
          throw new Error(`${event.type} event needs a ${needs}; ${s.id} is a ${s.kind}`)
        if (
          event.type === 'outbreak' &&
          s.kind === 'field' &&
          !s.pests.some((p) => p.name === event.species)
        ) {
          // A species the site did not list arrives: track it from now on.
          s.pests.push({
            name: event.species,
            species: speciesParams(event.species),
            biofixMs: startMs,
          })
        }
      }
      events.add(event)
      current = gridMs === nowMs ? grid : undefined
    },

    weather(): WeatherState {
      const v = now().weather
      return {
        airTempC: v.airTempC,
        relHumidityPct: weather.relHumidityPct(nowMs, v.airTempC),
        rainMmPerHour: weather.rainRate(nowMs),
        cloudCover: weather.cloudCover(nowMs),
        irradianceWm2: weather.irradiance(nowMs),
        rainTotalMm: v.rainTotalMm,
      }
    },

    pond(siteId): PondState {
      site(siteId, 'pond')
      const v = now().ponds[siteId]
      if (!v) throw new Error(`unknown site: ${siteId}`)
      return pondState(v)
    },

    field(siteId): FieldState {
      site(siteId, 'field')
      const v = now().fields[siteId]
      if (!v) throw new Error(`unknown site: ${siteId}`)
      return { ...v.field }
    },

    irrigation(siteId): IrrigationState {
      const s = site(siteId, 'field')
      const v = now().fields[siteId]?.irrigation
      if (s.kind !== 'field' || !s.drip || !v) throw new Error(`site ${siteId} has no irrigation`)
      return s.drip.state(v, nowMs)
    },

    trapCatch(siteId, fromMs, toMs) {
      const s = site(siteId, 'field')
      if (toMs > nowMs) throw new RangeError(`trapCatch to ${toMs} is after now (${nowMs})`)
      const out: Record<string, number> = {}
      if (s.kind !== 'field') return out
      const pending = cellCatches(siteId)
      for (const pest of s.pests) {
        const inCell = pending.get(pest.name) ?? 0
        out[pest.name] =
          toMs > fromMs
            ? traps.countBefore(siteId, pest.name, toMs, inCell) -
              traps.countBefore(siteId, pest.name, fromMs, inCell)
            : 0
      }
      return out
    },
  }
  return world
}
