import {
  type AlertEvent,
  type DeviceKind,
  type DeviceStatus,
  envMetrics,
  irrigationMetrics,
  pondMetrics,
  type Reading,
} from '../../shared/index.ts'

/**
 * InfluxDB line protocol for readings, written deterministically (tags and fields
 * sorted) so that tests can compare it. Schema: one measurement per device kind; tags
 * farm, site, device (and species, trap, attractant for traps); the device's time in ms.
 * Battery and signal go to `device_health`, one point per reading, for the fleet view.
 */

export type DeviceTags = { farm: string; site: string | null; device: string }

type FieldValue = number | { int: number } | string | boolean

// Most keys and tag values need no escaping: test first, replace only when needed.
const KEY_SPECIAL = /[,= \\]/
const MEASUREMENT_SPECIAL = /[, \\]/
const STRING_SPECIAL = /["\\]/
const escapeKey = (s: string) => (KEY_SPECIAL.test(s) ? s.replace(/[,= \\]/g, (c) => `\\${c}`) : s)
const escapeMeasurement = (s: string) =>
  MEASUREMENT_SPECIAL.test(s) ? s.replace(/[, \\]/g, (c) => `\\${c}`) : s
const escapeString = (s: string) =>
  STRING_SPECIAL.test(s) ? s.replace(/["\\]/g, (c) => `\\${c}`) : s

function formatField(v: FieldValue): string {
  if (typeof v === 'number') return `${v}`
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (typeof v === 'string') return `"${escapeString(v)}"`
  return `${Math.trunc(v.int)}i`
}

export function line(
  measurement: string,
  tags: Record<string, string | null | undefined>,
  fields: Record<string, FieldValue | undefined>,
  timeMs: number,
): string {
  let out = escapeMeasurement(measurement)
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k]
    if (v !== null && v !== undefined && v !== '') out += `,${escapeKey(k)}=${escapeKey(v)}`
  }
  let sep = ' '
  for (const k of Object.keys(fields).sort()) {
    const v = fields[k]
    if (v === undefined) continue
    out += `${sep}${escapeKey(k)}=${formatField(v)}`
    sep = ','
  }
  return `${out} ${Math.trunc(timeMs)}`
}

/** Forces float formatting for a number that happens to be whole (6 → 6.0 is still float: no `i`). */
const float = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)

/** A reading's measurement fields in line-protocol order (sorted), per kind. */
const sortedFields: Record<Exclude<DeviceKind, 'pest_trap'>, readonly string[]> = {
  env_sensor: [...envMetrics, 'seq'].sort(),
  pond_sensor: [...pondMetrics, 'seq'].sort(),
  irrigation_controller: [...irrigationMetrics, 'seq', 'valve_open'].sort(),
}

/** `,device=…,farm=…` plus `,site=…` when there is one: the tags every reading line has. */
function deviceTags(tags: DeviceTags, kind?: DeviceKind): string {
  const head = `,device=${escapeKey(tags.device)},farm=${escapeKey(tags.farm)}`
  const kindTag = kind ? `,kind=${kind}` : ''
  return tags.site ? `${head}${kindTag},site=${escapeKey(tags.site)}` : `${head}${kindTag}`
}

/** `,key=value`, or nothing for an empty value (as `line()` leaves it out). */
const tag = (key: string, value: string | null | undefined) =>
  value ? `,${key}=${escapeKey(value)}` : ''

/**
 * The lines of one reading, appended to `out` (a message's readings share one array).
 * Written out by hand rather than through `line()` (same output, sorted): it runs for
 * every reading, and sorting keys per call cost a third of it.
 */
