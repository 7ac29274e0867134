import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { latestValues } from '../../../services/api/latest-readings.ts'
import {
  createInfluxQuery,
  createInfluxWriter,
  type InfluxQuery,
} from '../../../services/influx/client.ts'
import {
  createDatabase,
  type InfluxdHandle,
  startInfluxd,
} from '../../../services/influx/influxd.ts'
import { ReadingsQueryError, readingSeries } from '../../../services/influx/readings.ts'
import { createLogger } from '../../../services/log.ts'
import { readingLines } from '../../../services/processor/line-protocol.ts'
import type { Reading } from '../../../shared/index.ts'

/** Latest values and aggregated series, by InfluxQL against a real influxd. */
let influxd: InfluxdHandle
let query: InfluxQuery
const T0 = Date.parse('2026-11-20T11:00:00Z')
const MIN = 60_000

beforeAll(async () => {
  influxd = await startInfluxd()
  const config = { url: influxd.url, api: 'v1' as const, database: 'readings_test' }
  await createDatabase(influxd.url, config.database)
  const writer = await createInfluxWriter(config, createLogger('silent'))
  const lines: string[] = []
  // Two ponds, a reading every 10 minutes for 2 hours; DO falls 0.1 per reading.
  for (const [device, offset] of [
    ['pond-1', 0],
    ['pond-2', 1],
  ] as const)
    for (let i = 0; i < 12; i++)
      lines.push(
        ...readingLines(
          'pond_sensor',
          {
            ts: T0 + i * 10 * MIN,
            seq: i,
            battery_pct: 90,
            rssi_dbm: -80,
            dissolved_oxygen_mg_l: 7 - i * 0.1 + offset,
            ph: 8,
          } as unknown as Reading,
          { farm: 'f1', site: 'p', device },
        ),
      )
  await writer.write(lines)
  await writer.close()
  query = createInfluxQuery(config)
})
afterAll(async () => {
  await influxd?.stop()
})

describe('readings for dashboards', () => {
  it('gives the latest values of each device of a farm', async () => {
    const latest = await latestValues(query, { kind: 'pond_sensor', farmId: 'f1' })
    expect(latest.map((l) => l.device_id)).toEqual(['pond-1', 'pond-2'])
    const p1 = latest.find((l) => l.device_id === 'pond-1')
    expect(p1?.values.dissolved_oxygen_mg_l).toBeCloseTo(5.9, 9)
    expect(p1?.values.ph).toBe(8)
    // The time of the latest reading, not the epoch InfluxDB 1.x gives several last()s.
    expect(p1?.ts).toBe(new Date(T0 + 110 * MIN).toISOString())
    expect(await latestValues(query, { kind: 'pond_sensor', farmId: 'other' })).toEqual([])
  })

  it('aggregates a metric per interval (hourly mean, min, count)', async () => {
    const base = {
      kind: 'pond_sensor' as const,
      deviceId: 'pond-1',
      metric: 'dissolved_oxygen_mg_l',
      from: T0,
      to: T0 + 2 * 60 * MIN,
      every: '1h',
    }
    const mean = await readingSeries(query, { ...base, aggregate: 'mean' })
    expect(mean.map((p) => p.ts)).toEqual([T0, T0 + 60 * MIN])
    expect(mean[0]?.value).toBeCloseTo(6.75, 9) // 7.0 … 6.5
    expect((await readingSeries(query, { ...base, aggregate: 'min' }))[1]?.value).toBeCloseTo(
      5.9,
      9,
    )
    expect(
      (await readingSeries(query, { ...base, aggregate: 'count' })).map((p) => p.value),
    ).toEqual([6, 6])
  })

  it('says what to fix in a bad query', async () => {
    const base = {
      kind: 'pond_sensor' as const,
      deviceId: 'pond-1',
      from: T0,
      to: T0 + MIN,
      aggregate: 'mean' as const,
    }
    await expect(
      readingSeries(query, { ...base, metric: 'dissolved_oxygen_mg_l"; DROP', every: '1m' }),
    ).rejects.toThrow(ReadingsQueryError)
    await expect(readingSeries(query, { ...base, metric: 'ph', every: 'often' })).rejects.toThrow(
      /every: "often" is not a duration/,
    )
    await expect(
      readingSeries(query, { ...base, metric: 'ph', every: '1s', to: T0 + 30 * 24 * 60 * MIN }),
    ).rejects.toThrow(/too many intervals/)
  })
})
