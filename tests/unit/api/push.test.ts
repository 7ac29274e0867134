import { createECDH, randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadVapidKeys } from '../../../services/notifier/vapid.ts'
import { verifyWebhook } from '../../../services/notifier/webhook.ts'
import { WebhookBody } from '../../../shared/push.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'

let w: ApiWorld
beforeEach(async () => {
  w = await startApiWorld()
})
afterEach(() => w.close())

/** What a browser's PushSubscription.toJSON() gives. */
function browserSubscription(
  endpoint = `https://fcm.googleapis.com/fcm/send/${randomBytes(8).toString('hex')}`,
) {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  return {
    endpoint,
    expirationTime: null,
    keys: {
      p256dh: ecdh.getPublicKey().toString('base64url'),
      auth: randomBytes(16).toString('base64url'),
    },
  }
}

const fieldsOf = (res: { json(): { fields?: { field: string }[] } }) =>
  (res.json().fields ?? []).map((f) => f.field)

describe('VAPID public key', () => {
  it('is public, says 503 until the notifier made keys, and never shows the private key', async () => {
    const before = await w.call('GET', '/push/vapid-public-key')
    expect(before.statusCode).toBe(503)
    expect(before.json()).toMatchObject({ error: 'unavailable', message: /notifier/ })
    // The notifier keeps the pair (generated or configured) and publishes the public half.
    const keys = await loadVapidKeys(w.store, { subject: 'mailto:ops@tani.example' })
    const res = await w.call('GET', '/push/vapid-public-key')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ public_key: keys.publicKey })
    expect(res.body).not.toContain(keys.privateKey)
  })
})