export function readingLines(
  kind: DeviceKind,
  reading: Reading,
  tags: DeviceTags,
  out: string[] = [],
): string[] {
  const r = reading as Record<string, unknown> & { ts: number; seq: number }
  const ts = Math.trunc(r.ts)
  const seq = `seq=${Math.trunc(r.seq)}i`
  if (kind === 'pest_trap') {
    const trap = reading as Reading & {
      trap_id: string
      attractant: string
      interval_s: number
      counts: Record<string, number>
    }
    // Tags in order: attractant, device, farm, site, species, trap.
    const head = `pest_trap${tag('attractant', trap.attractant)}${tag('device', tags.device)}${tag('farm', tags.farm)}${tag('site', tags.site)}`
    const tail = `${tag('trap', trap.trap_id)} `
    const fields = `,interval_s=${Math.trunc(trap.interval_s)}i,${seq} ${ts}`
    for (const species of Object.keys(trap.counts).sort())
      out.push(
        `${head}${tag('species', species)}${tail}count=${Math.trunc(trap.counts[species] as number)}i${fields}`,
      )
  } else {
    let fields = ''
    for (const f of sortedFields[kind]) {
      let value: string
      if (f === 'seq') value = seq
      else if (f === 'valve_open') value = `valve_open=${r.valve === 'open' ? 1 : 0}i`
      else {
        const v = r[f]
        if (typeof v !== 'number') continue
        value = `${f}=${v}`
      }
      fields = fields ? `${fields},${value}` : value
    }
    out.push(`${kind}${deviceTags(tags)} ${fields} ${ts}`)
  }
  let health = ''
  for (const f of HEALTH_FIELDS) {
    const v = float(r[f])
    if (v !== undefined) health += `${f}=${v},`
  }
  out.push(`device_health${deviceTags(tags, kind)} ${health}${seq} ${ts}`)
  return out
}

const HEALTH_FIELDS = ['battery_pct', 'battery_v', 'rssi_dbm'] as const

export function statusLine(
  kind: DeviceKind,
  status: DeviceStatus,
  tags: DeviceTags,
  receivedAt: number,
): string {
  return line(
    'device_status',
    { farm: tags.farm, site: tags.site, device: tags.device, kind },
    {
      online: { int: status.online ? 1 : 0 },
      firmware: status.firmware,
      reason: status.reason,
    },
    status.ts ?? receivedAt,
  )
}

/** The metrics rules can refer to: numeric fields, and `counts.<species>` for traps. */
export function metricValues(reading: Reading): Map<string, number> {
  const out = new Map<string, number>()
  const r = reading as Record<string, unknown>
  for (const k in r) {
    if (k === 'ts' || k === 'seq') continue
    const v = r[k]
    if (typeof v === 'number') out.set(k, v)
    else if (k === 'counts' && v && typeof v === 'object') {
      const counts = v as Record<string, number>
      for (const species in counts) out.set(`counts.${species}`, counts[species] as number)
    } else if (k === 'valve') out.set('valve_open', v === 'open' ? 1 : 0)
  }
  return out
}

/**
 * An alert event as a point of `alert_events` (Grafana can show them as annotations),
 * at the time of the reading that changed the alert's state.
 */
export function alertEventLine(e: AlertEvent): string {
  return line(
    'alert_events',
    {
      farm: e.farm_id,
      site: e.site_id,
      device: e.device_id,
      rule: e.rule_id,
      severity: e.severity,
      state: e.state,
    },
    {
      alert_id: e.alert_id,
      value: e.value,
      threshold: e.threshold,
      late: { int: e.late ? 1 : 0 },
      message: e.message,
    },
    Date.parse(e.reading_ts),
  )
}

/** A projection against what happened, at the time it was for (`forecast_error`). */
export function forecastLine(f: {
  ruleId: string
  device: { id: string; farmId: string; siteId: string | null }
  metric: string
  madeAt: number
  targetTs: number
  projected: number
  observed: number
}): string {
  return line(
    'forecast_error',
    {
      farm: f.device.farmId,
      site: f.device.siteId,
      device: f.device.id,
      rule: f.ruleId,
      metric: f.metric,
    },
    {
      projected: f.projected,
      observed: f.observed,
      error: f.projected - f.observed,
      lead_h: (f.targetTs - f.madeAt) / 3_600_000,
    },
    f.targetTs,
  )
}
