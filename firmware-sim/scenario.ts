import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { DeviceKind, speciesName } from '../shared/readings.ts'
import { ID_PATTERN } from '../shared/topics.ts'
import { parseDuration, parseMoment, parseSignedDuration } from './time.ts'

/**
 * Scenario files: a farm, its sites and devices, and events at simulated times.
 * The format is documented in firmware-sim/README.md; this schema is its definition.
 */

const tryParse = (fn: (s: string) => unknown, s: string): string | null => {
  try {
    fn(s)
    return null
  } catch (err) {
    return (err as Error).message
  }
}
const Duration = z.string().superRefine((s, ctx) => {
  const problem = tryParse(parseDuration, s)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})
const SignedDuration = z.string().superRefine((s, ctx) => {
  const problem = tryParse(parseSignedDuration, s)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})
/** Checked when the scenario is resolved (it needs the start time). */
const Moment = z.string().min(1)
const Id = z.string().regex(ID_PATTERN, 'ids are letters, digits, ".", "_" or "-" (max 64)')
const fraction = z.number().min(0).max(1)

const Pond = z.object({
  id: Id,
  kind: z.literal('pond'),
  name: z.string().optional(),
  depth_m: z.number().positive().max(5).optional(),
  biomass_kg_per_m3: z.number().min(0).max(10).optional(),
  feed_kg_per_day_per_m3: z.number().min(0).max(1).optional(),
  aerators_on: z.boolean().optional(),
})
const Field = z.object({
  id: Id,
  kind: z.literal('field'),
  name: z.string().optional(),
  crop: z.enum(['rice', 'vegetables', 'fruit']).optional(),
  irrigation: z
    .object({
      schedule: z
        .array(
          z.object({
            start_local_hour: z.number().min(0).max(23.99),
            duration_min: z.number().positive().max(1440),
          }),
        )
        .min(1),
      nominal_flow_l_min: z.number().positive(),
      nominal_pressure_bar: z.number().positive().max(10),
    })
    .optional(),
  pests: z
    .array(z.object({ species: speciesName, initial_population: z.number().min(0) }))
    .optional(),
})
export const SiteSpec = z.discriminatedUnion('kind', [Pond, Field])

export const DeviceSpec = z.object({
  id: Id,
  kind: DeviceKind,
  site: Id,
  name: z.string().optional(),
  /** Simulated time between two readings. */
  interval: Duration.default('10m'),
  /** How the reading reaches the broker: the device itself, or a LoRaWAN network server. */
  transport: z.enum(['mqtt', 'chirpstack', 'tts']).default('mqtt'),
  dev_eui: z
    .string()
    .regex(/^[0-9a-fA-F]{16}$/, 'a DevEUI is 16 hex digits')
    .optional(),
  firmware: z.string().max(64).default('sim-1.0.0'),
  /** Pest traps: attractant and trap id. */
  attractant: z.enum(['light_uv', 'light_led', 'pheromone', 'sticky_card']).default('light_uv'),
  /** Battery at the start, %; mean received signal, dBm. */
  battery_pct: z.number().min(0).max(100).default(90),
  rssi_dbm: z.number().min(-140).max(-20).default(-95),
  /** Readings a device keeps while offline (store-and-forward memory). */
  backlog_capacity: z.number().int().min(0).max(100_000).default(2000),
})

const at = { at: Moment }
const span = { at: Moment, until: Moment }
const openSpan = { at: Moment, until: Moment.optional() }
export const FaultMode = z.enum([
  'malformed_json',
  'wrong_types',
  'unknown_device',
  'oversized',
  'out_of_range',
])
export type FaultMode = z.infer<typeof FaultMode>

export const ScenarioEvent = z.discriminatedUnion('type', [
  // The world
  z.object({ type: z.literal('cloud_cover'), ...span, cover: fraction }),
  z.object({ type: z.literal('rain'), ...span, mm_per_hour: z.number().positive().max(300) }),
  z.object({
    type: z.literal('outbreak'),
    ...at,
    site: Id,
    species: speciesName,
    immigrants: z.number().positive(),
  }),
  z.object({
    type: z.literal('leak'),
    ...openSpan,
    site: Id,
    litres_per_min: z.number().positive(),
  }),
  z.object({ type: z.literal('clog'), ...openSpan, site: Id, fraction }),
  z.object({ type: z.literal('aerators'), ...openSpan, site: Id, on: z.boolean() }),
  z.object({
    type: z.literal('feeding'),
    ...openSpan,
    site: Id,
    feed_kg_per_day_per_m3: z.number().min(0).max(1),
  }),
  // The devices
  z.object({ type: z.literal('offline'), ...span, device: Id }),
  z.object({ type: z.literal('clock_skew'), ...at, device: Id, offset: SignedDuration }),
  z.object({ type: z.literal('duplicates'), ...span, device: Id, probability: fraction }),
  z.object({
    type: z.literal('drift'),
    ...at,
    device: Id,
    metric: z.string(),
    per_day: z.number(),
  }),
  z.object({
    type: z.literal('fault'),
    ...at,
    device: Id,
    mode: FaultMode,
    count: z.number().int().positive().max(10_000).default(1),
    every: Duration.default('1m'),
  }),
])

