import { createEventQueue } from './event-queue.ts'
import { hashSeed } from './random.ts'
import type { Scenario } from './scenario.ts'
import { createScenarioWorld } from './scenario-world.ts'
import { createSensorDevice, type SimReading } from './sensors.ts'
import { parseSignedDuration } from './time.ts'

/**
 * The readings a scenario's devices would take, without a broker: the same world, sensors
 * and schedule as `runScenario`, for model tests and for looking at a scenario before
 * playing it. Transport events (offline, duplicates, faults) do not change what is read.
 */
export function dryRun(scenario: Scenario, untilMs = scenario.endMs): Map<string, SimReading[]> {
  const world = createScenarioWorld(scenario)
  const out = new Map<string, SimReading[]>()
  const queue = createEventQueue<{ t: number; order: number; deviceId: string }>()
  const sensors = new Map(
    scenario.devices.map((d) => {
      const sensor = createSensorDevice(
        {
          id: d.id,
          kind: d.kind,
          site: d.site,
          intervalMs: d.intervalMs,
          attractant: d.attractant,
          batteryPct: d.battery_pct,
          rssiDbm: d.rssi_dbm,
        },
        world,
        scenario.seed,
      )
      return [d.id, { spec: d, sensor, skewMs: 0 }]
    }),
  )
  for (const e of scenario.events) {
    if (e.type === 'drift') sensors.get(e.device)?.sensor.drift(e.metric, e.per_day, e.atMs)
  }
  let order = 0
  for (const { spec } of sensors.values()) {
    out.set(spec.id, [])
    queue.push({
      t: scenario.startMs + (hashSeed(scenario.seed, 'phase', spec.id) % spec.intervalMs),
      order: order++,
      deviceId: spec.id,
    })
  }
  const skews = scenario.events.filter((e) => e.type === 'clock_skew')
  const end = Math.min(untilMs, scenario.endMs)
  for (let next = queue.pop(); next && next.t <= end; next = queue.pop()) {
    const s = sensors.get(next.deviceId)
    if (!s) continue
    world.advanceTo(next.t)
    for (const k of skews)
      if (k.device === s.spec.id && k.atMs <= next.t) s.skewMs = parseSignedDuration(k.offset)
    out.get(s.spec.id)?.push(s.sensor.read(next.t, s.skewMs))
    queue.push({ t: next.t + s.spec.intervalMs, order: order++, deviceId: s.spec.id })
  }
  return out
}
