import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chirpstackUplink, ttsUplink } from '../../../firmware-sim/lorawan.ts'
import type { InfluxSeries } from '../../../services/influx/client.ts'
import { type ProvisionedDevice, registerDevices } from '../../../services/store/provisioning.ts'
import { eventually, type Stack, seedFarm, startStack } from '../../harness/stack.ts'

/**
 * LoRaWAN devices behind a network server: ChirpStack and The Things Stack uplinks,
 * built by the simulator (firmware-sim/lorawan.ts), through the real broker (with a
 * `network-server` service account) and processor into a real influxd.
 */

let stack: Stack
let ns: MqttClient
let pond: ProvisionedDevice
let env: ProvisionedDevice
let trap: ProvisionedDevice
const FARM = 'farm-lora'
const APP = '17c82e96-be03-4f38-aef3-f83d48582d97'

const rows = (series: InfluxSeries[]) =>
  series.flatMap((s) =>
    s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i] ?? null]))),
  )
const select = (q: string, what: string, n = 1) =>
  eventually(
    async () => rows(await stack.query(q)),
    (r) => r.length >= n,
    what,
  )

beforeAll(async () => {
  stack = await startStack()
  await seedFarm(stack.store, FARM, [])
  const register = async (
    kind: ProvisionedDevice['kind'],
    id: string,
    devEui: string,
    site: string,
  ) =>
    (
      await registerDevices(stack.store, {
        farmId: FARM,
        siteId: `${FARM}-${site}`,
        kind,
        ids: [id],
        devEui,
      })
    )[0] as ProvisionedDevice
  pond = await register('pond_sensor', 'pond-lora', 'A84041000181C061', 'pond-1')
  env = await register('env_sensor', 'env-lora', '70b3d57ed005e1a2', 'field-1')
  trap = await register('pest_trap', 'trap-lora', '0004a30b001c0530', 'field-1')
  ns = await stack.connectService('chirpstack', 'network-server')
})

afterAll(async () => {
  await stack?.stop()
})

