import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import { startSimulation } from '../firmware-sim/simulator.ts'
import { loadConfig } from '../services/config.ts'
import { createInfluxQuery } from '../services/influx/client.ts'
import { startInfluxd } from '../services/influx/influxd.ts'
import { createLogger } from '../services/log.ts'
import { influxConfigOf, startServices } from '../services/main.ts'
import { registerDevices, rotateServiceAccount } from '../services/store/provisioning.ts'
import type { Store } from '../services/store/repository.ts'
import { hashPassword } from '../services/store/secrets.ts'
import type { DeviceKind } from '../shared/index.ts'
import { defaultRules } from './rules/default-rules.ts'

/**
 * The README's main command: InfluxDB, the broker, the processor and a small simulated
 * farm in one process tree, with a running account of what arrives. Ctrl-C stops it all.
 */

const USAGE = `Usage: npm run demo -- [options]

  --interval <s>   seconds between two readings of a device (default 5)
  --fresh          forget the previous demo's data (data/ folder) and start over
  --log-level <l>  service log level (default warn; info shows every connection)
  -h, --help
`

const { values } = parseArgs({
  options: {
    interval: { type: 'string', default: '5' },
    fresh: { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (values.help) {
  process.stdout.write(USAGE)
  process.exit(0)
}
const intervalS = Number(values.interval)
if (!Number.isFinite(intervalS) || intervalS < 0.1) {
  process.stderr.write('--interval: a number of seconds, at least 0.1\n')
  process.exit(2)
}

const DATA = resolve(process.env.TANI_DATA_DIR ?? 'data')
// Tests shorten the status line's period.
const reportEveryMs = Number(process.env.TANI_DEMO_REPORT_MS ?? 10_000)
const FARM = 'demo-farm'
const COOPERATIVE = 'demo-coop'
const CREDENTIALS = join(DATA, 'demo-devices.json')
const ADMIN_FILE = join(DATA, 'demo-admin.json')
const say = (s: string) => process.stdout.write(`${s}\n`)

async function portOr(preferred: number): Promise<number> {
  return new Promise((done) => {
    const srv = createServer()
    srv.once('error', () => done(0))
    srv.listen(preferred, '0.0.0.0', () => srv.close(() => done(preferred)))
  })
}

type Creds = { mqttUrl: string; devices: { id: string; kind: DeviceKind; secret: string }[] }

async function seed(store: Store, mqttUrl: string): Promise<Creds> {
  if ((await store.getFarm(FARM)) && existsSync(CREDENTIALS)) {
    const creds = JSON.parse(readFileSync(CREDENTIALS, 'utf8')) as Creds
    return { ...creds, mqttUrl }
  }
  if (await store.getFarm(FARM))
    throw new Error(`${CREDENTIALS} is missing; run again with --fresh`)
  if (!(await store.getCooperative(COOPERATIVE)))
    await store.createCooperative({ id: COOPERATIVE, name: 'Tân Phú cooperative (demo)' })
  await store.createFarm({
    id: FARM,
    name: 'Tân Phú shrimp and rice farm (demo)',
    timezone: 'Asia/Ho_Chi_Minh',
    cooperativeId: COOPERATIVE,
  })
  const sites = [
    {
      id: 'demo-pond-a',
      name: 'Shrimp pond A',
      kind: 'pond' as const,
      latitude: 9.6012,
      longitude: 105.9721,
    },
    {
      id: 'demo-pond-b',
      name: 'Shrimp pond B',
      kind: 'pond' as const,
      latitude: 9.6019,
      longitude: 105.9733,
    },
    {
      id: 'demo-rice-1',
      name: 'Rice field 1',
      kind: 'field' as const,
      latitude: 9.6051,
      longitude: 105.9702,
    },
  ]
  for (const s of sites) await store.createSite({ ...s, farmId: FARM })
  const plan: { site: string; kind: DeviceKind; ids: string[] }[] = [
    { site: 'demo-pond-a', kind: 'pond_sensor', ids: ['demo-pond-a-probe'] },
    { site: 'demo-pond-b', kind: 'pond_sensor', ids: ['demo-pond-b-probe'] },
    { site: 'demo-rice-1', kind: 'env_sensor', ids: ['demo-rice-1-weather'] },
    { site: 'demo-rice-1', kind: 'pest_trap', ids: ['demo-rice-1-light-trap'] },
    { site: 'demo-rice-1', kind: 'irrigation_controller', ids: ['demo-rice-1-drip'] },
  ]
  const devices: Creds['devices'] = []
  for (const p of plan) {
    const registered = await registerDevices(store, {
      farmId: FARM,
      siteId: p.site,
      kind: p.kind,
      ids: p.ids,
    })
    devices.push(...registered.map((d) => ({ id: d.id, kind: d.kind, secret: d.secret })))
  }
  for (const r of defaultRules()) await store.putRule(r)
  const creds = { mqttUrl, devices }
  writeFileSync(CREDENTIALS, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 })
  return creds
}

/** An admin of the demo farm's cooperative, so the API can be tried at once. */
async function demoAdmin(store: Store): Promise<{ login: string; password: string }> {
  const login = 'demo-admin'
  if ((await store.userByLogin(login)) && existsSync(ADMIN_FILE))
    return JSON.parse(readFileSync(ADMIN_FILE, 'utf8')) as { login: string; password: string }
  const farm = await store.getFarm(FARM)
  const password = randomBytes(12).toString('base64url')
  const existing = await store.userByLogin(login)
  if (existing) await store.setUserPassword(existing.id, await hashPassword(password))
  else
    await store.createUser({
      id: 'u-demo-admin',
      cooperativeId: farm?.cooperativeId ?? COOPERATIVE,
      login,
      name: 'Demo admin',
      role: 'admin',
      locale: 'en',
      passwordHash: await hashPassword(password),
    })
  writeFileSync(ADMIN_FILE, `${JSON.stringify({ login, password }, null, 2)}\n`, { mode: 0o600 })
  return { login, password }
}

async function main() {
  if (values.fresh) rmSync(DATA, { recursive: true, force: true })
  const log = createLogger(values['log-level'] as string, process.stderr)
  say('Starting InfluxDB…')
  const influxd = await startInfluxd({ dataDir: join(DATA, 'influxdb'), log })
  const mqttPort = await portOr(Number(process.env.MQTT_PORT ?? 1883))
  const wsPort = await portOr(Number(process.env.MQTT_WS_PORT ?? 8083))
  const opsPort = await portOr(Number(process.env.OPS_PORT ?? 9464))
  const apiPort = await portOr(Number(process.env.API_PORT ?? 8080))
  const config = loadConfig({
    ...process.env,
    TANI_DATA_DIR: DATA,
    MQTT_PORT: String(mqttPort),
    MQTT_WS_PORT: String(wsPort),
    OPS_PORT: String(opsPort),
    API_PORT: String(apiPort),
    PUBLIC_URL: process.env.PUBLIC_URL ?? `http://127.0.0.1:${apiPort}`,
    INFLUX_URL: influxd.url,
    INFLUX_API: 'v1',
  })
  say('Starting the broker, the processor, the HTTP API and the notifier…')
  const running = await startServices(config, log)
  const broker = running.broker
  if (!broker) throw new Error('the demo needs the embedded broker')
  const mqttUrl = `mqtt://127.0.0.1:${broker.port}`
  const creds = await seed(running.store, mqttUrl)
  const admin = await demoAdmin(running.store)
  const api = running.api?.url ?? ''

  // Alert events as the notifier will see them.
  const watcherSecret = await rotateServiceAccount(running.store, 'demo-alert-watcher', 'notifier')
  const watcher = await mqtt.connectAsync(mqttUrl, {
    clientId: 'demo-alert-watcher',
    username: 'demo-alert-watcher',
    password: watcherSecret,
  })
  let alerts = 0
  watcher.on('message', (topic, payload) => {
    alerts++
    const e = JSON.parse(payload.toString()) as Record<string, unknown>
    say(
      `  ⚑ ${topic}: ${String(e.state).toUpperCase()} ${e.severity} ${e.rule_id} on ${e.device_id} — ${e.message}`,
    )
  })
  await watcher.subscribeAsync('alerts/+', { qos: 1 })

  const sim = startSimulation({
    mqttUrl,
    devices: creds.devices,
    intervalMs: intervalS * 1000,
    seed: 42,
    log: createLogger('warn', process.stderr),
  })
  await sim.ready

  const influx = influxConfigOf(config)
  const query = createInfluxQuery(influx)
  const db = influx.database
  say(`
Tani is running (data in ${DATA}).
  MQTT broker      mqtt://127.0.0.1:${broker.port}   (WebSocket ws://127.0.0.1:${broker.wsPort}/mqtt)
  InfluxDB 1.x     ${influxd.url}   database "${db}"
  HTTP API         ${api}   (OpenAPI and a try-it page: ${api}/docs)
  Alerts page      ${api}/app/   (turns on Web Push for a browser; notifications link here)
  Health, metrics  ${api}/health   ${api}/metrics   (also http://127.0.0.1:${running.ops?.port})
  Simulated farm   ${creds.devices.length} devices on farm ${FARM}, a reading every ${intervalS} s each
  Device secrets   ${CREDENTIALS}

Look at the readings:
  curl -sG ${influxd.url}/query --data-urlencode db=${db} \\
       --data-urlencode "q=SELECT * FROM pond_sensor ORDER BY time DESC LIMIT 5"
  curl -sG ${influxd.url}/query --data-urlencode db=${db} \\
       --data-urlencode "q=SELECT COUNT(seq) FROM device_health GROUP BY device"
Use the API as the demo admin (password in ${ADMIN_FILE}):
  TOKEN=$(curl -s ${api}/auth/login -H 'content-type: application/json' \\
          -d '{"login":"${admin.login}","password":"${admin.password}"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')
  curl -s ${api}/devices -H "authorization: Bearer $TOKEN"        # the fleet: last seen, battery, signal
  curl -s "${api}/alerts?state=firing" -H "authorization: Bearer $TOKEN"
Quarantined messages:  TANI_DB=${config.dbPath} npm run tani -- quarantine list
Devices and rules:     TANI_DB=${config.dbPath} npm run tani -- device list   (or: rule list)

In about 30 s pond A's oxygen falls under 3 mg/L (a cloudy-dawn crash) to show an alert.
Ctrl-C stops everything.
`)

  const crash = setTimeout(() => {
    say('  … pond A: oxygen is falling (simulated)')
    sim.override('demo-pond-a-probe', { dissolved_oxygen_mg_l: 2.6 }, 3)
  }, 30_000)

  const started = Date.now()
  const report = setInterval(async () => {
    try {
      const series = await query.query(
        `SELECT COUNT(seq) FROM device_health WHERE farm = '${FARM}'`,
      )
      const stored = series.reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0)
      const p = running.processor?.stats()
      const s = sim.stats()
      say(
        `[${Math.round((Date.now() - started) / 1000)}s] sent ${s.sent}, acknowledged ${s.acknowledged} · readings in InfluxDB ${stored} · quarantined ${p?.quarantined ?? 0} · alert events ${alerts}`,
      )
    } catch (err) {
      say(`status query failed: ${(err as Error).message}`)
    }
  }, reportEveryMs)

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    say(`\n${signal}: stopping the simulator, processor, broker and InfluxDB…`)
    clearTimeout(crash)
    clearInterval(report)
    await sim.stop()
    await watcher.endAsync()
    await running.stop()
    await influxd.stop()
    const s = sim.stats()
    say(`Stopped. Simulator: sent ${s.sent}, acknowledged ${s.acknowledged}, failed ${s.failed}.`)
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.message}\n`)
  process.exit(1)
})
