/**
 * Simulated devices: each one an MQTT client of its own that announces itself on its
 * status topic (with a last will), then publishes one reading per interval on its uplink
 * topic, as the real firmware does.
 */
import { connect, type MqttClient } from 'mqtt'
import type { Logger } from 'pino'
import type { DeviceKind } from '../shared/readings.ts'
import type { DeviceStatus } from '../shared/status.ts'
import { topics } from '../shared/topics.ts'
import { createDeviceModel, type DeviceModel, type ReadingOverrides } from './models.ts'

export const FIRMWARE_VERSION = 'sim-0.1.0'

export type SimDevice = { id: string; kind: DeviceKind; secret: string }

/** The logger methods the simulator uses; a pino `Logger` fits. */
export type SimLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>

export type SimulationOptions = {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  mqttUrl: string
  devices: SimDevice[]
  /** Real time between two readings of a device, ms. Devices are staggered over it. */
  intervalMs: number
  /** Seed of the reading generators (default 1). */
  seed?: number
  log?: SimLogger
  /** Simulated time at the start, epoch ms (default: now). */
  startTime?: number
  /** Simulated milliseconds per real millisecond (default 1). */
  speed?: number
  /** Farm time zone for the daily cycles, minutes east of UTC (default +420, UTC+7). */
  utcOffsetMinutes?: number
  /** How long stop() waits for the broker per device, ms (default 5000). */
  stopTimeoutMs?: number
  /** mqtt.js reconnect period after a lost connection, ms (default 1000). */
  reconnectPeriodMs?: number
}

export type SimulationStats = {
  /** Readings handed to the MQTT client (periodic and publishNow). */
  sent: number
  /** Readings the broker acknowledged (PUBACK). */
  acknowledged: number
  /** Readings that failed, or were still unacknowledged when the simulation stopped. */
  failed: number
  /** Devices connected right now. */
  connected: number
  /** Devices whose connection the broker refused (bad credentials, not authorised, ...). */
  refused: number
}

export type Simulation = {
  /** Publishes `{ online: false, reason: 'stopped' }` for every device and disconnects. */
  stop(): Promise<void>
  /** Counts of readings (status messages are not counted) and devices. */
  stats(): SimulationStats
  /**
   * Publishes one reading of the device now (simulated time), with `overrides` forced
   * into it; resolves when the broker acknowledged it (PUBACK), rejects if it cannot be
   * delivered (unknown, refused or stopped device, or a publish error).
   */
  publishNow(deviceId: string, overrides?: ReadingOverrides): Promise<void>
  /** Forces values into the device's next `readings` periodic readings (default 1). */
  override(deviceId: string, values: ReadingOverrides, readings?: number): void
  /** The simulated clock, epoch ms. */
  now(): number
  /** Resolves once every device has connected once, been refused, or the simulation stopped. */
  readonly ready: Promise<void>
}

/**
 * CONNACK codes that retrying cannot fix (MQTT 3.1.1: 1, 2, 4, 5; MQTT 5: 128–140 except
 * the "server unavailable/busy/shutting down" ones).
 */
const PERMANENT_REFUSALS = new Set([1, 2, 4, 5, 128, 129, 130, 131, 132, 133, 134, 135, 138, 140])
/** CONNACK codes worth retrying after a pause. */
const TRANSIENT_REFUSALS = new Set([3, 136, 137, 139])
const TRANSIENT_RETRY_MS = 5_000

type DeviceState = 'connecting' | 'online' | 'offline' | 'refused' | 'stopped'

type Pending = { settle(err?: Error): void }

type Runner = {
  device: SimDevice
  model: DeviceModel
  client: MqttClient
  state: DeviceState
  /** Where this device's readings sit in the interval, ms. */
  offsetMs: number
  timer: NodeJS.Timeout | undefined
  retryTimer: NodeJS.Timeout | undefined
  nextAt: number
  everConnected: boolean
  /** Readings published and not yet acknowledged. */
  pending: Set<Pending>
  /** Resolves at the first connection, refusal or stop, whichever comes first. */
  settled: Promise<void>
  markReady(): void
}

const noop = (): void => {}
const silent: SimLogger = { debug: noop, info: noop, warn: noop, error: noop }

