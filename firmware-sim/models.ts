/**
 * Reading generators for the simulated devices, one per device kind.
 *
 * The values are plausible rather than physically modelled: daily cycles are shaped
 * curves around typical tropical-farm values, slow quantities wander as mean-reverting
 * random walks, and rain and insect catches are random events. Everything is a function
 * of the simulated time passed to `next()` and of the seed: the same seed, device id and
 * sequence of times give the same readings.
 */
import type { DeviceKind, ReadingInput } from '../shared/readings.ts'
import { createRng, hashSeed, type Rng } from './random.ts'

/** One reading as the device publishes it on `devices/{id}/up` (a single, unbatched uplink). */
export type SimUplink = { [K in DeviceKind]: { kind: K } & ReadingInput[K] }[DeviceKind]

/**
 * Values forced into a reading on top of the generated ones, e.g.
 * `{ dissolved_oxygen_mg_l: 2.1 }`. They are not validated: a test may force a value the
 * backend must reject. A field set to `undefined` is left out of the published JSON.
 */
export type ReadingOverrides = { [K in DeviceKind]: Partial<ReadingInput[K]> }[DeviceKind]

export type DeviceModelOptions = {
  deviceId: string
  kind: DeviceKind
  /** Simulation seed; each device derives its own stream from it and its id. Default 1. */
  seed?: number
  /**
   * Simulated time between two readings, ms (the publishing interval times the speed).
   * A pest trap reports it as `interval_s`; it is also the assumed gap before the first reading.
   */
  intervalMs: number
  /** Offset of the farm's local time from UTC, minutes; drives the daily cycles. Default +7 h. */
  utcOffsetMinutes?: number
}

export type DeviceModel = {
  readonly deviceId: string
  readonly kind: DeviceKind
  /** Sequence number of the last reading produced (0 before the first). */
  readonly lastSeq: number
  /**
   * Produces the next reading, stamped `tsMs` (epoch ms, simulated time), with the next
   * sequence number (starting at 1). `overrides` apply to this reading only, on top of
   * any queued with `override()`.
   */
  next(tsMs: number, overrides?: ReadingOverrides): SimUplink
  /**
   * Forces values into the next `readings` readings (default 1; `Infinity` until
   * `clearOverrides()`). Generation goes on underneath, so the random stream, and every
   * reading after the overrides run out, is the same as without them.
   */
  override(values: ReadingOverrides, readings?: number): void
  clearOverrides(): void
}

/** Default farm time zone: UTC+7 (western Indonesia, Vietnam, Thailand). */
export const DEFAULT_UTC_OFFSET_MINUTES = 7 * 60

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** Longest gap a single step integrates over; longer gaps are treated as this long. */
const MAX_STEP_HOURS = 48

/** Local hour of day, [0, 24). */
export function localHour(tsMs: number, utcOffsetMinutes = DEFAULT_UTC_OFFSET_MINUTES): number {
  const h = (tsMs / HOUR_MS + utcOffsetMinutes / 60) % 24
  return h < 0 ? h + 24 : h
}

/**
 * A daily curve: -1 at `minHour`, +1 at `maxHour`, following a half cosine on the way up
 * and another on the way down (so rise and fall may take different times).
 */
export function diurnal(hour: number, minHour: number, maxHour: number): number {
  const rise = (((maxHour - minHour) % 24) + 24) % 24
  const sinceMin = (((hour - minHour) % 24) + 24) % 24
  if (sinceMin < rise) return -Math.cos((Math.PI * sinceMin) / rise)
  return Math.cos((Math.PI * (sinceMin - rise)) / (24 - rise))
}

const clamp = (x: number, min: number, max: number): number => Math.min(max, Math.max(min, x))
const round = (x: number, decimals: number): number => {
  const f = 10 ** decimals
  return Math.round(x * f) / f
}

/** Mean-reverting random walk (Ornstein–Uhlenbeck), exact step of `dtHours`. */
function ouStep(
  rng: Rng,
  x: number,
  mean: number,
  ratePerHour: number,
  sdPerSqrtHour: number,
  dtHours: number,
): number {
  const decay = Math.exp(-ratePerHour * dtHours)
  const sd = sdPerSqrtHour * Math.sqrt((1 - decay * decay) / (2 * ratePerHour))
  return mean + (x - mean) * decay + rng.normal(0, sd)
}