export const ScenarioFile = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    seed: z.number().int().default(1),
    start: z.iso.datetime({ offset: true }),
    duration: Duration,
    farm: z.object({
      id: Id,
      name: z.string().default('Simulated farm'),
      timezone: z.string().default('Asia/Ho_Chi_Minh'),
      utc_offset_minutes: z.number().int().min(-720).max(840).default(420),
      latitude: z.number().min(-90).max(90).default(9.6),
      longitude: z.number().min(-180).max(180).default(105.97),
    }),
    sites: z.array(SiteSpec).min(1),
    devices: z.array(DeviceSpec).min(1),
    events: z.array(ScenarioEvent).default([]),
  })
  .superRefine((s, ctx) => {
    const sites = new Map(s.sites.map((x) => [x.id, x]))
    const devices = new Set<string>()
    s.devices.forEach((d, i) => {
      if (devices.has(d.id))
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'id'],
          message: `duplicate device ${d.id}`,
        })
      devices.add(d.id)
      const site = sites.get(d.site)
      if (!site) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'site'],
          message: `no site ${d.site} in sites`,
        })
        return
      }
      const wants = d.kind === 'pond_sensor' ? 'pond' : 'field'
      if (site.kind !== wants)
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'site'],
          message: `a ${d.kind} belongs on a ${wants} site; ${d.site} is a ${site.kind}`,
        })
      if (d.transport !== 'mqtt' && !d.dev_eui)
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'dev_eui'],
          message: `a ${d.transport} device needs its dev_eui`,
        })
    })
    s.events.forEach((e, i) => {
      if ('device' in e && !devices.has(e.device))
        ctx.addIssue({
          code: 'custom',
          path: ['events', i, 'device'],
          message: `no device ${e.device}`,
        })
      if ('site' in e && !sites.has(e.site))
        ctx.addIssue({ code: 'custom', path: ['events', i, 'site'], message: `no site ${e.site}` })
    })
  })
export type ScenarioFile = z.infer<typeof ScenarioFile>
export type ScenarioEvent = z.infer<typeof ScenarioEvent>
export type DeviceSpec = z.infer<typeof DeviceSpec>
export type SiteSpec = z.infer<typeof SiteSpec>

/** A scenario with every time resolved to epoch ms. */
export type Scenario = Omit<ScenarioFile, 'events' | 'devices'> & {
  startMs: number
  endMs: number
  devices: (DeviceSpec & { intervalMs: number })[]
  events: (ScenarioEvent & { atMs: number; untilMs: number | null })[]
}

export class ScenarioError extends Error {}

const pathOf = (path: ReadonlyArray<PropertyKey>) =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '')

/** Validates a scenario document and resolves its times; errors name the field. */
export function resolveScenario(doc: unknown, source = 'scenario'): Scenario {
  const parsed = ScenarioFile.safeParse(doc)
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${pathOf(i.path) || '(top level)'}: ${i.message}`,
    )
    throw new ScenarioError(`${source} is not a valid scenario:\n${lines.join('\n')}`)
  }
  const s = parsed.data
  const startMs = Date.parse(s.start)
  const offset = s.farm.utc_offset_minutes
  const moment = (text: string, path: string) => {
    try {
      return parseMoment(text, startMs, offset)
    } catch (err) {
      throw new ScenarioError(`${source}: ${path}: ${(err as Error).message}`)
    }
  }
  const events = s.events
    .map((e, i) => {
      const atMs = moment(e.at, `events[${i}].at`)
      const until =
        'until' in e && e.until !== undefined ? moment(e.until, `events[${i}].until`) : null
      if (until !== null && until <= atMs)
        throw new ScenarioError(`${source}: events[${i}].until must come after its at`)
      return { ...e, atMs, untilMs: until }
    })
    .sort((a, b) => a.atMs - b.atMs)
  return {
    ...s,
    startMs,
    endMs: startMs + parseDuration(s.duration),
    devices: s.devices.map((d) => ({ ...d, intervalMs: parseDuration(d.interval) })),
    events,
  }
}

/**
 * The latest start at the scenario's local time of day that lets the whole scenario end
 * by `nowMs`: accelerated runs stay in the past (readings from the future are refused).
 */
export function latestStart(
  doc: { start: string; duration: string; farm?: { utc_offset_minutes?: number } },
  nowMs: number,
): string {
  const offsetMs = (doc.farm?.utc_offset_minutes ?? 420) * 60_000
  const start = Date.parse(doc.start)
  const day = 86_400_000
  const timeOfDay = (((start + offsetMs) % day) + day) % day
  const latestEnd = nowMs - parseDuration(doc.duration)
  const localMidnight = Math.floor((latestEnd + offsetMs) / day) * day - offsetMs
  let candidate = localMidnight + timeOfDay
  if (candidate > latestEnd) candidate -= day
  const sign = offsetMs >= 0 ? '+' : '-'
  const abs = Math.abs(offsetMs / 60_000)
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
  return `${new Date(candidate + offsetMs).toISOString().slice(0, 19)}${zone}`
}

export async function loadScenario(
  path: string,
  overrides: { start?: string } = {},
): Promise<Scenario> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ScenarioError(`cannot read ${path}: ${(err as Error).message}`)
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new ScenarioError(`${path} is not JSON: ${(err as Error).message}`)
  }
  if (overrides.start && doc && typeof doc === 'object') {
    const d = doc as { start: string; duration: string; farm?: { utc_offset_minutes?: number } }
    d.start = overrides.start === 'latest' ? latestStart(d, Date.now()) : overrides.start
  }
  return resolveScenario(doc, path)
}
