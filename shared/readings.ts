import { z } from 'zod'

/**
 * Reading contracts for the four device kinds. Every field name carries its unit
 * (`_c` degrees Celsius, `_pct` percent, `_mg_l` milligrams per litre, `_ppt` parts per
 * thousand, `_ntu` nephelometric turbidity units, `_l_min` litres per minute, `_bar`,
 * `_l` litres, `_mm` millimetres, `_dbm` decibel-milliwatts, `_s` seconds). Ranges are
 * the physically plausible ones: a value outside them is a broken sensor or a bad
 * encoder, and the reading is quarantined rather than stored.
 */

export const deviceKinds = [
  'pest_trap',
  'env_sensor',
  'pond_sensor',
  'irrigation_controller',
] as const
export const DeviceKind = z.enum(deviceKinds)
export type DeviceKind = z.infer<typeof DeviceKind>

/** Earliest accepted device time: anything before is an unset RTC (1970, 2000). */
const EARLIEST_TS_MS = Date.UTC(2020, 0, 1)
/** Readings stamped further ahead than this are a device clock running fast. */
export const MAX_CLOCK_AHEAD_MS = 10 * 60 * 1000

/** Device time: an ISO 8601 string with a zone, or Unix epoch milliseconds. */
export const DeviceTime = z
  .union([
    // Numbers first: most devices send epoch ms, and a union's failed branch costs.
    z
      .number()
      .int()
      .refine((n) => n >= 1e12, {
        message: 'epoch timestamps are milliseconds; this looks like seconds (multiply by 1000)',
      }),
    z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
  ])
  .refine((ms) => ms >= EARLIEST_TS_MS, {
    message: 'timestamp is before 2020-01-01: the device clock is not set',
  })

const measurement = (min: number, max: number) => z.number().finite().min(min).max(max)

/** Fields every reading carries, whatever the device kind. */
const readingBase = {
  /** Device time of the measurement. */
  ts: DeviceTime,
  /** Monotonic per-device sequence number; repeats are duplicates. */
  seq: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 32 - 1),
  /** State of charge of the battery, 0–100 %. */
  battery_pct: measurement(0, 100),
  /** Received signal strength of the device's uplink, dBm. */
  rssi_dbm: measurement(-150, 0),
  /** Battery voltage, when the device reports it. */
  battery_v: measurement(0, 60).optional(),
}

export const speciesName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,47}$/, 'species names are snake_case, e.g. brown_planthopper')

export const PestTrapReading = z.object({
  ...readingBase,
  /** Trap identifier painted on the trap (a device may serve several trays). */
  trap_id: z.string().min(1).max(64),
  /** What attracts the insects: light trap (UV or LED), sex pheromone lure, yellow sticky card. */
  attractant: z.enum(['light_uv', 'light_led', 'pheromone', 'sticky_card']),
  /** Length of the catch interval the counts cover, seconds. */
  interval_s: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600),
  /** Insects counted in the interval, per species. */
  counts: z
    .record(speciesName, z.number().int().nonnegative().max(1_000_000))
    .refine((c) => Object.keys(c).length > 0, { message: 'counts needs at least one species' }),
})

const atLeastOne =
  (fields: readonly string[]) =>
  (r: Record<string, unknown>): boolean =>
    fields.some((f) => r[f] !== undefined)

/** Numeric measurement fields per kind (trap counts are per species, in `counts`). */
export const envMetrics = [
  'air_temp_c',
  'rel_humidity_pct',
  'leaf_wetness_pct',
  'rainfall_mm',
  'soil_moisture_pct',
] as const
export const EnvSensorReading = z
  .object({
    ...readingBase,
    air_temp_c: measurement(-20, 60).optional(),
    rel_humidity_pct: measurement(0, 100).optional(),
    /** Share of the interval the leaf-wetness sensor was wet, %. */
    leaf_wetness_pct: measurement(0, 100).optional(),
    /** Rain since the previous reading, mm. */
    rainfall_mm: measurement(0, 500).optional(),
    /** Volumetric soil water content, %. */
    soil_moisture_pct: measurement(0, 100).optional(),
  })
  .refine(atLeastOne(envMetrics), { message: `needs at least one of ${envMetrics.join(', ')}` })

