import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProcessorThread } from '../../../services/processor/thread.ts'
import type { ProvisionedDevice } from '../../../services/store/provisioning.ts'
import { Rule } from '../../../shared/index.ts'
import { eventually, lowOxygenRule, type Stack, seedFarm, startStack } from '../../harness/stack.ts'

/**
 * The processor in a worker thread (the single-process default with the embedded
 * broker): the same ingestion and alerts, its own store connection, its figures reported
 * to the main thread, and a clean stop.
 */
let stack: Stack
let device: ProvisionedDevice

beforeAll(async () => {
  stack = await startStack({ processor: false })
  ;[device] = (await seedFarm(stack.store, 'farm-thread', [{ kind: 'pond_sensor', count: 1 }])) as [
    ProvisionedDevice,
  ]
  await stack.store.putRule(Rule.parse(lowOxygenRule))
})

afterAll(async () => {
  await stack?.stop()
})

const config = () => ({
  mqttUrl: stack.mqttUrl,
  username: 'processor',
  password: stack.processorSecret,
  influx: stack.influx,
  maxInflight: 500,
  flushMs: 20,
  lateAfterMs: 15 * 60_000,
  rulesRefreshMs: 200,
})
const opts = () => ({ dbPath: join(stack.dir, 'tani.db'), logLevel: 'silent' })

describe('processor thread', () => {
  it('stores readings, raises alerts through the store it opens itself, and reports its figures', async () => {
    const processor = await startProcessorThread(config(), opts(), stack.log)
    try {
      expect(processor.stats().connected).toBe(true)
      const alerts = await stack.connectService('thread-watcher', 'notifier')
      const events: { state: string; device_id: string }[] = []
      alerts.on('message', (_t, payload) => events.push(JSON.parse(payload.toString())))
      await alerts.subscribeAsync('alerts/farm-thread', { qos: 1 })
      const publisher = await stack.connectDevice(device)
      const ts = Date.now() - 60_000
      for (let seq = 1; seq <= 20; seq++)
        await publisher.publishAsync(
          `devices/${device.id}/up`,
          JSON.stringify({
            kind: 'pond_sensor',
            ts: ts + seq,
            seq,
            battery_pct: 80,
            rssi_dbm: -70,
            dissolved_oxygen_mg_l: seq === 20 ? 2.1 : 6.5,
          }),
          { qos: 1 },
        )
      await eventually(
        () =>
          stack.count(
            `SELECT COUNT(dissolved_oxygen_mg_l) FROM pond_sensor WHERE device = '${device.id}'`,
          ),
        (n) => n === 20,
        '20 readings in InfluxDB',
      )
      await eventually(
        () => events.filter((e) => e.state === 'firing' && e.device_id === device.id).length,
        (n) => n === 1,
        'the firing event on alerts/farm-thread',
      )
      expect((await stack.store.openAlerts()).map((a) => a.deviceId)).toEqual([device.id])
      // Figures come from the worker a few times a second.
      await eventually(
        () => processor.stats().readingsStored,
        (n) => n === 20,
        'the thread to report 20 readings stored',
      )
      expect(await processor.heapUsedAfterGc()).toBeGreaterThan(1_000_000)
      await processor.reloadRules()
    } finally {
      await processor.stop(2000)
    }
    // Stopped: its session is gone from the broker.
    await eventually(
      () => stack.broker.stats().connectedClients,
      (n) => n <= 2,
      'the processor to disconnect',
    )
  })

  it('fails to start with the reason when the broker refuses it', async () => {
    await expect(
      startProcessorThread({ ...config(), password: 'not-the-secret-000' }, opts(), stack.log),
    ).rejects.toThrow(/Bad username or password/)
  })
})
