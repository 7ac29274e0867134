import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { defaultRules } from '../deploy/rules/default-rules.ts'
import { createDatabase, startInfluxd } from '../services/influx/influxd.ts'
import { registerDevices, rotateServiceAccount } from '../services/store/provisioning.ts'
import { openSqliteStore } from '../services/store/sqlite-store.ts'
import { AlertEvent, Rule } from '../shared/index.ts'
import { accepts } from '../tests/harness/ports.ts'
import { startPushService } from '../tests/harness/push-service.ts'
import { type Child, freePort, waitFor } from './lib/children.ts'
import { addLoadDevices } from './lib/fixture.ts'
import { runLoad } from './lib/load.ts'
import { START_ENV, START_FLAGS } from './lib/services.ts'

/**
 * Alert latency under load: the services (embedded broker, processor, notifier) run in a
 * child process as `npm start` runs them; a load child (bench/lib/load-child.ts) drives
 * background load through a gateway account, so that its publishing does not delay the
 * probe or the watcher's clock; and this process, every 250 ms, publishes as a probe pond
 * whose oxygen drops under the critical line and recovers. Measured, after a warm-up
 * (WARMUP_MS), from just before the probe's PUBLISH to (a) the firing event on
 * alerts/{farmId} and (b) the Web Push request at a loopback push endpoint.
 */

export type Percentiles = { n: number; p50: number; p95: number; p99: number; max: number }
export type AlertLatency = {
  rate: number
  toBus: Percentiles
  toPush: Percentiles
  /** The probes of the first WARMUP_MS, left out of the figures above. */
  warmup: { toBus: Percentiles; toPush: Percentiles }
}

const FARM = 'bench-farm'
const PROBE = 'bench-probe'
const LOAD_DEVICES = 1000
const PROBE_EVERY_MS = 250
/**
 * The first seconds of load are a start-up, not the sustained state the targets are
 * about: JIT, the device and rule caches, and InfluxDB creating a series per device
 * (10k at once) hold the first readings up for up to a second. Probes in that time are
 * reported apart, as `warmup`.
 */
const WARMUP_MS = 5000

export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b)
  const at = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN
  return { n: s.length, p50: at(50), p95: at(95), p99: at(99), max: s.at(-1) ?? Number.NaN }
}

async function waitForPort(port: number, child: ChildProcess) {
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`services exited with ${child.exitCode}`)
    return (await accepts(port)) ? true : null
  }, `the services to listen on ${port}`)
}

