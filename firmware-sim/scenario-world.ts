import type { Scenario } from './scenario.ts'
import { createWorld, type World, type WorldEvent } from './world/index.ts'

/** A scenario's physical event in the world's terms; device events are the runner's. */
function worldEvent(e: Scenario['events'][number]): WorldEvent | null {
  const until = e.untilMs ?? undefined
  switch (e.type) {
    case 'cloud_cover':
      return { type: 'cloud_cover', fromMs: e.atMs, toMs: e.untilMs as number, cover: e.cover }
    case 'rain':
      return { type: 'rain', fromMs: e.atMs, toMs: e.untilMs as number, mmPerHour: e.mm_per_hour }
    case 'outbreak':
      return {
        type: 'outbreak',
        siteId: e.site,
        species: e.species,
        atMs: e.atMs,
        immigrants: e.immigrants,
      }
    case 'leak':
      return {
        type: 'leak',
        siteId: e.site,
        fromMs: e.atMs,
        toMs: until,
        litresPerMin: e.litres_per_min,
      }
    case 'clog':
      return { type: 'clog', siteId: e.site, fromMs: e.atMs, toMs: until, fraction: e.fraction }
    case 'aerators':
      return { type: 'aerators', siteId: e.site, fromMs: e.atMs, toMs: until, on: e.on }
    case 'feeding':
      return {
        type: 'feeding',
        siteId: e.site,
        fromMs: e.atMs,
        toMs: until,
        feedKgPerDayPerM3: e.feed_kg_per_day_per_m3,
      }
    default:
      return null
  }
}

/** The world of a scenario: its sites, with the scenario's physical events registered. */
export function createScenarioWorld(scenario: Scenario): World {
  const world = createWorld({
    seed: scenario.seed,
    startMs: scenario.startMs,
    utcOffsetMinutes: scenario.farm.utc_offset_minutes,
    latitudeDeg: scenario.farm.latitude,
    sites: scenario.sites.map((s) =>
      s.kind === 'pond'
        ? {
            id: s.id,
            kind: 'pond' as const,
            depthM: s.depth_m,
            biomassKgPerM3: s.biomass_kg_per_m3,
            feedKgPerDayPerM3: s.feed_kg_per_day_per_m3,
            aeratorsOn: s.aerators_on,
          }
        : {
            id: s.id,
            kind: 'field' as const,
            crop: s.crop,
            irrigation: s.irrigation && {
              schedule: s.irrigation.schedule.map((w) => ({
                startLocalHour: w.start_local_hour,
                durationMin: w.duration_min,
              })),
              nominalFlowLMin: s.irrigation.nominal_flow_l_min,
              nominalPressureBar: s.irrigation.nominal_pressure_bar,
            },
            pests: s.pests?.map((p) => ({
              species: p.species,
              initialPopulation: p.initial_population,
            })),
          },
    ),
  })
  for (const e of scenario.events) {
    const w = worldEvent(e)
    if (w) world.addEvent(w)
  }
  return world
}
