import { parseDuration } from '../../shared/duration.ts'
import { type DeviceKind, envMetrics, irrigationMetrics, pondMetrics } from '../../shared/index.ts'
import type { InfluxQuery } from './client.ts'

/**
 * Readings for dashboards and the API, by InfluxQL: a metric's time series aggregated per
 * interval (the latest values are in services/api/latest-readings.ts). Metric names are checked against the
 * contracts before they reach a query; values travel as bound parameters.
 */
export const storedMetrics: Record<DeviceKind, readonly string[]> = {
  pond_sensor: pondMetrics,
  env_sensor: envMetrics,
  irrigation_controller: [...irrigationMetrics, 'valve_open'],
  pest_trap: ['count'],
}

/** `(tag = $tag0 OR tag = $tag1 …)` with its bound parameters: values never enter the query text. */
export function tagIn(tag: string, values: readonly string[]) {
  const params: Record<string, string> = {}
  const terms = values.map((v, i) => {
    params[`${tag}${i}`] = v
    return `"${tag}" = $${tag}${i}`
  })
  return { clause: `(${terms.join(' OR ')})`, params }
}

export class ReadingsQueryError extends Error {}

export type SeriesQuery = {
  kind: DeviceKind
  deviceId: string
  metric: string
  from: number
  to: number
  /** Aggregation interval, e.g. "15m", "1h". */
  every: string
  aggregate: 'mean' | 'min' | 'max' | 'count'
  /** For traps: the species whose counts to aggregate. */
  species?: string
}

/** One metric of one device, aggregated per interval between `from` and `to` (epoch ms). */
export async function readingSeries(
  influx: InfluxQuery,
  q: SeriesQuery,
): Promise<{ ts: number; value: number }[]> {
  if (!storedMetrics[q.kind].includes(q.metric))
    throw new ReadingsQueryError(
      `${q.metric} is not a metric of ${q.kind}; use one of ${storedMetrics[q.kind].join(', ')}`,
    )
  let everyS: number
  try {
    everyS = Math.round(parseDuration(q.every) / 1000)
  } catch (err) {
    throw new ReadingsQueryError(`every: ${(err as Error).message}`)
  }
  if (everyS < 1) throw new ReadingsQueryError('every: at least 1s')
  if (!(q.to > q.from)) throw new ReadingsQueryError('to must come after from')
  if ((q.to - q.from) / 1000 / everyS > 10_000)
    throw new ReadingsQueryError(
      'too many intervals (over 10,000): choose a longer every or a shorter range',
    )
  const speciesFilter = q.kind === 'pest_trap' && q.species ? ' AND species = $species' : ''
  const series = await influx.query(
    `SELECT ${q.aggregate}("${q.metric}") FROM "${q.kind}" WHERE device = $device${speciesFilter} AND time >= ${Math.trunc(q.from)}ms AND time < ${Math.trunc(q.to)}ms GROUP BY time(${everyS}s) fill(none)`,
    { device: q.deviceId, ...(q.species ? { species: q.species } : {}) },
  )
  return (series[0]?.values ?? []).map((row) => ({ ts: row[0] as number, value: row[1] as number }))
}
