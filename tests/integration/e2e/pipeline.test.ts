import type { ErrorWithSubackPacket, MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulation } from '../../../firmware-sim/simulator.ts'
import type { ProvisionedDevice } from '../../../services/store/provisioning.ts'
import { type AlertEvent, AlertEvent as AlertEventSchema, Rule } from '../../../shared/index.ts'
import {
  eventually,
  lowOxygenRule,
  rawConnack,
  type Stack,
  seedFarm,
  startStack,
} from '../../harness/stack.ts'

/**
 * The walking skeleton end to end: simulated devices → embedded broker (auth, ACL) →
 * processor → real influxd, and an alert event on alerts/{farmId}.
 */

let stack: Stack
let devices: ProvisionedDevice[]
let alertsClient: MqttClient
const alertEvents: AlertEvent[] = []
const FARM = 'farm-e2e'

const byKind = (kind: string) => devices.filter((d) => d.kind === kind)
const pond = () => byKind('pond_sensor')[0] as ProvisionedDevice

beforeAll(async () => {
  stack = await startStack()
  devices = await seedFarm(stack.store, FARM, [
    { kind: 'pond_sensor', count: 2 },
    { kind: 'env_sensor', count: 1 },
    { kind: 'pest_trap', count: 1 },
    { kind: 'irrigation_controller', count: 1 },
  ])
  await stack.store.putRule(Rule.parse(lowOxygenRule))
  await stack.processor?.reloadRules()
  // The notifier's view: a service account that may subscribe to alerts.
  const { rotateServiceAccount } = await import('../../../services/store/provisioning.ts')
  const secret = await rotateServiceAccount(stack.store, 'notifier', 'notifier')
  alertsClient = await stack.connect({
    clientId: 'notifier',
    username: 'notifier',
    password: secret,
  })
  alertsClient.on('message', (_topic, payload) =>
    alertEvents.push(AlertEventSchema.parse(JSON.parse(payload.toString()))),
  )
  await alertsClient.subscribeAsync(`alerts/${FARM}`, { qos: 1 })
})

afterAll(async () => {
  await stack?.stop()
})

