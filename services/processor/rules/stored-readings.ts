import type { DeviceKind, Reading } from '../../../shared/index.ts'
import type { InfluxQuery, InfluxSeries } from '../../influx/client.ts'
import { tagIn } from '../../influx/readings.ts'

/**
 * Stored points turned back into readings (the inverse of line-protocol.ts), so that
 * whatever replays history — a restart's rebuild, a backtest — runs the same rule code as
 * live readings, derived metrics included. Trap counts, stored one point per species,
 * are merged back into one reading per device and time.
 */
export type StoredReading = { device: string; reading: Reading }

export function readingsFromSeries(kind: DeviceKind, series: InfluxSeries[]): StoredReading[] {
  const out = new Map<string, StoredReading>()
  for (const s of series) {
    const device = s.tags?.device
    if (!device) continue
    for (const row of s.values) {
      const r: Record<string, unknown> = {}
      s.columns.forEach((c, k) => {
        if (row[k] !== null) r[c === 'time' ? 'ts' : c] = row[k]
      })
      const key = `${device}\u0000${r.ts}`
      if (kind === 'pest_trap') {
        const held = out.get(key)?.reading as { counts?: Record<string, number> } | undefined
        const counts = { ...held?.counts, [s.tags?.species ?? 'unknown']: r.count as number }
        out.set(key, { device, reading: { ...r, counts } as unknown as Reading })
        continue
      }
      if (r.valve_open !== undefined) r.valve = r.valve_open === 1 ? 'open' : 'closed'
      out.set(key, { device, reading: r as unknown as Reading })
    }
  }
  return [...out.values()]
}

/**
 * A device kind's stored readings between `from` and `to` (epoch ms), oldest first; with
 * `farmIds`, only those farms' (a cooperative's backtest reads nothing of the others').
 */
export async function loadStoredReadings(
  influx: InfluxQuery,
  kind: DeviceKind,
  from: number,
  to: number,
  farmIds?: readonly string[],
  /** Only each series' newest points, at most this many (what a rule window can hold). */
  lastPerSeries?: number,
): Promise<StoredReading[]> {
  if (farmIds?.length === 0) return []
  const farms = farmIds ? tagIn('farm', farmIds) : { clause: '', params: {} }
  const range = `time >= ${Math.trunc(from)}ms AND time <= ${Math.trunc(to)}ms${farms.clause && ` AND ${farms.clause}`}`
  const params = farms.params
  // LIMIT applies per series (per device, per species), newest first.
  const newest = lastPerSeries ? ` ORDER BY time DESC LIMIT ${Math.trunc(lastPerSeries)}` : ''
  const q =
    kind === 'pest_trap'
      ? `SELECT "count", "seq", "interval_s" FROM pest_trap WHERE ${range} GROUP BY "device", "species"${newest}`
      : `SELECT * FROM "${kind}" WHERE ${range} GROUP BY "device"${newest}`
  return readingsFromSeries(kind, await influx.query(q, params)).sort(
    (a, b) => a.reading.ts - b.reading.ts,
  )
}
