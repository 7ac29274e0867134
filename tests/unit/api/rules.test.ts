import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Rule, type RuleInput } from '../../../shared/index.ts'
import { type ApiWorld, type Person, startApiWorld } from '../../harness/api.ts'

let w: ApiWorld
beforeEach(async () => {
  w = await startApiWorld()
})
afterEach(() => w.close())

const bphHigh = (over: Partial<RuleInput> = {}): RuleInput => ({
  id: 'bph-high',
  name: 'Brown planthopper catches high',
  scope: { kind: 'pest_trap' },
  severity: 'warning',
  message: '{value} brown planthoppers at {device} last night',
  condition: {
    type: 'threshold',
    metric: 'counts.brown_planthopper',
    op: 'above',
    value: 1000,
    clear: 500,
  },
  ...over,
})

const create = (as: Person = 'agronomist', body: unknown = bphHigh()) =>
  w.call('POST', '/rules', { as, body })
/** A platform-wide rule, loaded by an operator (no cooperative). */
const platformRule = () =>
  w.store.putRule(Rule.parse(bphHigh({ id: 'platform-bph', name: 'Platform BPH' })))

describe('rules: create and read', () => {
  it("creates version 1 in the caller's cooperative, whatever the body says", async () => {
    const res = await create('agronomist', {
      ...bphHigh(),
      scope: { kind: 'pest_trap', cooperative_id: 'delta', farm_ids: ['farm-a'] },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({
      id: 'bph-high',
      version: 1,
      enabled: true,
      scope: { cooperative_id: 'mekong', farm_ids: ['farm-a'] },
    })
    const [v1] = (await w.call('GET', '/rules/bph-high/versions', { as: 'farmer' })).json()
    expect(v1).toMatchObject({ version: 1, change: 'create', author: 'agro' })
    expect(Date.parse(v1.at)).toBeGreaterThan(Date.now() - 60_000)
    expect(v1.diff).toContainEqual({ type: 'CREATE', path: ['severity'], value: 'warning' })
  })

  it('names the field at fault in a 400', async () => {
    const { value: _v, ...noValue } = bphHigh().condition as Record<string, unknown>
    const res = await create('agronomist', { ...bphHigh(), condition: noValue })
    expect(res.statusCode).toBe(400)
    expect(res.json().fields[0].field).toBe('body.condition.value')
    const otherFarm = await create('agronomist', {
      ...bphHigh(),
      scope: { kind: 'pest_trap', farm_ids: ['farm-x'] },
    })
    expect(otherFarm.statusCode).toBe(400)
    expect(otherFarm.json().fields[0]).toMatchObject({ field: 'body.scope.farm_ids' })
    const otherSite = await create('agronomist', {
      ...bphHigh(),
      scope: { kind: 'pest_trap', site_ids: ['nowhere'] },
    })
    expect(otherSite.json().fields[0].field).toBe('body.scope.site_ids')
  })

  it('answers 401 without a token and 403 to farmers and technicians', async () => {
    expect((await w.call('POST', '/rules', { body: bphHigh() })).statusCode).toBe(401)
    expect((await w.call('GET', '/rules')).statusCode).toBe(401)
    for (const who of ['farmer', 'technician'] as const) {
      const res = await create(who)
      expect(res.statusCode).toBe(403)
      expect(res.json().message).toMatch(/only admin or agronomist/)
    }
    expect((await create('admin')).statusCode).toBe(201)
  })

  it('refuses a taken id with a 409, even one of another cooperative or a deleted rule', async () => {
    expect((await create('otherAdmin')).statusCode).toBe(201)
    const taken = await create('agronomist')
    expect(taken.statusCode).toBe(409)
    expect(taken.json().message).toMatch(/bph-high is taken/)
    expect((await create('agronomist', bphHigh({ id: 'gone' }))).statusCode).toBe(201)
    await w.call('DELETE', '/rules/gone', { as: 'agronomist' })
    expect((await create('agronomist', bphHigh({ id: 'gone' }))).statusCode).toBe(409)
  })

  it("lists the cooperative's and the platform's rules, never another cooperative's", async () => {
    await platformRule()
    await create('agronomist')
    await create('agronomist', bphHigh({ id: 'do-low', scope: { kind: 'pond_sensor' } }))
    await w.call('POST', '/rules/do-low/disable', { as: 'agronomist' })
    await create('otherAdmin', bphHigh({ id: 'delta-bph' }))
    const ids = async (q: string) =>
      (await w.call('GET', `/rules${q}`, { as: 'farmer' })).json().map((r: Rule) => r.id)
    expect(await ids('')).toEqual(['bph-high', 'do-low', 'platform-bph'])
    expect(await ids('?kind=pond_sensor')).toEqual(['do-low'])
    expect(await ids('?enabled=true')).toEqual(['bph-high', 'platform-bph'])
    expect(await ids('?enabled=false')).toEqual(['do-low'])
    const bad = await w.call('GET', '/rules?kind=toaster', { as: 'farmer' })
    expect(bad.json().fields[0].field).toBe('querystring.kind')
  })

  it('shows one rule: 404 unknown, 403 of another cooperative, platform rules to all', async () => {
    await platformRule()
    await create('otherAdmin', bphHigh({ id: 'delta-bph' }))
    expect((await w.call('GET', '/rules/nope', { as: 'farmer' })).statusCode).toBe(404)
    expect((await w.call('GET', '/rules/delta-bph', { as: 'admin' })).statusCode).toBe(403)
    expect((await w.call('GET', '/rules/delta-bph/versions', { as: 'admin' })).statusCode).toBe(403)
    const platform = await w.call('GET', '/rules/platform-bph', { as: 'farmer' })
    expect(platform.json()).toMatchObject({ id: 'platform-bph', scope: { kind: 'pest_trap' } })
  })
})

describe('rules: changes and their history', () => {
  const put = (as: Person, body: unknown, id = 'bph-high') =>
    w.call('PUT', `/rules/${id}`, { as, body })

  it('records an update as version 2 with author, time and the changed value', async () => {
    await create('agronomist')
    const raised = bphHigh({ version: 1 })
    const res = await put('admin', { ...raised, condition: { ...raised.condition, value: 1200 } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ version: 2, condition: { value: 1200 } })
    const v2 = (await w.call('GET', '/rules/bph-high/versions/2', { as: 'technician' })).json()
    expect(v2).toMatchObject({ version: 2, change: 'update', author: 'admin' })
    expect(v2.diff).toEqual([
      { type: 'CHANGE', path: ['condition', 'value'], old_value: 1000, value: 1200 },
    ])
    expect((await w.store.getRule('bph-high'))?.condition).toMatchObject({ value: 1200 })
  })

  it('answers 409 to a change made on a stale version, and 400 when the version is missing', async () => {
    await create('agronomist')
    expect((await put('agronomist', { ...bphHigh(), version: 1, name: 'First' })).statusCode).toBe(
      200,
    )
    const stale = await put('admin', { ...bphHigh(), version: 1, name: 'Second' })
    expect(stale.statusCode).toBe(409)
    expect(stale.json().message).toMatch(/at version 2, not 1/)
    const missing = await put('admin', bphHigh())
    expect(missing.statusCode).toBe(400)
    expect(missing.json().fields[0].field).toBe('body.version')
    const wrongId = await put('admin', { ...bphHigh({ id: 'other' }), version: 2 })
    expect(wrongId.json().fields[0].field).toBe('body.id')
    const stop = await w.call('POST', '/rules/bph-high/disable?version=1', { as: 'admin' })
    expect(stop.statusCode).toBe(409)
  })

  it('refuses changes to 401, farmers, other cooperatives and platform rules; 404 unknown', async () => {
    await create('agronomist')
    await platformRule()
    const body = { ...bphHigh(), version: 1 }
    expect((await w.call('PUT', '/rules/bph-high', { body })).statusCode).toBe(401)
    expect((await put('farmer', body)).statusCode).toBe(403)
    expect((await put('technician', body)).statusCode).toBe(403)
    expect((await put('otherAdmin', body)).statusCode).toBe(403)
    const platform = await put('admin', { ...body, id: 'platform-bph' }, 'platform-bph')
    expect(platform.statusCode).toBe(403)
    expect(platform.json().message).toMatch(/platform-wide and read-only/)
    for (const path of ['enable', 'disable', 'rollback'])
      expect(
        (await w.call('POST', `/rules/platform-bph/${path}`, { as: 'admin', body: { version: 1 } }))
          .statusCode,
      ).toBe(403)
    expect((await w.call('DELETE', '/rules/platform-bph', { as: 'admin' })).statusCode).toBe(403)
    expect((await put('admin', body, 'nope')).statusCode).toBe(404)
    expect((await w.call('DELETE', '/rules/nope', { as: 'admin' })).statusCode).toBe(404)
    expect((await w.call('POST', '/rules/nope/enable', { as: 'admin' })).statusCode).toBe(404)
  })

  it('disables and enables as versions, and the store the processor reads follows', async () => {
    await create('agronomist')
    const revision = await w.store.rulesRevision()
    const off = await w.call('POST', '/rules/bph-high/disable', { as: 'agronomist' })
    expect(off.json()).toMatchObject({ enabled: false, version: 2 })
    // The processor reloads its rules when the revision moves.
    expect(await w.store.rulesRevision()).not.toBe(revision)
    const stored = (await w.store.listRules()).find((r) => r.id === 'bph-high')
    expect(stored?.enabled).toBe(false)
    // Disabling a disabled rule changes nothing.
    await w.call('POST', '/rules/bph-high/disable', { as: 'agronomist' })
    const on = await w.call('POST', '/rules/bph-high/enable?version=2', { as: 'admin' })
    expect(on.json()).toMatchObject({ enabled: true, version: 3 })
    const history = (await w.call('GET', '/rules/bph-high/versions', { as: 'farmer' })).json()
    expect(history.map((v: { change: string }) => v.change)).toEqual([
      'create',
      'disable',
      'enable',
    ])
    expect(history[1].diff).toEqual([
      { type: 'CHANGE', path: ['enabled'], old_value: true, value: false },
    ])
    expect((await w.call('POST', '/rules/bph-high/enable', { as: 'farmer' })).statusCode).toBe(403)
  })

  it('deletes as a version and keeps the history; the deleted rule is gone from the store', async () => {
    await create('agronomist')
    const del = await w.call('DELETE', '/rules/bph-high', { as: 'agronomist' })
    expect(del.statusCode).toBe(200)
    expect(del.json()).toMatchObject({ version: 2, change: 'delete', author: 'agro' })
    expect((await w.store.listRules()).map((r) => r.id)).not.toContain('bph-high')
    const gone = await w.call('GET', '/rules/bph-high', { as: 'farmer' })
    expect(gone.statusCode).toBe(404)
    expect(gone.json().message).toMatch(/rollback/)
    const history = await w.call('GET', '/rules/bph-high/versions', { as: 'farmer' })
    expect(history.json()).toHaveLength(2)
    expect((await w.call('DELETE', '/rules/bph-high', { as: 'farmer' })).statusCode).toBe(403)
  })

  it('rolls back to an old document as a new version, and brings a deleted rule back', async () => {
    await create('agronomist')
    const v1 = bphHigh({ version: 1 })
    await put('agronomist', { ...v1, condition: { ...v1.condition, value: 1200 } })
    const back = await w.call('POST', '/rules/bph-high/rollback', {
      as: 'admin',
      body: { version: 1 },
    })
    expect(back.statusCode).toBe(200)
    expect(back.json()).toMatchObject({ version: 3, change: 'rollback', author: 'admin' })
    expect(back.json().diff).toEqual([
      { type: 'CHANGE', path: ['condition', 'value'], old_value: 1200, value: 1000 },
    ])
    const first = (await w.call('GET', '/rules/bph-high/versions/1', { as: 'admin' })).json()
    const now = (await w.call('GET', '/rules/bph-high', { as: 'admin' })).json()
    expect({ ...now, version: 1 }).toEqual(first.rule)

    await w.call('DELETE', '/rules/bph-high', { as: 'agronomist' })
    const deletion = await w.call('POST', '/rules/bph-high/rollback', {
      as: 'agronomist',
      body: { version: 4 },
    })
    expect(deletion.json().fields[0].field).toBe('body.version')
    const undeleted = await w.call('POST', '/rules/bph-high/rollback', {
      as: 'agronomist',
      body: { version: 3 },
    })
    expect(undeleted.json()).toMatchObject({ version: 5, change: 'rollback' })
    expect((await w.store.getRule('bph-high'))?.condition).toMatchObject({ value: 1000 })
  })

  it('answers 400, 401, 403 and 404 around versions and rollbacks', async () => {
    await create('agronomist')
    const notNumber = await w.call('GET', '/rules/bph-high/versions/first', { as: 'admin' })
    expect(notNumber.json().fields[0].field).toBe('params.version')
    expect((await w.call('GET', '/rules/bph-high/versions/9', { as: 'admin' })).statusCode).toBe(
      404,
    )
    expect((await w.call('GET', '/rules/nope/versions', { as: 'admin' })).statusCode).toBe(404)
    expect((await w.call('GET', '/rules/bph-high/versions/1')).statusCode).toBe(401)
    const rollback = (as: Person | undefined, body: unknown, id = 'bph-high') =>
      w.call('POST', `/rules/${id}/rollback`, { ...(as ? { as } : {}), body })
    expect((await rollback('admin', {})).json().fields[0].field).toBe('body.version')
    expect((await rollback(undefined, { version: 1 })).statusCode).toBe(401)
    expect((await rollback('technician', { version: 1 })).statusCode).toBe(403)
    expect((await rollback('otherAdmin', { version: 1 })).statusCode).toBe(403)
    expect((await rollback('admin', { version: 7 })).statusCode).toBe(404)
    expect((await rollback('admin', { version: 1 }, 'nope')).statusCode).toBe(404)
  })
})

describe('rules: backtest requests', () => {
  const trend = {
    ...bphHigh({ id: 'bph-rising' }),
    condition: {
      type: 'trend',
      metric: 'counts.brown_planthopper',
      direction: 'rising',
      per_day: 0.3,
      window: '3d',
      bucket: 'night',
    },
  }
  const range = { from: '2026-11-20T00:00:00+07:00', to: '2026-11-27T12:00:00+07:00' }
  const run = (as: Person | undefined, body: unknown) =>
    w.call('POST', '/rules/backtest', { ...(as ? { as } : {}), body })

  it('names the draft field at fault, and checks the range', async () => {
    const { window: _w, ...noWindow } = trend.condition
    const bad = await run('agronomist', { ...range, rule: { ...trend, condition: noWindow } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().fields[0].field).toBe('body.rule.condition.window')
    const reversed = await run('agronomist', { rule: trend, from: range.to, to: range.from })
    expect(reversed.json().fields[0]).toMatchObject({ field: 'body.to' })
    const long = await run('agronomist', {
      rule: trend,
      from: '2026-01-01T00:00:00Z',
      to: range.to,
    })
    expect(long.json().message).toMatch(/at most 92 days/)
    const noZone = await run('agronomist', { ...range, from: '2026-11-20T00:00:00', rule: trend })
    expect(noZone.json().fields[0].field).toBe('body.from')
    const farm = await run('agronomist', {
      ...range,
      rule: { ...trend, scope: { kind: 'pest_trap', device_ids: ['trap-elsewhere'] } },
    })
    expect(farm.json().fields[0].field).toBe('body.rule.scope.device_ids')
  })

  it('is for staff: 401 without a token, 403 for farmers', async () => {
    expect((await run(undefined, { ...range, rule: trend })).statusCode).toBe(401)
    const farmer = await run('farmer', { ...range, rule: trend })
    expect(farmer.statusCode).toBe(403)
    expect(farmer.json().message).toMatch(/admin or agronomist or technician/)
  })

  it('answers 503 when InfluxDB cannot be reached', async () => {
    const res = await run('technician', { ...range, rule: trend })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ error: 'unavailable' })
    expect(res.json().message).toMatch(/InfluxDB/)
  })
})

describe('rules in the OpenAPI document', () => {
  it('lists every rules route', async () => {
    const doc = w.app.swagger() as { paths: Record<string, Record<string, unknown>> }
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/rules'))).toEqual([
      '/rules',
      '/rules/{id}',
      '/rules/{id}/enable',
      '/rules/{id}/disable',
      '/rules/{id}/versions',
      '/rules/{id}/versions/{version}',
      '/rules/{id}/rollback',
      '/rules/backtest',
    ])
  })
})
