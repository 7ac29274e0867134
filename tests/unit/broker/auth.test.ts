import type { Client, PublishPacket, Subscription } from 'aedes'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAuth } from '../../../services/broker/auth.ts'
import { createLogger } from '../../../services/log.ts'
import { registerDevices, rotateServiceAccount } from '../../../services/store/provisioning.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'

/** The broker's ACL for the LoRaWAN topics, through aedes' hooks with stand-in clients. */

const store = openSqliteStore(':memory:')
const auth = createAuth({ store, log: createLogger('silent') })
const secrets: Record<string, string> = {}

async function login(name: string): Promise<Client> {
  const client = { id: name } as Client
  await new Promise<void>((resolve, reject) =>
    auth.authenticate(client, name, Buffer.from(secrets[name] ?? ''), (err, ok) =>
      err || !ok ? reject(err ?? new Error('refused')) : resolve(),
    ),
  )
  return client
}
const mayPublish = (client: Client, topic: string) =>
  new Promise<boolean>((resolve) =>
    auth.authorizePublish(client, { topic } as PublishPacket, (err) => resolve(!err)),
  )
const maySubscribe = (client: Client, topic: string) =>
  new Promise<boolean>((resolve) =>
    auth.authorizeSubscribe(client, { topic, qos: 1 } as Subscription, (_err, sub) =>
      resolve(!!sub),
    ),
  )

const CS = 'application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up'
const TTS = 'v3/app1@tenant1/devices/dev1/up'

beforeAll(async () => {
  await store.createFarm({ id: 'f', name: 'F', timezone: 'UTC' })
  const [device] = await registerDevices(store, {
    farmId: 'f',
    kind: 'pond_sensor',
    ids: ['pond-1'],
  })
  secrets['pond-1'] = device?.secret ?? ''
  secrets.chirpstack = await rotateServiceAccount(store, 'chirpstack', 'network-server')
  secrets.processor = await rotateServiceAccount(store, 'processor', 'processor')
})

describe('the network-server role', () => {
  it('may publish device events in the ChirpStack and The Things Stack shapes, and nothing else', async () => {
    const ns = await login('chirpstack')
    for (const topic of [
      CS,
      TTS,
      'v3/app1/devices/dev1/up',
      // The integrations publish every event; the processor reads only the uplinks.
      'application/x/device/0101010101010101/event/join',
      'application/x/device/0101010101010101/event/status',
      'v3/app1@tenant1/devices/dev1/join',
      'v3/app1@tenant1/devices/dev1/down/sent',
    ])
      expect(await mayPublish(ns, topic), topic).toBe(true)
    for (const topic of [
      'application/x/device/01010101/event/up',
      'application/x/y/device/0101010101010101/event/up',
      'application/x/device/0101010101010101/event/up/more',
      'v3/app1@tenant1/devices/dev1/a/b/c',
      'devices/pond-1/up',
      'alerts/f',
    ])
      expect(await mayPublish(ns, topic), topic).toBe(false)
    expect(await maySubscribe(ns, 'application/+/device/+/event/up')).toBe(false)
  })

  it('lets the processor subscribe to the uplink patterns, but not devices publish there', async () => {
    const processor = await login('processor')
    expect(await maySubscribe(processor, 'application/+/device/+/event/up')).toBe(true)
    expect(await maySubscribe(processor, 'v3/+/devices/+/up')).toBe(true)
    expect(await maySubscribe(processor, 'application/#')).toBe(false)
    expect(await mayPublish(processor, CS)).toBe(false)
    const device = await login('pond-1')
    expect(await mayPublish(device, CS)).toBe(false)
    expect(await mayPublish(device, TTS)).toBe(false)
    expect(await maySubscribe(device, 'application/+/device/+/event/up')).toBe(false)
  })
})

describe('the gateway role', () => {
  it('publishes readings and status for devices, and may not subscribe or raise alerts', async () => {
    secrets.gw = await rotateServiceAccount(store, 'gw', 'gateway')
    const gw = await login('gw')
    expect(await mayPublish(gw, 'devices/pond-1/up')).toBe(true)
    expect(await mayPublish(gw, 'devices/any-device/status')).toBe(true)
    for (const topic of ['devices/pond-1/down', 'devices/a/b/up', 'alerts/f', CS])
      expect(await mayPublish(gw, topic), topic).toBe(false)
    expect(await maySubscribe(gw, 'devices/+/up')).toBe(false)
  })
})
