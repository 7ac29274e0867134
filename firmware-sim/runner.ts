import { topics } from '../shared/topics.ts'
import { createEventQueue } from './event-queue.ts'
import { faultPayload, unknownDevEui } from './faults.ts'
import { hashSeed } from './random.ts'
import type { RunStats, SentReading, Sim } from './runner-types.ts'
import type { FaultMode, Scenario } from './scenario.ts'
import { createScenarioWorld } from './scenario-world.ts'
import { createSensorDevice, type ReadingOverrides, type SimReading } from './sensors.ts'
import { parseDuration, parseSignedDuration } from './time.ts'
import { type Link, openLink, type SimLogger } from './transport.ts'
import { createUplinks } from './uplinks.ts'

/**
 * Plays a scenario: the world advances in simulated time, each device takes its readings
 * on its own interval and sends them (or keeps them while offline, then sends the backlog
 * as batches with their original times), and the scenario's events happen on time.
 * `speed` is simulated ms per real ms; 'max' runs as fast as the broker acknowledges.
 */

export type RunOptions = {
  scenario: Scenario
  mqttUrl: string
  /** Secrets of the native (MQTT) devices, by device id. */
  secrets: Record<string, string>
  /** The account LoRaWAN devices' uplinks are published with (role network-server). */
  networkServer?: { username: string; password: string }
  speed: number | 'max'
  log?: SimLogger
  /** Keep a record of every reading sent (for tests). */
  record?: boolean
}

export type { RunStats, SentReading } from './runner-types.ts'

export type Run = {
  readonly done: Promise<RunStats>
  readonly ready: Promise<void>
  stats(): RunStats
  /** The simulated clock. */
  now(): number
  readonly sentReadings: SentReading[]
  /** Publishes a reading of the device now, with values forced in; resolves on PUBACK. */
  publishNow(deviceId: string, overrides?: ReadingOverrides): Promise<void>
  override(deviceId: string, values: ReadingOverrides, count?: number): void
  stop(): Promise<RunStats>
}

type Action = { t: number; order: number; run(): Promise<void> | void }

