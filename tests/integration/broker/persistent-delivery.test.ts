import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rotateServiceAccount } from '../../../services/store/provisioning.ts'
import { type Stack, seedFarm, startStack } from '../../harness/stack.ts'

/**
 * Regression: with LevelDB persistence, aedes used to drop ~5 % of QoS 1 messages for a
 * connected persistent-session subscriber when many devices published at once (its
 * dedupe check saw packets out of order; moscajs/aedes#955). Nothing may be lost.
 */
let stack: Stack

beforeAll(async () => {
  stack = await startStack({ processor: false })
})
afterAll(async () => {
  await stack?.stop()
})

describe('the broker delivers every QoS 1 message to a persistent session', () => {
  it('under 60 devices publishing at once', async () => {
    const devices = await seedFarm(stack.store, 'farm-burst', [{ kind: 'pond_sensor', count: 60 }])
    const secret = await rotateServiceAccount(stack.store, 'burst-reader', 'processor')
    const reader = await mqtt.connectAsync(stack.mqttUrl, {
      clientId: 'burst-reader',
      username: 'burst-reader',
      password: secret,
      clean: false,
    })
    const seen = new Set<string>()
    reader.on('message', (_topic, payload) => seen.add(payload.toString()))
    await reader.subscribeAsync('devices/+/up', { qos: 1 })
    const publishers = await Promise.all(devices.map((d) => stack.connectDevice(d)))
    const sent: Promise<unknown>[] = []
    for (let round = 0; round < 40; round++) {
      for (const [i, p] of publishers.entries()) {
        const id = devices[i]?.id
        sent.push(p.publishAsync(`devices/${id}/up`, `${id}#${round}`, { qos: 1 }))
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    await Promise.all(sent)
    const deadline = Date.now() + 10_000
    while (seen.size < sent.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    expect(seen.size).toBe(sent.length)
    await reader.endAsync()
  })

  it('in the order one device published them [MQTT-4.6.0-6], awaited or pipelined', async () => {
    const [device] = await seedFarm(stack.store, 'farm-order', [{ kind: 'pond_sensor', count: 1 }])
    const d = device as NonNullable<typeof device>
    const secret = await rotateServiceAccount(stack.store, 'order-reader', 'processor')
    const reader = await mqtt.connectAsync(stack.mqttUrl, {
      clientId: 'order-reader',
      username: 'order-reader',
      password: secret,
      clean: false,
    })
    const got: number[] = []
    reader.on('message', (_topic, payload) => got.push(Number(payload.toString())))
    await reader.subscribeAsync('devices/+/up', { qos: 1 })
    const pub = await stack.connectDevice(d, { clean: false })
    for (let i = 0; i < 300; i++)
      await pub.publishAsync(`devices/${d.id}/up`, String(i), { qos: 1 })
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        pub.publishAsync(`devices/${d.id}/up`, String(300 + i), { qos: 1 }),
      ),
    )
    const deadline = Date.now() + 10_000
    while (got.length < 600 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(got).toEqual(Array.from({ length: 600 }, (_, i) => i))
    await reader.endAsync()
  })
})
