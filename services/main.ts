// First: before anything loads mqtt-packet (see quiet-debug.ts).
import './quiet-debug.ts'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { type Api, startApi } from './api/server.ts'
import { type Broker, startBroker } from './broker/index.ts'
import { registerBrokerMetrics } from './broker/metrics.ts'
import { type Config, loadConfig } from './config.ts'
import { createInfluxQuery, detectApi, type InfluxConfig } from './influx/client.ts'
import { createDatabase } from './influx/influxd.ts'
import { createLogger, type Logger } from './log.ts'
import { type Notifier, startNotifier } from './notifier/index.ts'
import { createHealthChecks, createRegistry, type Ops, startOps } from './ops/server.ts'
import { type Processor, type ProcessorConfig, startProcessor } from './processor/index.ts'
import { registerProcessorMetrics } from './processor/metrics.ts'
import { startProcessorThread } from './processor/thread.ts'
import { rotateServiceAccount } from './store/provisioning.ts'
import type { Store } from './store/repository.ts'
import { openSqliteStore } from './store/sqlite-store.ts'

/**
 * One entry for every service. `TANI_SERVICES=broker,processor` (the default) runs the
 * embedded broker and the processor in one process — the single-machine setup; the
 * compose file runs one service per container from the same image.
 */

export type Running = {
  broker: Broker | null
  processor: Processor | null
  ops: Ops | null
  api: Api | null
  notifier: Notifier | null
  store: Store
  stop(): Promise<void>
}

export function influxConfigOf(config: Config): InfluxConfig {
  return {
    url: config.INFLUX_URL,
    api: config.INFLUX_API,
    database: config.INFLUX_DATABASE,
    retentionPolicy: config.INFLUX_RETENTION_POLICY,
    org: config.INFLUX_ORG,
    bucket: config.INFLUX_BUCKET,
    token: config.INFLUX_TOKEN,
    username: config.INFLUX_USERNAME,
    password: config.INFLUX_PASSWORD,
    gzip: config.INFLUX_GZIP,
  }
}

