import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerDevices } from '../../../services/store/provisioning.ts'
import { type AlertEvent, AlertEvent as AlertEventSchema } from '../../../shared/index.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'
import { eventually, lowOxygenRule, type Stack, startStack } from '../../harness/stack.ts'

/**
 * Rules changed over HTTP reach the running processor without a restart, and a
 * cooperative's rule watches only its own farms: farm-x (another cooperative) has a pond
 * with the same low oxygen and gets no alert from mekong's rule.
 */
let stack: Stack
let w: ApiWorld
const devices: Record<string, MqttClient> = {}
const heard: AlertEvent[] = []
let seq = 1

const lowOxygen = (id: string) =>
  devices[id]?.publishAsync(
    `devices/${id}/up`,
    JSON.stringify({
      kind: 'pond_sensor',
      ts: Date.now(),
      seq: seq++,
      battery_pct: 80,
      rssi_dbm: -90,
      dissolved_oxygen_mg_l: 2,
    }),
    { qos: 1 },
  )
const firing = (id: string) => heard.filter((e) => e.device_id === id && e.state === 'firing')

beforeAll(async () => {
  stack = await startStack()
  w = await startApiWorld({ store: stack.store, influx: stack.influx })
  for (const [farmId, id] of [
    ['farm-a', 'pond-a-1'],
    ['farm-a', 'pond-a-2'],
    ['farm-x', 'pond-x-1'],
  ] as const) {
    const [d] = await registerDevices(stack.store, { farmId, kind: 'pond_sensor', ids: [id] })
    if (d) devices[id] = await stack.connectDevice(d)
  }
  const notifier = await stack.connectService('notifier-rules', 'notifier')
  notifier.on('message', (_t, payload) =>
    heard.push(AlertEventSchema.parse(JSON.parse(payload.toString()))),
  )
  await notifier.subscribeAsync('alerts/+', { qos: 1 })
})
afterAll(async () => {
  await w?.close()
  await stack?.stop()
})

describe('rules changed through the API', () => {
  it('apply to the running processor within seconds, on the cooperative farms only', async () => {
    const created = await w.call('POST', '/rules', {
      as: 'agronomist',
      body: { ...lowOxygenRule, id: 'mekong-do-low' },
    })
    expect(created.statusCode).toBe(201)
    // The processor re-reads rules every 200 ms in the test stack (5 s by default).
    await new Promise((r) => setTimeout(r, 600))
    await lowOxygen('pond-a-1')
    await lowOxygen('pond-x-1')
    await eventually(
      () => firing('pond-a-1'),
      (e) => e.length === 1,
      'the alert on pond-a-1',
    )
    expect(firing('pond-a-1')[0]).toMatchObject({ rule_id: 'mekong-do-low', farm_id: 'farm-a' })
    // pond-x-1's reading was handled (stored) without an alert.
    await eventually(
      () => stack.count(`SELECT COUNT(seq) FROM pond_sensor WHERE device = 'pond-x-1'`),
      (n) => n === 1,
      'the farm-x reading in InfluxDB',
    )
    // Rules run right after the write; give them a moment before saying "no alert".
    await new Promise((r) => setTimeout(r, 500))
    expect(firing('pond-x-1')).toEqual([])
  })

  it('stop applying once disabled, and apply again after a rollback', async () => {
    const disabled = await w.call('POST', '/rules/mekong-do-low/disable?version=1', {
      as: 'agronomist',
    })
    expect(disabled.statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 600))
    await lowOxygen('pond-a-2')
    await eventually(
      () => stack.count(`SELECT COUNT(seq) FROM pond_sensor WHERE device = 'pond-a-2'`),
      (n) => n === 1,
      'the pond-a-2 reading in InfluxDB',
    )
    await new Promise((r) => setTimeout(r, 500))
    expect(firing('pond-a-2')).toEqual([])

    const back = await w.call('POST', '/rules/mekong-do-low/rollback', {
      as: 'admin',
      body: { version: 1 },
    })
    expect(back.statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 600))
    await lowOxygen('pond-a-2')
    await eventually(
      () => firing('pond-a-2'),
      (e) => e.length === 1,
      'the alert on pond-a-2',
    )
  })
})
