import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../../shared/index.ts'
import { alertEvent } from '../../harness/alert-event.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'

let w: ApiWorld
const T0 = Date.parse('2026-11-20T00:00:00Z')
const hour = 3_600_000

const event = (o: Partial<AlertEvent> & Pick<AlertEvent, 'alert_id' | 'farm_id'>): AlertEvent =>
  alertEvent({ site_id: null, device_id: `pond-${o.farm_id}`, ...o }, T0)

const ids = (res: { json(): { alert_id: string }[] }) => res.json().map((a) => a.alert_id)

beforeEach(async () => {
  w = await startApiWorld()
  const s = w.store
  await s.saveAlertEvent(
    event({ alert_id: 'al-a-old', farm_id: 'farm-a', severity: 'warning' }),
    T0,
  )
  await s.saveAlertEvent(
    event({
      alert_id: 'al-a-old',
      farm_id: 'farm-a',
      severity: 'warning',
      state: 'resolved',
      value: 4.5,
      message: 'Oxygen back at 4.5 mg/L',
    }),
    T0,
  )
  await s.saveAlertEvent(
    event({ alert_id: 'al-a-now', farm_id: 'farm-a', site_id: 'pond-a1' }),
    T0 + 2 * hour,
  )
  await s.saveAlertEvent(
    event({ alert_id: 'al-b', farm_id: 'farm-b', severity: 'warning', site_id: 'field-b1' }),
    T0 + hour,
  )
  await s.saveAlertEvent(event({ alert_id: 'al-x', farm_id: 'farm-x' }), T0 + 3 * hour)
})
afterEach(() => w.close())

describe('GET /alerts', () => {
  it('lists the alerts of every farm the caller may see, newest first', async () => {
    const res = await w.call('GET', '/alerts', { as: 'admin' })
    expect(res.statusCode).toBe(200)
    expect(ids(res)).toEqual(['al-a-now', 'al-b', 'al-a-old'])
    expect(res.json()[0]).toMatchObject({
      alert_id: 'al-a-now',
      farm_id: 'farm-a',
      site_id: 'pond-a1',
      state: 'firing',
      severity: 'critical',
      started_at: new Date(T0 + 2 * hour).toISOString(),
      resolved_at: null,
      acknowledged_at: null,
      value: 2.4,
      threshold: 3,
      metric: 'dissolved_oxygen_mg_l',
    })
  })

  it('shows a farmer only the alerts of their farm', async () => {
    expect(ids(await w.call('GET', '/alerts', { as: 'farmer' }))).toEqual(['al-a-now', 'al-a-old'])
    expect(ids(await w.call('GET', '/alerts', { as: 'farmerB' }))).toEqual(['al-b'])
    expect(ids(await w.call('GET', '/alerts', { as: 'otherAdmin' }))).toEqual(['al-x'])
  })

  it('filters by farm, site, severity, state and start time', async () => {
    const q = async (query: string) => ids(await w.call('GET', `/alerts?${query}`, { as: 'admin' }))
    expect(await q('farm_id=farm-b')).toEqual(['al-b'])
    expect(await q('site_id=pond-a1')).toEqual(['al-a-now'])
    expect(await q('severity=warning')).toEqual(['al-b', 'al-a-old'])
    expect(await q('state=resolved')).toEqual(['al-a-old'])
    expect(await q('state=unacknowledged')).toEqual(['al-a-now', 'al-b'])
    expect(await q('from=2026-11-20T08:00:00%2B07:00&to=2026-11-20T02:00:00Z')).toEqual(['al-b'])
    expect(await q('limit=1')).toEqual(['al-a-now'])
  })

  it('answers 403 for a farm that is not yours and 404 for one that does not exist', async () => {
    const other = await w.call('GET', '/alerts?farm_id=farm-a', { as: 'farmerB' })
    expect(other.statusCode).toBe(403)
    expect(other.json().message).toMatch(/farm-a/)
    expect((await w.call('GET', '/alerts?farm_id=farm-a', { as: 'otherAdmin' })).statusCode).toBe(
      403,
    )
    expect((await w.call('GET', '/alerts?farm_id=farm-zz', { as: 'admin' })).statusCode).toBe(404)
  })

  it('names the query field at fault in a 400', async () => {
    const field = async (query: string) => {
      const res = await w.call('GET', `/alerts?${query}`, { as: 'admin' })
      expect(res.statusCode).toBe(400)
      return res.json().fields[0].field
    }
    expect(await field('severity=loud')).toBe('querystring.severity')
    expect(await field('state=sleeping')).toBe('querystring.state')
    expect(await field('limit=5000')).toBe('querystring.limit')
    expect(await field('from=yesterday')).toBe('querystring.from')
    expect(await field('from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z')).toBe('querystring.to')
  })

  it('answers 401 without a token', async () => {
    expect((await w.call('GET', '/alerts')).statusCode).toBe(401)
  })
})