describe('push subscriptions', () => {
  it('keeps a subscription and lists it without its keys or full endpoint', async () => {
    const sub = browserSubscription()
    const res = await w.call('POST', '/push/subscriptions', {
      as: 'farmer',
      body: { ...sub, user_agent: 'Android 14; Chrome' },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({
      id: expect.stringMatching(/^ps-[0-9a-f]{16}$/),
      endpoint: sub.endpoint,
    })
    const list = await w.call('GET', '/push/subscriptions', { as: 'farmer' })
    expect(list.json()).toEqual([
      {
        id: res.json().id,
        endpoint_origin: 'https://fcm.googleapis.com',
        user_agent: 'Android 14; Chrome',
        created_at: expect.any(String),
        last_success_at: null,
        failures: 0,
      },
    ])
    expect(list.body).not.toContain(sub.keys.p256dh)
    expect(list.body).not.toContain(sub.endpoint)
    expect((await w.call('GET', '/push/subscriptions', { as: 'admin' })).json()).toEqual([])
  })

  it('moves a subscription to whoever subscribes the same browser again', async () => {
    const sub = browserSubscription()
    const first = await w.call('POST', '/push/subscriptions', { as: 'farmer', body: sub })
    const again = await w.call('POST', '/push/subscriptions', { as: 'farmerB', body: sub })
    expect(again.statusCode).toBe(201)
    expect(again.json().id).toBe(first.json().id)
    expect((await w.call('GET', '/push/subscriptions', { as: 'farmer' })).json()).toEqual([])
    expect((await w.call('GET', '/push/subscriptions', { as: 'farmerB' })).json()).toHaveLength(1)
    expect((await w.store.getPushSubscription(first.json().id))?.userId).toBe('u-farmer-b')
  })

  it('names the field at fault: a short p256dh, an http endpoint off loopback', async () => {
    const sub = browserSubscription()
    const short = await w.call('POST', '/push/subscriptions', {
      as: 'farmer',
      body: { ...sub, keys: { ...sub.keys, p256dh: randomBytes(33).toString('base64url') } },
    })
    expect(short.statusCode).toBe(400)
    expect(fieldsOf(short)).toEqual(['body.keys.p256dh'])
    expect(short.json().message).toMatch(/65 bytes/)
    const plain = await w.call('POST', '/push/subscriptions', {
      as: 'farmer',
      body: { ...sub, endpoint: 'http://push.example.com/send/1' },
    })
    expect(plain.statusCode).toBe(400)
    expect(fieldsOf(plain)).toEqual(['body.endpoint'])
    const loopback = await w.call('POST', '/push/subscriptions', {
      as: 'farmer',
      body: { ...sub, endpoint: 'http://127.0.0.1:9999/push/1' },
    })
    expect(loopback.statusCode).toBe(201)
  })

  it('asks for a sign-in first', async () => {
    const sub = browserSubscription()
    expect((await w.call('POST', '/push/subscriptions', { body: sub })).statusCode).toBe(401)
    expect((await w.call('GET', '/push/subscriptions')).statusCode).toBe(401)
    expect((await w.call('DELETE', '/push/subscriptions/ps-1')).statusCode).toBe(401)
  })

  it("deletes only one's own: another person's subscription is not found", async () => {
    const id = (
      await w.call('POST', '/push/subscriptions', { as: 'farmer', body: browserSubscription() })
    ).json().id
    expect(
      (await w.call('DELETE', `/push/subscriptions/${id}`, { as: 'farmerB' })).statusCode,
    ).toBe(404)
    expect((await w.call('DELETE', `/push/subscriptions/${id}`, { as: 'admin' })).statusCode).toBe(
      404,
    )
    const own = await w.call('DELETE', `/push/subscriptions/${id}`, { as: 'farmer' })
    expect(own.statusCode).toBe(200)
    expect(own.json()).toEqual({ ok: true })
    expect((await w.call('DELETE', `/push/subscriptions/${id}`, { as: 'farmer' })).statusCode).toBe(
      404,
    )
  })
})

describe('notification preferences', () => {
  it('gives the defaults until set, then what was set', async () => {
    const defaults = await w.call('GET', '/me/notifications', { as: 'farmer' })
    expect(defaults.json()).toEqual({
      farm_ids: null,
      site_ids: null,
      min_severity: 'info',
      quiet_hours: null,
      time_zone: null,
    })
    const prefs = {
      farm_ids: ['farm-a'],
      site_ids: ['pond-a1'],
      min_severity: 'warning',
      quiet_hours: { start: '22:00', end: '05:00' },
      time_zone: 'Asia/Ho_Chi_Minh',
    }
    const put = await w.call('PUT', '/me/notifications', { as: 'farmer', body: prefs })
    expect(put.statusCode).toBe(200)
    expect(put.json()).toEqual(prefs)
    expect((await w.call('GET', '/me/notifications', { as: 'farmer' })).json()).toEqual(prefs)
    expect((await w.call('GET', '/me/notifications', { as: 'farmerB' })).json().farm_ids).toBeNull()
    expect((await w.call('GET', '/me/notifications')).statusCode).toBe(401)
  })

  it('refuses a farm the caller may not see, naming body.farm_ids', async () => {
    for (const [as, farm] of [
      ['farmer', 'farm-b'],
      ['admin', 'farm-x'],
      ['farmer', 'farm-nowhere'],
    ] as const) {
      const res = await w.call('PUT', '/me/notifications', { as, body: { farm_ids: [farm] } })
      expect(res.statusCode, `${as} ${farm}`).toBe(400)
      expect(fieldsOf(res)).toEqual(['body.farm_ids'])
    }
    const staff = await w.call('PUT', '/me/notifications', {
      as: 'technician',
      body: { farm_ids: ['farm-a', 'farm-b'], site_ids: ['pond-a1', 'field-b1'] },
    })
    expect(staff.statusCode).toBe(200)
  })

  it('refuses sites outside the farms followed', async () => {
    const other = await w.call('PUT', '/me/notifications', {
      as: 'farmer',
      body: { site_ids: ['field-b1'] },
    })
    expect(other.statusCode).toBe(400)
    expect(fieldsOf(other)).toEqual(['body.site_ids'])
    const unnamed = await w.call('PUT', '/me/notifications', {
      as: 'agronomist',
      body: { site_ids: ['pond-a1'] },
    })
    expect(unnamed.statusCode).toBe(400)
    expect(unnamed.json().message).toMatch(/name the farms you follow/)
  })

  it('names bad quiet hours and an unknown time zone', async () => {
    const late = await w.call('PUT', '/me/notifications', {
      as: 'farmer',
      body: { quiet_hours: { start: '24:00', end: '5:00' } },
    })
    expect(late.statusCode).toBe(400)
    expect(fieldsOf(late)).toEqual(['body.quiet_hours.start', 'body.quiet_hours.end'])
    const same = await w.call('PUT', '/me/notifications', {
      as: 'farmer',
      body: { quiet_hours: { start: '22:00', end: '22:00' } },
    })
    expect(fieldsOf(same)).toEqual(['body.quiet_hours'])
    const zone = await w.call('PUT', '/me/notifications', {
      as: 'farmer',
      body: { time_zone: 'Mekong/Can_Tho' },
    })
    expect(fieldsOf(zone)).toEqual(['body.time_zone'])
  })
})

describe('webhooks', () => {
  const url = 'https://sms.mekong.example/tani'

  it('returns the secret once; lists never show it', async () => {
    const res = await w.call('POST', '/webhooks', { as: 'admin', body: { url } })
    expect(res.statusCode).toBe(201)
    const created = res.json()
    expect(created).toMatchObject({
      id: expect.stringMatching(/^wh-/),
      url,
      min_severity: 'warning',
      events: 'escalations',
    })
    expect(Buffer.from(created.secret, 'base64url')).toHaveLength(32)
    expect((await w.store.getWebhook(created.id))?.secret).toBe(created.secret)
    for (const as of ['admin', 'technician'] as const) {
      const list = await w.call('GET', '/webhooks', { as })
      expect(list.statusCode).toBe(200)
      expect(list.json()).toEqual([
        { ...created, secret: undefined, created_at: expect.any(String) },
      ])
      expect(list.body).not.toContain(created.secret)
    }
    expect((await w.call('GET', '/webhooks', { as: 'otherAdmin' })).json()).toEqual([])
  })

  it('lets only admins add, remove or test webhooks, and farmers not even list them', async () => {
    const farmer = await w.call('POST', '/webhooks', { as: 'farmer', body: { url } })
    expect(farmer.statusCode).toBe(403)
    expect(farmer.json().message).toMatch(/only admin may add webhooks/)
    expect(
      (await w.call('POST', '/webhooks', { as: 'technician', body: { url } })).statusCode,
    ).toBe(403)
    expect((await w.call('GET', '/webhooks', { as: 'farmer' })).statusCode).toBe(403)
    expect((await w.call('POST', '/webhooks', { body: { url } })).statusCode).toBe(401)
    const { id } = (await w.call('POST', '/webhooks', { as: 'admin', body: { url } })).json()
    expect((await w.call('DELETE', `/webhooks/${id}`, { as: 'technician' })).statusCode).toBe(403)
    expect((await w.call('DELETE', `/webhooks/${id}`, { as: 'otherAdmin' })).statusCode).toBe(403)
    expect((await w.call('POST', `/webhooks/${id}/test`, { as: 'otherAdmin' })).statusCode).toBe(
      403,
    )
    expect((await w.call('DELETE', `/webhooks/${id}`, { as: 'admin' })).statusCode).toBe(200)
    expect((await w.call('DELETE', `/webhooks/${id}`, { as: 'admin' })).statusCode).toBe(404)
    expect((await w.call('POST', '/webhooks/wh-none/test', { as: 'admin' })).statusCode).toBe(404)
  })

  it('takes https, or http only on loopback, naming body.url', async () => {
    for (const bad of ['http://sms.mekong.example/tani', 'ftp://sms.mekong.example', 'sms']) {
      const res = await w.call('POST', '/webhooks', { as: 'admin', body: { url: bad } })
      expect(res.statusCode, bad).toBe(400)
      expect(fieldsOf(res)).toEqual(['body.url'])
    }
    const local = await w.call('POST', '/webhooks', {
      as: 'admin',
      body: { url: 'http://localhost:8080/sms', min_severity: 'critical', events: 'all' },
    })
    expect(local.json()).toMatchObject({ min_severity: 'critical', events: 'all' })
    const events = await w.call('POST', '/webhooks', { as: 'admin', body: { url, events: 'some' } })
    expect(fieldsOf(events)).toEqual(['body.events'])
  })

  describe('test call', () => {
    let receiver: Server
    let calls: { headers: IncomingHttpHeaders; raw: string }[]
    let status: number
    beforeEach(async () => {
      calls = []
      status = 200
      receiver = createServer((req, res) => {
        let raw = ''
        req.on('data', (c: Buffer) => {
          raw += c.toString('utf8')
        })
        req.on('end', () => {
          calls.push({ headers: req.headers, raw })
          res.writeHead(status, { 'retry-after': '30' }).end(status === 200 ? 'ok' : 'busy')
        })
      })
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    })
    afterEach(async () => {
      receiver.closeAllConnections()
      await new Promise((resolve) => receiver.close(resolve))
    })

    it('sends a signed test call and reports how the receiver answered', async () => {
      const port = (receiver.address() as AddressInfo).port
      const created = (
        await w.call('POST', '/webhooks', {
          as: 'admin',
          body: { url: `http://127.0.0.1:${port}/sms` },
        })
      ).json()
      const res = await w.call('POST', `/webhooks/${created.id}/test`, { as: 'admin' })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ kind: 'sent', status: 200, detail: null, retry_after_ms: null })
      const [call] = calls
      if (!call) throw new Error('the receiver got nothing')
      expect(verifyWebhook(created.secret, call.raw, call.headers)).toBe(true)
      expect(verifyWebhook('another-secret', call.raw, call.headers)).toBe(false)
      const body = WebhookBody.parse(JSON.parse(call.raw))
      expect(body).toMatchObject({ type: 'test', reason: 'test', notification: { lang: 'vi' } })

      status = 503
      const busy = await w.call('POST', `/webhooks/${created.id}/test`, { as: 'admin' })
      expect(busy.json()).toMatchObject({ kind: 'retry', status: 503, retry_after_ms: 30_000 })
      expect(busy.json().detail).toMatch(/answered 503: busy/)
      expect(busy.body).not.toContain(created.secret)
    })
  })
})