/** Length of the overlap of [a0, a1] and [b0, b1]. */
const overlap = (a0: number, a1: number, b0: number, b1: number): number =>
  Math.max(0, Math.min(a1, b1) - Math.max(a0, b0))

type Context = {
  seed: number
  deviceId: string
  intervalMs: number
  offsetMs: number
  rng: Rng
}

/**
 * A standard-normal value per local day and `salt`, interpolated smoothly between days:
 * day-to-day weather and population changes that depend only on the time, not on how
 * often the device reads.
 */
function dailyNoise(ctx: Context, salt: string, tsMs: number): number {
  const days = (tsMs + ctx.offsetMs) / DAY_MS
  const day = Math.floor(days)
  const frac = days - day
  const at = (d: number) => createRng(hashSeed(ctx.seed, ctx.deviceId, salt, d)).normal()
  const w = (1 - Math.cos(Math.PI * frac)) / 2
  return at(day) * (1 - w) + at(day + 1) * w
}

type MetricsGenerator = (tsMs: number, dtHours: number) => Record<string, unknown>

function pondSensor(ctx: Context): MetricsGenerator {
  const { rng } = ctx
  const salinityMean = rng.float(12, 18)
  const tanMean = rng.float(0.2, 0.5)
  const turbidityMean = rng.float(28, 48)
  let salinity = salinityMean + rng.normal(0, 0.5)
  let tan = tanMean
  let turbidity = turbidityMean + rng.normal(0, 3)
  return (ts, dt) => {
    const h = localHour(ts, ctx.offsetMs / 60_000)
    // Photosynthesis lifts oxygen (and pH, as it draws CO2) through the day; respiration
    // pulls it down overnight to a minimum just before dawn.
    const doCycle = diurnal(h, 5.5, 15)
    const dissolvedOxygen =
      7 + 1.6 * doCycle + 0.2 * dailyNoise(ctx, 'do', ts) + rng.normal(0, 0.08)
    const ph =
      8 + 0.3 * diurnal(h, 6, 15.5) + 0.05 * dailyNoise(ctx, 'ph', ts) + rng.normal(0, 0.02)
    const waterTemp =
      29.5 + 1.8 * diurnal(h, 7, 16) + 0.4 * dailyNoise(ctx, 'wt', ts) + rng.normal(0, 0.05)
    salinity = clamp(ouStep(rng, salinity, salinityMean, 0.02, 0.08, dt), 10, 20)
    tan = clamp(ouStep(rng, tan, tanMean, 0.1, 0.04, dt), 0.1, 1)
    turbidity = clamp(ouStep(rng, turbidity, turbidityMean, 0.15, 2, dt), 20, 60)
    return {
      dissolved_oxygen_mg_l: round(clamp(dissolvedOxygen, 5, 9), 2),
      ph: round(clamp(ph, 7.5, 8.5), 2),
      water_temp_c: round(clamp(waterTemp, 27, 32), 2),
      salinity_ppt: round(salinity, 1),
      tan_mg_l: round(tan, 3),
      turbidity_ntu: round(turbidity, 1),
    }
  }
}

