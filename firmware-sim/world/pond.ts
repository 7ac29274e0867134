/**
 * A shrimp pond's water: dissolved oxygen, pH (through inorganic carbon), temperature,
 * salinity, total ammonia nitrogen and turbidity. Explicit Euler on the 5-minute grid.
 */
import { carbonFromPh, oxygenSaturationMgL, phFromCarbon } from './chemistry.ts'
import { clamp, relax } from './time.ts'
import type { PondSpec, PondState } from './types.ts'
import { diurnal } from './weather.ts'

export type PondParams = {
  depthM: number
  biomassKgPerM3: number
  feedKgPerDayPerM3: number
  aeratorsOn: boolean
  /** Salinity of the supply canal the pond drifts back to. */
  sourceSalinityPpt: number
}

/** Pond water as integrated: pH is derived from inorganic carbon when reported. */
export type PondVars = Omit<PondState, 'ph'> & { dicMmolL: number }

export type PondForcing = {
  irradianceWm2: number
  airTempC: number
  rainMm: number
  aerators: boolean
  feedKgPerDayPerM3: number
}

/**
 * Calibration (clear wet-season day, 1.5 kg/m³, no aerators): DO ~4.2–5.3 mg/L at 05:00 and
 * ~11–12 mid-afternoon; after a day at cloud cover 0.9 it is ~1.8–2.7 mg/L by 05:30.
 *
 * Areal gross photosynthesis per unit sunlight, g O2/m²/h per W/m²: ~14 g O2/m²/day on a
 * clear day, the top of the 5–20 g/m²/day of fertilised, hypereutrophic ponds (Boyd 1990).
 * Light-limited (dense bloom), so proportional to irradiance.
 */
const PHOTOSYNTHESIS_PER_WM2 = 0.002
/**
 * Respiration at 20 °C: shrimp 0.08 mg O2/g/h (≈0.16 at 30 °C, 15–20 g white-leg shrimp),
 * plankton per litre, sediment per m² (~0.6 g O2/m²/day); budget after Boyd 1990 and
 * Madenjian 1987. Night-time decline ≈ 0.45 mg/L/h at 30 °C with default biomass.
 */
const SHRIMP_RESP_MGL_H_PER_KGM3 = 0.08
const PLANKTON_RESP_MGL_H = 0.045
const SEDIMENT_RESP_G_M2_H = 0.025
/** Van 't Hoff factor of biological rates (the spec's 1.07^(T−20)). */
const THETA_BIO = 1.07
/** Surface reaeration and paddlewheel transfer coefficients at 20 °C, 1/h; θ = 1.024 (ASCE 1993). */
const SURFACE_KLA = 0.04
/** ~20 HP/ha of paddlewheels at ~2 kg O2/HP/h on a 1.2 m pond (Boyd 1998). */
const AERATOR_KLA = 0.35
const THETA_KLA = 1.024
/** Carbonate alkalinity, meq/L (120 mg/L as CaCO3, usual for limed brackish shrimp ponds). */
const ALKALINITY_MEQ_L = 2.4
/** CO2 exchange with air, sediment and supply water, lumped: inorganic carbon relaxes to the level of pH 7.7 (calibrated so a clear day swings ~7.85 at dawn to ~8.55 mid-afternoon). */
const REFERENCE_PH = 7.7
const CARBON_EXCHANGE_H = 24
/** Feed nitrogen: 35 % protein / 6.25 = 5.6 % N, about half of it excreted as ammonia (Boyd 1990). */
const FEED_N_FRACTION = 0.056
const AMMONIA_EXCRETED = 0.5
/** Nitrification at 20 °C (1/h, θ 1.08) and phytoplankton uptake per W/m² (1/h); 4.57 g O2 per g N nitrified. */
const NITRIFICATION_H = 0.02
const UPTAKE_PER_WM2_H = 1.1e-4
const O2_PER_N_NITRIFIED = 4.57
/** Water temperature: relaxes to air over 12 h and stores half the sunlight (heat capacity 4.18 MJ/m³/K). */
const WATER_LAG_H = 12
const SUN_ABSORBED = 0.5
/** Salinity recovers by exchange and evaporation over ~10 days. */
const SALINITY_RECOVERY_H = 240
const TURBIDITY_BASE_NTU = 30
const TURBIDITY_AERATORS_NTU = 10
const TURBIDITY_PER_RAIN_MM = 0.5
const TURBIDITY_SETTLING_H = 24

export function pondParams(spec: PondSpec): PondParams {
  const biomassKgPerM3 = spec.biomassKgPerM3 ?? 1.5
  return {
    depthM: spec.depthM ?? 1.2,
    biomassKgPerM3,
    // ~3 % of body weight per day for 15–20 g white-leg shrimp (FAO feeding tables).
    feedKgPerDayPerM3: spec.feedKgPerDayPerM3 ?? 0.03 * biomassKgPerM3,
    aeratorsOn: spec.aeratorsOn ?? false,
    sourceSalinityPpt: spec.initial?.salinityPpt ?? 15,
  }
}

