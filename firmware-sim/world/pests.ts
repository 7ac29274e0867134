/**
 * Insect pests of a field and its light trap. Each species' population in the trap's catchment
 * grows with degree-days and dies at a background rate; `outbreak` events bring immigration
 * waves. The lamp burns dusk to dawn, and the catch in each 5-minute cell is Poisson.
 */
import { createRng, hashSeed } from '../random.ts'
import { clamp, DAY_MS, HOUR_MS } from './time.ts'

export type Species = {
  /** Development thresholds, °C (horizontal cut-off above the upper one). */
  lowerC: number
  upperC: number
  /** Degree-days above the lower threshold from egg to egg-laying adult. */
  degreeDaysPerGeneration: number
  /** Offspring per individual per generation before background mortality. */
  fecundityPerGeneration: number
  mortalityPerDay: number
  /** Share of the catchment population the lamp catches per hour of full flight activity. */
  trapEfficiencyPerH: number
}

/**
 * Brown planthopper (Nilaparvata lugens): lower development threshold ~10–12 °C as commonly
 * reported, development and survival failing above ~32 °C (Int. J. Environ. Rural Dev.
 * 12(1):108–113, 2022), ~25 days a generation at 28 °C. Yellow stem borer (Scirpophaga
 * incertulas) and rice leaf folder (Cnaphalocrocis medinalis): lower ~12 °C, longer
 * generations. Values are literature-typical round numbers, not fitted to data.
 */
const SPECIES: Record<string, Species> = {
  brown_planthopper: {
    lowerC: 11,
    upperC: 33,
    degreeDaysPerGeneration: 425,
    fecundityPerGeneration: 20,
    mortalityPerDay: 0.05,
    trapEfficiencyPerH: 0.002,
  },
  white_backed_planthopper: {
    lowerC: 11,
    upperC: 33,
    degreeDaysPerGeneration: 400,
    fecundityPerGeneration: 15,
    mortalityPerDay: 0.05,
    trapEfficiencyPerH: 0.002,
  },
  stem_borer: {
    lowerC: 12,
    upperC: 34,
    degreeDaysPerGeneration: 600,
    fecundityPerGeneration: 30,
    mortalityPerDay: 0.04,
    trapEfficiencyPerH: 0.003,
  },
  leaf_folder: {
    lowerC: 12,
    upperC: 34,
    degreeDaysPerGeneration: 450,
    fecundityPerGeneration: 25,
    mortalityPerDay: 0.05,
    trapEfficiencyPerH: 0.001,
  },
}

const GENERIC: Species = {
  lowerC: 10,
  upperC: 34,
  degreeDaysPerGeneration: 450,
  fecundityPerGeneration: 20,
  mortalityPerDay: 0.05,
  trapEfficiencyPerH: 0.0015,
}

export function speciesParams(species: string): Species {
  return SPECIES[species] ?? GENERIC
}

/** Insects a trap catchment can hold; births stop as the crop is saturated (logistic). */
const CARRYING_CAPACITY = 2_000_000
/** Immigration waves arrive over several nights: gamma(2, 1.5 days) after `atMs`. */
const WAVE_SCALE_MS = 1.5 * DAY_MS

export type PestVars = { population: number; degreeDays: number }

/** Share of an immigration wave arrived `sinceMs` after it started. */
export function waveArrived(sinceMs: number): number {
  if (sinceMs <= 0) return 0
  const x = sinceMs / WAVE_SCALE_MS
  return 1 - Math.exp(-x) * (1 + x)
}

export function stepPests(
  s: Species,
  v: PestVars,
  airTempC: number,
  developing: boolean,
  immigrants: number,
  dtH: number,
): PestVars {
  const ddPerH = developing ? (clamp(airTempC, s.lowerC, s.upperC) - s.lowerC) / 24 : 0
  const births =
    ((Math.log(s.fecundityPerGeneration) * ddPerH) / s.degreeDaysPerGeneration) *
    Math.max(0, 1 - v.population / CARRYING_CAPACITY)
  const deaths = developing ? s.mortalityPerDay / 24 : 0
  return {
    population: Math.max(0, v.population * (1 + (births - deaths) * dtH) + immigrants),
    degreeDays: v.degreeDays + ddPerH * dtH,
  }
}

/**
 * Flight activity at the lamp, 0..~1.5: nothing while the lamp is off (daylight), a dusk
 * peak, a temperature response (no flight below ~16 °C, full from ~24 °C, waning above 35 °C)
 * and suppression by rain (heavy rain grounds insects).
 */
export function flightActivity(
  irradianceWm2: number,
  hour: number,
  airTempC: number,
  rainMmPerHour: number,
): number {
  if (irradianceWm2 > 5) return 0
  const hoursSinceDusk = hour >= 17 ? hour - 17 : hour + 7
  const dusk = 1 + 0.6 * Math.exp(-hoursSinceDusk / 2)
  const warm = clamp((airTempC - 16) / 8, 0, 1) * clamp((40 - airTempC) / 5, 0, 1)
  return dusk * warm * Math.exp(-rainMmPerHour / 4)
}

/** Catches in one grid cell: a Poisson count from the cell's own seeded stream. */
export function sampleCatchCount(
  seed: number,
  siteId: string,
  species: string,
  cellIndex: number,
  expected: number,
): number {
  if (!(expected > 0)) return 0
  return createRng(hashSeed(seed, 'trap', siteId, species, cellIndex)).poisson(expected)
}

/** When in its cell each of `count` catches happened: uniform, sorted, reproducible. */
export function catchTimes(
  seed: number,
  siteId: string,
  species: string,
  cellIndex: number,
  cellStartMs: number,
  cellMs: number,
  count: number,
): number[] {
  const rng = createRng(hashSeed(seed, 'trap-times', siteId, species, cellIndex))
  const times: number[] = []
  for (let i = 0; i < count; i++) times.push(cellStartMs + Math.floor(rng.next() * cellMs))
  return times.sort((a, b) => a - b)
}

export const expectedCatch = (
  s: Species,
  population: number,
  activity: number,
  cellMs: number,
): number => population * s.trapEfficiencyPerH * activity * (cellMs / HOUR_MS)
