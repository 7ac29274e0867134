import mqtt, { type MqttClient } from 'mqtt'
import type { DeviceKind } from '../shared/readings.ts'
import { topics } from '../shared/topics.ts'
import { createRng } from './random.ts'
import type { SimLogger } from './transport.ts'

/**
 * Load mode: many devices publishing at a target aggregate rate, over one connection per
 * device (as real cellular devices do) or over a few gateway connections (an edge gateway
 * or integration forwarding for many devices: role `gateway`). Readings are valid, cheap
 * to make, and timestamped now (or on a device clock of their own, see `clock`); the report
 * says what was sent and acknowledged.
 */

export type LoadDevice = { id: string; kind: DeviceKind; secret?: string }

export type LoadOptions = {
  mqttUrl: string
  devices: LoadDevice[]
  /** Readings per second, all devices together. */
  ratePerSecond: number
  durationMs: number
  /** Per-device connections, or a gateway account shared by `connections` connections. */
  via:
    | { perDevice: true }
    | { gateway: { username: string; password: string }; connections: number }
  /** Unacknowledged publishes per connection before it waits (default 1000). */
  maxInflightPerConnection?: number
  /**
   * The devices' clock: it reads `startMs` when publishing begins and runs `speed` times
   * faster than real time (default: the real clock). A soak uses it to give its devices
   * days of history in minutes, so the rules' look-back windows reach their span.
   */
  clock?: DeviceClock
  seed?: number
  log?: SimLogger
  onProgress?(stats: LoadStats): void
}

export type DeviceClock = { startMs: number; speed: number }

export type LoadStats = {
  sent: number
  acknowledged: number
  failed: number
  /** Publishes the rate asked for but the connections could not take (all in flight). */
  behind: number
  elapsedMs: number
  achievedPerSecond: number
}

export type Load = { done: Promise<LoadStats>; stop(): Promise<LoadStats>; stats(): LoadStats }

/** A valid reading of the kind with a little variation; cheap enough for tens of thousands per second. */
export function loadReading(kind: DeviceKind, seq: number, ts: number, r: number): string {
  const v = (base: number, spread: number, d = 2) => (base + (r - 0.5) * spread).toFixed(d)
  const head = `{"kind":"${kind}","ts":${ts},"seq":${seq},"battery_pct":${v(80, 20, 1)},"rssi_dbm":${v(-95, 20, 0)}`
  switch (kind) {
    case 'pond_sensor':
      return `${head},"dissolved_oxygen_mg_l":${v(6.5, 3)},"ph":${v(8, 0.6)},"water_temp_c":${v(29, 3)},"salinity_ppt":${v(15, 2, 1)}}`
    case 'env_sensor':
      return `${head},"air_temp_c":${v(29, 6, 1)},"rel_humidity_pct":${v(80, 20, 1)},"soil_moisture_pct":${v(35, 10, 1)}}`
    case 'pest_trap':
      return `${head},"trap_id":"t1","attractant":"light_uv","interval_s":3600,"counts":{"brown_planthopper":${Math.round(r * 200)}}}`
    case 'irrigation_controller':
      return `${head},"flow_l_min":${v(40, 4)},"pressure_bar":${v(1.2, 0.1, 3)},"valve":"open","volume_total_l":${1000 + seq * 10}}`
  }
}

type Conn = { client: MqttClient; inflight: number }

export function startLoad(opts: LoadOptions): Load {
  const log = opts.log
  const rng = createRng(opts.seed ?? 1)
  const maxInflight = opts.maxInflightPerConnection ?? 1000
  const clock = opts.clock
  if (clock && !(Number.isFinite(clock.startMs) && clock.speed > 0))
    throw new RangeError('clock: startMs must be a time and speed above 0')
  const stats: LoadStats = {
    sent: 0,
    acknowledged: 0,
    failed: 0,
    behind: 0,
    elapsedMs: 0,
    achievedPerSecond: 0,
  }
  const seqs = new Uint32Array(opts.devices.length)
  // Two readings of one device never share a millisecond: they would be one point.
  const lastTs = new Float64Array(opts.devices.length)
  const conns: Conn[] = []
  const connOf: number[] = []
  const connect = (clientId: string, username: string, password: string) =>
    mqtt.connectAsync(opts.mqttUrl, {
      clientId,
      username,
      password,
      clean: true,
      reconnectPeriod: 1000,
      protocolVersion: 4,
    })

  let stopped = false
  let stopResolve = () => {}
  const stopSignal = new Promise<void>((r) => {
    stopResolve = r
  })

  async function open() {
    if ('perDevice' in opts.via) {
      // Connect in waves so a broker verifying secrets is not flooded.
      for (let i = 0; i < opts.devices.length; i += 200) {
        const wave = opts.devices.slice(i, i + 200)
        const clients = await Promise.all(
          wave.map((d) => {
            if (!d.secret) throw new Error(`device ${d.id} has no secret`)
            return connect(d.id, d.id, d.secret)
          }),
        )
        for (const client of clients) {
          connOf.push(conns.length)
          conns.push({ client, inflight: 0 })
        }
        if (stopped) return
      }
    } else {
      const { gateway, connections } = opts.via
      for (let c = 0; c < connections; c++)
        conns.push({
          client: await connect(
            `${gateway.username}-load-${c}`,
            gateway.username,
            gateway.password,
          ),
          inflight: 0,
        })
      for (let i = 0; i < opts.devices.length; i++) connOf.push(i % connections)
    }
  }

  async function run(): Promise<LoadStats> {
    await open()
    const start = Date.now()
    let next = 0
    let progressAt = start + 1000
    while (!stopped) {
      const now = Date.now()
      const elapsed = now - start
      if (elapsed >= opts.durationMs) break
      const due = Math.floor((elapsed / 1000) * opts.ratePerSecond)
      while (stats.sent + stats.behind < due) {
        const i = next
        next = (next + 1) % opts.devices.length
        const conn = conns[connOf[i] as number] as Conn
        if (conn.inflight >= maxInflight) {
          stats.behind++
          continue
        }
        const device = opts.devices[i] as LoadDevice
        seqs[i] = (seqs[i] as number) + 1
        const deviceNow = clock ? Math.round(clock.startMs + elapsed * clock.speed) : now
        const ts = Math.max(deviceNow, (lastTs[i] as number) + 1)
        lastTs[i] = ts
        conn.inflight++
        stats.sent++
        conn.client.publish(
          topics.deviceUp(device.id),
          loadReading(device.kind, seqs[i] as number, ts, rng.next()),
          { qos: 1 },
          (err) => {
            conn.inflight--
            if (err) stats.failed++
            else stats.acknowledged++
          },
        )
      }
      if (now >= progressAt) {
        progressAt += 1000
        stats.elapsedMs = elapsed
        stats.achievedPerSecond = Math.round(stats.acknowledged / (elapsed / 1000))
        opts.onProgress?.({ ...stats })
      }
      await Promise.race([new Promise((r) => setTimeout(r, 5)), stopSignal])
    }
    // Wait for the last acknowledgements (bounded).
    const deadline = Date.now() + 10_000
    while (conns.some((c) => c.inflight > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    stats.elapsedMs = Date.now() - start
    stats.achievedPerSecond = Math.round(stats.acknowledged / (stats.elapsedMs / 1000))
    await Promise.all(conns.map((c) => c.client.endAsync().catch(() => {})))
    log?.info({ ...stats }, 'load finished')
    return { ...stats }
  }

  const done = run()
  return {
    done,
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true
      stopResolve()
      return done
    },
  }
}
