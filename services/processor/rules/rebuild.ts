import type { Reading } from '../../../shared/index.ts'
import type { InfluxQuery } from '../../influx/client.ts'
import type { Logger } from '../../log.ts'
import type { Device } from '../../store/repository.ts'
import { metricsOf, type RuleEngine } from './engine.ts'
import { loadStoredReadings } from './stored-readings.ts'
import { DEFAULT_MAX_POINTS } from './window.ts'

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
  const now = Date.now()
  for (const need of engine.windowNeeds()) {
    const byDevice = new Map<string, Reading[]>()
    // A window keeps at most DEFAULT_MAX_POINTS points: reading more of a device's history
    // would only cost memory (a fleet's fortnight of readings does not fit in a processor).
    for (const { device, reading } of await loadStoredReadings(
      influx,
      need.kind,
      now - need.spanMs,
      now,
      undefined,
      DEFAULT_MAX_POINTS,
    )) {
      const list = byDevice.get(device)
      if (list) list.push(reading)
      else byDevice.set(device, [reading])
    }
    for (const [device, readings] of byDevice)
      for (const metric of need.metrics) {
        const ps = readings.flatMap((r) => {
          const v = metricsOf(r).get(metric)
          return v === undefined ? [] : [{ ts: r.ts, value: v }]
        })
        engine.seedWindow(device, metric, ps)
        points += ps.length
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
  const now = Date.now()
  const since = now - 120 * 24 * 3_600_000
  const stored = [
    ...(await loadStoredReadings(influx, 'env_sensor', since, now)),
    ...(await loadStoredReadings(influx, 'pest_trap', since, now)),
  ].sort((a, b) => a.reading.ts - b.reading.ts)
  for (const { device: id, reading } of stored) {
    const device = await devices.get(id)
    if (device)
      engine.replayForDegreeDays(device, [reading], await devices.farmTimeZone(device.farmId))
  }
  log.info({ readings: stored.length }, 'degree-days rebuilt from InfluxDB')
  return stored.length
}