/** A plausible starting pond for the local hour: low DO and pH at dawn, high mid-afternoon. */
export function initialPond(spec: PondSpec, hour: number): PondVars {
  const swing = diurnal(hour, 6, 15)
  const init = spec.initial ?? {}
  const salinityPpt = init.salinityPpt ?? 15
  const ph = init.ph ?? 8.2 + 0.37 * swing
  return {
    dissolvedOxygenMgL: init.dissolvedOxygenMgL ?? 7 + 2.5 * swing,
    waterTempC: init.waterTempC ?? 30 + swing,
    salinityPpt,
    totalAmmoniaMgL: init.totalAmmoniaMgL ?? 0.6,
    turbidityNtu: init.turbidityNtu ?? TURBIDITY_BASE_NTU,
    dicMmolL: carbonFromPh(ph, ALKALINITY_MEQ_L, salinityPpt),
  }
}

export function pondState(v: PondVars): PondState {
  return {
    dissolvedOxygenMgL: v.dissolvedOxygenMgL,
    ph: phFromCarbon(v.dicMmolL, ALKALINITY_MEQ_L, v.salinityPpt),
    waterTempC: v.waterTempC,
    salinityPpt: v.salinityPpt,
    totalAmmoniaMgL: v.totalAmmoniaMgL,
    turbidityNtu: v.turbidityNtu,
  }
}

export function stepPond(p: PondParams, v: PondVars, f: PondForcing, dtH: number): PondVars {
  const t = v.waterTempC
  const bio = THETA_BIO ** (t - 20)
  const doNow = v.dissolvedOxygenMgL
  // Respiration slows as oxygen runs out (half-saturation ~0.3 mg/L).
  const oxygenLimit = doNow / (doNow + 0.3)
  const respiration =
    (SHRIMP_RESP_MGL_H_PER_KGM3 * p.biomassKgPerM3 +
      PLANKTON_RESP_MGL_H +
      SEDIMENT_RESP_G_M2_H / p.depthM) *
    bio *
    oxygenLimit
  const photosynthesis = (PHOTOSYNTHESIS_PER_WM2 * f.irradianceWm2) / p.depthM
  const nitrified = NITRIFICATION_H * 1.08 ** (t - 20) * v.totalAmmoniaMgL * oxygenLimit
  const kla = (SURFACE_KLA + (f.aerators ? AERATOR_KLA : 0)) * THETA_KLA ** (t - 20)
  const saturation = oxygenSaturationMgL(t, v.salinityPpt)
  const dDo =
    photosynthesis - respiration - O2_PER_N_NITRIFIED * nitrified + kla * (saturation - doNow)

  const dicRef = carbonFromPh(REFERENCE_PH, ALKALINITY_MEQ_L, v.salinityPpt)
  const dDic = (respiration - photosynthesis) / 32 + (dicRef - v.dicMmolL) / CARBON_EXCHANGE_H

  const excreted = (f.feedKgPerDayPerM3 * 1000 * FEED_N_FRACTION * AMMONIA_EXCRETED) / 24
  const uptake = UPTAKE_PER_WM2_H * f.irradianceWm2 * v.totalAmmoniaMgL
  const dTan = excreted - nitrified - uptake

  // Rain mixes into the pond: a mass balance at constant depth (the outlet overflows).
  const rainM = f.rainMm / 1000
  const dilution = p.depthM / (p.depthM + rainM)
  const sunHeating = (SUN_ABSORBED * f.irradianceWm2 * 3600) / (4.18e6 * p.depthM)
  let waterTempC = relax(t, f.airTempC, WATER_LAG_H, dtH) + sunHeating * dtH
  waterTempC = waterTempC * dilution + (f.airTempC - 2) * (1 - dilution)
  const turbidityTarget = TURBIDITY_BASE_NTU + (f.aerators ? TURBIDITY_AERATORS_NTU : 0)

  return {
    dissolvedOxygenMgL: Math.max(0, doNow + dDo * dtH),
    dicMmolL: Math.max(0.1, v.dicMmolL + dDic * dtH),
    waterTempC,
    salinityPpt: relax(v.salinityPpt * dilution, p.sourceSalinityPpt, SALINITY_RECOVERY_H, dtH),
    totalAmmoniaMgL: clamp(v.totalAmmoniaMgL + dTan * dtH, 0, 50),
    turbidityNtu:
      relax(v.turbidityNtu, turbidityTarget, TURBIDITY_SETTLING_H, dtH) +
      TURBIDITY_PER_RAIN_MM * f.rainMm,
  }
}
