import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { type Broker, startBroker } from '../../services/broker/index.ts'
import {
  createInfluxQuery,
  type InfluxConfig,
  type InfluxSeries,
} from '../../services/influx/client.ts'
import { createDatabase, type InfluxdHandle, startInfluxd } from '../../services/influx/influxd.ts'
import { createLogger, type Logger } from '../../services/log.ts'
import { type Processor, startProcessor } from '../../services/processor/index.ts'
import {
  type ProvisionedDevice,
  registerDevices,
  rotateServiceAccount,
} from '../../services/store/provisioning.ts'
import type { ServiceRole, Store } from '../../services/store/repository.ts'
import { openSqliteStore } from '../../services/store/sqlite-store.ts'
import type { RuleInput } from '../../shared/index.ts'

/**
 * A whole Tani on loopback for integration tests: a real influxd on a free port with a
 * throw-away data folder, the store in a temp folder, the embedded broker on free ports,
 * and the processor — everything stopped by `stop()`.
 */

export type Stack = {
  dir: string
  influxd: InfluxdHandle
  influx: InfluxConfig
  store: Store
  broker: Broker
  processor: Processor | null
  mqttUrl: string
  processorSecret: string
  log: Logger
  startProcessor(overrides?: Partial<Parameters<typeof startProcessor>[0]>): Promise<Processor>
  query(influxql: string, params?: Record<string, string | number>): Promise<InfluxSeries[]>
  /** Number of points matching an InfluxQL `SELECT COUNT(field) ...` (0 when no series). */
  count(influxql: string): Promise<number>
  connect(opts: IClientOptions): Promise<MqttClient>
  /** Connects as a registered device (client id = username = device id). */
  connectDevice(device: { id: string; secret: string }, opts?: IClientOptions): Promise<MqttClient>
  /** Creates (or rotates) a service account and connects as it (client id = its name). */
  connectService(name: string, role: ServiceRole, opts?: IClientOptions): Promise<MqttClient>
  stop(): Promise<void>
}

