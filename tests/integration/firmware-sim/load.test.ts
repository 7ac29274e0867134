import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLoad } from '../../../firmware-sim/load.ts'
import {
  type ProvisionedDevice,
  rotateServiceAccount,
} from '../../../services/store/provisioning.ts'
import { eventually, type Stack, seedFarm, startStack } from '../../harness/stack.ts'

/** Load mode against the real broker and processor: what it reports is what InfluxDB holds. */
let stack: Stack
let devices: ProvisionedDevice[]

beforeAll(async () => {
  stack = await startStack()
  devices = await seedFarm(stack.store, 'farm-load', [
    { kind: 'pond_sensor', count: 40 },
    { kind: 'env_sensor', count: 40 },
    { kind: 'pest_trap', count: 20 },
    { kind: 'irrigation_controller', count: 20 },
  ])
})
afterAll(async () => {
  await stack?.stop()
})

describe('load mode', () => {
  it('publishes at the target rate over one connection per device, and every acknowledged reading is stored', async () => {
    const progress: number[] = []
    const load = startLoad({
      mqttUrl: stack.mqttUrl,
      devices,
      ratePerSecond: 1500,
      durationMs: 3000,
      via: { perDevice: true },
      onProgress: (s) => progress.push(s.sent),
    })
    const result = await load.done
    expect(result.failed).toBe(0)
    expect(result.acknowledged).toBe(result.sent)
    expect(result.sent).toBeGreaterThan(3000)
    expect(result.sent).toBeLessThanOrEqual(4500)
    expect(progress.length).toBeGreaterThanOrEqual(2)
    const stored = await eventually(
      () => stack.count(`SELECT COUNT(battery_pct) FROM device_health WHERE farm = 'farm-load'`),
      (n) => n >= result.acknowledged,
      'every reading in InfluxDB',
      30_000,
    )
    expect(stored).toBe(result.acknowledged)
    expect(await stack.store.countQuarantine()).toEqual({})
  })

  it('publishes for all devices over a few gateway connections', async () => {
    const password = await rotateServiceAccount(stack.store, 'load-gateway', 'gateway')
    const before = await stack.count(
      `SELECT COUNT(battery_pct) FROM device_health WHERE farm = 'farm-load'`,
    )
    const load = startLoad({
      mqttUrl: stack.mqttUrl,
      devices: devices.map(({ id, kind }) => ({ id, kind })),
      ratePerSecond: 2000,
      durationMs: 2000,
      via: { gateway: { username: 'load-gateway', password }, connections: 3 },
    })
    const result = await load.done
    expect(result.failed).toBe(0)
    expect(result.acknowledged).toBeGreaterThan(3000)
    const stored = await eventually(
      () => stack.count(`SELECT COUNT(battery_pct) FROM device_health WHERE farm = 'farm-load'`),
      (n) => n - before >= result.acknowledged,
      'every gateway reading in InfluxDB',
      30_000,
    )
    expect(stored - before).toBe(result.acknowledged)
  })

  it('stamps readings on a device clock of its own: days of history in seconds', async () => {
    const password = await rotateServiceAccount(stack.store, 'load-gateway', 'gateway')
    const hour = 3_600_000
    const startMs = Date.now() - 10 * 24 * hour
    const load = startLoad({
      mqttUrl: stack.mqttUrl,
      devices: devices.map(({ id, kind }) => ({ id, kind })),
      ratePerSecond: 1000,
      durationMs: 2000,
      via: { gateway: { username: 'load-gateway', password }, connections: 2 },
      // An hour of device time per real second.
      clock: { startMs, speed: 3600 },
    })
    const result = await load.done
    expect(result.failed).toBe(0)
    expect(result.acknowledged).toBeGreaterThan(1500)
    const between = (from: number, to: number) =>
      stack.count(
        `SELECT COUNT(battery_pct) FROM device_health WHERE farm = 'farm-load' AND time >= ${from}ms AND time < ${to}ms`,
      )
    const stored = await eventually(
      () => between(startMs, startMs + 3 * hour),
      (n) => n >= result.acknowledged,
      "every reading in InfluxDB, in the clock's first hours",
      30_000,
    )
    expect(stored).toBe(result.acknowledged)
    // Spread over the two hours the clock ran, not bunched at its start.
    expect(await between(startMs, startMs + hour)).toBeGreaterThan(500)
    expect(await between(startMs + hour, startMs + 3 * hour)).toBeGreaterThan(500)
  })

  it('refuses a clock that does not run', () => {
    expect(() =>
      startLoad({
        mqttUrl: stack.mqttUrl,
        devices: [],
        ratePerSecond: 1,
        durationMs: 1,
        via: { perDevice: true },
        clock: { startMs: Date.now(), speed: 0 },
      }),
    ).toThrow(/speed above 0/)
  })
})