describe('a reading travels broker → processor → InfluxDB → alert', () => {
  it('stores every simulated reading of every kind, counted in InfluxDB', async () => {
    const sim = startSimulation({
      mqttUrl: stack.mqttUrl,
      devices: devices.map((d) => ({ id: d.id, kind: d.kind, secret: d.secret })),
      intervalMs: 100,
      seed: 7,
    })
    await sim.ready
    await eventually(
      () => sim.stats().acknowledged,
      (n) => n >= 40,
      '40 acknowledged readings',
    )
    await sim.stop()
    const stats = sim.stats()
    expect(stats.refused).toBe(0)
    expect(stats.failed).toBe(0)
    // One device_health point per reading, whatever the kind.
    const stored = await eventually(
      () => stack.count(`SELECT COUNT(battery_pct) FROM device_health WHERE farm = '${FARM}'`),
      (n) => n >= stats.acknowledged,
      'every acknowledged reading in InfluxDB',
    )
    expect(stored).toBe(stats.acknowledged)
    for (const m of ['pond_sensor', 'env_sensor', 'pest_trap', 'irrigation_controller']) {
      expect(
        await stack.count(`SELECT COUNT(seq) FROM ${m} WHERE farm = '${FARM}'`),
      ).toBeGreaterThan(0)
    }
    // Nothing the simulator sent was quarantined.
    expect(await stack.store.countQuarantine()).toEqual({})
  })

  it('writes the measurement, tags, fields and device timestamp of a reading exactly', async () => {
    const d = pond()
    const client = await stack.connectDevice(d, { clean: false })
    const ts = Date.parse('2026-11-20T22:00:00.123Z')
    const reading = {
      kind: 'pond_sensor',
      ts: new Date(ts).toISOString(),
      seq: 100_001,
      battery_pct: 81.5,
      rssi_dbm: -97,
      dissolved_oxygen_mg_l: 5.25,
      ph: 7.9,
      water_temp_c: 29.5,
      salinity_ppt: 15,
      tan_mg_l: 0.4,
      turbidity_ntu: 35,
    }
    await client.publishAsync(`devices/${d.id}/up`, JSON.stringify(reading), { qos: 1 })
    const series = await eventually(
      () =>
        stack.query(`SELECT * FROM pond_sensor WHERE device = $device AND seq = 100001`, {
          device: d.id,
        }),
      (s) => s.length > 0,
      'the reading in InfluxDB',
    )
    const s = series[0]
    expect(s?.name).toBe('pond_sensor')
    const row = Object.fromEntries(s?.columns.map((c, i) => [c, s.values[0]?.[i]]) ?? [])
    expect(row).toEqual({
      time: ts,
      farm: FARM,
      site: `${FARM}-pond-1`,
      device: d.id,
      seq: 100001,
      dissolved_oxygen_mg_l: 5.25,
      ph: 7.9,
      water_temp_c: 29.5,
      salinity_ppt: 15,
      tan_mg_l: 0.4,
      turbidity_ntu: 35,
    })
    client.end()
  })

  it('raises exactly one alert event for a low-oxygen episode, and resolves it', async () => {
    const d = pond()
    const client = await stack.connectDevice(d, { clean: false })
    // After the simulator's readings in event time: rules skip readings older than the last seen.
    const t0 = Date.now() + 1000
    const send = (seq: number, offsetMs: number, dissolved_oxygen_mg_l: number) =>
      client.publishAsync(
        `devices/${d.id}/up`,
        JSON.stringify({
          kind: 'pond_sensor',
          ts: t0 + offsetMs,
          seq,
          battery_pct: 80,
          rssi_dbm: -90,
          dissolved_oxygen_mg_l,
        }),
        { qos: 1 },
      )
    await send(200_001, 0, 2.4)
    await send(200_002, 10_000, 2.2)
    await send(200_002, 10_000, 2.2) // a duplicate delivery changes nothing
    await send(200_003, 20_000, 3.5) // above the line but below `clear`: still firing
    await eventually(
      () => alertEvents.length,
      (n) => n >= 1,
      'the firing alert event',
    )
    await new Promise((r) => setTimeout(r, 500))
    const firing = alertEvents.filter((e) => e.device_id === d.id)
    expect(firing).toHaveLength(1)
    expect(firing[0]).toMatchObject({
      state: 'firing',
      rule_id: 'do-critical',
      severity: 'critical',
      farm_id: FARM,
      site_id: `${FARM}-pond-1`,
      device_kind: 'pond_sensor',
      metric: 'dissolved_oxygen_mg_l',
      value: 2.4,
      threshold: 3,
      reading_ts: new Date(t0).toISOString(),
      late: false,
    })
    expect(firing[0]?.message).toContain('2.4 mg/L')

    await send(200_004, 30_000, 6.1)
    const events = await eventually(
      () => alertEvents.filter((e) => e.device_id === d.id),
      (e) => e.length >= 2,
      'the resolved alert event',
    )
    expect(events.map((e) => e.state)).toEqual(['firing', 'resolved'])
    expect(events[1]?.alert_id).toBe(events[0]?.alert_id)
    // Both are kept in InfluxDB too, at their readings' times (for Grafana annotations).
    const recorded = await eventually(
      () =>
        stack.query(`SELECT alert_id, "state", value FROM alert_events WHERE device = $d`, {
          d: d.id,
        }),
      (s) => (s[0]?.values.length ?? 0) >= 2,
      'the alert events in InfluxDB',
    )
    expect(recorded[0]?.values.map((v) => [v[0], v[1], v[2]])).toEqual([
      [t0, events[0]?.alert_id, 'firing'],
      [t0 + 30_000, events[0]?.alert_id, 'resolved'],
    ])
    client.end()
  })

  it('raises a rate-of-change alert when oxygen falls fast, from readings in the device time', async () => {
    await stack.store.putRule(
      Rule.parse({
        id: 'do-falling',
        name: 'DO falling fast',
        scope: { kind: 'pond_sensor' },
        severity: 'warning',
        message: 'Oxygen falling {value} mg/L/h',
        condition: {
          type: 'rate_of_change',
          metric: 'dissolved_oxygen_mg_l',
          direction: 'falling',
          per_hour: 0.5,
          window: '2h',
        },
      }),
    )
    await stack.processor?.reloadRules()
    const d = byKind('pond_sensor')[1] as ProvisionedDevice
    const client = await stack.connectDevice(d)
    // A night decline recorded every 30 min, 0.4 then 0.8 mg/L/h, sent as one backlog.
    const t0 = Date.now() - 3 * 3_600_000
    const levels = [6.4, 6.2, 6.0, 5.6, 5.2, 4.8]
    await client.publishAsync(
      `devices/${d.id}/up`,
      JSON.stringify({
        kind: 'pond_sensor',
        readings: levels.map((v, i) => ({
          ts: t0 + i * 1_800_000,
          seq: 500_000 + i,
          battery_pct: 70,
          rssi_dbm: -85,
          dissolved_oxygen_mg_l: v,
        })),
      }),
      { qos: 1 },
    )
    const [ev] = await eventually(
      () => alertEvents.filter((e) => e.rule_id === 'do-falling'),
      (e) => e.length > 0,
      'the rate-of-change alert',
    )
    // The backlog is hours old when it arrives: the alert says so, for a quiet notification.
    expect(ev).toMatchObject({
      state: 'firing',
      device_id: d.id,
      op: 'below',
      threshold: -0.5,
      late: true,
    })
    expect(ev?.value).toBeLessThanOrEqual(-0.5)
    // Disable it again, so the other tests see only their own rules.
    const [current] = (await stack.store.listRules()).filter((r) => r.id === 'do-falling')
    await stack.store.putRule({ ...(current as Rule), enabled: false, version: 2 })
    await stack.processor?.reloadRules()
    client.end()
  })

  it('quarantines a malformed payload with its reason and keeps going', async () => {
    const d = byKind('pond_sensor')[1] as ProvisionedDevice
    const client = await stack.connectDevice(d)
    await client.publishAsync(`devices/${d.id}/up`, '{"kind":"pond_sensor", "ts": ', { qos: 1 })
    await client.publishAsync(
      `devices/${d.id}/up`,
      JSON.stringify({
        kind: 'pond_sensor',
        ts: Date.now(),
        seq: 1,
        battery_pct: 50,
        rssi_dbm: -80,
        dissolved_oxygen_mg_l: 80,
      }),
      { qos: 1 },
    )
    await client.publishAsync(
      `devices/${d.id}/up`,
      JSON.stringify({ kind: 'pest_trap', ts: Date.now(), seq: 2, battery_pct: 50, rssi_dbm: -80 }),
      { qos: 1 },
    )
    await client.publishAsync(
      `devices/${d.id}/up`,
      JSON.stringify({
        kind: 'pond_sensor',
        ts: Date.now(),
        seq: 300_003,
        battery_pct: 50,
        rssi_dbm: -80,
        ph: 8.1,
      }),
      { qos: 1 },
    )
    await eventually(
      () =>
        stack.count(`SELECT COUNT(ph) FROM pond_sensor WHERE device = '${d.id}' AND seq = 300003`),
      (n) => n === 1,
      'the good reading after the bad ones',
    )
    const entries = await stack.store.listQuarantine({})
    const mine = entries.filter((e) => e.deviceId === d.id).reverse()
    expect(mine.map((e) => e.reason)).toEqual(['not_json', 'invalid', 'invalid'])
    expect(mine[0]?.payload.toString()).toBe('{"kind":"pond_sensor", "ts": ')
    expect(mine[1]?.detail).toContain('dissolved_oxygen_mg_l')
    expect(mine[2]?.detail).toContain('trap_id')
    client.end()
  })
})

