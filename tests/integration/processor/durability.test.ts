import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../../services/broker/index.ts'
import type { ProvisionedDevice } from '../../../services/store/provisioning.ts'
import { eventually, type Stack, seedFarm, startStack } from '../../harness/stack.ts'

/**
 * Nothing lost: a reading is acknowledged to the broker only once InfluxDB has it, so a
 * processor that dies with readings in flight gets them again; and the broker keeps a
 * stopped processor's queued readings across its own restart.
 */

let stack: Stack
let device: ProvisionedDevice
const FARM = 'farm-durable'

const reading = (seq: number) =>
  JSON.stringify({
    kind: 'pond_sensor',
    ts: Date.now() - 3_600_000 + seq * 1000,
    seq,
    battery_pct: 77,
    rssi_dbm: -88,
    dissolved_oxygen_mg_l: 6 + seq / 100,
  })

const storedSeqs = async (from: number, to: number) =>
  stack.count(
    `SELECT COUNT(dissolved_oxygen_mg_l) FROM pond_sensor WHERE device = '${device.id}' AND seq >= ${from} AND seq <= ${to}`,
  )

beforeAll(async () => {
  stack = await startStack({ processor: false })
  ;[device] = (await seedFarm(stack.store, FARM, [{ kind: 'pond_sensor', count: 1 }])) as [
    ProvisionedDevice,
  ]
})

afterAll(async () => {
  await stack?.stop()
})

describe('the processor acknowledges only what is durable', () => {
  it('keeps readings unacknowledged while InfluxDB is unreachable, and a new processor gets them all', async () => {
    // A processor whose InfluxDB is down: a port nothing listens on.
    const broken = await stack.startProcessor({
      influx: { ...stack.influx, url: 'http://127.0.0.1:9' },
      maxInflight: 100,
    })
    const client = await stack.connectDevice(device)
    for (let seq = 1; seq <= 30; seq++)
      await client.publishAsync(`devices/${device.id}/up`, reading(seq), { qos: 1 })
    await eventually(
      () => broken.stats().inflight,
      (n) => n === 30,
      '30 readings held unacknowledged',
    )
    expect(broken.stats().readingsStored).toBe(0)
    expect(broken.stats().writeRetries).toBeGreaterThan(0)
    // The processor dies with all 30 in flight.
    await broken.stop(0)
    expect(await storedSeqs(1, 30)).toBe(0)

    await stack.startProcessor()
    const n = await eventually(
      () => storedSeqs(1, 30),
      (c) => c === 30,
      'all 30 readings after the restart',
    )
    expect(n).toBe(30)
    client.end()
  })

  it('bounds the readings in flight: the window fills and no more are taken', async () => {
    await stack.processor?.stop()
    const slow = await stack.startProcessor({
      influx: { ...stack.influx, url: 'http://127.0.0.1:9' },
      maxInflight: 10,
    })
    const client = await stack.connectDevice(device)
    for (let seq = 101; seq <= 140; seq++)
      await client.publishAsync(`devices/${device.id}/up`, reading(seq), { qos: 1 })
    await eventually(
      () => slow.stats().received,
      (n) => n >= 10,
      'the window to fill',
    )
    await new Promise((r) => setTimeout(r, 500))
    expect(slow.stats().inflight).toBe(10)
    // One more may sit parsed in mqtt.js while its callback is held.
    expect(slow.stats().received).toBeLessThanOrEqual(11)
    await slow.stop(0)
    await stack.startProcessor()
    await eventually(
      () => storedSeqs(101, 140),
      (c) => c === 40,
      'all 40 readings once InfluxDB is back',
    )
    client.end()
  })
})

