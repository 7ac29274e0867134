import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../services/config.ts'
import { type InfluxdHandle, startInfluxd } from '../../../services/influx/influxd.ts'
import { createLogger } from '../../../services/log.ts'
import { type Running, startServices } from '../../../services/main.ts'
import { registerDevices } from '../../../services/store/provisioning.ts'
import { eventually } from '../../harness/stack.ts'

/** The single-process entry as `npm start` runs it: broker, processor, API, /health, /metrics. */
let influxd: InfluxdHandle
let running: Running
let dir: string
const ops = (path: string) => fetch(`http://127.0.0.1:${running.ops?.port}${path}`)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tani-main-'))
  influxd = await startInfluxd()
  const config = loadConfig({
    TANI_DATA_DIR: dir,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: '0',
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    INFLUX_URL: influxd.url,
    LOG_LEVEL: 'silent',
  })
  running = await startServices(config, createLogger('silent'))
})

afterAll(async () => {
  await running?.stop()
  await influxd?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('services/main', () => {
  it('creates the database, detects InfluxDB 1.x and reports healthy', async () => {
    const res = await ops('/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      ok: true,
      checks: {
        store: { ok: true },
        broker: { ok: true },
        processor: { ok: true },
        notifier: { ok: true },
        influxdb: { ok: true },
      },
    })
  })

  it('serves the HTTP API with the same health checks and its OpenAPI document', async () => {
    const health = await fetch(`${running.api?.url}/health`)
    expect(health.status).toBe(200)
    expect(Object.keys(((await health.json()) as { checks: object }).checks).sort()).toEqual([
      'broker',
      'influxdb',
      'notifier',
      'processor',
      'store',
    ])
    const docs = await fetch(`${running.api?.url}/docs/json`)
    expect(((await docs.json()) as { info: { title: string } }).info.title).toBe('Tani API')
    expect((await fetch(`${running.api?.url}/farms`)).status).toBe(401)
  })

  it('counts stored readings and refused connections in /metrics', async () => {
    await running.store.createFarm({ id: 'f1', name: 'F1', timezone: 'Asia/Ho_Chi_Minh' })
    const [d] = await registerDevices(running.store, {
      farmId: 'f1',
      kind: 'env_sensor',
      ids: ['env-1'],
    })
    const url = `mqtt://127.0.0.1:${running.broker?.port}`
    await expect(
      mqtt.connectAsync(url, {
        clientId: 'env-1',
        username: 'env-1',
        password: 'wrong',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow()
    const client = await mqtt.connectAsync(url, {
      clientId: 'env-1',
      username: 'env-1',
      password: d?.secret,
      reconnectPeriod: 0,
    })
    await client.publishAsync(
      'devices/env-1/up',
      JSON.stringify({
        kind: 'env_sensor',
        ts: Date.now(),
        seq: 1,
        battery_pct: 70,
        rssi_dbm: -85,
        air_temp_c: 31.2,
      }),
      { qos: 1 },
    )
    await client.publishAsync('devices/env-1/up', 'garbage', { qos: 1 })
    await client.endAsync()
    const text = await eventually(
      async () => (await ops('/metrics')).text(),
      (t) => /tani_processor_readings_stored_total 1\b/.test(t),
      'the stored reading in /metrics',
    )
    expect(text).toMatch(/tani_processor_messages_quarantined_total\{reason="not_json"\} 1\b/)
    expect(text).toMatch(/tani_broker_refused_total\{what="connection"\} 1\b/)
    expect(text).toMatch(/tani_processor_inflight_messages 0\b/)
    expect(text).toContain('tani_process_resident_memory_bytes')
    // One registry for the process: the API's request counter is on the same page.
    expect(text).toContain('tani_api_requests_total')
  })

  it('reports unhealthy with the reason when InfluxDB goes away', async () => {
    await influxd.stop()
    const res = await ops('/health')
    expect(res.status).toBe(503)
    const body = (await res.json()) as { checks: Record<string, { ok: boolean; error?: string }> }
    expect(body.checks.influxdb?.ok).toBe(false)
    expect(body.checks.influxdb?.error).toBeTruthy()
    expect(body.checks.broker?.ok).toBe(true)
  })
})
