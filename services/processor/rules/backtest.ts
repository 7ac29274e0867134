import type { AlertEvent, Rule } from '../../../shared/index.ts'
import type { InfluxQuery } from '../../influx/client.ts'
import type { DeviceDirectory } from '../device-directory.ts'
import { createRuleEngine } from './engine.ts'
import { loadStoredReadings } from './stored-readings.ts'

/**
 * How a draft rule would have fired on stored data: the readings of its device kind are
 * read back from InfluxDB (InfluxQL) and played, in event time, through the same rule
 * engine the processor runs — not a second implementation. No-data rules see the clock
 * advance in 5-minute steps between readings.
 */
export type BacktestDirectory = Pick<DeviceDirectory, 'get' | 'ruleContext'>

export type BacktestResult = { events: AlertEvent[]; readings: number; devices: number }

const CLOCK_STEP_MS = 5 * 60_000
const LOOK_BACK_MS = 24 * 3_600_000

export async function backtest(opts: {
  rule: Rule
  from: number
  to: number
  influx: InfluxQuery
  devices: BacktestDirectory
  /** Read only these farms' readings (a cooperative's own). */
  farmIds?: readonly string[]
}): Promise<BacktestResult> {
  const rule: Rule = { ...opts.rule, enabled: true }
  const engine = createRuleEngine()
  engine.setRules([rule])
  const kind = rule.scope.kind
  // Windows need some history before `from`; degree-days need the farms' trap catches.
  const played = await loadStoredReadings(
    opts.influx,
    kind,
    opts.from - LOOK_BACK_MS,
    opts.to,
    opts.farmIds,
  )
  if (engine.usesDegreeDays() && kind !== 'pest_trap')
    played.push(
      ...(await loadStoredReadings(
        opts.influx,
        'pest_trap',
        opts.from - 120 * 24 * 3_600_000,
        opts.to,
        opts.farmIds,
      )),
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
      ...(await opts.devices.ruleContext(device)),
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
