import { afterEach, describe, expect, it } from 'vitest'
import { createHealthChecks } from '../../../services/ops/server.ts'
import { alertEvent } from '../../harness/alert-event.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'

let w: ApiWorld | undefined
afterEach(async () => {
  await w?.close()
  w = undefined
})

const firingAlert = (w: ApiWorld, id: string) => {
  const ts = Date.parse('2026-11-20T00:00:00Z')
  return w.store.saveAlertEvent(
    alertEvent({ alert_id: id, device_id: 'pond-1', message: 'Oxygen low' }, ts),
    ts,
  )
}

describe('GET /health', () => {
  it('answers 200 with each check, without a token', async () => {
    w = await startApiWorld()
    const res = await w.call('GET', '/health')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ ok: true, checks: { store: { ok: true } } })
  })

  it('answers 503 naming the failing check', async () => {
    const health = createHealthChecks()
    health.add('influxdb', () => 'InfluxDB at http://127.0.0.1:9 does not answer')
    health.add('broker', async () => {
      throw new Error('broker not listening')
    })
    w = await startApiWorld({ health })
    const res = await w.call('GET', '/health')
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({
      ok: false,
      checks: {
        store: { ok: true },
        influxdb: { ok: false, error: 'InfluxDB at http://127.0.0.1:9 does not answer' },
        broker: { ok: false, error: 'broker not listening' },
      },
    })
  })
})

describe('GET /metrics', () => {
  it('serves Prometheus text with request counts by route, without a token', async () => {
    w = await startApiWorld()
    await w.call('GET', '/alerts', { as: 'admin' })
    await w.call('GET', '/alerts')
    const res = await w.call('GET', '/metrics')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    expect(res.body).toContain('# TYPE tani_api_requests_total counter')
    expect(res.body).toMatch(
      /tani_api_requests_total\{route="\/alerts",method="GET",status="200"\} 1/,
    )
    expect(res.body).toMatch(
      /tani_api_requests_total\{route="\/alerts",method="GET",status="401"\} 1/,
    )
    expect(res.body).toContain('tani_api_request_seconds_bucket')
  })
})

describe('the OpenAPI document', () => {
  it('lists the alert and operation routes, the latter without security', async () => {
    w = await startApiWorld()
    const res = await w.call('GET', '/docs/json')
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/alerts', '/alerts/{id}', '/alerts/{id}/resolve', '/health']),
    )
    expect(doc.paths['/health'].get.security).toEqual([])
    expect(doc.paths['/metrics'].get.security).toEqual([])
    expect(doc.paths['/alerts'].get.security).toBeUndefined()
    expect((await w.call('GET', '/docs')).statusCode).toBeLessThan(400)
  })
})

describe('request limits', () => {
  it('refuses a body over the limit with a 413 naming the limit', async () => {
    w = await startApiWorld({ config: { bodyLimit: 1024 } })
    await firingAlert(w, 'al-1')
    const res = await w.call('POST', '/alerts/al-1/resolve', {
      as: 'farmer',
      body: { note: 'x'.repeat(2000) },
    })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toEqual({
      error: 'payload_too_large',
      message: 'the request body is over 1024 bytes; send less at once',
    })
    expect((await w.call('GET', '/alerts/al-1', { as: 'farmer' })).json().state).toBe('firing')
  })

  it('answers 429 after too many changes from one token, and still serves reads', async () => {
    w = await startApiWorld({ config: { writeRateLimit: { max: 2, windowMs: 60_000 } } })
    await firingAlert(w, 'al-1')
    await firingAlert(w, 'al-2')
    expect((await w.call('POST', '/alerts/al-1/acknowledge', { as: 'farmer' })).statusCode).toBe(
      200,
    )
    expect((await w.call('POST', '/alerts/al-1/acknowledge', { as: 'farmer' })).statusCode).toBe(
      409,
    )
    const limited = await w.call('POST', '/alerts/al-2/acknowledge', { as: 'farmer' })
    expect(limited.statusCode).toBe(429)
    expect(limited.json()).toMatchObject({ error: 'rate_limited' })
    expect(limited.json().message).toMatch(/too many requests: at most 2 per 1 minute/)
    expect((await w.call('GET', '/alerts/al-2', { as: 'farmer' })).json().acknowledged_at).toBe(
      null,
    )
    // Another person's token has its own budget.
    expect((await w.call('POST', '/alerts/al-2/acknowledge', { as: 'admin' })).statusCode).toBe(200)
  })
})
