import type { AlertEvent, DeviceKind, Reading, Rule } from '../../../shared/index.ts'
import type { InfluxQuery, InfluxSeries } from '../../influx/client.ts'
import type { Device } from '../../store/repository.ts'
import { createRuleEngine } from './engine.ts'

/**
 * How a draft rule would have fired on stored data: the readings of its device kind are
 * read back from InfluxDB (InfluxQL) and played, in event time, through the same rule
 * engine the processor runs — not a second implementation. No-data rules see the clock
 * advance in 5-minute steps between readings.
 */
export type BacktestDirectory = {
  get(id: string): Promise<Device | null>
  siteName(siteId: string | null): Promise<string>
  siteTags(siteId: string | null): Promise<Record<string, string>>
  farmTimeZone(farmId: string): Promise<string>
  farmBiofix(farmId: string): Promise<Record<string, string>>
}

export type BacktestResult = { events: AlertEvent[]; readings: number; devices: number }

const CLOCK_STEP_MS = 5 * 60_000
const LOOK_BACK_MS = 24 * 3_600_000

type Played = { device: string; reading: Reading }

/** Stored points back into readings (one per device and time; trap species merged). */
function readingsOf(kind: DeviceKind, series: InfluxSeries[]): Played[] {
  const out = new Map<string, Played>()
  for (const s of series) {
    const device = s.tags?.device
    if (!device) continue
    for (const row of s.values) {
      const r: Record<string, unknown> = {}
      s.columns.forEach((c, k) => {
        if (row[k] !== null) r[c === 'time' ? 'ts' : c] = row[k]
      })
      if (kind === 'pest_trap') {
        const species = s.tags?.species ?? 'unknown'
        const key = `${device}\u0000${r.ts}`
        const held = out.get(key)
        const counts = {
          ...((held?.reading as { counts?: Record<string, number> } | undefined)?.counts ?? {}),
          [species]: r.count as number,
        }
        out.set(key, { device, reading: { ...r, counts } as unknown as Reading })
        continue
      }
      if (r.valve_open !== undefined) r.valve = r.valve_open === 1 ? 'open' : 'closed'
      out.set(`${device}\u0000${r.ts}`, { device, reading: r as unknown as Reading })
    }
  }
  return [...out.values()]
}

async function load(
  influx: InfluxQuery,
  kind: DeviceKind,
  from: number,
  to: number,
): Promise<Played[]> {
  const range = `time >= ${from}ms AND time <= ${to}ms`
  const q =
    kind === 'pest_trap'
      ? `SELECT "count", "seq", "interval_s" FROM pest_trap WHERE ${range} GROUP BY "device", "species"`
      : `SELECT * FROM "${kind}" WHERE ${range} GROUP BY "device"`
  return readingsOf(kind, await influx.query(q))
}

export async function backtest(opts: {
  rule: Rule
  from: number
  to: number
  influx: InfluxQuery
  devices: BacktestDirectory
}): Promise<BacktestResult> {
  const rule: Rule = { ...opts.rule, enabled: true }
  const engine = createRuleEngine()
  engine.setRules([rule])
  const kind = rule.scope.kind
  // Windows need some history before `from`; degree-days need the farms' trap catches.
  const played = await load(opts.influx, kind, opts.from - LOOK_BACK_MS, opts.to)
  const usesDegreeDays =
    'metric' in rule.condition && rule.condition.metric.startsWith('degree_days.')
  if (usesDegreeDays && kind !== 'pest_trap')
    played.push(
      ...(await load(opts.influx, 'pest_trap', opts.from - 120 * 24 * 3_600_000, opts.to)),
    )
  played.sort((a, b) => a.reading.ts - b.reading.ts)

  const events: AlertEvent[] = []
  const seen = new Set<string>()
  let clock = played[0]?.reading.ts ?? opts.from
  for (const { device: id, reading } of played) {
    const device = await opts.devices.get(id)
    if (!device) continue
    seen.add(id)
    // The processor checks for silence on its clock; so does the replay.
    for (; clock + CLOCK_STEP_MS < reading.ts; clock += CLOCK_STEP_MS)
      events.push(...engine.checkSilence(clock + CLOCK_STEP_MS))
    clock = Math.max(clock, reading.ts)
    const produced = engine.evaluate([reading], {
      device,
      siteName: await opts.devices.siteName(device.siteId),
      siteTags: await opts.devices.siteTags(device.siteId),
      timeZone: await opts.devices.farmTimeZone(device.farmId),
      biofix: await opts.devices.farmBiofix(device.farmId),
      now: reading.ts,
      lateAfterMs: Number.POSITIVE_INFINITY,
    })
    events.push(...produced)
  }
  return {
    events: events.filter((e) => Date.parse(e.reading_ts) >= opts.from),
    readings: played.length,
    devices: seen.size,
  }
}
