import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'
import { eventually, type Stack, startStack } from '../../harness/stack.ts'

/**
 * The device registry end to end: a device registered through the API connects to the
 * embedded broker with the secret the API returned, its readings come back through the
 * readings routes and the fleet view (real influxd, real processor), and revoking or
 * rotating through the API cuts the broker off at once.
 */

let stack: Stack
let world: ApiWorld
const MIN = 60_000

type Provisioned = { device: { id: string }; secret: string }

async function provision(body: Record<string, unknown>): Promise<Provisioned> {
  const res = await world.call('POST', '/devices', { as: 'technician', body })
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}
const connect = (p: Provisioned) => stack.connectDevice({ id: p.device.id, secret: p.secret })
const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()))
const get = async (url: string, as: 'farmer' | 'admin' = 'farmer') => {
  const res = await world.call('GET', url, { as })
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
  return res.json()
}
const fleetEntry = async (id: string, query = '') =>
  ((await get(`/devices?farm_id=farm-a${query}`)).devices as { id: string }[]).find(
    (d) => d.id === id,
  )

beforeAll(async () => {
  stack = await startStack()
  world = await startApiWorld({
    store: stack.store,
    influx: stack.influx,
    onDeviceRevoked: (id) => stack.broker.disconnectDevice(id),
  })
})
afterAll(async () => {
  await world?.close()
  await stack?.stop()
})

describe('a device registered through the API', () => {
  let pond: Provisioned
  let client: MqttClient
  const ts = Date.now() - 5 * MIN

  it('connects with the returned secret and its reading comes back through the readings routes', async () => {
    pond = await provision({
      farm_id: 'farm-a',
      site_id: 'pond-a1',
      kind: 'pond_sensor',
      name: 'Pond A1 probe',
    })
    const id = pond.device.id
    client = await connect(pond)
    await client.publishAsync(
      `devices/${id}/status`,
      JSON.stringify({ online: true, firmware: '2.1.0' }),
      { qos: 1 },
    )
    await client.publishAsync(
      `devices/${id}/up`,
      JSON.stringify({
        kind: 'pond_sensor',
        ts,
        seq: 1,
        battery_pct: 81.5,
        battery_v: 3.91,
        rssi_dbm: -97,
        dissolved_oxygen_mg_l: 5.25,
        ph: 7.9,
      }),
      { qos: 1 },
    )
    const latest = await eventually(
      () => get(`/devices/${id}/readings/latest`),
      (l) => l.values.ph === 7.9,
      'the reading through GET /devices/:id/readings/latest',
    )
    expect(latest).toEqual({
      device_id: id,
      kind: 'pond_sensor',
      ts: new Date(ts).toISOString(),
      values: { dissolved_oxygen_mg_l: 5.25, ph: 7.9 },
      measured_at: {
        dissolved_oxygen_mg_l: new Date(ts).toISOString(),
        ph: new Date(ts).toISOString(),
      },
    })
    const series = await get(
      `/devices/${id}/readings?metric=dissolved_oxygen_mg_l&every=1h&aggregate=max`,
    )
    expect(series).toMatchObject({ device_id: id, aggregate: 'max', every: '1h', species: null })
    expect(series.points.map((p: { value: number }) => p.value)).toEqual([5.25])
    const farm = await get('/farms/farm-a/readings/latest?kind=pond_sensor')
    expect(farm.map((l: { device_id: string }) => l.device_id)).toEqual([id])
  })

  it('shows last seen, battery, signal, firmware and status in the fleet view', async () => {
    const id = pond.device.id
    const entry = await eventually(
      () => fleetEntry(id),
      (d) => (d as { firmware?: string } | undefined)?.firmware === '2.1.0',
      'the status message in the fleet view',
    )
    expect(entry).toMatchObject({
      id,
      name: 'Pond A1 probe',
      site_id: 'pond-a1',
      last_seen: new Date(ts).toISOString(),
      battery_pct: 81.5,
      battery_v: 3.91,
      rssi_dbm: -97,
      firmware: '2.1.0',
      online: true,
      status: 'online',
    })
    const fleet = await get('/devices?farm_id=farm-a')
    expect(fleet.live_data).toBe('available')
    // A "silent" device: nothing for longer than silent_after.
    expect(await fleetEntry(id, '&silent_after=1m')).toMatchObject({ status: 'silent' })
    // Going offline keeps the firmware it last reported.
    await client.publishAsync(
      `devices/${id}/status`,
      JSON.stringify({ online: false, reason: 'maintenance' }),
      { qos: 1 },
    )
    const offline = await eventually(
      () => fleetEntry(id),
      (d) => (d as { status?: string } | undefined)?.status === 'offline',
      'the offline status in the fleet view',
    )
    expect(offline).toMatchObject({ online: false, firmware: '2.1.0' })
    const fresh = await provision({ farm_id: 'farm-a', kind: 'env_sensor' })
    expect(await fleetEntry(fresh.device.id)).toMatchObject({ status: 'never_seen' })
  })

  it('is cut off at once when revoked: the open connection closes and the secret is refused', async () => {
    const id = pond.device.id
    const gone = closed(client)
    const res = await world.call('POST', `/devices/${id}/revoke`, { as: 'admin' })
    expect(res.statusCode).toBe(200)
    await gone
    await expect(connect(pond)).rejects.toThrow(/Bad username or password|Not authorized/)
    // Still in the fleet, as revoked, with what it last said.
    expect(await fleetEntry(id)).toMatchObject({
      status: 'revoked',
      revoked: true,
      battery_pct: 81.5,
    })
  })
})

describe('rotating a secret', () => {
  it('refuses the old secret, drops the connection using it, and accepts the new one', async () => {
    const trap = await provision({ farm_id: 'farm-a', kind: 'pest_trap', id: 'trap-rot' })
    const old = await connect(trap)
    const gone = closed(old)
    const res = await world.call('POST', '/devices/trap-rot/rotate-secret', { as: 'technician' })
    expect(res.statusCode).toBe(200)
    const { secret } = res.json()
    await gone
    await expect(connect(trap)).rejects.toThrow(/Bad username or password|Not authorized/)
    const fresh = await stack.connectDevice({ id: 'trap-rot', secret })
    const ts = Date.now() - MIN
    await fresh.publishAsync(
      'devices/trap-rot/up',
      JSON.stringify({
        kind: 'pest_trap',
        ts,
        seq: 7,
        battery_pct: 60,
        rssi_dbm: -110,
        trap_id: 'T-1',
        attractant: 'light_uv',
        interval_s: 3600,
        counts: { brown_planthopper: 12, rice_leaf_folder: 3 },
      }),
      { qos: 1 },
    )
    // Trap counts come back per species, as rules name them.
    const latest = await eventually(
      () => get('/devices/trap-rot/readings/latest'),
      (l) => Object.keys(l.values).length === 2,
      'the trap counts after rotation',
    )
    expect(latest.values).toEqual({ 'counts.brown_planthopper': 12, 'counts.rice_leaf_folder': 3 })
    const one = await get(
      '/devices/trap-rot/readings?metric=count&species=rice_leaf_folder&aggregate=count&every=1d',
    )
    expect(one.points.map((p: { value: number }) => p.value)).toEqual([1])
    await fresh.endAsync()
  })
})
