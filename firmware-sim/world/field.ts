/**
 * A field's root zone and canopy: volumetric soil moisture from a bucket water balance
 * (FAO-56 style) and leaf wetness from dew and rain.
 */
import { clamp } from './time.ts'
import type { FieldSpec, FieldState } from './types.ts'
import { saturationVapourHpa } from './weather.ts'

export type FieldForcing = {
  irradianceWm2: number
  airTempC: number
  relHumidityPct: number
  rainMm: number
  rainMmPerHour: number
  /** Drip water delivered to the wetted zone around the sensor, mm. */
  irrigationMm: number
}

type Crop = NonNullable<FieldSpec['crop']>

/** Root depth (m) and mid-season crop coefficient (FAO-56 tables 12 and 22, rounded). */
const CROPS: Record<Crop, { rootDepthM: number; kc: number }> = {
  rice: { rootDepthM: 0.25, kc: 1.15 },
  vegetables: { rootDepthM: 0.3, kc: 1.0 },
  fruit: { rootDepthM: 0.6, kc: 0.9 },
}

/** Mekong alluvial silty clay, volumetric %: saturation, field capacity, wilting point. */
const SATURATION_PCT = 50
const FIELD_CAPACITY_PCT = 40
const WILTING_POINT_PCT = 22
/** FAO-56 depletion fraction before stress, and the slow free drainage of clay above field capacity. */
const DEPLETION_P = 0.5
const DRAINAGE_PER_H = 0.04
/** Priestley & Taylor (1972): α, psychrometric constant γ (kPa/°C), latent heat λ (MJ/kg). */
const PT_ALPHA = 1.26
const GAMMA = 0.0665
const LAMBDA = 2.45
/** Net radiation as a share of incoming shortwave over a green crop (albedo 0.23, longwave loss). */
const NET_RADIATION_SHARE = 0.6

export type FieldParams = { rootDepthM: number; kc: number }

export function fieldParams(spec: FieldSpec): FieldParams {
  return CROPS[spec.crop ?? 'vegetables']
}

export function initialField(): FieldState {
  return { soilMoisturePct: 34, leafWetnessPct: 0 }
}

/** Reference evapotranspiration, mm/h, from sunlight and air temperature (Priestley–Taylor). */
export function referenceEtMmH(irradianceWm2: number, airTempC: number): number {
  const es = 0.6108 * Math.exp((17.27 * airTempC) / (airTempC + 237.3))
  const delta = (4098 * es) / (airTempC + 237.3) ** 2 // FAO-56 eq. 13
  const netMjM2H = NET_RADIATION_SHARE * irradianceWm2 * 0.0036
  return (PT_ALPHA * (delta / (delta + GAMMA)) * netMjM2H) / LAMBDA
}

export function stepField(p: FieldParams, s: FieldState, f: FieldForcing, dtH: number): FieldState {
  const rootMm = p.rootDepthM * 1000
  const theta = s.soilMoisturePct
  const stress = clamp(
    (theta - WILTING_POINT_PCT) / ((1 - DEPLETION_P) * (FIELD_CAPACITY_PCT - WILTING_POINT_PCT)),
    0,
    1,
  )
  const etMm = p.kc * stress * referenceEtMmH(f.irradianceWm2, f.airTempC) * dtH
  const drainMm = (DRAINAGE_PER_H * Math.max(0, theta - FIELD_CAPACITY_PCT) * rootMm * dtH) / 100
  const netMm = f.rainMm + f.irrigationMm - etMm - drainMm
  // Above saturation the excess runs off.
  const soilMoisturePct = clamp(theta + (100 * netMm) / rootMm, 0, SATURATION_PCT)

  // Leaf wetness: rain wets within minutes, dew forms on calm humid nights (RH > 90 %), and
  // the film dries with the vapour-pressure deficit and sunshine. Wetting (rate kw toward
  // 100 %) and drying (rate kd toward 0 %) are integrated exactly over the step.
  const vpdKpa = (saturationVapourHpa(f.airTempC) * (1 - f.relHumidityPct / 100)) / 10
  const rainWetting = 12 * Math.min(1, f.rainMmPerHour)
  const dewWetting =
    f.irradianceWm2 < 50 && f.relHumidityPct > 90 ? 0.6 * ((f.relHumidityPct - 90) / 10) : 0
  const kw = rainWetting + dewWetting
  const kd = f.rainMmPerHour > 0.1 ? 0 : 0.2 + 1.5 * vpdKpa + f.irradianceWm2 / 300
  const equilibrium = kw + kd > 0 ? (100 * kw) / (kw + kd) : s.leafWetnessPct
  const leafWetnessPct = clamp(
    equilibrium + (s.leafWetnessPct - equilibrium) * Math.exp(-(kw + kd) * dtH),
    0,
    100,
  )
  return { soilMoisturePct, leafWetnessPct }
}
