import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PushOptions, PushTarget, VapidKeys } from '../../../services/notifier/outcome.ts'
import { parseRetryAfter } from '../../../services/notifier/outcome.ts'
import { generateVapidKeys, loadVapidKeys } from '../../../services/notifier/vapid.ts'
import { createPushSender } from '../../../services/notifier/web-push-sender.ts'
import { checkVapid, type PushService, startPushService } from '../../harness/push-service.ts'

const options: PushOptions = { urgency: 'normal', ttlS: 60, topic: null }

let service: PushService
let vapid: VapidKeys

beforeAll(async () => {
  vapid = { ...generateVapidKeys(), subject: 'mailto:ops@tani.example' }
  service = await startPushService({ vapidPublicKey: vapid.publicKey })
})
afterAll(() => service.stop())

const targetAt = (name: string): PushTarget => {
  const { subscription } = service.subscribe(name)
  return { endpoint: subscription.endpoint, ...subscription.keys }
}

const closedPort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })

describe('web push sender', () => {
  it('delivers an urgent alert the browser decrypts, signed with a VAPID token for the origin', async () => {
    const sender = createPushSender({ vapid })
    const payload = JSON.stringify({ v: 1, title: 'Ao 3: oxy hòa tan thấp', body: '2.8 mg/L' })
    const outcome = await sender.send(targetAt('pond-3'), payload, {
      urgency: 'high',
      ttlS: 21600,
      topic: 'alert-pond3-do',
    })

    expect(outcome).toEqual({ kind: 'sent', status: 201 })
    const push = await service.waitFor((p) => p.name === 'pond-3')
    expect(push.payload).toBe(payload)
    expect(push.headers).toMatchObject({
      ttl: '21600',
      urgency: 'high',
      topic: 'alert-pond3-do',
      contentEncoding: 'aes128gcm',
    })
    expect(push.vapid.problems).toEqual([])
    expect(push.vapid.valid).toBe(true)
    expect(push.vapid.claims?.aud).toBe(service.url)
    expect(push.vapid.claims?.sub).toBe('mailto:ops@tani.example')
    expect(push.vapid.publicKey).toBe(vapid.publicKey)
    expect(push.body.includes(Buffer.from('oxy'))).toBe(false)
  })

  it.each([410, 404])('reports a subscription answered with %i as gone', async (status) => {
    service.respondWith(`gone-${status}`, { status })
    const outcome = await createPushSender({ vapid }).send(targetAt(`gone-${status}`), 'x', options)
    expect(outcome).toMatchObject({ kind: 'gone', status })
    expect(service.received.find((p) => p.name === `gone-${status}`)?.status).toBe(status)
  })

  it('retries a 429 no sooner than its Retry-After seconds', async () => {
    service.respondWith('busy', { status: 429, headers: { 'retry-after': '7' } })
    const outcome = await createPushSender({ vapid }).send(targetAt('busy'), 'x', options)
    expect(outcome).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 7000 })
  })

  it('retries a 429 at its Retry-After HTTP-date', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString()
    service.respondWith('busy-date', { status: 429, headers: { 'retry-after': at } })
    const outcome = await createPushSender({ vapid }).send(targetAt('busy-date'), 'x', options)
    expect(outcome.kind).toBe('retry')
    const wait = outcome.kind === 'retry' ? outcome.retryAfterMs : null
    // The date has whole seconds, so up to a second earlier than asked.
    expect(wait).toBeGreaterThan(28_000)
    expect(wait).toBeLessThanOrEqual(30_000)
  })

  it('retries a 503 with no Retry-After', async () => {
    service.respondWith('down', { status: 503 })
    const outcome = await createPushSender({ vapid }).send(targetAt('down'), 'x', options)
    expect(outcome).toMatchObject({ kind: 'retry', status: 503, retryAfterMs: null })
  })

  it('gives up on a 400, quoting the start of the answer', async () => {
    service.respondWith('bad', { status: 400, body: `UnsupportedEncoding ${'z'.repeat(400)}` })
    const outcome = await createPushSender({ vapid }).send(targetAt('bad'), 'x', options)
    expect(outcome).toMatchObject({ kind: 'failed', status: 400 })
    const detail = outcome.kind === 'failed' ? outcome.detail : ''
    expect(detail).toContain('400')
    expect(detail).toContain('UnsupportedEncoding')
    expect(detail.length).toBeLessThan(260)
  })

  it('retries when the push service cannot be reached', async () => {
    const target = { ...targetAt('nowhere'), endpoint: `http://127.0.0.1:${await closedPort()}/p` }
    const outcome = await createPushSender({ vapid }).send(target, 'x', options)
    expect(outcome).toMatchObject({ kind: 'retry', status: null, retryAfterMs: null })
  })

  it('retries when the push service does not answer within the timeout', async () => {
    service.respondWith('slow', { status: 201, delayMs: 5000 })
    const started = Date.now()
    const outcome = await createPushSender({ vapid, timeoutMs: 200 }).send(
      targetAt('slow'),
      'x',
      options,
    )
    expect(outcome).toMatchObject({ kind: 'retry', status: null, retryAfterMs: null })
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('refuses a payload over 4096 bytes encrypted without sending anything', async () => {
    const before = service.received.length
    const outcome = await createPushSender({ vapid }).send(
      targetAt('big'),
      'x'.repeat(5 * 1024),
      options,
    )
    expect(outcome).toMatchObject({ kind: 'failed', status: null })
    expect(outcome.kind === 'failed' && outcome.detail).toMatch(/too large/)
    expect(service.received.length).toBe(before)
  })

  it('sends the largest payload that fits one record (3993 bytes)', async () => {
    const payload = 'y'.repeat(3993)
    const outcome = await createPushSender({ vapid }).send(targetAt('edge'), payload, options)
    expect(outcome.kind).toBe('sent')
    expect((await service.waitFor((p) => p.name === 'edge')).payload).toBe(payload)
  })

  it('ignores Retry-After values it cannot read', () => {
    expect(parseRetryAfter(null)).toBeNull()
    expect(parseRetryAfter('soon')).toBeNull()
    expect(parseRetryAfter('7s')).toBeNull()
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27))).toBe(
      60_000,
    )
  })
})