function envSensor(ctx: Context): MetricsGenerator {
  const { rng } = ctx
  let rain: { start: number; end: number; mmPerHour: number } | undefined
  /** Lingering cooling after rain, °C. */
  let cooling = 0
  /** Leaf wetness, 0–1. */
  let wet = 0
  let soil = rng.float(25, 38)
  return (ts, dt) => {
    const h = localHour(ts, ctx.offsetMs / 60_000)
    const from = ts - dt * HOUR_MS
    // Convective showers are likelier in the afternoon; at most one starts per step.
    const startsPerHour = h >= 13 && h < 19 ? 0.08 : 0.015
    const startDraw = rng.next()
    const startAt = rng.next()
    const duration = Math.max(0.2, rng.exponential(1.2))
    const intensity = clamp(rng.exponential(6), 0.5, 60)
    if (!rain && startDraw < 1 - Math.exp(-startsPerHour * dt)) {
      const start = from + startAt * (ts - from)
      rain = { start, end: start + duration * HOUR_MS, mmPerHour: intensity }
    }
    let rainfall = 0
    let rainShare = 0
    if (rain) {
      const rainMs = overlap(rain.start, rain.end, from, ts)
      rainfall = (rain.mmPerHour * rainMs) / HOUR_MS
      rainShare = ts > from ? rainMs / (ts - from) : 1
      if (rain.end <= ts) rain = undefined
    }
    cooling = rainShare > 0 ? Math.max(cooling, 3 * rainShare) : cooling * Math.exp(-dt / 1.5)

    const airTemp =
      29 +
      4.5 * diurnal(h, 6, 14) +
      0.8 * dailyNoise(ctx, 'air', ts) -
      cooling +
      rng.normal(0, 0.15)
    const humidity =
      77 - 17 * diurnal(h, 6, 14) - 3 * dailyNoise(ctx, 'air', ts) + 5 * cooling + rng.normal(0, 1)
    const rh = clamp(humidity, 40, 100)

    // Wet while it rains or dew forms (humid nights); dries in the hour or so after.
    const dew = clamp((rh - 88) / 8, 0, 1)
    wet = Math.max(rainShare, dew, wet * Math.exp(-dt / 0.75))

    // Rain soaks in (with some run-off); evapotranspiration dries the soil by day,
    // drainage pulls it back towards field capacity.
    const evaporation = (h >= 8 && h < 17 ? 0.15 : 0.02) * dt
    soil += 0.4 * rainfall - evaporation
    if (soil > 40) soil = 40 + (soil - 40) * Math.exp(-dt / 6)
    soil = clamp(soil + rng.normal(0, 0.05), 10, 55)

    return {
      air_temp_c: round(clamp(airTemp, 24, 34), 2),
      rel_humidity_pct: round(rh, 1),
      leaf_wetness_pct: round(wet * 100, 0),
      rainfall_mm: round(clamp(rainfall, 0, 500), 1),
      soil_moisture_pct: round(soil, 1),
    }
  }
}

const MAX_INTERVAL_S = 7 * 24 * 3600

function pestTrap(ctx: Context): MetricsGenerator {
  const { rng } = ctx
  // Insects per hour at the evening peak, for this field.
  const species = [
    {
      name: 'brown_planthopper',
      peakPerHour: Math.exp(rng.normal(Math.log(30), 0.5)),
      peakHour: 20.5,
    },
    { name: 'stem_borer', peakPerHour: Math.exp(rng.normal(Math.log(4), 0.5)), peakHour: 21.5 },
  ]
  const intervalS = clamp(Math.round(ctx.intervalMs / 1000), 1, MAX_INTERVAL_S)
  /** Flight activity towards the UV lamp, relative to the peak; the lamp is on 18:00–06:00. */
  const activity = (h: number, peakHour: number): number => {
    if (h >= 6 && h < 18) return 0
    const sincePeak = (((h - peakHour) % 24) + 24) % 24
    const d = sincePeak > 12 ? sincePeak - 24 : sincePeak
    return Math.exp(-(d * d) / (2 * 2 * 2)) + 0.03
  }
  return (ts) => {
    const from = ts - intervalS * 1000
    const counts: Record<string, number> = {}
    for (const s of species) {
      const population = Math.exp(0.4 * dailyNoise(ctx, s.name, ts))
      // Integrate the expected catch over the interval in steps of at most 15 minutes.
      const steps = Math.max(1, Math.ceil((ts - from) / (15 * 60_000)))
      const stepMs = (ts - from) / steps
      let expected = 0
      for (let i = 0; i < steps; i++) {
        const h = localHour(from + (i + 0.5) * stepMs, ctx.offsetMs / 60_000)
        expected += activity(h, s.peakHour) * (stepMs / HOUR_MS)
      }
      counts[s.name] = Math.min(1_000_000, rng.poisson(expected * s.peakPerHour * population))
    }
    return { trap_id: 'trap-1', attractant: 'light_uv', interval_s: intervalS, counts }
  }
}

