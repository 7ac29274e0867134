/**
 * One integration step of the whole farm: the weather, then every pond and field under it.
 * Pure: takes the farm at t0 and returns a new one at t0 + dt, never mutating its input.
 */
import type { EventLog } from './events.ts'
import { type FieldParams, fieldParams, initialField, stepField } from './field.ts'
import { createDripLine, type DripLine, type IrrigationVars } from './irrigation.ts'
import { type PestVars, type Species, speciesParams, stepPests, waveArrived } from './pests.ts'
import { initialPond, type PondParams, type PondVars, pondParams, stepPond } from './pond.ts'
import { HOUR_MS, localHour, STEP_MS } from './time.ts'
import type { FieldState, SiteSpec } from './types.ts'
import type { Weather, WeatherVars } from './weather.ts'

export type PondSite = { kind: 'pond'; id: string; params: PondParams }
export type Pest = { name: string; species: Species; biofixMs: number }
export type FieldSite = {
  kind: 'field'
  id: string
  params: FieldParams
  drip: DripLine | undefined
  /** Grows when an outbreak brings a species the site did not list. */
  pests: Pest[]
}
export type Site = PondSite | FieldSite

export type FieldVars = {
  field: FieldState
  irrigation: IrrigationVars | undefined
  pests: Record<string, PestVars>
}
export type FarmVars = {
  weather: WeatherVars
  ponds: Record<string, PondVars>
  fields: Record<string, FieldVars>
}

export type Farm = {
  weather: Weather
  events: EventLog
  sites: Map<string, Site>
  utcOffsetMinutes: number
}

export function buildSites(specs: SiteSpec[], farm: Omit<Farm, 'sites'>, startMs: number) {
  const sites = new Map<string, Site>()
  for (const spec of specs) {
    if (sites.has(spec.id)) throw new Error(`duplicate site id: ${spec.id}`)
    if (spec.kind === 'pond') {
      sites.set(spec.id, { kind: 'pond', id: spec.id, params: pondParams(spec) })
    } else {
      sites.set(spec.id, {
        kind: 'field',
        id: spec.id,
        params: fieldParams(spec),
        drip: spec.irrigation
          ? createDripLine(spec.id, spec.irrigation, farm.events, farm.utcOffsetMinutes)
          : undefined,
        pests: (spec.pests ?? []).map((p) => ({
          name: p.species,
          species: speciesParams(p.species),
          biofixMs: p.biofixMs ?? startMs,
        })),
      })
    }
  }
  return sites
}

export function initialFarm(farm: Farm, specs: SiteSpec[], startMs: number): FarmVars {
  const hour = localHour(startMs, farm.utcOffsetMinutes)
  const vars: FarmVars = { weather: farm.weather.initial(startMs), ponds: {}, fields: {} }
  for (const spec of specs) {
    if (spec.kind === 'pond') {
      vars.ponds[spec.id] = initialPond(spec, hour)
      continue
    }
    const site = farm.sites.get(spec.id)
    const pests: Record<string, PestVars> = {}
    for (const p of spec.pests ?? [])
      pests[p.species] = { population: p.initialPopulation, degreeDays: 0 }
    vars.fields[spec.id] = {
      field: initialField(),
      irrigation: site?.kind === 'field' ? site.drip?.initial() : undefined,
      pests,
    }
  }
  return vars
}

/**
 * Advances the farm from t0Ms (a grid point) by dtMs ≤ STEP_MS. Forcing is read in the middle
 * of the grid cell whatever dt is, so a partial step is the same as the first part of the
 * full one: results do not depend on how callers slice time.
 */
export function stepFarm(farm: Farm, v: FarmVars, t0Ms: number, dtMs: number): FarmVars {
  const { weather, events } = farm
  const midMs = t0Ms + STEP_MS / 2
  const dtH = dtMs / HOUR_MS
  const t1Ms = t0Ms + dtMs
  const airTempC = v.weather.airTempC
  const irradianceWm2 = weather.irradiance(midMs)
  const rainMm = weather.rainDepth(t0Ms, t1Ms)
  const hour = localHour(midMs, farm.utcOffsetMinutes)
  const next: FarmVars = {
    weather: weather.step(v.weather, t0Ms, dtMs, midMs),
    ponds: {},
    fields: {},
  }

  for (const site of farm.sites.values()) {
    if (site.kind === 'pond') {
      const pond = v.ponds[site.id]
      if (!pond) continue
      const switched = events.active('aerators', midMs, site.id)
      const nightly = site.params.aeratorsOn && (hour >= 22 || hour < 6)
      const feeding = events.active('feeding', midMs, site.id)
      next.ponds[site.id] = stepPond(
        site.params,
        pond,
        {
          irradianceWm2,
          airTempC,
          rainMm,
          aerators: switched ? switched.on : nightly,
          feedKgPerDayPerM3: feeding ? feeding.feedKgPerDayPerM3 : site.params.feedKgPerDayPerM3,
        },
        dtH,
      )
      continue
    }
    const fv = v.fields[site.id]
    if (!fv) continue
    let irrigation = fv.irrigation
    let irrigationMm = 0
    if (site.drip && irrigation) {
      const stepped = site.drip.step(irrigation, t0Ms, dtMs)
      irrigation = stepped.vars
      irrigationMm = site.drip.depthMm(stepped.emittedL)
    }
    const field = stepField(
      site.params,
      fv.field,
      {
        irradianceWm2,
        airTempC,
        relHumidityPct: weather.relHumidityPct(midMs, airTempC),
        rainMm,
        rainMmPerHour: weather.rainRate(midMs),
        irrigationMm,
      },
      dtH,
    )
    const pests: Record<string, PestVars> = {}
    for (const pest of site.pests) {
      const pv = fv.pests[pest.name] ?? { population: 0, degreeDays: 0 }
      let immigrants = 0
      for (const o of events.outbreaks(site.id)) {
        if (o.species !== pest.name) continue
        immigrants += o.immigrants * (waveArrived(t1Ms - o.atMs) - waveArrived(t0Ms - o.atMs))
      }
      const developing = midMs >= pest.biofixMs
      pests[pest.name] = stepPests(pest.species, pv, airTempC, developing, immigrants, dtH)
    }
    next.fields[site.id] = { field, irrigation, pests }
  }
  return next
}
