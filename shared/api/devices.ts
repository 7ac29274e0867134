import { z } from 'zod'
import { DurationText } from '../duration.ts'
import { DeviceKind, speciesName } from '../readings.ts'
import { Id, Time, TimeParam } from './common.ts'

/** Devices, their MQTT credentials, the fleet view and readings. */

export const DevEui = z
  .string()
  .regex(/^[0-9A-Fa-f]{16}$/, '16 hex digits, as printed on the device, e.g. 0004A30B001C0530')
  .describe('LoRaWAN DevEUI, for devices behind a network server')

export const NewDeviceBody = z.object({
  farm_id: Id,
  /** The field or pond it stands in; one of the farm's sites. */
  site_id: Id.optional(),
  kind: DeviceKind,
  name: z.string().trim().min(1).max(120).optional().describe('Absent: the device id'),
  id: Id.optional().describe('Absent: one is made from the kind, e.g. pond-3fa9c2d1'),
  dev_eui: DevEui.optional(),
})
export type NewDeviceBody = z.infer<typeof NewDeviceBody>

/** The columns of a batch, in CSV and in JSON alike. */
export const batchColumns = ['kind', 'farm_id', 'site_id', 'name', 'dev_eui', 'id'] as const
export const MAX_BATCH_DEVICES = 1000

export const BatchBody = z.union(
  [
    z
      .string()
      .describe(
        `CSV (Content-Type: text/csv) with a header row of ${batchColumns.join(',')}; site_id, name, dev_eui and id may be empty or left out. Rows are numbered as in a spreadsheet: the header is row 1.`,
      ),
    z.object({
      devices: z
        .array(z.record(z.string(), z.unknown()))
        .describe('Rows with the fields of POST /devices'),
    }),
  ],
  {
    error: `send CSV (Content-Type: text/csv) with a header row of ${batchColumns.join(',')}, or JSON { "devices": [ ... ] }`,
  },
)

export const deviceStatuses = [
  'online',
  'silent',
  'offline',
  'never_seen',
  'revoked',
  'unknown',
] as const
export const DeviceStatusName = z
  .enum(deviceStatuses)
  .describe(
    'revoked; never_seen (no reading nor status yet); offline (its last status said so); silent (no reading for longer than silent_after); online; unknown (InfluxDB did not answer)',
  )
export type DeviceStatusName = z.infer<typeof DeviceStatusName>

export const DeviceView = z.object({
  id: z.string(),
  name: z.string(),
  kind: DeviceKind,
  farm_id: z.string(),
  site_id: z.string().nullable(),
  dev_eui: z.string().nullable(),
  created_at: Time,
  revoked: z.boolean(),
  revoked_at: Time.nullable(),
  /** Device time of its latest reading. */
  last_seen: Time.nullable(),
  battery_pct: z.number().nullable(),
  battery_v: z.number().nullable(),
  rssi_dbm: z.number().nullable(),
  /** The last firmware version it reported on devices/{id}/status. */
  firmware: z.string().nullable(),
  /** What its last status message (or the broker's last will for it) said. */
  online: z.boolean().nullable(),
  status_at: Time.nullable(),
  status: DeviceStatusName,
})
export type DeviceView = z.infer<typeof DeviceView>

export const MqttCredentials = z.object({
  username: z.string(),
  client_id: z.string(),
  up_topic: z.string(),
  status_topic: z.string(),
})

export const ProvisionedDeviceView = z.object({
  device: DeviceView,
  /** The MQTT password: shown only now, stored only as a hash. */
  secret: z.string(),
  mqtt: MqttCredentials,
})
export type ProvisionedDeviceView = z.infer<typeof ProvisionedDeviceView>

export const BatchResponse = z.object({ devices: z.array(ProvisionedDeviceView) })

export const FleetQuery = z.object({
  farm_id: Id.optional(),
  kind: DeviceKind.optional(),
  status: DeviceStatusName.optional(),
  silent_after: DurationText.default('2h').describe(
    'A device with no reading for longer than this is silent, e.g. 30m, 2h, 1d',
  ),
})

export const FleetResponse = z.object({
  devices: z.array(DeviceView),
  /** unavailable: InfluxDB did not answer; the live fields are null and status unknown. */
  live_data: z.enum(['available', 'unavailable']),
  message: z.string().optional(),
})

export const DeviceQuery = FleetQuery.pick({ silent_after: true })

export const DevicePatchBody = z
  .object({
    name: z.string().trim().min(1).max(120),
    /** null: not at any site. */
    site_id: Id.nullable(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'change at least one of name, site_id')

export const LatestReadingView = z.object({
  device_id: z.string(),
  kind: DeviceKind,
  /** Time of the newest of the values (device time). */
  ts: Time.nullable(),
  /** The latest value of each metric; trap counts as counts.<species>. */
  values: z.record(z.string(), z.number()),
  /** When each of those values was measured. */
  measured_at: z.record(z.string(), Time),
})
export type LatestReadingView = z.infer<typeof LatestReadingView>

export const FarmLatestQuery = z.object({ kind: DeviceKind.optional() })

export const aggregates = ['mean', 'min', 'max', 'count'] as const

export const SeriesQuery = z.object({
  metric: z
    .string()
    .min(1)
    .max(64)
    .describe('A metric of the device kind, e.g. ph; count for traps'),
  from: TimeParam.optional().describe('Default: 24 hours before `to`'),
  to: TimeParam.optional().describe('Default: now'),
  every: DurationText.default('15m').describe('Aggregation interval, e.g. 5m, 1h, 1d'),
  aggregate: z.enum(aggregates).default('mean'),
  species: speciesName.optional().describe('For traps: one species (default: all together)'),
})

export const SeriesResponse = z.object({
  device_id: z.string(),
  kind: DeviceKind,
  metric: z.string(),
  aggregate: z.enum(aggregates),
  every: z.string(),
  from: Time,
  to: Time,
  species: z.string().nullable(),
  /** One point per interval that has readings, at the interval's start. */
  points: z.array(z.object({ ts: Time, value: z.number() })),
})