export async function alertLatency(opts: {
  ratePerSecond: number
  durationMs: number
  /** Background load devices (default 1,000). */
  devices?: number
  log?: (s: string) => void
}): Promise<AlertLatency> {
  const say = opts.log ?? (() => {})
  const dir = await mkdtemp(join(tmpdir(), 'tani-bench-latency-'))
  const influxd = await startInfluxd({ dataDir: join(dir, 'influxdb') })
  const push = await startPushService()
  let child: ChildProcess | null = null
  let loadChild: Child | null = null
  const clients: MqttClient[] = []
  try {
    await createDatabase(influxd.url, 'tani')
    const store = openSqliteStore(join(dir, 'tani.db'))
    await store.createCooperative({ id: 'bench', name: 'Bench cooperative' })
    await store.createFarm({
      id: FARM,
      name: 'Bench farm',
      timezone: 'Asia/Ho_Chi_Minh',
      cooperativeId: 'bench',
    })
    await store.createSite({
      id: 'bench-pond',
      farmId: FARM,
      name: 'Pond 1',
      kind: 'pond',
      latitude: null,
      longitude: null,
    })
    const [probe] = await registerDevices(store, {
      farmId: FARM,
      siteId: 'bench-pond',
      kind: 'pond_sensor',
      ids: [PROBE],
    })
    // The background load is the same mix of devices as the throughput sections' (four
    // kinds in turn, farms of 100), so that 80 % of their rate is 80 % of the same work.
    const loadDevices = await addLoadDevices(store, opts.devices ?? LOAD_DEVICES)
    const gateway = await rotateServiceAccount(store, 'bench-gateway', 'gateway')
    const watcher = await rotateServiceAccount(store, 'bench-watcher', 'notifier')
    for (const r of defaultRules()) await store.putRule(r)
    await store.putRule(
      Rule.parse({
        id: 'bench-probe-do',
        name: 'Probe oxygen critically low',
        scope: { kind: 'pond_sensor', device_ids: [PROBE] },
        severity: 'critical',
        message: 'Oxygen at {site} is {value} mg/L',
        condition: {
          type: 'threshold',
          metric: 'dissolved_oxygen_mg_l',
          op: 'below',
          value: 3,
          clear: 4,
        },
      }),
    )
    await store.createUser({
      id: 'u-bench',
      cooperativeId: 'bench',
      login: 'bench-farmer',
      name: 'Farmer',
      role: 'farmer',
      locale: 'vi',
      passwordHash: null,
    })
    await store.setUserFarms('u-bench', [FARM])
    const phone = push.subscribe('phone')
    await store.upsertPushSubscription({
      id: 'ps-bench',
      userId: 'u-bench',
      endpoint: phone.subscription.endpoint,
      p256dh: phone.subscription.keys.p256dh,
      auth: phone.subscription.keys.auth,
      userAgent: 'bench',
    })
    await store.close()

    const port = await freePort()
    child = spawn(process.execPath, [...START_FLAGS, 'services/main.ts'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        ...START_ENV,
        TANI_SERVICES: 'broker,processor,notifier',
        TANI_DATA_DIR: dir,
        MQTT_HOST: '127.0.0.1',
        MQTT_PORT: String(port),
        MQTT_WS_PORT: '',
        OPS_PORT: '',
        INFLUX_URL: influxd.url,
        INFLUX_API: 'v1',
        PUBLIC_URL: 'https://tani.example',
        LOG_LEVEL: 'warn',
      },
    })
    await waitForPort(port, child)
    const url = `mqtt://127.0.0.1:${port}`
    const connectAs = async (id: string, password: string) => {
      const c = await mqtt.connectAsync(url, {
        clientId: id,
        username: id,
        password,
        protocolVersion: 4,
        reconnectPeriod: 0,
      })
      clients.push(c)
      return c
    }
    const watch = await connectAs('bench-watcher', watcher)
    const device = await connectAs(PROBE, probe?.secret ?? '')
    const sentAt = new Map<number, number>()
    const alertSeq = new Map<string, number>()
    /** Probes sent in the first WARMUP_MS, reported apart. */
    const warm = new Set<number>()
    const toBus: number[] = []
    const warmToBus: number[] = []
    watch.on('message', (_t, payload) => {
      const e = AlertEvent.safeParse(JSON.parse(payload.toString()))
      if (!e.success || e.data.device_id !== PROBE || e.data.state !== 'firing') return
      const t0 = sentAt.get(e.data.seq)
      if (t0 === undefined) return
      const samples = warm.has(e.data.seq) ? warmToBus : toBus
      samples.push(Date.now() - t0)
      alertSeq.set(e.data.alert_id, e.data.seq)
    })
    await watch.subscribeAsync(`alerts/${FARM}`, { qos: 1 })
    // Give the processor and notifier a moment to subscribe after the broker listens.
    await new Promise((r) => setTimeout(r, 1500))

    say(
      `  alert latency: ${opts.ratePerSecond} readings/s of background load for ${opts.durationMs / 1000} s`,
    )
    const devicesFile = join(dir, 'load-devices.json')
    await writeFile(devicesFile, JSON.stringify({ devices: loadDevices }))
    const load = runLoad(
      { devicesFile, gateway: { username: 'bench-gateway', password: gateway } },
      {
        mqttUrl: url,
        ratePerSecond: opts.ratePerSecond,
        durationMs: WARMUP_MS + opts.durationMs + 2000,
        connections: 4,
        maxInflight: 1000,
      },
    )
    loadChild = load.child
    await new Promise((r) => setTimeout(r, 1000))
    let seq = 0
    const warmUntil = Date.now() + WARMUP_MS
    const until = warmUntil + opts.durationMs
    while (Date.now() < until) {
      seq++
      const low = seq % 2 === 1
      const body = JSON.stringify({
        kind: 'pond_sensor',
        ts: Date.now(),
        seq,
        battery_pct: 90,
        rssi_dbm: -80,
        dissolved_oxygen_mg_l: low ? 2 : 7,
      })
      if (low) sentAt.set(seq, Date.now())
      if (low && Date.now() < warmUntil) warm.add(seq)
      await device.publishAsync(`devices/${PROBE}/up`, body, { qos: 1 })
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS))
    }
    load.child.signal('SIGTERM')
    const stats = await load.done
    await new Promise((r) => setTimeout(r, 3000))
    const toPush: number[] = []
    const warmToPush: number[] = []
    for (const r of push.received) {
      if (r.name !== 'phone' || r.payload === null) continue
      const { alert_id: id, state } = JSON.parse(r.payload) as { alert_id?: string; state?: string }
      const s = id ? alertSeq.get(id) : undefined
      const t0 = s === undefined ? undefined : sentAt.get(s)
      if (state === 'firing' && t0 !== undefined && s !== undefined)
        (warm.has(s) ? warmToPush : toPush).push(r.receivedAtMs - t0)
    }
    return {
      rate: Math.round(stats.achievedPerSecond),
      toBus: percentiles(toBus),
      toPush: percentiles(toPush),
      warmup: { toBus: percentiles(warmToBus), toPush: percentiles(warmToPush) },
    }
  } finally {
    for (const c of clients) c.end(true)
    await loadChild?.stop()
    if (child && child.exitCode === null) {
      child.kill('SIGTERM')
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    await push.stop()
    await influxd.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const rate = Number(process.argv[2] ?? 1000)
  const seconds = Number(process.argv[3] ?? 20)
  const devices = Number(process.argv[4] ?? LOAD_DEVICES)
  alertLatency({ ratePerSecond: rate, durationMs: seconds * 1000, devices, log: console.log }).then(
    (r) => console.log(JSON.stringify(r)),
    (err: Error) => {
      console.error(err)
      process.exit(1)
    },
  )
}
