import type { DeviceKind } from '../shared/readings.ts'
import { type Run, runScenario } from './runner.ts'
import type { Scenario } from './scenario.ts'
import type { ReadingOverrides } from './sensors.ts'
import type { SimLogger } from './transport.ts'

/**
 * The simulator for a plain list of registered devices (a devices file), now and for as
 * long as it runs: an implicit scenario with one pond and one field, each device on the
 * kind of site it belongs on, publishing every `intervalMs` of real time.
 */

export type SimDevice = { id: string; kind: DeviceKind; secret: string }
export type { SimLogger }

export type SimulationOptions = {
  mqttUrl: string
  devices: SimDevice[]
  /** Real time between two readings of a device, ms. */
  intervalMs: number
  seed?: number
  log?: SimLogger
  /** Simulated time at the start, epoch ms (default: now). */
  startTime?: number
  /** Simulated milliseconds per real millisecond (default 1). */
  speed?: number
  /** Farm time zone, minutes east of UTC (default +420, UTC+7). */
  utcOffsetMinutes?: number
}

export type SimulationStats = {
  sent: number
  acknowledged: number
  failed: number
  connected: number
  refused: number
}

export type Simulation = {
  stop(): Promise<void>
  stats(): SimulationStats
  /** Publishes one reading of the device now, with `overrides` forced in; resolves on PUBACK. */
  publishNow(deviceId: string, overrides?: ReadingOverrides): Promise<void>
  /** Forces values into the device's next `readings` readings (default 1). */
  override(deviceId: string, values: ReadingOverrides, readings?: number): void
  now(): number
  readonly ready: Promise<void>
}

export const POND_SITE = 'pond-1'
export const FIELD_SITE = 'field-1'

/** The scenario behind a devices file: no end, no events, ordinary weather. */
export function implicitScenario(
  devices: { id: string; kind: DeviceKind }[],
  opts: { simIntervalMs: number; seed: number; startMs: number; utcOffsetMinutes: number },
): Scenario {
  return {
    name: 'devices-file',
    description: 'the devices of a devices file on an ordinary day',
    seed: opts.seed,
    start: new Date(opts.startMs).toISOString(),
    duration: 'unbounded',
    startMs: opts.startMs,
    endMs: Number.POSITIVE_INFINITY,
    farm: {
      id: 'sim-farm',
      name: 'Simulated farm',
      timezone: 'Asia/Ho_Chi_Minh',
      utc_offset_minutes: opts.utcOffsetMinutes,
      latitude: 9.6,
      longitude: 105.97,
    },
    sites: [
      { id: POND_SITE, kind: 'pond' },
      {
        id: FIELD_SITE,
        kind: 'field',
        crop: 'rice',
        pests: [
          { species: 'brown_planthopper', initial_population: 3000 },
          { species: 'stem_borer', initial_population: 400 },
        ],
        irrigation: {
          schedule: [
            { start_local_hour: 6, duration_min: 60 },
            { start_local_hour: 16, duration_min: 45 },
          ],
          nominal_flow_l_min: 40,
          nominal_pressure_bar: 1.2,
        },
      },
    ],
    devices: devices.map((d) => ({
      id: d.id,
      kind: d.kind,
      site: d.kind === 'pond_sensor' ? POND_SITE : FIELD_SITE,
      interval: `${opts.simIntervalMs}ms`,
      intervalMs: opts.simIntervalMs,
      transport: 'mqtt' as const,
      firmware: 'sim-1.0.0',
      attractant: 'light_uv' as const,
      battery_pct: 90,
      rssi_dbm: -95,
      backlog_capacity: 2000,
    })),
    events: [],
  }
}

export function startSimulation(opts: SimulationOptions): Simulation {
  const speed = opts.speed ?? 1
  if (!(opts.intervalMs > 0)) throw new RangeError('intervalMs must be positive')
  if (!(speed > 0)) throw new RangeError('speed must be positive')
  const ids = new Set<string>()
  for (const d of opts.devices) {
    if (ids.has(d.id)) throw new Error(`device ${d.id} is listed twice`)
    ids.add(d.id)
  }
  const run: Run = runScenario({
    scenario: implicitScenario(opts.devices, {
      simIntervalMs: opts.intervalMs * speed,
      seed: opts.seed ?? 1,
      startMs: opts.startTime ?? Date.now(),
      utcOffsetMinutes: opts.utcOffsetMinutes ?? 420,
    }),
    mqttUrl: opts.mqttUrl,
    secrets: Object.fromEntries(opts.devices.map((d) => [d.id, d.secret])),
    speed,
    log: opts.log,
  })
  return {
    async stop() {
      await run.stop()
    },
    stats() {
      const s = run.stats()
      return {
        sent: s.sent,
        acknowledged: s.acknowledged,
        failed: s.failed,
        connected: s.connected,
        refused: s.refused,
      }
    },
    publishNow: (id, overrides) => run.publishNow(id, overrides),
    override: (id, values, readings) => run.override(id, values, readings),
    now: () => run.now(),
    ready: run.ready,
  }
}
