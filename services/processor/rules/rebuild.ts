import type { Reading } from '../../../shared/index.ts'
import { derivedMetrics } from '../../../shared/index.ts'
import type { InfluxQuery } from '../../influx/client.ts'
import type { Logger } from '../../log.ts'
import type { Device } from '../../store/repository.ts'
import type { RuleEngine } from './engine.ts'

/**
 * After a restart, refills the windows the rules look back on (rate of change,
 * projection) from InfluxDB, over the longest window any enabled rule needs, so a
 * restart does not forget the night's decline. Derived metrics are computed from
 * readings and are not stored, so their windows start empty.
 */
export async function rebuildWindows(
  engine: RuleEngine,
  influx: InfluxQuery,
  log: Logger,
): Promise<number> {
  let points = 0
  for (const need of engine.windowNeeds()) {
    const stored = need.metrics.filter(
      (m) => !m.includes('.') && !(derivedMetrics as readonly string[]).includes(m),
    )
    if (stored.length === 0) continue
    const fields = stored.map((m) => `"${m}"`).join(', ')
    const seconds = Math.ceil(need.spanMs / 1000)
    const series = await influx.query(
      `SELECT ${fields}, "seq" FROM "${need.kind}" WHERE time > now() - ${seconds}s GROUP BY "device"`,
    )
    for (const s of series) {
      const device = s.tags?.device
      if (!device) continue
      const seqAt = s.columns.indexOf('seq')
      for (const metric of stored) {
        const at = s.columns.indexOf(metric)
        const ps = s.values
          .filter((row) => typeof row[at] === 'number')
          .map((row) => ({
            ts: row[0] as number,
            value: row[at] as number,
            seq: row[seqAt] as number,
          }))
        engine.seedWindow(device, metric, ps)
        points += ps.length
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