describe('the processor bounds the bytes it holds', () => {
  it('stops taking backlog batches once their payloads pass the byte limit', async () => {
    await stack.processor?.stop()
    const slow = await stack.startProcessor({
      influx: { ...stack.influx, url: 'http://127.0.0.1:9' },
      maxInflight: 1000,
      maxInflightBytes: 20_000,
    })
    const client = await stack.connectDevice(device)
    // Batches of 40 readings, ~3 KiB each.
    const batch = (k: number) =>
      JSON.stringify({
        kind: 'pond_sensor',
        readings: Array.from({ length: 40 }, (_, i) => ({
          ...JSON.parse(reading(5000 + k * 40 + i)),
          ts: Date.now() - 7_200_000 + (k * 40 + i) * 1000,
          dissolved_oxygen_mg_l: 6.5,
        })),
      })
    for (let k = 0; k < 20; k++)
      await client.publishAsync(`devices/${device.id}/up`, batch(k), { qos: 1 })
    await eventually(
      () => slow.stats().inflight,
      (n) => n > 0,
      'the first batches',
    )
    await new Promise((r) => setTimeout(r, 500))
    const held = slow.stats()
    expect(held.inflight).toBeLessThan(12)
    expect(held.inflightBytes).toBeLessThan(20_000 + 4_000)
    await slow.stop(0)
    await stack.startProcessor()
    await eventually(
      () => storedSeqs(5000, 5799),
      (c) => c === 800,
      'all 800 readings once InfluxDB is back',
    )
    client.end()
  })
})

describe('the broker keeps queued QoS 1 readings across its own restart', () => {
  it('delivers readings published while the processor was away, after a broker restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tani-broker-'))
    const persistenceDir = join(dir, 'broker')
    await stack.processor?.stop()
    stack.processor = null
    try {
      // A broker of our own, so it can be restarted on its persistence folder.
      let broker = await startBroker(
        { host: '127.0.0.1', port: 0, wsPort: null, persistenceDir },
        stack,
      )
      const url = () => `mqtt://127.0.0.1:${broker.port}`
      // The processor's persistent session exists on this broker; then it goes away.
      let p = await stack.startProcessor({ mqttUrl: url() })
      await p.stop()
      stack.processor = null
      const mqtt = (await import('mqtt')).default
      const client = await mqtt.connectAsync(url(), {
        clientId: device.id,
        username: device.id,
        password: device.secret,
        reconnectPeriod: 0,
      })
      for (let seq = 201; seq <= 220; seq++)
        await client.publishAsync(`devices/${device.id}/up`, reading(seq), { qos: 1 })
      await client.endAsync()
      await broker.stop()

      broker = await startBroker(
        { host: '127.0.0.1', port: 0, wsPort: null, persistenceDir },
        stack,
      )
      p = await stack.startProcessor({ mqttUrl: url() })
      await eventually(
        () => storedSeqs(201, 220),
        (c) => c === 20,
        'the 20 queued readings',
      )
      await p.stop()
      stack.processor = null
      await broker.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('the processor rides out a broker restart', () => {
  it('reconnects to a restarted broker on the same port, resubscribes and goes on storing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tani-broker-'))
    const persistenceDir = join(dir, 'broker')
    await stack.processor?.stop()
    stack.processor = null
    try {
      let broker = await startBroker(
        { host: '127.0.0.1', port: 0, wsPort: null, persistenceDir },
        stack,
      )
      const port = broker.port
      const url = `mqtt://127.0.0.1:${port}`
      const p = await stack.startProcessor({ mqttUrl: url })
      await broker.stop()
      await eventually(
        () => p.stats().connected,
        (c) => !c,
        'the processor to notice',
      )
      broker = await startBroker({ host: '127.0.0.1', port, wsPort: null, persistenceDir }, stack)
      await eventually(
        () => p.stats().connected,
        (c) => c,
        'the processor to reconnect',
      )
      const mqtt = (await import('mqtt')).default
      const client = await mqtt.connectAsync(url, {
        clientId: device.id,
        username: device.id,
        password: device.secret,
        reconnectPeriod: 0,
      })
      for (let seq = 301; seq <= 310; seq++)
        await client.publishAsync(`devices/${device.id}/up`, reading(seq), { qos: 1 })
      await client.endAsync()
      await eventually(
        () => storedSeqs(301, 310),
        (c) => c === 10,
        'the 10 readings after the restart',
      )
      await p.stop()
      stack.processor = null
      await broker.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
