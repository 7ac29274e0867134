import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerDevices } from '../../../services/store/provisioning.ts'
import { type AlertEvent, AlertEvent as AlertEventSchema, Rule } from '../../../shared/index.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'
import { eventually, lowOxygenRule, type Stack, startStack } from '../../harness/stack.ts'

/**
 * An alert's life through the API on a real stack: the processor raises it from a
 * reading, people acknowledge and resolve it over HTTP, and the processor announces
 * both on alerts/{farmId}, where the notifier hears them.
 */

let stack: Stack
let w: ApiWorld
let device: MqttClient
let notifier: MqttClient
const heard: AlertEvent[] = []
const DEVICE = 'pond-a1-do'

type Listed = { alert_id: string; state: string; device_id: string }
const listed = async (query = '') =>
  (await w.call('GET', `/alerts?farm_id=farm-a${query}`, { as: 'farmer' })).json() as Listed[]

let seq = 1
const sendOxygen = (dissolved_oxygen_mg_l: number) =>
  device.publishAsync(
    `devices/${DEVICE}/up`,
    JSON.stringify({
      kind: 'pond_sensor',
      ts: Date.now(),
      seq: seq++,
      battery_pct: 80,
      rssi_dbm: -90,
      dissolved_oxygen_mg_l,
    }),
    { qos: 1 },
  )

beforeAll(async () => {
  stack = await startStack()
  w = await startApiWorld({ store: stack.store, influx: stack.influx })
  const [d] = await registerDevices(stack.store, {
    farmId: 'farm-a',
    siteId: 'pond-a1',
    kind: 'pond_sensor',
    ids: [DEVICE],
  })
  if (!d) throw new Error('device not registered')
  await stack.store.putRule(Rule.parse(lowOxygenRule))
  await stack.processor?.reloadRules()
  notifier = await stack.connectService('notifier-test', 'notifier')
  notifier.on('message', (_topic, payload) =>
    heard.push(AlertEventSchema.parse(JSON.parse(payload.toString()))),
  )
  await notifier.subscribeAsync('alerts/farm-a', { qos: 1 })
  device = await stack.connectDevice(d)
})

afterAll(async () => {
  await w?.close()
  await stack?.stop()
})

describe('an alert raised by the processor, handled through the API', () => {
  let alertId = ''

  it('lists the firing alert once the processor raises it', async () => {
    await sendOxygen(2.1)
    const firing = await eventually(
      () => listed('&state=firing'),
      (l) => l.length === 1,
      'the firing alert in GET /alerts',
    )
    expect(firing[0]).toMatchObject({ state: 'firing', device_id: DEVICE })
    alertId = firing[0]?.alert_id ?? ''
    await eventually(
      () => heard.filter((e) => e.alert_id === alertId).map((e) => e.state),
      (s) => s.includes('firing'),
      'the firing event on alerts/farm-a',
    )
    // Another farm's farmer does not see it.
    const other = await w.call('GET', '/alerts', { as: 'farmerB' })
    expect(other.json()).toEqual([])
  })

  it("announces the farmer's acknowledgement on the bus, with who", async () => {
    const res = await w.call('POST', `/alerts/${alertId}/acknowledge`, { as: 'farmer' })
    expect(res.statusCode).toBe(200)
    const ack = await eventually(
      () => heard.find((e) => e.alert_id === alertId && e.state === 'acknowledged'),
      (e) => e !== undefined,
      'the acknowledged event on alerts/farm-a',
      5000,
    )
    expect(ack).toMatchObject({ acknowledged_by: 'farmer', farm_id: 'farm-a', device_id: DEVICE })
    // Still firing: acknowledging stops reminders, not the alert.
    expect((await listed('&state=firing')).map((a) => a.alert_id)).toEqual([alertId])
  })

  it("announces the technician's hand resolution with the note", async () => {
    const res = await w.call('POST', `/alerts/${alertId}/resolve`, {
      as: 'technician',
      body: { note: 'aerator 2 restarted' },
    })
    expect(res.statusCode).toBe(200)
    const resolved = await eventually(
      () => heard.find((e) => e.alert_id === alertId && e.state === 'resolved'),
      (e) => e !== undefined,
      'the resolved event on alerts/farm-a',
      5000,
    )
    expect(resolved?.message).toBe('Resolved by tech: aerator 2 restarted')
    expect((await listed('&state=resolved')).map((a) => a.alert_id)).toEqual([alertId])
  })

  it('shows the history and every delivery on the bus in the detail', async () => {
    const detail = await eventually(
      async () => (await w.call('GET', `/alerts/${alertId}`, { as: 'admin' })).json(),
      (d) => d.deliveries?.length >= 3,
      'three deliveries recorded',
      5000,
    )
    expect(detail).toMatchObject({
      state: 'resolved',
      acknowledged_by: 'farmer',
      resolved_by: 'tech',
      resolution_note: 'aerator 2 restarted',
    })
    type Entry = { state: string; by: string | null; note: string | null }
    expect(detail.events.map((e: Entry) => [e.state, e.by, e.note])).toEqual([
      ['firing', null, null],
      ['acknowledged', 'farmer', null],
      ['resolved', 'tech', 'aerator 2 restarted'],
    ])
    type Delivery = { channel: string; target: string; status: string; detail: string }
    expect(
      detail.deliveries.map((d: Delivery) => [d.channel, d.target, d.status, d.detail]),
    ).toEqual([
      ['mqtt', 'alerts/farm-a', 'published', 'firing'],
      ['mqtt', 'alerts/farm-a', 'published', 'acknowledged'],
      ['mqtt', 'alerts/farm-a', 'published', 'resolved'],
    ])
  })

  it('raises a new alert when the oxygen is still low after a hand resolution', async () => {
    await sendOxygen(2.0)
    const open = await eventually(
      () => listed('&state=firing'),
      (l) => l.length === 1,
      'a new firing alert',
    )
    expect(open[0]?.alert_id).not.toBe(alertId)
  })
})
