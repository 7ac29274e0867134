import { MAX_BATCH_READINGS } from '../shared/readings.ts'
import { topics } from '../shared/topics.ts'
import { createEventQueue } from './event-queue.ts'
import { faultPayload, unknownDevEui } from './faults.ts'
import { chirpstackUplink, ttsUplink } from './lorawan.ts'
import { hashSeed } from './random.ts'
import type { FaultMode, Scenario } from './scenario.ts'
import {
  createSensorDevice,
  type ReadingOverrides,
  type SensorDevice,
  type SimReading,
} from './sensors.ts'
import { parseDuration, parseSignedDuration } from './time.ts'
import { type Link, openLink, type SimLogger } from './transport.ts'
import { createWorld, type World, type WorldEvent } from './world/index.ts'

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

export type SentReading = { deviceId: string; seq: number; ts: number; duplicate: boolean }

export type RunStats = {
  /** Readings handed to the broker (duplicates included), acknowledged, failed. */
  sent: number
  acknowledged: number
  failed: number
  duplicates: number
  /** Readings kept while offline, and sent later in batches. */
  backlogged: number
  /** Readings a full device memory had to drop. */
  backlogDropped: number
  faults: Partial<Record<FaultMode, number>>
  refused: number
  /** Device links connected now (LoRaWAN devices share their network server's). */
  connected: number
  simulatedMs: number
}

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

type Sim = {
  spec: Scenario['devices'][number]
  sensor: SensorDevice
  link: Link
  online: boolean
  backlog: SimReading[]
  skewMs: number
  duplicateProbability: number
  fCnt: number
  last: SimReading | null
}

type Action = { t: number; order: number; run(): Promise<void> | void }

const silent: SimLogger = { debug() {}, info() {}, warn() {}, error() {} }
const MAX_BATCH_BYTES = 200 * 1024

function worldEvent(e: Scenario['events'][number]): WorldEvent | null {
  const until = e.untilMs ?? undefined
  switch (e.type) {
    case 'cloud_cover':
      return { type: 'cloud_cover', fromMs: e.atMs, toMs: e.untilMs as number, cover: e.cover }
    case 'rain':
      return { type: 'rain', fromMs: e.atMs, toMs: e.untilMs as number, mmPerHour: e.mm_per_hour }
    case 'outbreak':
      return {
        type: 'outbreak',
        siteId: e.site,
        species: e.species,
        atMs: e.atMs,
        immigrants: e.immigrants,
      }
    case 'leak':
      return {
        type: 'leak',
        siteId: e.site,
        fromMs: e.atMs,
        toMs: until,
        litresPerMin: e.litres_per_min,
      }
    case 'clog':
      return { type: 'clog', siteId: e.site, fromMs: e.atMs, toMs: until, fraction: e.fraction }
    case 'aerators':
      return { type: 'aerators', siteId: e.site, fromMs: e.atMs, toMs: until, on: e.on }
    case 'feeding':
      return {
        type: 'feeding',
        siteId: e.site,
        fromMs: e.atMs,
        toMs: until,
        feedKgPerDayPerM3: e.feed_kg_per_day_per_m3,
      }
    default:
      return null
  }
}