export async function startServices(config: Config, log: Logger): Promise<Running> {
  // V8 lets the heap grow to up to 4× what survives a full collection before it collects
  // again: with a processor's steady stream of short-lived objects that is hundreds of MB
  // of garbage held. A smaller factor keeps memory close to what is live, for a few % CPU.
  if (config.HEAP_GROWTH_PERCENT > 0)
    setFlagsFromString(`--heap-growing-percent=${config.HEAP_GROWTH_PERCENT}`)
  const store = openSqliteStore(config.dbPath)
  let broker: Broker | null = null
  let processor: Processor | null = null
  let ops: Ops | null = null
  let api: Api | null = null
  let notifier: Notifier | null = null
  const registry = createRegistry()
  const health = createHealthChecks()
  const stopAll = async () => {
    await api?.stop()
    await notifier?.stop()
    await ops?.stop()
    await processor?.stop()
    await broker?.stop()
    await store.close()
  }
  try {
    health.add('store', async () => {
      await store.listFarms()
      return null
    })
    if (config.OPS_PORT !== null)
      ops = await startOps(
        { host: config.OPS_HOST, port: config.OPS_PORT },
        { log, registry, health },
      )
    if (config.TANI_SERVICES.includes('broker')) {
      broker = await startBroker(
        {
          host: config.MQTT_HOST,
          port: config.MQTT_PORT,
          wsPort: config.MQTT_WS_PORT,
          persistenceDir: join(config.TANI_DATA_DIR, 'broker'),
        },
        { store, log },
      )
      const b = broker
      health.add('broker', () => (b.stats().listening ? null : 'the MQTT listener is closed'))
      registerBrokerMetrics(registry, b.stats)
    }
    // A broker given a service's secret registers it, so separate containers can share
    // one secret from the environment (docker-compose.yml).
    if (broker)
      for (const [name, role, secret] of [
        [config.PROCESSOR_USERNAME, 'processor', config.PROCESSOR_SECRET],
        [config.NOTIFIER_USERNAME, 'notifier', config.NOTIFIER_SECRET],
      ] as const)
        if (secret) await rotateServiceAccount(store, name, role, secret)
    if (config.TANI_SERVICES.includes('processor')) {
      const secret = await serviceSecret(
        broker,
        store,
        config.PROCESSOR_USERNAME,
        config.PROCESSOR_SECRET,
        'processor',
      )
      const influx = influxConfigOf(config)
      if (
        config.INFLUX_CREATE_DATABASE &&
        (influx.api === 'v1' || (await detectApi(influx.url)) === 'v1')
      )
        await createDatabase(influx.url, influx.database)
      const processorConfig: ProcessorConfig = {
        mqttUrl: config.MQTT_URL ?? `mqtt://127.0.0.1:${broker?.port ?? config.MQTT_PORT}`,
        username: config.PROCESSOR_USERNAME,
        password: secret,
        influx,
        maxInflight: config.PROCESSOR_MAX_INFLIGHT,
        maxInflightBytes: config.PROCESSOR_MAX_INFLIGHT_BYTES,
        flushMs: config.PROCESSOR_FLUSH_MS,
        lateAfterMs: config.PROCESSOR_LATE_AFTER_MS,
      }
      const threaded =
        config.PROCESSOR_THREAD === 'true' || (config.PROCESSOR_THREAD === 'auto' && broker)
      processor = threaded
        ? await startProcessorThread(
            processorConfig,
            { dbPath: config.dbPath, logLevel: config.LOG_LEVEL },
            log,
          )
        : await startProcessor(processorConfig, { store, log })
      const p = processor
      health.add('processor', () =>
        p.stats().connected ? null : 'not connected to the MQTT broker',
      )
      registerProcessorMetrics(registry, p.stats)
    }
    if (config.TANI_SERVICES.includes('notifier')) {
      notifier = await startNotifier(
        {
          mqttUrl: config.MQTT_URL ?? `mqtt://127.0.0.1:${broker?.port ?? config.MQTT_PORT}`,
          username: config.NOTIFIER_USERNAME,
          password: await serviceSecret(
            broker,
            store,
            config.NOTIFIER_USERNAME,
            config.NOTIFIER_SECRET,
            'notifier',
          ),
          // The alerts page (dashboards/push, served by the API at /app/) routes by hash.
          baseUrl: `${config.PUBLIC_URL.replace(/\/+$/, '')}/app/#`,
          vapid: {
            publicKey: config.VAPID_PUBLIC_KEY,
            privateKey: config.VAPID_PRIVATE_KEY,
            subject: config.VAPID_SUBJECT,
          },
          escalateAfterMs: config.NOTIFIER_ESCALATE_AFTER_MIN * 60_000,
        },
        { store, log, registry },
      )
      const n = notifier
      health.add('notifier', () =>
        n.stats().connected ? null : 'not connected to the MQTT broker',
      )
    }
    if (config.TANI_SERVICES.includes('processor') || config.TANI_SERVICES.includes('api'))
      health.add('influxdb', () => pingInflux(config.INFLUX_URL))
    if (config.TANI_SERVICES.includes('api')) {
      const b = broker
      if (!b && config.MQTT_URL) health.add('broker', () => reachable(config.MQTT_URL as string))
      api = await startApi(
        {
          host: config.API_HOST,
          port: config.API_PORT,
          bodyLimit: config.API_BODY_LIMIT,
          trustProxy: config.API_TRUST_PROXY,
          sessionTtlMs: config.API_SESSION_HOURS * 3_600_000,
          loginRateLimit: { max: config.API_LOGIN_PER_MINUTE, windowMs: 60_000 },
          writeRateLimit: { max: config.API_WRITES_PER_MINUTE, windowMs: 60_000 },
        },
        {
          store,
          influx: createInfluxQuery(influxConfigOf(config)),
          log,
          health,
          registry,
          // In one process the broker drops a revoked device at once; elsewhere it finds
          // out from the registry within its revocation sweep.
          onDeviceRevoked: b ? (id) => void b.disconnectDevice(id) : undefined,
        },
      )
    }
  } catch (err) {
    await stopAll()
    throw err
  }
  return { broker, processor, ops, api, notifier, store, stop: stopAll }
}

/**
 * A service's MQTT secret: from the environment (registered when this process runs the
 * broker), or, in one process with the embedded broker, a new one each start that never
 * leaves memory.
 */
async function serviceSecret(
  broker: Broker | null,
  store: Store,
  name: string,
  given: string | undefined,
  role: 'processor' | 'notifier',
): Promise<string> {
  if (given) return given
  if (!broker)
    throw new Error(
      `${role.toUpperCase()}_SECRET is required when the ${role} runs without the embedded broker (create it with: npm run tani -- service-account create ${name} --role ${role})`,
    )
  return rotateServiceAccount(store, name, role)
}

async function pingInflux(url: string): Promise<string | null> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/ping`, { signal: AbortSignal.timeout(3000) })
  return res.ok ? null : `InfluxDB /ping answered HTTP ${res.status}`
}

/** An external broker is healthy for the API when its port takes a TCP connection. */
function reachable(mqttUrl: string): Promise<string | null> {
  const u = new URL(mqttUrl)
  const port = Number(u.port || (u.protocol === 'mqtts:' ? 8883 : 1883))
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port, timeout: 3000 })
    const done = (problem: string | null) => {
      socket.destroy()
      resolve(problem)
    }
    socket.once('connect', () => done(null))
    socket.once('timeout', () => done(`MQTT broker ${u.host} did not answer`))
    socket.once('error', (err) => done(`MQTT broker ${u.host}: ${err.message}`))
  })
}

async function main() {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    console.error((err as Error).message)
    process.exit(2)
  }
  const log = createLogger(config.LOG_LEVEL)
  const running = await startServices(config, log)
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping')
    running.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'stop failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

if (import.meta.main) {
  main().catch((err: Error) => {
    console.error(`tani: ${err.message}`)
    process.exit(1)
  })
}