describe('LoRaWAN uplinks from a network server', () => {
  it('stores a ChirpStack uplink: seq = fCnt, time = the event time, RSSI of the gateway', async () => {
    const ts = Date.parse('2026-11-22T21:40:00.123Z')
    const { topic, payload } = chirpstackUplink(
      { devEui: pond.devEui as string, name: 'Pond sensor', applicationId: APP },
      {
        kind: 'pond_sensor',
        ts,
        seq: 0,
        battery_pct: 86,
        rssi_dbm: 0,
        dissolved_oxygen_mg_l: 3.4,
        ph: 7.6,
        water_temp_c: 28.9,
        turbidity_ntu: 38,
      },
      { fCnt: 812, rssi: -97, snr: 6.5, withObject: false },
    )
    await ns.publishAsync(topic, payload, { qos: 1 })
    const [row] = await select(
      `SELECT * FROM pond_sensor WHERE device = '${pond.id}'`,
      'the ChirpStack reading',
    )
    expect(row).toEqual({
      time: ts,
      farm: FARM,
      site: `${FARM}-pond-1`,
      device: pond.id,
      seq: 812,
      dissolved_oxygen_mg_l: 3.4,
      ph: 7.6,
      water_temp_c: 28.9,
      turbidity_ntu: 38,
    })
    const [health] = await select(
      `SELECT battery_pct, rssi_dbm, seq FROM device_health WHERE device = '${pond.id}'`,
      'the device health point',
    )
    expect(health).toEqual({ time: ts, battery_pct: 86, rssi_dbm: -97, seq: 812 })
  })

  it('stores a store-and-forward The Things Stack uplink with the frame time (to the second)', async () => {
    const ts = Date.parse('2026-11-22T20:00:05.900Z')
    const { topic, payload } = ttsUplink(
      {
        devEui: env.devEui as string,
        deviceId: 'env-node-7',
        applicationId: 'tani-farm',
        tenantId: 'ttn',
      },
      {
        kind: 'env_sensor',
        ts,
        seq: 0,
        battery_pct: 55,
        rssi_dbm: 0,
        air_temp_c: 31.4,
        rel_humidity_pct: 78.5,
        rainfall_mm: 2.5,
      },
      {
        fCnt: 0,
        rssi: -112,
        snr: -4.25,
        withObject: false,
        timestampInFrame: true,
        receivedAt: ts + 3_600_000,
      },
    )
    expect(topic).toBe('v3/tani-farm@ttn/devices/env-node-7/up')
    await ns.publishAsync(topic, payload, { qos: 1 })
    const [row] = await select(
      `SELECT * FROM env_sensor WHERE device = '${env.id}'`,
      'the TTS reading',
    )
    expect(row).toEqual({
      time: Date.parse('2026-11-22T20:00:05Z'),
      farm: FARM,
      site: `${FARM}-field-1`,
      device: env.id,
      seq: 0,
      air_temp_c: 31.4,
      rel_humidity_pct: 78.5,
      rainfall_mm: 2.5,
    })
  })

  it('takes a payload the network server decoded (a pest trap through ChirpStack)', async () => {
    const ts = Date.parse('2026-11-22T14:00:00Z')
    const { topic, payload } = chirpstackUplink(
      { devEui: trap.devEui as string, name: 'Light trap', applicationId: APP },
      {
        kind: 'pest_trap',
        ts,
        seq: 0,
        battery_pct: 90,
        rssi_dbm: 0,
        trap_id: 'T-3',
        attractant: 'light_uv',
        interval_s: 3600,
        counts: { brown_planthopper: 412, rice_bug: 7 },
      },
      { fCnt: 33, rssi: -88, snr: 9, withObject: true },
    )
    await ns.publishAsync(topic, payload, { qos: 1 })
    const points = await select(
      `SELECT "count", interval_s, seq FROM pest_trap WHERE device = '${trap.id}' GROUP BY species, trap, attractant`,
      'both species of the trap reading',
      2,
    )
    expect(points).toEqual([
      { time: ts, count: 412, interval_s: 3600, seq: 33 },
      { time: ts, count: 7, interval_s: 3600, seq: 33 },
    ])
  })

  it('quarantines an uplink from a DevEUI no device has', async () => {
    const { topic, payload } = chirpstackUplink(
      { devEui: 'ffffffffffffff01', name: 'stranger', applicationId: APP },
      { kind: 'pond_sensor', ts: Date.now(), seq: 0, battery_pct: 50, rssi_dbm: 0, ph: 7 },
      { fCnt: 1, rssi: -100, snr: 1, withObject: false },
    )
    await ns.publishAsync(topic, payload, { qos: 1 })
    const [entry] = await eventually(
      () => stack.store.listQuarantine({ reason: 'unknown_dev_eui' }),
      (e) => e.length > 0,
      'the quarantined uplink',
    )
    expect(entry).toMatchObject({ topic, deviceId: null, reason: 'unknown_dev_eui' })
    expect(entry?.detail).toContain('ffffffffffffff01')
    expect(entry?.payload.toString()).toBe(payload)
  })

  it('refuses a device publishing on a network-server topic, and stores nothing of it', async () => {
    const client = await stack.connectDevice(pond)
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    const { topic, payload } = chirpstackUplink(
      { devEui: pond.devEui as string, name: 'forged', applicationId: APP },
      { kind: 'pond_sensor', ts: Date.now(), seq: 0, battery_pct: 50, rssi_dbm: 0, ph: 6.66 },
      { fCnt: 999_999, rssi: -50, snr: 1, withObject: false },
    )
    client.publish(topic, payload, { qos: 1 })
    await closed
    await new Promise((r) => setTimeout(r, 300))
    expect(await stack.count(`SELECT COUNT(ph) FROM pond_sensor WHERE seq = 999999`)).toBe(0)
    const quarantined = await stack.store.listQuarantine({})
    expect(quarantined.filter((e) => e.payload.toString() === payload)).toEqual([])
  })
})