function irrigationController(ctx: Context): MetricsGenerator {
  const { rng } = ctx
  // Two watering windows a day: morning and late afternoon (local time).
  const durationMs = rng.int(30, 45) * 60_000
  const windows = [6 * HOUR_MS, 16.5 * HOUR_MS].map((start) => start + rng.int(0, 30) * 60_000)
  const nominalFlow = rng.float(60, 250)
  const nominalPressure = rng.float(1.5, 3)
  let total = rng.float(5_000, 200_000)
  /** Time the valve was open within [a, b] (epoch ms). */
  const openMs = (a: number, b: number): number => {
    let sum = 0
    const firstDay = Math.floor((a + ctx.offsetMs) / DAY_MS) - 1
    const lastDay = Math.floor((b + ctx.offsetMs) / DAY_MS)
    for (let day = firstDay; day <= lastDay; day++) {
      const midnight = day * DAY_MS - ctx.offsetMs
      for (const w of windows) sum += overlap(midnight + w, midnight + w + durationMs, a, b)
    }
    return sum
  }
  return (ts, dt) => {
    const open = openMs(ts, ts + 1) > 0
    total += (nominalFlow * openMs(ts - dt * HOUR_MS, ts)) / 60_000
    const flowNoise = rng.normal(0, 0.02)
    const pressureNoise = rng.normal(0, 0.03)
    return {
      flow_l_min: open ? round(Math.max(0.1, nominalFlow * (1 + flowNoise)), 1) : 0,
      pressure_bar: open ? round(clamp(nominalPressure + pressureNoise, 0.1, 16), 2) : 0,
      valve: open ? 'open' : 'closed',
      volume_total_l: round(total, 1),
    }
  }
}

const generators: Record<DeviceKind, (ctx: Context) => MetricsGenerator> = {
  pond_sensor: pondSensor,
  env_sensor: envSensor,
  pest_trap: pestTrap,
  irrigation_controller: irrigationController,
}

/** Battery drain, % per day: the trap runs a UV lamp all night. */
const drainPerDay: Record<DeviceKind, number> = {
  pond_sensor: 0.4,
  env_sensor: 0.3,
  pest_trap: 0.8,
  irrigation_controller: 0.5,
}

export function createDeviceModel(opts: DeviceModelOptions): DeviceModel {
  const { deviceId, kind } = opts
  const seed = opts.seed ?? 1
  if (!(opts.intervalMs > 0)) throw new RangeError('intervalMs must be positive')
  const rng = createRng(hashSeed(seed, deviceId, kind))
  const ctx: Context = {
    seed,
    deviceId,
    intervalMs: opts.intervalMs,
    offsetMs: (opts.utcOffsetMinutes ?? DEFAULT_UTC_OFFSET_MINUTES) * 60_000,
    rng,
  }
  // Device constants first, so they do not depend on the kind's generator.
  let battery = rng.float(75, 100)
  const rssiMean = rng.int(-100, -60)
  const metrics = generators[kind](ctx)

  let seq = 0
  let lastTs: number | undefined
  let queued: Array<{ values: ReadingOverrides; remaining: number }> = []

  return {
    deviceId,
    kind,
    get lastSeq() {
      return seq
    },
    next(tsMs, overrides) {
      const gapMs = lastTs === undefined ? opts.intervalMs : tsMs - lastTs
      const dt = clamp(gapMs / HOUR_MS, 0, MAX_STEP_HOURS)
      lastTs = tsMs
      seq++
      battery = Math.max(0, battery - (drainPerDay[kind] * dt) / 24)
      const batteryPct = round(clamp(battery, 0, 100), 1)
      const rssi = clamp(Math.round(rng.normal(rssiMean, 2.5)), -130, -30)
      const reading: Record<string, unknown> = {
        kind,
        ts: tsMs,
        seq,
        battery_pct: batteryPct,
        // A single Li-ion cell: 3.3 V empty, 4.2 V full.
        battery_v: round(3.3 + (0.9 * batteryPct) / 100, 2),
        rssi_dbm: rssi,
        ...metrics(tsMs, dt),
      }
      for (const q of queued) Object.assign(reading, q.values)
      if (overrides) Object.assign(reading, overrides)
      for (const q of queued) q.remaining--
      queued = queued.filter((q) => q.remaining > 0)
      reading.kind = kind
      return reading as SimUplink
    },
    override(values, readings = 1) {
      if (readings > 0) queued.push({ values: { ...values }, remaining: readings })
    },
    clearOverrides() {
      queued = []
    },
  }
}