const silent: SimLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function runScenario(opts: RunOptions): Run {
  const { scenario } = opts
  const log = opts.log ?? silent
  const world = createScenarioWorld(scenario)
  const stats: RunStats = {
    sent: 0,
    acknowledged: 0,
    failed: 0,
    duplicates: 0,
    backlogged: 0,
    backlogDropped: 0,
    faults: {},
    refused: 0,
    connected: 0,
    simulatedMs: 0,
  }
  const sentReadings: SentReading[] = []
  const inflight = new Set<Promise<void>>()
  let simNow = scenario.startMs
  let stopped = false
  const realStart = Date.now()

  const lorawanDevices = scenario.devices.filter((d) => d.transport !== 'mqtt')
  let nsLink: Link | null = null
  if (lorawanDevices.length > 0) {
    if (!opts.networkServer)
      throw new Error(
        `devices ${lorawanDevices.map((d) => d.id).join(', ')} send through LoRaWAN: give the network server's credentials`,
      )
    nsLink = openLink({
      url: opts.mqttUrl,
      clientId: `${opts.networkServer.username}-sim`,
      username: opts.networkServer.username,
      password: opts.networkServer.password,
      log,
      onRefused: () => stats.refused++,
    })
  }

  const sims = new Map<string, Sim>()
  for (const spec of scenario.devices) {
    let link: Link
    if (spec.transport === 'mqtt') {
      const secret = opts.secrets[spec.id]
      if (!secret)
        throw new Error(
          `no secret for device ${spec.id}; register it first (npm run tani -- device register)`,
        )
      link = openLink({
        url: opts.mqttUrl,
        clientId: spec.id,
        username: spec.id,
        password: secret,
        statusOf: { deviceId: spec.id, firmware: spec.firmware },
        log,
        onRefused: () => stats.refused++,
      })
    } else link = nsLink as Link
    sims.set(spec.id, {
      spec,
      sensor: createSensorDevice(
        {
          id: spec.id,
          kind: spec.kind,
          site: spec.site,
          intervalMs: spec.intervalMs,
          attractant: spec.attractant,
          batteryPct: spec.battery_pct,
          rssiDbm: spec.rssi_dbm,
        },
        world,
        scenario.seed,
      ),
      link,
      online: true,
      backlog: [],
      skewMs: 0,
      duplicateProbability: 0,
      fCnt: 0,
      last: null,
    })
  }
  const ready = Promise.all([...new Set([...sims.values()].map((s) => s.link.ready))]).then(
    () => {},
  )

  // Deterministic draws for duplicates, independent of timing.
  let dupCounter = 0
  const chance = (deviceId: string, p: number) =>
    p > 0 && (hashSeed(scenario.seed, 'dup', deviceId, dupCounter++) % 10_000) / 10_000 < p

  function track(p: Promise<void>, count = 1): Promise<void> {
    const tracked = p.then(
      () => {
        stats.acknowledged += count
      },
      (err: Error) => {
        stats.failed += count
        log.warn({ err: err.message }, 'uplink not acknowledged')
      },
    )
    inflight.add(tracked)
    tracked.finally(() => inflight.delete(tracked))
    return tracked
  }

  const { send, sendFrame } = createUplinks({
    scenario,
    stats,
    record: opts.record ?? false,
    sentReadings,
    track,
    chance,
    simNow: () => simNow,
  })

  async function takeReading(sim: Sim, t: number) {
    const reading = sim.sensor.read(t, sim.skewMs)
    sim.last = reading
    if (!sim.online) {
      sim.backlog.push(reading)
      stats.backlogged++
      if (sim.backlog.length > sim.spec.backlog_capacity) {
        sim.backlog.shift()
        stats.backlogDropped++
      }
      return
    }
    const p = send(sim, [reading], false)
    if (opts.speed === 'max') await p
  }

  async function sendFault(sim: Sim, mode: FaultMode, t: number) {
    stats.faults[mode] = (stats.faults[mode] ?? 0) + 1
    const base: SimReading = sim.last
      ? { ...sim.last, ts: t + sim.skewMs }
      : { kind: sim.spec.kind, ts: t + sim.skewMs, seq: 0, battery_pct: 50, rssi_dbm: -90 }
    if (mode === 'unknown_device') {
      if (sim.spec.transport !== 'mqtt') {
        const { topic, payload } = sendFrame(sim, base, false, unknownDevEui())
        stats.sent++
        await track(sim.link.publish(topic, payload))
        return
      }
      // Over plain MQTT an unregistered device never gets past the broker.
      const ghost = `ghost-${unknownDevEui()}`
      const link = openLink({
        url: opts.mqttUrl,
        clientId: ghost,
        username: ghost,
        password: 'no-such-secret',
        log,
        onRefused: () => stats.refused++,
      })
      await link.ready
      await link.close(1000)
      return
    }
    stats.sent++
    await track(sim.link.publish(topics.deviceUp(sim.spec.id), faultPayload(mode, base)))
  }

  // The schedule: every device's readings, and the device-side events.
  const queue = createEventQueue<Action>()
  let order = 0
  const at = (t: number, run: Action['run']) => queue.push({ t, order: order++, run })
  const scheduleReadings = (sim: Sim) => {
    const phase = hashSeed(scenario.seed, 'phase', sim.spec.id) % sim.spec.intervalMs
    const next = (t: number) => {
      if (t > scenario.endMs) return
      at(t, async () => {
        next(t + sim.spec.intervalMs)
        await takeReading(sim, t)
      })
    }
    next(scenario.startMs + phase)
  }
  for (const sim of sims.values()) scheduleReadings(sim)
  for (const e of scenario.events) {
    if (!('device' in e)) continue
    const sim = sims.get(e.device) as Sim
    switch (e.type) {
      case 'offline':
        at(e.atMs, async () => {
          sim.online = false
          if (sim.spec.transport === 'mqtt') sim.link.dropConnection()
          log.info({ device: sim.spec.id }, 'device out of coverage')
          // At full speed the outage lasts milliseconds: give the broker time to notice the
          // lost connection and publish the will, as it would in hours.
          if (opts.speed === 'max') await new Promise((r) => setTimeout(r, 100))
        })
        at(e.untilMs as number, async () => {
          if (sim.spec.transport === 'mqtt') await sim.link.reconnect()
          sim.online = true
          const backlog = sim.backlog
          sim.backlog = []
          log.info(
            { device: sim.spec.id, readings: backlog.length },
            'back in coverage; sending the backlog',
          )
          const p = send(sim, backlog, true)
          if (opts.speed === 'max') await p
        })
        break
      case 'clock_skew':
        at(e.atMs, () => {
          sim.skewMs = parseSignedDuration(e.offset)
        })
        break
      case 'duplicates':
        at(e.atMs, () => {
          sim.duplicateProbability = e.probability
        })
        at(e.untilMs as number, () => {
          sim.duplicateProbability = 0
        })
        break
      case 'drift':
        sim.sensor.drift(e.metric, e.per_day, e.atMs)
        break
      case 'fault': {
        const every = parseDuration(e.every)
        for (let k = 0; k < e.count; k++) {
          const t = e.atMs + k * every
          if (t <= scenario.endMs) at(t, () => sendFault(sim, e.mode, t))
        }
        break
      }
    }
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  let stopResolve: () => void = () => {}
  const stopSignal = new Promise<void>((r) => {
    stopResolve = r
  })

  async function loop(): Promise<RunStats> {
    await Promise.race([ready, stopSignal])
    const loopStart = Date.now()
    while (!stopped) {
      const next = queue.pop()
      if (!next) break
      if (opts.speed !== 'max') {
        const dueReal = loopStart + (next.t - scenario.startMs) / opts.speed
        const wait = dueReal - Date.now()
        if (wait > 0) await Promise.race([sleep(wait), stopSignal])
        if (stopped) break
      }
      world.advanceTo(next.t)
      simNow = next.t
      stats.simulatedMs = simNow - scenario.startMs
      try {
        await next.run()
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'simulation step failed')
      }
    }
    await Promise.all([...inflight])
    return { ...stats }
  }

  const done = loop()

  return {
    done,
    ready,
    stats: () => ({
      ...stats,
      faults: { ...stats.faults },
      connected: [...sims.values()].filter((s) => s.link.state === 'online').length,
    }),
    now: () =>
      opts.speed === 'max'
        ? simNow
        : Math.max(simNow, scenario.startMs + (Date.now() - realStart) * opts.speed),
    sentReadings,
    async publishNow(deviceId, overrides) {
      const sim = sims.get(deviceId)
      if (!sim) throw new Error(`unknown device ${deviceId}`)
      await sim.link.ready
      if (stopped) throw new Error('the simulation is stopping')
      if (sim.link.state === 'refused') throw new Error(`device ${deviceId}: the broker refused it`)
      const t = Math.max(simNow, world.nowMs)
      world.advanceTo(t)
      if (overrides) sim.sensor.override(overrides, 1)
      const reading = sim.sensor.read(t, sim.skewMs)
      await send(sim, [reading], false)
    },
    override(deviceId, values, count) {
      const sim = sims.get(deviceId)
      if (!sim) throw new Error(`unknown device ${deviceId}`)
      sim.sensor.override(values, count)
    },
    async stop() {
      stopped = true
      stopResolve()
      const result = await done
      const links = new Set([...sims.values()].map((s) => s.link))
      await Promise.all([...links].map((l) => l.close()))
      return result
    },
  }
}
