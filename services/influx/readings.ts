import { parseDuration } from '../../shared/duration.ts'
import { type DeviceKind, envMetrics, irrigationMetrics, pondMetrics } from '../../shared/index.ts'
import type { InfluxQuery } from './client.ts'

/**
 * Readings for dashboards and the API, by InfluxQL: the latest values of each device, and
 * a metric's time series aggregated per interval. Metric names are checked against the
 * contracts before they reach a query; values travel as bound parameters.
 */
export const storedMetrics: Record<DeviceKind, readonly string[]> = {
  pond_sensor: pondMetrics,
  env_sensor: envMetrics,
  irrigation_controller: [...irrigationMetrics, 'valve_open'],
  pest_trap: ['count'],
}

export class ReadingsQueryError extends Error {}

export type LatestReading = { deviceId: string; ts: number; values: Record<string, number> }

/** The latest value of every metric of each device of a kind on a farm. */
export async function latestReadings(
  influx: InfluxQuery,
  q: { kind: DeviceKind; farmId: string },
): Promise<LatestReading[]> {
  const fields = storedMetrics[q.kind].map((m) => `last("${m}") AS "${m}"`).join(', ')
  const series = await influx.query(
    `SELECT ${fields} FROM "${q.kind}" WHERE farm = $farm GROUP BY "device"`,
    { farm: q.farmId },
  )
  return series.flatMap((s) => {
    const row = s.values[0]
    if (!row || !s.tags?.device) return []
    const values: Record<string, number> = {}
    s.columns.forEach((c, i) => {
      if (c !== 'time' && typeof row[i] === 'number') values[c] = row[i] as number
    })
    return [{ deviceId: s.tags.device, ts: row[0] as number, values }]
  })
}

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
