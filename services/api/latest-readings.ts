import { iso } from '../../shared/api/common.ts'
import type { LatestReadingView } from '../../shared/api/devices.ts'
import type { DeviceKind } from '../../shared/readings.ts'
import type { InfluxQuery } from '../influx/client.ts'
import { storedMetrics } from '../influx/readings.ts'

/**
 * The latest value of each metric, with the time it was measured. One statement per
 * metric, sent together: InfluxDB 1.x stamps a query of several `last()` selectors with
 * time 0, and a device need not send every metric in every reading. Trap counts are kept
 * per species, as rules name them (`counts.<species>`).
 */
export async function latestValues(
  influx: InfluxQuery,
  q: { kind: DeviceKind; farmId?: string; deviceId?: string },
): Promise<LatestReadingView[]> {
  const where = [q.farmId ? 'farm = $farm' : null, q.deviceId ? 'device = $device' : null]
    .filter(Boolean)
    .join(' AND ')
  const params = {
    ...(q.farmId ? { farm: q.farmId } : {}),
    ...(q.deviceId ? { device: q.deviceId } : {}),
  }
  const statements =
    q.kind === 'pest_trap'
      ? [
          `SELECT last("count") AS "count" FROM "pest_trap" WHERE ${where} GROUP BY "device", "species"`,
        ]
      : storedMetrics[q.kind].map(
          (m) => `SELECT last("${m}") AS "${m}" FROM "${q.kind}" WHERE ${where} GROUP BY "device"`,
        )
  const series = await influx.query(statements.join('; '), params)
  const byDevice = new Map<string, LatestReadingView & { newest: number }>()
  for (const s of series) {
    const device = s.tags?.device
    const row = s.values[0]
    const column = s.columns[1]
    if (!device || !row || !column || typeof row[1] !== 'number') continue
    const ts = row[0] as number
    const metric = q.kind === 'pest_trap' ? `counts.${s.tags?.species ?? 'unknown'}` : column
    let entry = byDevice.get(device)
    if (!entry) {
      entry = { device_id: device, kind: q.kind, ts: null, values: {}, measured_at: {}, newest: 0 }
      byDevice.set(device, entry)
    }
    entry.values[metric] = row[1]
    entry.measured_at[metric] = iso(ts)
    entry.newest = Math.max(entry.newest, ts)
  }
  return [...byDevice.values()]
    .sort((a, b) => a.device_id.localeCompare(b.device_id))
    .map(({ newest, ...view }) => ({ ...view, ts: iso(newest) }))
}