export const pondMetrics = [
  'dissolved_oxygen_mg_l',
  'ph',
  'water_temp_c',
  'salinity_ppt',
  'tan_mg_l',
  'turbidity_ntu',
] as const
export const PondSensorReading = z
  .object({
    ...readingBase,
    /** Dissolved oxygen, mg/L; optical probes read 0–20 (supersaturated ponds reach ~20). */
    dissolved_oxygen_mg_l: measurement(0, 25).optional(),
    ph: measurement(0, 14).optional(),
    water_temp_c: measurement(0, 45).optional(),
    /** Salinity, parts per thousand (seawater ~35). */
    salinity_ppt: measurement(0, 70).optional(),
    /** Total ammonia nitrogen (NH3-N + NH4+-N), mg/L. */
    tan_mg_l: measurement(0, 100).optional(),
    turbidity_ntu: measurement(0, 4000).optional(),
  })
  .refine(atLeastOne(pondMetrics), { message: `needs at least one of ${pondMetrics.join(', ')}` })

export const irrigationMetrics = ['flow_l_min', 'pressure_bar', 'volume_total_l'] as const
export const IrrigationControllerReading = z.object({
  ...readingBase,
  flow_l_min: measurement(0, 5000),
  /** Line pressure, bar (gauge). */
  pressure_bar: measurement(0, 16),
  valve: z.enum(['open', 'closed']),
  /** Totaliser: water delivered since installation, litres. */
  volume_total_l: measurement(0, 1e12),
})

export const readingSchemas = {
  pest_trap: PestTrapReading,
  env_sensor: EnvSensorReading,
  pond_sensor: PondSensorReading,
  irrigation_controller: IrrigationControllerReading,
} as const

export type PestTrapReading = z.infer<typeof PestTrapReading>
export type EnvSensorReading = z.infer<typeof EnvSensorReading>
export type PondSensorReading = z.infer<typeof PondSensorReading>
export type IrrigationControllerReading = z.infer<typeof IrrigationControllerReading>
/** Readings as sent (timestamps as the device wrote them). */
export type ReadingInput = {
  [K in DeviceKind]: z.input<(typeof readingSchemas)[K]>
}

/** Uplinks larger than this are quarantined unread (send a long backlog in several batches). */
export const MAX_UPLINK_BYTES = 256 * 1024

/** The largest store-and-forward backlog a device may send in one message. */
export const MAX_BATCH_READINGS = 1000

const uplinkOf = <K extends DeviceKind>(kind: K) =>
  z.preprocess(
    // A single reading travels without the array ({ kind, ts, seq, ... }); it is the
    // same thing as a batch of one.
    (m) => {
      if (m === null || typeof m !== 'object' || Array.isArray(m) || 'readings' in m) return m
      const { kind: k, ...reading } = m as Record<string, unknown>
      return { kind: k, readings: [reading] }
    },
    z.object({
      kind: z.literal(kind),
      readings: z.array(readingSchemas[kind]).min(1).max(MAX_BATCH_READINGS),
    }),
  )

export const uplinkSchemas = {
  pest_trap: uplinkOf('pest_trap'),
  env_sensor: uplinkOf('env_sensor'),
  pond_sensor: uplinkOf('pond_sensor'),
  irrigation_controller: uplinkOf('irrigation_controller'),
} as const

/**
 * What a device publishes on `devices/{deviceId}/up`: one reading, or a batch of
 * readings (a store-and-forward backlog), each with its own time and sequence number.
 * The `kind` field picks the schema.
 */
export type DeviceUplink = {
  [K in DeviceKind]: z.output<(typeof uplinkSchemas)[K]>
}[DeviceKind]
export type Reading = DeviceUplink['readings'][number]

const KindOnly = z.object({ kind: DeviceKind }, { error: 'an uplink is a JSON object' })

/** Validates an uplink, choosing the schema by its `kind`. */
export function parseDeviceUplink(value: unknown): z.ZodSafeParseResult<DeviceUplink> {
  // Fast path for the common message, one valid reading: its schema alone (the reading
  // schema drops `kind`). Anything else, or a failure, takes the full path below, which
  // words the errors (`readings.0.ph: ...`).
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !('readings' in value)
  ) {
    const kind = (value as { kind?: unknown }).kind
    if (typeof kind === 'string' && Object.hasOwn(readingSchemas, kind)) {
      const reading = readingSchemas[kind as DeviceKind].safeParse(value)
      if (reading.success)
        return {
          success: true,
          data: { kind, readings: [reading.data] } as DeviceUplink,
        } as z.ZodSafeParseResult<DeviceUplink>
    }
  }
  const head = KindOnly.safeParse(value)
  if (!head.success) return head as z.ZodSafeParseResult<never>
  return uplinkSchemas[head.data.kind].safeParse(value) as z.ZodSafeParseResult<DeviceUplink>
}
