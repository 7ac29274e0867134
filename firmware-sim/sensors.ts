import type { DeviceKind } from '../shared/readings.ts'
import { createRng, hashSeed, type Rng } from './random.ts'
import type { World } from './world/index.ts'

/**
 * What a device measures: the world's true state through a sensor — noise, resolution,
 * drift — plus the device's own battery and radio. One per simulated device; readings
 * come out in the native contract (`shared/readings.ts`), timestamped by the device clock.
 */

export type SensorSpec = {
  id: string
  kind: DeviceKind
  site: string
  intervalMs: number
  attractant: 'light_uv' | 'light_led' | 'pheromone' | 'sticky_card'
  batteryPct: number
  rssiDbm: number
}

/** A reading as the device publishes it (one uplink); overrides may make it invalid on purpose. */
export type SimReading = { kind: DeviceKind; ts: number; seq: number } & Record<string, unknown>

/** Values forced into the next readings (a test's or demo's override); not validated. */
export type ReadingOverrides = Record<string, unknown>

export type SensorDevice = {
  readonly spec: SensorSpec
  readonly lastSeq: number
  /** Takes the reading due at simulated time `tMs` (the world must have advanced to it). */
  read(tMs: number, clockOffsetMs?: number): SimReading
  /** Sensor drift of a metric, in its unit per day, from `sinceMs` on. */
  drift(metric: string, perDay: number, sinceMs: number): void
  /** Forces values into the next `count` readings (default 1). */
  override(values: ReadingOverrides, count?: number): void
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const round = (x: number, decimals: number) => {
  const f = 10 ** decimals
  return Math.round(x * f) / f
}
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x))

/**
 * Battery: a LoRa/4G node draws a little per hour and more per uplink; a small solar
 * panel charges it in sunlight (full sun ≈ 1000 W/m² gives ~3 %/h on a typical node).
 */
const DRAIN_PCT_PER_HOUR = 0.15
const DRAIN_PCT_PER_UPLINK = 0.01
const CHARGE_PCT_PER_HOUR_AT_FULL_SUN = 3

export function createSensorDevice(spec: SensorSpec, world: World, seed: number): SensorDevice {
  const rng: Rng = createRng(hashSeed(seed, 'sensor', spec.id))
  let seq = 0
  let battery = spec.batteryPct
  let lastMs: number | null = null
  let lastRainTotal = world.weather().rainTotalMm
  const drifts: { metric: string; perDay: number; sinceMs: number }[] = []
  let overrides: { values: ReadingOverrides; left: number }[] = []

  const driftOf = (metric: string, tMs: number) =>
    drifts
      .filter((d) => d.metric === metric && tMs > d.sinceMs)
      .reduce((sum, d) => sum + (d.perDay * (tMs - d.sinceMs)) / DAY_MS, 0)
  const measure = (
    metric: string,
    truth: number,
    sd: number,
    decimals: number,
    lo: number,
    hi: number,
    tMs: number,
  ) => round(clamp(truth + rng.normal(0, sd) + driftOf(metric, tMs), lo, hi), decimals)

  function metrics(tMs: number, sinceMs: number): Record<string, unknown> {
    switch (spec.kind) {
      case 'pond_sensor': {
        const p = world.pond(spec.site)
        return {
          dissolved_oxygen_mg_l: measure(
            'dissolved_oxygen_mg_l',
            p.dissolvedOxygenMgL,
            0.05,
            2,
            0,
            25,
            tMs,
          ),
          ph: measure('ph', p.ph, 0.02, 2, 0, 14, tMs),
          water_temp_c: measure('water_temp_c', p.waterTempC, 0.05, 2, 0, 45, tMs),
          salinity_ppt: measure('salinity_ppt', p.salinityPpt, 0.1, 1, 0, 70, tMs),
          tan_mg_l: measure('tan_mg_l', p.totalAmmoniaMgL, 0.02, 3, 0, 100, tMs),
          turbidity_ntu: measure('turbidity_ntu', p.turbidityNtu, 1.5, 1, 0, 4000, tMs),
        }
      }
      case 'env_sensor': {
        const w = world.weather()
        const f = world.field(spec.site)
        // A tipping-bucket gauge counts 0.2 mm tips.
        const rain = Math.floor((w.rainTotalMm - lastRainTotal) / 0.2) * 0.2
        lastRainTotal += rain
        return {
          air_temp_c: measure('air_temp_c', w.airTempC, 0.15, 1, -20, 60, tMs),
          rel_humidity_pct: measure('rel_humidity_pct', w.relHumidityPct, 1.2, 1, 0, 100, tMs),
          leaf_wetness_pct: measure('leaf_wetness_pct', f.leafWetnessPct, 1, 0, 0, 100, tMs),
          rainfall_mm: round(rain, 1),
          soil_moisture_pct: measure('soil_moisture_pct', f.soilMoisturePct, 0.4, 1, 0, 100, tMs),
        }
      }
      case 'pest_trap':
        return {
          trap_id: `${spec.id}-tray`,
          attractant: spec.attractant,
          interval_s: Math.max(1, Math.round((tMs - sinceMs) / 1000)),
          counts: world.trapCatch(spec.site, sinceMs, tMs),
        }
      case 'irrigation_controller': {
        const i = world.irrigation(spec.site)
        return {
          flow_l_min: measure('flow_l_min', i.flowLMin, i.flowLMin > 0 ? 0.05 : 0, 2, 0, 5000, tMs),
          pressure_bar: measure(
            'pressure_bar',
            i.pressureBar,
            i.pressureBar > 0 ? 0.005 : 0,
            3,
            0,
            16,
            tMs,
          ),
          valve: i.valveOpen ? 'open' : 'closed',
          volume_total_l: round(i.volumeTotalL, 1),
        }
      }
    }
  }

  return {
    spec,
    get lastSeq() {
      return seq
    },
    read(tMs, clockOffsetMs = 0) {
      const since = lastMs ?? tMs - spec.intervalMs
      const hours = Math.max(0, (tMs - since) / HOUR_MS)
      const sun = world.weather().irradianceWm2 / 1000
      battery = clamp(
        battery +
          hours * (sun * CHARGE_PCT_PER_HOUR_AT_FULL_SUN - DRAIN_PCT_PER_HOUR) -
          DRAIN_PCT_PER_UPLINK,
        0,
        100,
      )
      const rain = world.weather().rainMmPerHour
      // Heavy rain attenuates sub-GHz links only slightly, but wet foliage and water on
      // the antenna cost a few dB.
      const rssi = clamp(
        Math.round(spec.rssiDbm + rng.normal(0, 2.5) - Math.min(6, rain / 5)),
        -150,
        0,
      )
      seq++
      lastMs = tMs
      const reading: SimReading = {
        kind: spec.kind,
        ts: tMs + clockOffsetMs,
        seq,
        battery_pct: round(battery, 1),
        rssi_dbm: rssi,
        ...metrics(tMs, since),
      }
      const forced = overrides[0]
      if (forced) {
        Object.assign(reading, forced.values)
        forced.left--
        if (forced.left <= 0) overrides = overrides.slice(1)
      }
      return reading
    },
    drift(metric, perDay, sinceMs) {
      drifts.push({ metric, perDay, sinceMs })
    },
    override(values, count = 1) {
      overrides.push({ values, left: count })
    },
  }
}
