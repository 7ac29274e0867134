import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseRetryAfter } from '../../../services/notifier/outcome.ts'
import {
  createWebhookSender,
  signWebhook,
  verifyWebhook,
} from '../../../services/notifier/webhook.ts'
import { WebhookBody } from '../../../shared/push.ts'

const secret = 'hYk2m0cQ9v4fN1wz7L8pXbR3sTuE6aJdKqGiOyHnZcM'

const body: WebhookBody = {
  v: 1,
  type: 'escalation',
  reason: 'unacknowledged',
  sent_at: '2026-11-23T05:00:00.000Z',
  notification: {
    v: 1,
    type: 'escalation',
    lang: 'vi',
    title: 'Ao A1: oxy hòa tan thấp',
    body: 'DO 2.1 mg/L lúc 04:40; chưa ai xác nhận',
    tag: 'al-1',
    url: 'https://tani.example/alerts/al-1',
    silent: false,
    require_interaction: true,
    alert_id: 'al-1',
    state: 'firing',
    severity: 'critical',
    farm_id: 'farm-a',
    site_id: 'pond-a1',
    device_id: 'do-1',
    reading_ts: '2026-11-23T04:40:00.000Z',
    alert_ids: [],
  },
}

type Received = { headers: IncomingHttpHeaders; raw: string; method: string }

/** A loopback receiver; `answer` decides each response (it may also never answer). */
let server: Server
let url: string
let received: Received[]
let answer: (res: ServerResponse) => void
beforeEach(async () => {
  received = []
  answer = (res) => res.writeHead(204).end()
  server = createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => {
      raw += c
    })
    req.on('end', () => {
      received.push({ headers: req.headers, raw, method: req.method ?? '' })
      answer(res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sms?key=gateway-key`
})
afterEach(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('webhook signature', () => {
  it('verifies with the secret, and not with another secret, a changed body or an old timestamp', async () => {
    const nowMs = 1_764_000_000_000
    const sender = createWebhookSender({ now: () => nowMs })
    expect(await sender.send({ url, secret }, body)).toEqual({ kind: 'sent', status: 204 })

    const [call] = received
    if (!call) throw new Error('the receiver got nothing')
    expect(call.method).toBe('POST')
    expect(call.headers['content-type']).toBe('application/json')
    expect(call.headers['user-agent']).toBe('tani-notifier')
    expect(call.headers['x-tani-timestamp']).toBe('1764000000')
    expect(call.headers['x-tani-signature']).toMatch(/^v1=[0-9a-f]{64}$/)
    expect(WebhookBody.parse(JSON.parse(call.raw))).toEqual(body)

    const nowS = nowMs / 1000 + 5
    expect(verifyWebhook(secret, call.raw, call.headers, { nowS })).toBe(true)
    expect(verifyWebhook(`${secret}x`, call.raw, call.headers, { nowS })).toBe(false)
    expect(verifyWebhook(secret, call.raw.replace('2.1', '9.1'), call.headers, { nowS })).toBe(
      false,
    )
    expect(verifyWebhook(secret, call.raw, call.headers, { nowS: nowMs / 1000 + 301 })).toBe(false)
    expect(
      verifyWebhook(secret, call.raw, call.headers, {
        nowS: nowMs / 1000 + 3600,
        toleranceS: 7200,
      }),
    ).toBe(true)
    // A replay with a fresh timestamp but the old signature.
    const replayed = { ...call.headers, 'x-tani-timestamp': String(nowMs / 1000 + 400) }
    expect(verifyWebhook(secret, call.raw, replayed, { nowS: nowMs / 1000 + 400 })).toBe(false)
  })

  it('reads fetch Headers too, and accepts any of several v1 signatures', () => {
    const raw = JSON.stringify(body)
    const signed = signWebhook(secret, raw, 1_764_000_000)
    const other = signWebhook('old-secret', raw, 1_764_000_000)['x-tani-signature']
    const headers = new Headers({
      'X-Tani-Timestamp': signed['x-tani-timestamp'],
      'X-Tani-Signature': `${other}, ${signed['x-tani-signature']}`,
    })
    expect(verifyWebhook(secret, raw, headers, { nowS: 1_764_000_010 })).toBe(true)
    expect(verifyWebhook(secret, raw, {}, { nowS: 1_764_000_010 })).toBe(false)
    expect(
      verifyWebhook(
        secret,
        raw,
        { ...signed, 'x-tani-signature': 'v1=zz' },
        { nowS: 1_764_000_010 },
      ),
    ).toBe(false)
  })
})

describe('webhook sender', () => {
  const sender = () => createWebhookSender({ timeoutMs: 300 })

  it('retries a 503 after the seconds of Retry-After', async () => {
    answer = (res) => res.writeHead(503, { 'retry-after': '120' }).end('maintenance')
    expect(await sender().send({ url, secret }, body)).toEqual({
      kind: 'retry',
      status: 503,
      retryAfterMs: 120_000,
      detail: expect.stringMatching(/answered 503: maintenance/),
    })
  })

  it('retries a 429 not before the HTTP date of Retry-After', async () => {
    const nowMs = Date.parse('2026-11-23T05:00:00Z')
    answer = (res) =>
      res.writeHead(429, { 'retry-after': 'Mon, 23 Nov 2026 05:01:30 GMT' }).end('slow down')
    const outcome = await createWebhookSender({ now: () => nowMs }).send({ url, secret }, body)
    expect(outcome).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 90_000 })
    expect(parseRetryAfter('soon', nowMs)).toBeNull()
    expect(parseRetryAfter('Mon, 23 Nov 2026 04:00:00 GMT', nowMs)).toBe(0)
  })

  it('gives up on a 404 or 410 without treating the webhook as gone', async () => {
    for (const status of [404, 410]) {
      answer = (res) => res.writeHead(status).end()
      const outcome = await sender().send({ url, secret }, body)
      expect(outcome).toMatchObject({ kind: 'failed', status })
      if (outcome.kind !== 'failed') throw new Error('expected failed')
      expect(outcome.detail).toMatch(/admin of the cooperative should correct or delete/)
    }
  })

  it('gives up on other refusals and redirects, never naming the secret or the query', async () => {
    answer = (res) => res.writeHead(401).end(`bad signature for secret ${secret}`)
    const refused = await sender().send({ url, secret }, body)
    expect(refused).toMatchObject({ kind: 'failed', status: 401 })
    answer = (res) => res.writeHead(302, { location: 'https://elsewhere.example/x' }).end()
    const moved = await sender().send({ url, secret }, body)
    expect(moved).toMatchObject({ kind: 'failed', status: 302 })
    expect(received).toHaveLength(2)
    for (const o of [refused, moved]) {
      const detail = o.kind === 'failed' ? o.detail : ''
      expect(detail).not.toContain(secret)
      expect(detail).not.toContain('gateway-key')
      expect(detail).toContain('127.0.0.1')
    }
  })

  it('retries when the receiver does not answer in time', async () => {
    answer = () => {}
    const started = Date.now()
    const outcome = await sender().send({ url, secret }, body)
    expect(outcome).toEqual({
      kind: 'retry',
      status: null,
      retryAfterMs: null,
      detail: expect.stringMatching(/did not answer within 300 ms/),
    })
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('retries when nothing listens', async () => {
    const closed = url
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    server = createServer()
    const outcome = await sender().send({ url: closed, secret }, body)
    expect(outcome).toMatchObject({ kind: 'retry', status: null, retryAfterMs: null })
    if (outcome.kind !== 'retry') throw new Error('expected retry')
    expect(outcome.detail).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/)
  })
})