export function createScenarioWorld(scenario: Scenario): World {
  const world = createWorld({
    seed: scenario.seed,
    startMs: scenario.startMs,
    utcOffsetMinutes: scenario.farm.utc_offset_minutes,
    latitudeDeg: scenario.farm.latitude,
    sites: scenario.sites.map((s) =>
      s.kind === 'pond'
        ? {
            id: s.id,
            kind: 'pond' as const,
            depthM: s.depth_m,
            biomassKgPerM3: s.biomass_kg_per_m3,
            feedKgPerDayPerM3: s.feed_kg_per_day_per_m3,
            aeratorsOn: s.aerators_on,
          }
        : {
            id: s.id,
            kind: 'field' as const,
            crop: s.crop,
            irrigation: s.irrigation && {
              schedule: s.irrigation.schedule.map((w) => ({
                startLocalHour: w.start_local_hour,
                durationMin: w.duration_min,
              })),
              nominalFlowLMin: s.irrigation.nominal_flow_l_min,
              nominalPressureBar: s.irrigation.nominal_pressure_bar,
            },
            pests: s.pests?.map((p) => ({
              species: p.species,
              initialPopulation: p.initial_population,
            })),
          },
    ),
  })
  for (const e of scenario.events) {
    const w = worldEvent(e)
    if (w) world.addEvent(w)
  }
  return world
}

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

  function envelope(sim: Sim, reading: SimReading, timestampInFrame: boolean, devEui?: string) {
    const rssi = typeof reading.rssi_dbm === 'number' ? reading.rssi_dbm : -100
    const eui = devEui ?? (sim.spec.dev_eui as string)
    // A store-and-forward frame reaches the network server now (simulated), not when it was read.
    const receivedAt = timestampInFrame ? Math.max(simNow, reading.ts) : reading.ts
    const common = {
      fCnt: sim.fCnt++,
      rssi,
      snr: 7.5,
      withObject: false,
      timestampInFrame,
      receivedAt,
    }
    return sim.spec.transport === 'tts'
      ? ttsUplink(
          { devEui: eui, deviceId: sim.spec.id, applicationId: scenario.farm.id, tenantId: 'tani' },
          reading,
          common,
        )
      : chirpstackUplink(
          { devEui: eui, name: sim.spec.name ?? sim.spec.id, applicationId: scenario.farm.id },
          reading,
          common,
        )
  }

  /** Sends readings now: one message (LoRaWAN: one frame each), or batches for a backlog. */
  function send(sim: Sim, readings: SimReading[], asBacklog: boolean): Promise<void> {
    const out: Promise<void>[] = []
    if (sim.spec.transport !== 'mqtt') {
      for (const r of readings) {
        const fCnt = sim.fCnt
        const { topic, payload } = envelope(sim, r, asBacklog)
        // The frame carries whole seconds; the frame counter becomes the reading's seq.
        if (opts.record)
          sentReadings.push({
            deviceId: sim.spec.id,
            seq: fCnt,
            ts: asBacklog ? Math.floor(r.ts / 1000) * 1000 : r.ts,
            duplicate: false,
          })
        stats.sent++
        out.push(track(sim.link.publish(topic, payload)))
      }
      return Promise.all(out).then(() => {})
    }
    const topic = topics.deviceUp(sim.spec.id)
    if (!asBacklog) {
      for (const r of readings) {
        const payload = JSON.stringify(r)
        const copies = chance(sim.spec.id, sim.duplicateProbability) ? 2 : 1
        for (let c = 0; c < copies; c++) {
          stats.sent++
          if (c > 0) stats.duplicates++
          if (opts.record)
            sentReadings.push({ deviceId: sim.spec.id, seq: r.seq, ts: r.ts, duplicate: c > 0 })
          out.push(track(sim.link.publish(topic, payload)))
        }
      }
      return Promise.all(out).then(() => {})
    }
    // A backlog goes as batches under both the reading and the byte limits.
    let batch: Record<string, unknown>[] = []
    let bytes = 0
    const flush = () => {
      if (batch.length === 0) return
      const payload = JSON.stringify({ kind: sim.spec.kind, readings: batch })
      stats.sent += batch.length
      out.push(track(sim.link.publish(topic, payload), batch.length))
      batch = []
      bytes = 0
    }
    for (const r of readings) {
      const { kind: _k, ...one } = r
      const size = JSON.stringify(one).length + 1
      if (batch.length >= Math.min(500, MAX_BATCH_READINGS) || bytes + size > MAX_BATCH_BYTES)
        flush()
      batch.push(one)
      bytes += size
      if (opts.record)
        sentReadings.push({ deviceId: sim.spec.id, seq: r.seq, ts: r.ts, duplicate: false })
    }
    flush()
    return Promise.all(out).then(() => {})
  }

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
        const { topic, payload } = envelope(sim, base, false, unknownDevEui())
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