describe('unsubscribing by endpoint', () => {
  it("removes your own browser by the endpoint a page knows, and nobody else's", async () => {
    const sub = browserSubscription()
    expect(
      (await w.call('POST', '/push/subscriptions', { as: 'farmer', body: sub })).statusCode,
    ).toBe(201)
    const theirs = await w.call('DELETE', '/push/subscriptions', {
      as: 'farmerB',
      body: { endpoint: sub.endpoint },
    })
    expect(theirs.statusCode).toBe(404)
    const mine = await w.call('DELETE', '/push/subscriptions', {
      as: 'farmer',
      body: { endpoint: sub.endpoint },
    })
    expect(mine.statusCode).toBe(200)
    expect(await w.store.listPushSubscriptions('u-farmer')).toEqual([])
    expect(
      (await w.call('DELETE', '/push/subscriptions', { as: 'farmer', body: {} })).json().fields[0]
        .field,
    ).toBe('body.endpoint')
  })
})

describe('the alerts page and its service worker', () => {
  it('are served from the API origin, the worker allowed to control /app/', async () => {
    const page = await w.call('GET', '/app/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/html/)
    const sw = await w.call('GET', '/app/sw.js')
    expect(sw.statusCode).toBe(200)
    expect(sw.headers['content-type']).toMatch(/javascript/)
    expect(sw.headers['service-worker-allowed']).toBe('/app/')
    expect(sw.body).toContain("addEventListener('push'")
  })
})
