import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createDatabase, startInfluxd } from '../../services/influx/influxd.ts'
import { onCleanup } from './children.ts'

/**
 * A throw-away influxd for one section, and the count the bench trusts: points in
 * InfluxDB, not what any sender says it sent.
 */
export type BenchInflux = { url: string; pid: number; database: string }

export async function startBenchInflux(database = 'tani_bench'): Promise<BenchInflux> {
  const influxd = await startInfluxd({ timeoutMs: 30_000 })
  onCleanup(() => influxd.stop())
  const pid = Number((await readFile(join(influxd.dataDir, 'influxd.pid'), 'utf8')).trim())
  await createDatabase(influxd.url, database)
  return { url: influxd.url, pid, database }
}

async function query(influx: BenchInflux, q: string): Promise<unknown[][]> {
  const url = `${influx.url}/query?db=${encodeURIComponent(influx.database)}&q=${encodeURIComponent(q)}`
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) })
  const body = (await res.json()) as {
    error?: string
    results?: { error?: string; series?: { values: unknown[][] }[] }[]
  }
  const error = body.error ?? body.results?.find((r) => r.error)?.error
  if (!res.ok || error) throw new Error(`InfluxDB query failed (HTTP ${res.status}): ${error}`)
  return (body.results ?? []).flatMap((r) => (r.series ?? []).flatMap((s) => s.values))
}

/**
 * Readings stored: every reading is one `device_health` point (whatever the device's
 * kind) with an integer `seq`. COUNT(seq) counts that field's values; COUNT(*) would
 * return one column per field, and summing those would count a reading four times.
 */
export async function countReadings(influx: BenchInflux): Promise<number> {
  const rows = await query(influx, 'SELECT COUNT(seq) FROM device_health')
  return rows.reduce((n, row) => n + Number(row[1] ?? 0), 0)
}

/** Readings per kind measurement, to cross-check that both lines of a reading landed. */
export async function countKindPoints(influx: BenchInflux): Promise<number> {
  const rows = await query(
    influx,
    'SELECT COUNT(seq) FROM pond_sensor; SELECT COUNT(seq) FROM env_sensor; SELECT COUNT(seq) FROM irrigation_controller; SELECT COUNT(seq) FROM pest_trap',
  )
  return rows.reduce((n, row) => n + Number(row[1] ?? 0), 0)
}

/**
 * Points influxd has accepted since it started: its own write counter (`pointReq` in
 * /debug/vars). Nearly free to read, unlike a COUNT over every series, which polled
 * every 250 ms took a quarter of a core from the influxd being measured.
 */
export async function pointsAccepted(influx: BenchInflux): Promise<number> {
  const res = await fetch(`${influx.url}/debug/vars`, { signal: AbortSignal.timeout(10_000) })
  const vars = (await res.json()) as { write?: { values?: { pointReq?: number } } }
  return vars.write?.values?.pointReq ?? 0
}
