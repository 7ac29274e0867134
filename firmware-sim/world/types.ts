/**
 * Public types of the simulated farm world: the true physical state of one farm (weather,
 * shrimp ponds, fields, pests, drip irrigation), free of sensor noise. The device layer
 * samples it and adds its own noise, battery and radio behaviour.
 */

export type WorldOptions = {
  seed: number
  /** Simulated start, epoch ms. */
  startMs: number
  /** Farm local time offset from UTC, minutes (Vietnam: 420). */
  utcOffsetMinutes: number
  /** Latitude for the sun (Mekong delta ~10°N). */
  latitudeDeg: number
  sites: SiteSpec[]
}

export type PondSpec = {
  id: string
  kind: 'pond'
  /** Water depth, m. Default 1.2. */
  depthM?: number
  /** Shrimp biomass, kg/m³. Default 1.5 (intensive white-leg shrimp). */
  biomassKgPerM3?: number
  /** Feed, kg/day per m³. Default 3 % of the biomass per day. */
  feedKgPerDayPerM3?: number
  /**
   * Paddlewheels run every night 22:00–06:00 local when true. Default false: the pond relies
   * on phytoplankton and surface reaeration, so an overcast day crashes the dawn DO unless an
   * `aerators` event switches them on.
   */
  aeratorsOn?: boolean
  initial?: Partial<PondState>
}

export type FieldSpec = {
  id: string
  kind: 'field'
  /** Default 'vegetables'. */
  crop?: 'rice' | 'vegetables' | 'fruit'
  irrigation?: IrrigationSpec
  pests?: PestSpec[]
}

export type IrrigationSpec = {
  /** Valve-open windows, local time; `startLocalHour` may be fractional (6.5 = 06:30). */
  schedule: { startLocalHour: number; durationMin: number }[]
  nominalFlowLMin: number
  nominalPressureBar: number
  /** Drip emitters on the line. Default: one 2 L/h emitter per 2 L/h of nominal flow. */
  emitters?: number
}

export type PestSpec = {
  /** snake_case, e.g. brown_planthopper, stem_borer. */
  species: string
  /** Insects in the light trap's catchment at the start. */
  initialPopulation: number
  /** Start of development (degree-days, births, deaths); the population is dormant before it. Default: the world's start. */
  biofixMs?: number
}

export type SiteSpec = PondSpec | FieldSpec

/** Scenario events, applied at simulated times. When events of one kind overlap, the last added wins (rain events add up). */
export type WorldEvent =
  | { type: 'cloud_cover'; fromMs: number; toMs: number; cover: number }
  | { type: 'rain'; fromMs: number; toMs: number; mmPerHour: number }
  | { type: 'outbreak'; siteId: string; species: string; atMs: number; immigrants: number }
  | { type: 'leak'; siteId: string; fromMs: number; toMs?: number; litresPerMin: number }
  | { type: 'clog'; siteId: string; fromMs: number; toMs?: number; fraction: number }
  | { type: 'aerators'; siteId: string; fromMs: number; toMs?: number; on: boolean }
  | { type: 'feeding'; siteId: string; fromMs: number; toMs?: number; feedKgPerDayPerM3: number }

export type PondState = {
  dissolvedOxygenMgL: number
  ph: number
  waterTempC: number
  salinityPpt: number
  totalAmmoniaMgL: number
  turbidityNtu: number
}

export type WeatherState = {
  airTempC: number
  relHumidityPct: number
  rainMmPerHour: number
  cloudCover: number
  irradianceWm2: number
  /** Cumulative since the world's start. */
  rainTotalMm: number
}

export type FieldState = { soilMoisturePct: number; leafWetnessPct: number }

export type IrrigationState = {
  valveOpen: boolean
  flowLMin: number
  pressureBar: number
  volumeTotalL: number
}

export interface World {
  readonly nowMs: number
  /** Integrates forward to tMs with an internal step of at most 5 simulated minutes (a no-op if tMs <= nowMs). */
  advanceTo(tMs: number): void
  /** Registers an event; it takes effect when its time comes (the past is not rewritten). */
  addEvent(event: WorldEvent): void
  weather(): WeatherState
  pond(siteId: string): PondState
  field(siteId: string): FieldState
  irrigation(siteId: string): IrrigationState
  /**
   * Insects per species caught in the site's light trap in [fromMs, toMs): integers, deterministic
   * for the seed, additive over adjacent windows. Throws a RangeError if toMs > nowMs.
   */
  trapCatch(siteId: string, fromMs: number, toMs: number): Record<string, number>
}