describe('loopback push service', () => {
  it('flags a VAPID token from another key, for another origin or with a forged signature', async () => {
    const stranger = { ...generateVapidKeys(), subject: 'mailto:x@example.org' }
    await createPushSender({ vapid: stranger }).send(targetAt('stranger'), 'x', options)
    const push = await service.waitFor((p) => p.name === 'stranger')
    expect(push.vapid.valid).toBe(false)
    expect(push.vapid.problems).toEqual(['k is not the expected application server key'])

    const auth = push.headers.authorization ?? ''
    expect(checkVapid(auth, 'https://push.example.net').problems).toEqual([
      `aud is ${service.url}, not https://push.example.net`,
    ])
    const forged = auth.replace(/t=([^.]+)\.([^.]+)\./, (_m, h: string, claims: string) => {
      const c = JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>
      return `t=${h}.${Buffer.from(JSON.stringify({ ...c, sub: 'mailto:evil@example.org' })).toString('base64url')}.`
    })
    expect(checkVapid(forged, service.url).problems).toEqual([
      'JWT signature does not verify with k',
    ])
    expect(checkVapid(null, service.url).valid).toBe(false)
  })
})

const memoryStore = () => {
  const settings = new Map<string, string>()
  return {
    settings,
    async getSetting(key: string) {
      return settings.get(key) ?? null
    },
    async setSettingIfAbsent(key: string, value: string) {
      if (!settings.has(key)) settings.set(key, value)
      return settings.get(key) as string
    },
    async setSetting(key: string, value: string) {
      settings.set(key, value)
    },
  }
}

describe('loadVapidKeys', () => {
  const subject = 'https://tani.example/contact'

  it('generates a pair on first start and keeps it', async () => {
    const store = memoryStore()
    const first = await loadVapidKeys(store, { subject })
    const second = await loadVapidKeys(store, { subject })
    expect(second).toEqual(first)
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65)
    expect(JSON.parse(store.settings.get('vapid') ?? '')).toEqual({
      publicKey: first.publicKey,
      privateKey: first.privateKey,
    })
  })

  it('agrees on one pair when two processes start together', async () => {
    const store = memoryStore()
    const [a, b] = await Promise.all([
      loadVapidKeys(store, { subject }),
      loadVapidKeys(store, { subject }),
    ])
    expect(a).toEqual(b)
  })

  it('uses configured keys as given', async () => {
    const store = memoryStore()
    const keys = generateVapidKeys()
    expect(await loadVapidKeys(store, { ...keys, subject })).toEqual({ ...keys, subject })
    // Only the public half is kept, for the API to give to pages.
    expect([...store.settings]).toEqual([['vapid_public_key', keys.publicKey]])
  })

  it('names the setting that is wrong', async () => {
    const store = memoryStore()
    const keys = generateVapidKeys()
    const other = generateVapidKeys()
    await expect(loadVapidKeys(store, { ...keys, publicKey: 'abc', subject })).rejects.toThrow(
      /VAPID_PUBLIC_KEY/,
    )
    await expect(
      loadVapidKeys(store, { ...keys, privateKey: other.privateKey, subject }),
    ).rejects.toThrow(/VAPID_PRIVATE_KEY does not belong/)
    await expect(loadVapidKeys(store, { publicKey: keys.publicKey, subject })).rejects.toThrow(
      /VAPID_PRIVATE_KEY is missing/,
    )
    await expect(loadVapidKeys(store, { subject: 'ops@tani.example' })).rejects.toThrow(
      /VAPID_SUBJECT/,
    )
  })
})