describe('device status and transports', () => {
  it('records device status, including the last will when a device drops off', async () => {
    const d = byKind('env_sensor')[0] as ProvisionedDevice
    const client = await stack.connect({
      clientId: d.id,
      username: d.id,
      password: d.secret,
      will: {
        topic: `devices/${d.id}/status`,
        payload: Buffer.from(JSON.stringify({ online: false, reason: 'connection lost' })),
        qos: 1,
        retain: true,
      },
    })
    await client.publishAsync(
      `devices/${d.id}/status`,
      JSON.stringify({ online: true, firmware: '1.2.3' }),
      {
        qos: 1,
        retain: true,
      },
    )
    await new Promise((r) => setTimeout(r, 50))
    // The connection drops without a DISCONNECT: the broker publishes the will.
    client.stream.destroy()
    const rows = await eventually(
      async () =>
        (
          await stack.query(
            `SELECT online, firmware, reason FROM device_status WHERE device = $d`,
            { d: d.id },
          )
        )[0]?.values ?? [],
      (v) => v.some((row) => row[3] === 'connection lost'),
      'the last will in device_status',
    )
    expect(rows.map((r) => r.slice(1))).toContainEqual([1, '1.2.3', null])
    expect(rows.at(-1)?.slice(1)).toEqual([0, null, 'connection lost'])
  })

  it('takes readings over MQTT on WebSocket', async () => {
    const d = byKind('irrigation_controller')[0] as ProvisionedDevice
    const mqtt = (await import('mqtt')).default
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${stack.broker.wsPort}/mqtt`, {
      clientId: d.id,
      username: d.id,
      password: d.secret,
      reconnectPeriod: 0,
    })
    await client.publishAsync(
      `devices/${d.id}/up`,
      JSON.stringify({
        kind: 'irrigation_controller',
        ts: Date.now(),
        seq: 400_001,
        battery_pct: 93,
        rssi_dbm: -67,
        flow_l_min: 12.5,
        pressure_bar: 1.2,
        valve: 'open',
        volume_total_l: 1000,
      }),
      { qos: 1 },
    )
    await eventually(
      () =>
        stack.count(
          `SELECT COUNT(flow_l_min) FROM irrigation_controller WHERE device = '${d.id}' AND seq = 400001`,
        ),
      (n) => n === 1,
      'the WebSocket reading in InfluxDB',
    )
    await client.endAsync()
  })
})

describe('the broker keeps devices to their own credentials and topics', () => {
  it('refuses a device with a wrong password', async () => {
    const d = pond()
    await expect(
      stack.connect({ clientId: d.id, username: d.id, password: 'not-the-secret' }),
    ).rejects.toThrow(/Bad username or password/i)
  })

  it('refuses an unknown device', async () => {
    await expect(
      stack.connect({ clientId: 'ghost', username: 'ghost', password: 'x' }),
    ).rejects.toThrow(/Bad username or password/i)
  })

  it('refuses client ids with wildcards, another device id, or empty with a persistent session', async () => {
    const [d, other] = byKind('pond_sensor') as [ProvisionedDevice, ProvisionedDevice]
    const creds = { username: d.id, password: d.secret }
    const IDENTIFIER_REJECTED = 2
    expect(await rawConnack(stack.broker.port, { clientId: 'pond+1', clean: true, ...creds })).toBe(
      IDENTIFIER_REJECTED,
    )
    expect(await rawConnack(stack.broker.port, { clientId: 'a/b', clean: true, ...creds })).toBe(
      IDENTIFIER_REJECTED,
    )
    expect(await rawConnack(stack.broker.port, { clientId: other.id, clean: true, ...creds })).toBe(
      IDENTIFIER_REJECTED,
    )
    // [MQTT-3.1.3-8]
    expect(await rawConnack(stack.broker.port, { clientId: '', clean: false, ...creds })).toBe(
      IDENTIFIER_REJECTED,
    )
    expect(await rawConnack(stack.broker.port, { clientId: d.id, clean: false, ...creds })).toBe(0)
    // Usernames with wildcards never reach the registry.
    expect(
      await rawConnack(stack.broker.port, {
        clientId: 'x',
        clean: true,
        username: 'devices/#',
        password: 'x',
      }),
    ).toBe(4)
  })

  it('refuses a device publishing under another device topic, and stores nothing of it', async () => {
    const [a, b] = byKind('pond_sensor') as [ProvisionedDevice, ProvisionedDevice]
    const client = await stack.connectDevice(a)
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    client.publish(
      `devices/${b.id}/up`,
      JSON.stringify({
        kind: 'pond_sensor',
        ts: Date.now(),
        seq: 999_999,
        battery_pct: 50,
        rssi_dbm: -80,
        ph: 6.66,
      }),
      { qos: 1 },
    )
    // aedes answers a refused QoS 1 publish by closing the connection (MQTT 3.1.1 has no negative PUBACK).
    await closed
    await new Promise((r) => setTimeout(r, 300))
    expect(await stack.count(`SELECT COUNT(ph) FROM pond_sensor WHERE seq = 999999`)).toBe(0)
  })

  it('answers a subscription to another device topic with SUBACK 0x80 and keeps the connection', async () => {
    const [a, b] = byKind('pond_sensor') as [ProvisionedDevice, ProvisionedDevice]
    const client = await stack.connectDevice(a)
    // mqtt.js reports any refused filter as an error carrying the SUBACK.
    const suback = await client
      .subscribeAsync([`devices/${b.id}/up`, 'devices/+/up', '#', `devices/${a.id}/down`], {
        qos: 1,
      })
      .then(
        () => null,
        (err: ErrorWithSubackPacket) => err.packet,
      )
    expect(suback?.granted).toEqual([128, 128, 128, 1])
    expect(client.connected).toBe(true)
    client.end()
  })
})
