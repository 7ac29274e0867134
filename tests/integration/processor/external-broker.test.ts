import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProvisionedDevice } from '../../../services/store/provisioning.ts'
import { type MosquittoHandle, startMosquitto } from '../../harness/mosquitto.ts'
import { eventually, type Stack, seedFarm, startStack } from '../../harness/stack.ts'

/**
 * The processor against an external broker (Mosquitto) instead of the embedded one:
 * same ingestion, and the same promise that nothing unacknowledged is lost.
 */
let stack: Stack
let mosquitto: MosquittoHandle
let device: ProvisionedDevice
let publisher: MqttClient

const reading = (seq: number) =>
  JSON.stringify({
    kind: 'pond_sensor',
    ts: Date.now() - 600_000 + seq,
    seq,
    battery_pct: 60,
    rssi_dbm: -90,
    ph: 7.8,
  })
const stored = (from: number, to: number) =>
  stack.count(
    `SELECT COUNT(ph) FROM pond_sensor WHERE device = '${device.id}' AND seq >= ${from} AND seq <= ${to}`,
  )

beforeAll(async () => {
  stack = await startStack({ processor: false })
  mosquitto = await startMosquitto()
  ;[device] = (await seedFarm(stack.store, 'farm-mosquitto', [
    { kind: 'pond_sensor', count: 1 },
  ])) as [ProvisionedDevice]
  publisher = await mqtt.connectAsync(mosquitto.url, { clientId: device.id, reconnectPeriod: 0 })
})

afterAll(async () => {
  await publisher?.endAsync()
  await stack?.processor?.stop(1000)
  if (stack) stack.processor = null
  await mosquitto?.stop()
  await stack?.stop()
})

describe('processor on an external Mosquitto broker', () => {
  it('stores every reading published through Mosquitto', async () => {
    await stack.startProcessor({ mqttUrl: mosquitto.url })
    for (let seq = 1; seq <= 200; seq++)
      await publisher.publishAsync(`devices/${device.id}/up`, reading(seq), { qos: 1 })
    expect(
      await eventually(
        () => stored(1, 200),
        (n) => n === 200,
        '200 readings',
      ),
    ).toBe(200)
  })

  it('gets unacknowledged readings again from Mosquitto after the processor died', async () => {
    await stack.processor?.stop()
    const broken = await stack.startProcessor({
      mqttUrl: mosquitto.url,
      influx: { ...stack.influx, url: 'http://127.0.0.1:9' },
    })
    for (let seq = 1001; seq <= 1050; seq++)
      await publisher.publishAsync(`devices/${device.id}/up`, reading(seq), { qos: 1 })
    await eventually(
      () => broken.stats().inflight,
      (n) => n === 50,
      '50 readings in flight',
    )
    await broken.stop(0)
    await stack.startProcessor({ mqttUrl: mosquitto.url })
    expect(
      await eventually(
        () => stored(1001, 1050),
        (n) => n === 50,
        'the 50 readings redelivered',
      ),
    ).toBe(50)
  })
})