const reasonCodeOf = (err: unknown): number | undefined => {
  if (err instanceof Error && 'code' in err && typeof err.code === 'number') return err.code
  return undefined
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export function startSimulation(opts: SimulationOptions): Simulation {
  const log = opts.log ?? silent
  const speed = opts.speed ?? 1
  if (!(opts.intervalMs > 0)) throw new RangeError('intervalMs must be positive')
  if (!(speed > 0)) throw new RangeError('speed must be positive')
  const ids = new Set<string>()
  for (const d of opts.devices) {
    if (ids.has(d.id)) throw new Error(`device ${d.id} is listed twice`)
    ids.add(d.id)
  }
  const realStart = Date.now()
  const startTime = opts.startTime ?? realStart
  const now = (): number => Math.round(startTime + (Date.now() - realStart) * speed)
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000

  const counters = { sent: 0, acknowledged: 0, failed: 0, refused: 0 }
  let stopping: Promise<void> | undefined
  const readyPromises: Promise<void>[] = []

  const statusPayload = (status: DeviceStatus): string => JSON.stringify(status)

  /** Publishes a reading; resolves on PUBACK. */
  const publishReading = (r: Runner, overrides?: ReadingOverrides): Promise<void> => {
    const uplink = r.model.next(now(), overrides)
    counters.sent++
    return new Promise<void>((resolve, reject) => {
      let settled = false
      const pending: Pending = {
        settle(err) {
          if (settled) return
          settled = true
          r.pending.delete(pending)
          if (err) {
            counters.failed++
            reject(err)
          } else {
            counters.acknowledged++
            resolve()
          }
        },
      }
      r.pending.add(pending)
      r.client.publish(topics.deviceUp(r.device.id), JSON.stringify(uplink), { qos: 1 }, (err) =>
        pending.settle(err),
      )
    })
  }

  const failPending = (r: Runner, why: string): void => {
    for (const p of [...r.pending]) p.settle(new Error(why))
  }

  const schedule = (r: Runner): void => {
    const wait = Math.max(0, r.nextAt - Date.now())
    r.timer = setTimeout(() => tick(r), wait)
    r.timer.unref?.()
  }

  const tick = (r: Runner): void => {
    r.timer = undefined
    if (stopping || r.state === 'refused' || r.state === 'stopped') return
    publishReading(r).catch((err: unknown) => {
      if (!stopping) log.warn({ device: r.device.id, err }, 'reading not delivered')
    })
    // Keep to the grid; if the process stalled for longer than an interval, skip ahead.
    const t = Date.now()
    r.nextAt += opts.intervalMs
    if (r.nextAt <= t) r.nextAt += Math.ceil((t - r.nextAt) / opts.intervalMs) * opts.intervalMs
    schedule(r)
  }

  const refuse = (r: Runner, code: number, err: Error): void => {
    if (r.state === 'refused') return
    r.state = 'refused'
    counters.refused++
    clearTimeout(r.timer)
    clearTimeout(r.retryTimer)
    log.error(
      { device: r.device.id, kind: r.device.kind, code, reason: err.message },
      'broker refused the connection; device stopped',
    )
    r.client.end(true)
    failPending(r, `device ${r.device.id}: ${err.message}`)
    r.markReady()
  }

  const runners: Runner[] = opts.devices.map((device, i) => {
    const model = createDeviceModel({
      deviceId: device.id,
      kind: device.kind,
      seed: opts.seed ?? 1,
      intervalMs: opts.intervalMs * speed,
      utcOffsetMinutes: opts.utcOffsetMinutes,
    })
    const client = connect(opts.mqttUrl, {
      clientId: device.id,
      username: device.id,
      password: device.secret,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: opts.reconnectPeriodMs ?? 1_000,
      connectTimeout: 10_000,
      will: {
        topic: topics.deviceStatus(device.id),
        payload: Buffer.from(statusPayload({ online: false, reason: 'connection lost' })),
        qos: 1,
        retain: true,
      },
    })
    let markReady = noop
    const settled = new Promise<void>((resolve) => {
      markReady = resolve
    })
    readyPromises.push(settled)
    const r: Runner = {
      device,
      model,
      client,
      state: 'connecting',
      offsetMs: (opts.intervalMs * i) / opts.devices.length,
      timer: undefined,
      retryTimer: undefined,
      nextAt: 0,
      everConnected: false,
      pending: new Set(),
      settled,
      markReady: () => markReady(),
    }

    client.on('connect', (connack) => {
      if (stopping || r.state === 'refused') return
      r.state = 'online'
      log.info(
        { device: device.id, kind: device.kind, sessionPresent: connack.sessionPresent },
        r.everConnected ? 'reconnected' : 'connected',
      )
      client.publish(
        topics.deviceStatus(device.id),
        statusPayload({ online: true, firmware: FIRMWARE_VERSION }),
        { qos: 1, retain: true },
        (err) => {
          if (err && !stopping) log.warn({ device: device.id, err }, 'online status not delivered')
        },
      )
      if (!r.everConnected) {
        r.everConnected = true
        r.nextAt = Date.now() + r.offsetMs
        schedule(r)
        r.markReady()
      }
    })
    client.on('close', () => {
      if (r.state === 'online' && !stopping) {
        r.state = 'offline'
        log.warn({ device: device.id }, 'connection lost; reconnecting')
      }
    })
    client.on('error', (err) => {
      const code = reasonCodeOf(err)
      if (code !== undefined && PERMANENT_REFUSALS.has(code)) return refuse(r, code, err)
      if (code !== undefined && TRANSIENT_REFUSALS.has(code)) {
        // mqtt.js does not reconnect after a refused CONNACK; retry later ourselves.
        log.warn({ device: device.id, code, reason: err.message }, 'broker busy; retrying')
        clearTimeout(r.retryTimer)
        r.retryTimer = setTimeout(() => {
          if (!stopping && r.state !== 'refused') client.reconnect()
        }, TRANSIENT_RETRY_MS)
        return
      }
      // Network errors: mqtt.js keeps reconnecting. Say so once per outage.
      if (r.state === 'online' || r.state === 'connecting') {
        log.warn({ device: device.id, err: err.message }, 'MQTT connection error; will retry')
        r.state = 'offline'
      } else {
        log.debug({ device: device.id, err: err.message }, 'MQTT connection error')
      }
    })
    return r
  })

  const stopDevice = async (r: Runner): Promise<void> => {
    clearTimeout(r.timer)
    clearTimeout(r.retryTimer)
    if (r.state === 'refused' || r.state === 'stopped') return
    const wasOnline = r.client.connected
    r.state = 'stopped'
    let clean = false
    if (wasOnline) {
      try {
        await withTimeout(
          r.client.publishAsync(
            topics.deviceStatus(r.device.id),
            statusPayload({ online: false, reason: 'stopped' }),
            { qos: 1, retain: true },
          ),
          stopTimeoutMs,
          'offline status',
        )
        clean = true
      } catch (err) {
        log.warn({ device: r.device.id, err }, 'offline status not acknowledged')
      }
    }
    try {
      // A clean DISCONNECT keeps the broker from publishing the will; without an
      // acknowledged "stopped" status the will is the better last word, so force.
      await withTimeout(r.client.endAsync(!clean), stopTimeoutMs, 'disconnect')
    } catch (err) {
      log.warn({ device: r.device.id, err }, 'clean disconnect failed; dropping the connection')
      r.client.stream.destroy()
    }
    failPending(r, `device ${r.device.id} stopped before the broker acknowledged the reading`)
    log.info({ device: r.device.id }, 'stopped')
  }

  const runnerOf = (deviceId: string): Runner => {
    const r = runners.find((x) => x.device.id === deviceId)
    if (!r) throw new Error(`unknown device ${deviceId}`)
    return r
  }

  return {
    stop() {
      stopping ??= (async () => {
        for (const r of runners) {
          clearTimeout(r.timer)
          r.markReady()
        }
        await Promise.all(runners.map(stopDevice))
      })()
      return stopping
    },
    stats() {
      return {
        ...counters,
        connected: runners.filter((r) => r.state === 'online' && r.client.connected).length,
      }
    },
    async publishNow(deviceId, overrides) {
      const r = runnerOf(deviceId)
      // Before its first connection, wait for it: the online status goes out first.
      if (!r.everConnected) await r.settled
      if (stopping) throw new Error('the simulation is stopping')
      if (r.state === 'refused') throw new Error(`device ${deviceId}: the broker refused it`)
      await publishReading(r, overrides)
    },
    override(deviceId, values, readings) {
      runnerOf(deviceId).model.override(values, readings)
    },
    now,
    ready: Promise.all(readyPromises).then(noop),
  }
}
