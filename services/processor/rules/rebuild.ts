import type { Reading } from '../../../shared/index.ts'
import type { InfluxQuery } from '../../influx/client.ts'
import type { Logger } from '../../log.ts'
import type { Device } from '../../store/repository.ts'
import { metricsOf, type RuleEngine } from './engine.ts'

/**
 * After a restart, refills the windows the rules look back on (rate, projection, trend,
 * range, deviation, sanity) from InfluxDB, over the longest window any enabled rule needs,
 * so a restart does not forget the night's decline. Stored points are turned back into
 * readings, so derived metrics (ammonia, flow per bar) come back too; trap counts come
 * per species.
 */
export async function rebuildWindows(
  engine: RuleEngine,
  influx: InfluxQuery,
  log: Logger,
): Promise<number> {
  let points = 0
  const seed = (
    device: string,
    metric: string,
    ps: { ts: number; value: number; seq?: number }[],
  ) => {
    engine.seedWindow(device, metric, ps)
    points += ps.length
  }
  for (const need of engine.windowNeeds()) {
    const since = `time > now() - ${Math.ceil(need.spanMs / 1000)}s`
    if (need.kind === 'pest_trap') {
      for (const metric of need.metrics.filter((m) => m.startsWith('counts.'))) {
        const species = metric.slice('counts.'.length)
        const series = await influx.query(
          `SELECT "count", "seq" FROM pest_trap WHERE species = $species AND ${since} GROUP BY "device"`,
          { species },
        )
        for (const s of series)
          if (s.tags?.device)
            seed(
              s.tags.device,
              metric,
              s.values.map((row) => ({
                ts: row[0] as number,
                value: row[1] as number,
                seq: row[2] as number,
              })),
            )
      }
      continue
    }
    const series = await influx.query(
      `SELECT * FROM "${need.kind}" WHERE ${since} GROUP BY "device"`,
    )
    for (const s of series) {
      const device = s.tags?.device
      if (!device) continue
      const readings = s.values.map((row) => {
        const r: Record<string, unknown> = {}
        s.columns.forEach((c, k) => {
          if (row[k] !== null) r[c === 'time' ? 'ts' : c] = row[k]
        })
        if (r.valve_open !== undefined) r.valve = r.valve_open === 1 ? 'open' : 'closed'
        return r as unknown as Reading
      })
      for (const metric of need.metrics) {
        const ps = readings.flatMap((r) => {
          const v = metricsOf(r).get(metric)
          return v === undefined ? [] : [{ ts: r.ts, value: v, seq: r.seq }]
        })
        seed(device, metric, ps)
      }
    }
  }
  log.info({ points }, 'rule windows rebuilt from InfluxDB')
  return points
}

/**
 * Degree-days after a restart: the farm's weather readings and trap catches of the last
 * 120 days, replayed in time order through the same accumulation as live readings.
 */
export async function rebuildDegreeDays(
  engine: RuleEngine,
  influx: InfluxQuery,
  devices: {
    get(id: string): Promise<Device | null>
    farmTimeZone(farmId: string): Promise<string>
  },
  log: Logger,
): Promise<number> {
  if (!engine.usesDegreeDays()) return 0
  let replayed = 0
  const series = [
    ...(await influx.query(
      `SELECT air_temp_c FROM env_sensor WHERE time > now() - 120d GROUP BY "device"`,
    )),
    ...(await influx.query(
      `SELECT "count" FROM pest_trap WHERE time > now() - 120d GROUP BY "device", "species"`,
    )),
  ]
  for (const s of series) {
    const device = s.tags?.device ? await devices.get(s.tags.device) : null
    if (!device) continue
    const zone = await devices.farmTimeZone(device.farmId)
    const species = s.tags?.species
    const readings = s.values
      .filter((row) => typeof row[1] === 'number')
      .map(
        (row, i) =>
          (species
            ? { ts: row[0], seq: i, counts: { [species]: row[1] } }
            : { ts: row[0], seq: i, air_temp_c: row[1] }) as unknown as Reading,
      )
    engine.replayForDegreeDays(device, readings, zone)
    replayed += readings.length
  }
  log.info({ readings: replayed }, 'degree-days rebuilt from InfluxDB')
  return replayed
}