export async function startStack(
  opts: { processor?: boolean; logLevel?: string } = {},
): Promise<Stack> {
  const log = createLogger(opts.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent')
  const dir = await mkdtemp(join(tmpdir(), 'tani-stack-'))
  const influxd = await startInfluxd({ log })
  const influx: InfluxConfig = { url: influxd.url, api: 'v1', database: 'tani_test' }
  await createDatabase(influxd.url, influx.database)
  const store = openSqliteStore(join(dir, 'tani.db'))
  const broker = await startBroker(
    { host: '127.0.0.1', port: 0, wsPort: 0, persistenceDir: join(dir, 'broker') },
    { store, log },
  )
  const mqttUrl = `mqtt://127.0.0.1:${broker.port}`
  const processorSecret = await rotateServiceAccount(store, 'processor', 'processor')
  const queryApi = createInfluxQuery(influx)
  const clients: MqttClient[] = []

  const stack: Stack = {
    dir,
    influxd,
    influx,
    store,
    broker,
    processor: null,
    mqttUrl,
    processorSecret,
    log,
    async startProcessor(overrides = {}) {
      const p = await startProcessor(
        {
          mqttUrl,
          username: 'processor',
          password: processorSecret,
          influx,
          maxInflight: 500,
          flushMs: 20,
          lateAfterMs: 15 * 60_000,
          rulesRefreshMs: 200,
          ...overrides,
        },
        { store, log },
      )
      stack.processor = p
      return p
    },
    query: (q, params) => queryApi.query(q, params),
    async count(q) {
      const series = await queryApi.query(q)
      return series.reduce((n, s) => n + s.values.reduce((m, row) => m + Number(row[1] ?? 0), 0), 0)
    },
    async connect(options) {
      const c = await mqtt.connectAsync(mqttUrl, {
        reconnectPeriod: 0,
        protocolVersion: 4,
        ...options,
      })
      clients.push(c)
      return c
    },
    connectDevice(device, options = {}) {
      return stack.connect({
        clientId: device.id,
        username: device.id,
        password: device.secret,
        ...options,
      })
    },
    async connectService(name, role, options = {}) {
      const secret = await rotateServiceAccount(store, name, role)
      return stack.connect({ clientId: name, username: name, password: secret, ...options })
    },
    async stop() {
      for (const c of clients) c.end(true)
      await stack.processor?.stop(2000)
      await broker.stop()
      await store.close()
      await influxd.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
  if (opts.processor !== false) await stack.startProcessor()
  return stack
}

/** A farm with a pond site and the given devices, registered through the same code as the CLI. */
export async function seedFarm(
  store: Store,
  farmId: string,
  devices: { kind: Parameters<typeof registerDevices>[1]['kind']; count: number; site?: string }[],
): Promise<ProvisionedDevice[]> {
  await store.createFarm({ id: farmId, name: `Farm ${farmId}`, timezone: 'Asia/Ho_Chi_Minh' })
  await store.createSite({
    id: `${farmId}-pond-1`,
    farmId,
    name: 'Pond 1',
    kind: 'pond',
    latitude: 10.03,
    longitude: 105.78,
  })
  await store.createSite({
    id: `${farmId}-field-1`,
    farmId,
    name: 'Field 1',
    kind: 'field',
    latitude: null,
    longitude: null,
  })
  const out: ProvisionedDevice[] = []
  for (const d of devices) {
    const siteId = d.site ?? (d.kind === 'pond_sensor' ? `${farmId}-pond-1` : `${farmId}-field-1`)
    out.push(...(await registerDevices(store, { farmId, siteId, kind: d.kind, count: d.count })))
  }
  return out
}

export const lowOxygenRule: RuleInput = {
  id: 'do-critical',
  name: 'Dissolved oxygen critically low',
  scope: { kind: 'pond_sensor' },
  severity: 'critical',
  message: 'Oxygen in {site} is {value} mg/L (below {threshold}): start the aerators now',
  condition: {
    type: 'threshold',
    metric: 'dissolved_oxygen_mg_l',
    op: 'below',
    value: 3,
    clear: 4,
  },
}

/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  predicate: (v: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T
  for (;;) {
    last = await probe()
    if (predicate(last)) return last
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const mqttString = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

/**
 * An MQTT 3.1.1 CONNECT, encoded by hand (section 3.1): client libraries refuse to send
 * the invalid ones the broker must reject.
 */
function connectPacket(c: {
  clientId: string
  clean: boolean
  username?: string
  password?: string
}) {
  const flags =
    (c.username !== undefined ? 0x80 : 0) |
    (c.password !== undefined ? 0x40 : 0) |
    (c.clean ? 0x02 : 0)
  const body = Buffer.concat([
    mqttString('MQTT'),
    Buffer.from([4, flags, 0, 30]),
    mqttString(c.clientId),
    ...(c.username !== undefined ? [mqttString(c.username)] : []),
    ...(c.password !== undefined ? [mqttString(c.password)] : []),
  ])
  if (body.length > 127) throw new Error('test CONNECT too long for a one-byte length')
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

/**
 * Sends a raw CONNECT (mqtt-packet, so nothing client-side second-guesses it) and
 * returns the broker's CONNACK return code.
 */
export async function rawConnack(
  port: number,
  connect: { clientId: string; clean: boolean; username?: string; password?: string },
): Promise<number> {
  const { connect: netConnect } = await import('node:net')
  const mqttPacket = (await import('mqtt-packet')).default
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1')
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no CONNACK within 5 s'))
    }, 5000)
    parser.on('packet', (p) => {
      if (p.cmd !== 'connack') return
      clearTimeout(timer)
      socket.destroy()
      resolve(p.returnCode ?? -1)
    })
    socket.on('data', (b) => parser.parse(b))
    socket.on('error', reject)
    socket.write(connectPacket(connect))
  })
}