describe('GET /alerts/:id', () => {
  it('shows an alert with its history and its deliveries', async () => {
    await w.store.recordDelivery({
      alertId: 'al-a-old',
      channel: 'mqtt',
      target: 'alerts/farm-a',
      status: 'published',
      at: T0 + 1000,
      detail: 'firing',
    })
    const res = await w.call('GET', '/alerts/al-a-old', { as: 'farmer' })
    expect(res.statusCode).toBe(200)
    const a = res.json()
    expect(a).toMatchObject({ alert_id: 'al-a-old', state: 'resolved', value: 4.5 })
    expect(a.resolved_at).toBe(new Date(T0).toISOString())
    expect(a.events.map((e: { state: string }) => e.state)).toEqual(['firing', 'resolved'])
    expect(a.events[1]).toMatchObject({ by: null, note: null, message: 'Oxygen back at 4.5 mg/L' })
    expect(a.deliveries).toEqual([
      {
        channel: 'mqtt',
        target: 'alerts/farm-a',
        status: 'published',
        at: new Date(T0 + 1000).toISOString(),
        detail: 'firing',
      },
    ])
  })

  it("answers 403 for another farm's or cooperative's alert, 404 for an unknown one", async () => {
    expect((await w.call('GET', '/alerts/al-a-now', { as: 'farmerB' })).statusCode).toBe(403)
    expect((await w.call('GET', '/alerts/al-a-now', { as: 'otherAdmin' })).statusCode).toBe(403)
    const missing = await w.call('GET', '/alerts/al-nope', { as: 'admin' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().message).toMatch(/al-nope/)
  })

  it('answers 400 naming the id, and 401 without a token', async () => {
    const bad = await w.call('GET', '/alerts/-bad!', { as: 'admin' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().fields[0].field).toBe('params.id')
    expect((await w.call('GET', '/alerts/al-a-now')).statusCode).toBe(401)
  })
})

describe('POST /alerts/:id/acknowledge', () => {
  it('lets the farmer acknowledge an alert of their farm, recording who and when', async () => {
    const before = Date.now()
    const res = await w.call('POST', '/alerts/al-a-now/acknowledge', { as: 'farmer' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ state: 'firing', acknowledged_by: 'farmer' })
    expect(Date.parse(res.json().acknowledged_at)).toBeGreaterThanOrEqual(before - 1000)
    const detail = (await w.call('GET', '/alerts/al-a-now', { as: 'admin' })).json()
    expect(detail.events.at(-1)).toMatchObject({ state: 'acknowledged', by: 'farmer' })
    // What the processor announces on the bus, so escalation stops.
    expect((await w.store.unannouncedAcknowledgements()).map((a) => a.alertId)).toEqual([
      'al-a-now',
    ])
    expect(ids(await w.call('GET', '/alerts?state=acknowledged', { as: 'farmer' }))).toEqual([
      'al-a-now',
    ])
  })

  it('answers 409 saying why: already acknowledged, or resolved', async () => {
    await w.call('POST', '/alerts/al-a-now/acknowledge', { as: 'farmer' })
    const again = await w.call('POST', '/alerts/al-a-now/acknowledge', { as: 'technician' })
    expect(again.statusCode).toBe(409)
    expect(again.json().message).toMatch(/already acknowledged by farmer/)
    const resolved = await w.call('POST', '/alerts/al-a-old/acknowledge', { as: 'farmer' })
    expect(resolved.statusCode).toBe(409)
    expect(resolved.json().message).toMatch(/resolved .* by its readings/)
  })

  it("answers 403 for another farm's alert, 404, 400 and 401", async () => {
    expect(
      (await w.call('POST', '/alerts/al-a-now/acknowledge', { as: 'farmerB' })).statusCode,
    ).toBe(403)
    expect(
      (await w.call('POST', '/alerts/al-a-now/acknowledge', { as: 'otherAdmin' })).statusCode,
    ).toBe(403)
    expect((await w.call('POST', '/alerts/al-nope/acknowledge', { as: 'admin' })).statusCode).toBe(
      404,
    )
    const bad = await w.call('POST', '/alerts/-bad!/acknowledge', { as: 'admin' })
    expect(bad.json().fields[0].field).toBe('params.id')
    expect((await w.call('POST', '/alerts/al-a-now/acknowledge')).statusCode).toBe(401)
    const untouched = (await w.call('GET', '/alerts/al-a-now', { as: 'admin' })).json()
    expect(untouched.acknowledged_at).toBeNull()
  })
})

describe('POST /alerts/:id/resolve', () => {
  it('closes a firing alert by hand with a note, kept in the history', async () => {
    const res = await w.call('POST', '/alerts/al-a-now/resolve', {
      as: 'technician',
      body: { note: 'aerator 2 restarted' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      state: 'resolved',
      resolved_by: 'tech',
      resolution_note: 'aerator 2 restarted',
    })
    expect(res.json().resolved_at).not.toBeNull()
    const detail = (await w.call('GET', '/alerts/al-a-now', { as: 'farmer' })).json()
    expect(detail.events.at(-1)).toMatchObject({
      state: 'resolved',
      by: 'tech',
      note: 'aerator 2 restarted',
    })
    expect((await w.store.unannouncedResolutions()).map((a) => a.alertId)).toEqual(['al-a-now'])
  })

  it('lets the farmer of the farm resolve it too', async () => {
    const res = await w.call('POST', '/alerts/al-b/resolve', {
      as: 'farmerB',
      body: { note: 'pump fixed' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().resolved_by).toBe('farmer-b')
  })

  it('answers 409 for an alert that is not firing', async () => {
    const res = await w.call('POST', '/alerts/al-a-old/resolve', {
      as: 'admin',
      body: { note: 'done' },
    })
    expect(res.statusCode).toBe(409)
    expect(res.json().message).toMatch(/resolved at .* by its readings/)
  })

  it('names body.note in a 400 when it is missing, empty or too long', async () => {
    for (const body of [{}, { note: '  ' }, { note: 'x'.repeat(501) }]) {
      const res = await w.call('POST', '/alerts/al-a-now/resolve', { as: 'admin', body })
      expect(res.statusCode).toBe(400)
      expect(res.json().fields[0].field).toBe('body.note')
    }
  })

  it("answers 403 for another farm's alert, 404 and 401", async () => {
    const body = { note: 'not mine' }
    expect(
      (await w.call('POST', '/alerts/al-a-now/resolve', { as: 'farmerB', body })).statusCode,
    ).toBe(403)
    expect(
      (await w.call('POST', '/alerts/al-a-now/resolve', { as: 'otherAdmin', body })).statusCode,
    ).toBe(403)
    expect(
      (await w.call('POST', '/alerts/al-nope/resolve', { as: 'admin', body })).statusCode,
    ).toBe(404)
    expect((await w.call('POST', '/alerts/al-a-now/resolve', { body })).statusCode).toBe(401)
  })
})
