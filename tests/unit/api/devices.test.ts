import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { verifySecret } from '../../../services/store/secrets.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'
import { type ApiWorld, type Person, startApiWorld } from '../../harness/api.ts'

/**
 * The device registry over a real SQLite store. InfluxDB is not running (the world points
 * at a closed port): the fleet still answers from the registry, readings answer 503.
 */

let w: ApiWorld
let disconnected: string[]
beforeEach(async () => {
  disconnected = []
  w = await startApiWorld({ onDeviceRevoked: (id) => disconnected.push(id) })
})
afterEach(() => w.close())

type Method = 'GET' | 'POST' | 'PATCH'
const register = (as: Person, body: Record<string, unknown>) =>
  w.call('POST', '/devices', { as, body })
const csv = (as: Person, text: string) =>
  w.call('POST', '/devices/batch', { as, body: text, headers: { 'content-type': 'text/csv' } })
const fieldsOf = (res: { json(): { fields?: { field: string }[] } }) =>
  (res.json().fields ?? []).map((f) => f.field)

/** A pond sensor on farm-a and an env sensor on farm-b, registered by the technician. */
async function twoDevices() {
  const a = await register('technician', { farm_id: 'farm-a', kind: 'pond_sensor', id: 'pond-1' })
  const b = await register('technician', { farm_id: 'farm-b', kind: 'env_sensor', id: 'env-1' })
  expect([a.statusCode, b.statusCode]).toEqual([201, 201])
  return { a: a.json(), b: b.json() }
}

describe('registering one device', () => {
  it('returns the device with its MQTT secret once, and keeps only a hash of it', async () => {
    const res = await register('technician', {
      farm_id: 'farm-a',
      site_id: 'pond-a1',
      kind: 'pond_sensor',
      name: 'Pond A1 oxygen',
      dev_eui: '0004A30B001C0530',
    })
    expect(res.statusCode).toBe(201)
    const { device, secret, mqtt } = res.json()
    expect(device).toMatchObject({
      farm_id: 'farm-a',
      site_id: 'pond-a1',
      kind: 'pond_sensor',
      name: 'Pond A1 oxygen',
      dev_eui: '0004a30b001c0530',
      revoked: false,
      status: 'never_seen',
    })
    expect(device.id).toMatch(/^pond-[0-9a-f]{8}$/)
    expect(mqtt).toEqual({
      username: device.id,
      client_id: device.id,
      up_topic: `devices/${device.id}/up`,
      status_topic: `devices/${device.id}/status`,
    })
    const hash = (await w.store.deviceSecretHash(device.id)) as string
    expect(hash).toMatch(/^scrypt\$/)
    expect(hash).not.toContain(secret)
    expect(await verifySecret(secret, hash)).toBe(true)
    const again = await w.call('GET', `/devices/${device.id}`, { as: 'admin' })
    expect(again.body).not.toContain(secret)
  })

  it('writes no secret anywhere in the database file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tani-devices-'))
    const store = openSqliteStore(join(dir, 'tani.db'))
    const world = await startApiWorld({ store })
    try {
      const res = await world.call('POST', '/devices/batch', {
        as: 'admin',
        body: 'kind,farm_id\npond_sensor,farm-a\nenv_sensor,farm-b\n',
        headers: { 'content-type': 'text/csv' },
      })
      expect(res.statusCode).toBe(201)
      const secrets: string[] = res.json().devices.map((d: { secret: string }) => d.secret)
      const bytes = Buffer.concat(
        await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f)))),
      )
      for (const s of secrets) expect(bytes.includes(s)).toBe(false)
    } finally {
      await world.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('names the field at fault in a 400', async () => {
    const kind = await register('admin', { farm_id: 'farm-a', kind: 'weather_balloon' })
    expect(kind.statusCode).toBe(400)
    expect(fieldsOf(kind)).toEqual(['body.kind'])
    const eui = await register('admin', { farm_id: 'farm-a', kind: 'env_sensor', dev_eui: 'xyz' })
    expect(fieldsOf(eui)).toEqual(['body.dev_eui'])
    expect(eui.json().message).toMatch(/16 hex digits/)
    const site = await register('admin', {
      farm_id: 'farm-a',
      kind: 'env_sensor',
      site_id: 'field-b1',
    })
    expect(site.statusCode).toBe(400)
    expect(fieldsOf(site)).toEqual(['body.site_id'])
    expect(site.json().message).toMatch(/not one of farm farm-a's sites/)
  })

  it('answers 409 for a taken id or DevEUI', async () => {
    await twoDevices()
    const id = await register('admin', { farm_id: 'farm-a', kind: 'pond_sensor', id: 'pond-1' })
    expect(id.statusCode).toBe(409)
    expect(id.json().message).toMatch(/pond-1 is already registered/)
    await register('admin', { farm_id: 'farm-a', kind: 'env_sensor', dev_eui: '0004a30b001c0530' })
    const eui = await register('admin', {
      farm_id: 'farm-b',
      kind: 'env_sensor',
      dev_eui: '0004A30B001C0530',
    })
    expect(eui.statusCode).toBe(409)
    expect(fieldsOf(eui)).toEqual(['body.dev_eui'])
  })

  it('lets only admins and technicians register, on farms of their cooperative', async () => {
    const body = { farm_id: 'farm-a', kind: 'pond_sensor' }
    expect((await w.call('POST', '/devices', { body })).statusCode).toBe(401)
    for (const who of ['farmer', 'agronomist'] as const) {
      const res = await register(who, body)
      expect(res.statusCode).toBe(403)
      expect(res.json().message).toMatch(/only admin or technician/)
    }
    expect((await register('otherAdmin', body)).statusCode).toBe(403)
    expect((await register('admin', { ...body, farm_id: 'farm-nowhere' })).statusCode).toBe(404)
    expect(await w.store.listDevices()).toEqual([])
  })
})

describe('registering a batch', () => {
  it('registers every row of a CSV, with optional columns empty or left out', async () => {
    const res = await csv(
      'technician',
      'kind,farm_id,site_id,name\n' +
        'pond_sensor,farm-a,pond-a1,Aerator pond\n' +
        'env_sensor,farm-b,,\n' +
        '"pest_trap",farm-b,field-b1,"Trap, north corner"\n',
    )
    expect(res.statusCode).toBe(201)
    const devices = res.json().devices
    expect(devices).toHaveLength(3)
    expect(devices.map((d: { device: { name: string } }) => d.device.name)).toEqual([
      'Aerator pond',
      devices[1].device.id,
      'Trap, north corner',
    ])
    for (const d of devices)
      expect(
        await verifySecret(d.secret, (await w.store.deviceSecretHash(d.device.id)) ?? ''),
      ).toBe(true)
  })

  it('takes the same rows as JSON', async () => {
    const res = await w.call('POST', '/devices/batch', {
      as: 'admin',
      body: { devices: [{ kind: 'env_sensor', farm_id: 'farm-a', id: 'env-7', site_id: null }] },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json().devices[0].device.id).toBe('env-7')
  })

  it('registers nothing when a row is bad, and names every bad row and column', async () => {
    await twoDevices()
    const res = await csv(
      'technician',
      'kind,farm_id,site_id,id,dev_eui\n' +
        'pond_sensor,farm-a,pond-a1,pond-2,\n' +
        'pond_snsor,farm-a,,,\n' +
        'env_sensor,farm-a,field-b1,,\n' +
        '\n' +
        'env_sensor,farm-b,,pond-1,0004A30B001C0531\n' +
        'env_sensor,farm-b,,pond-2,0004a30b001c0531\n' +
        'env_sensor,farm-gone,,,\n' +
        'env_sensor,farm-a,,,,extra\n',
    )
    expect(res.statusCode).toBe(400)
    expect(fieldsOf(res)).toEqual([
      'row 3.kind',
      'row 4.site_id',
      'row 6.id',
      'row 7.id',
      'row 7.dev_eui',
      'row 8.farm_id',
      'row 9',
    ])
    expect(res.json().message).toMatch(/^nothing was registered/)
    expect(res.json().message).toMatch(/row 7.id: pond-2 is also in row 2/)
    expect((await w.store.listDevices()).map((d) => d.id)).toEqual(['env-1', 'pond-1'])
  })

  it('explains a bad header, an empty file and too many rows', async () => {
    const header = await csv('admin', 'kind,farm,colour\npond_sensor,farm-a,red\n')
    expect(header.statusCode).toBe(400)
    expect(fieldsOf(header)).toEqual(['header', 'header', 'header'])
    expect(header.json().message).toMatch(/unknown column "farm".*column farm_id is missing/)
    const empty = await csv('admin', 'kind,farm_id\n')
    expect(empty.statusCode).toBe(400)
    expect(empty.json().message).toMatch(/no devices under its header/)
    const many = await csv('admin', `kind,farm_id\n${'env_sensor,farm-a\n'.repeat(1001)}`)
    expect(many.statusCode).toBe(413)
    expect(many.json().message).toMatch(/at most 1000 devices.*split it/)
    const neither = await w.call('POST', '/devices/batch', { as: 'admin', body: { rows: [] } })
    expect(neither.statusCode).toBe(400)
    expect(neither.json().message).toMatch(/text\/csv/)
  })

  it('is for admins and technicians, and only on farms they may see', async () => {
    const text = 'kind,farm_id\nenv_sensor,farm-a\n'
    expect(
      (
        await w.call('POST', '/devices/batch', {
          body: text,
          headers: { 'content-type': 'text/csv' },
        })
      ).statusCode,
    ).toBe(401)
    expect((await csv('farmer', text)).statusCode).toBe(403)
    const other = await csv('otherAdmin', `${text}env_sensor,farm-x\n`)
    expect(other.statusCode).toBe(403)
    expect(fieldsOf(other)).toEqual(['row 2.farm_id'])
    expect(await w.store.listDevices()).toEqual([])
  })
})

describe('the fleet view', () => {
  it('lists the devices of your farms, with live data marked unavailable without InfluxDB', async () => {
    await twoDevices()
    await w.call('POST', '/devices/env-1/revoke', { as: 'admin' })
    const admin = await w.call('GET', '/devices', { as: 'admin' })
    expect(admin.statusCode).toBe(200)
    expect(admin.headers['x-live-data']).toBe('unavailable')
    const body = admin.json()
    expect(body.live_data).toBe('unavailable')
    expect(body.message).toMatch(/InfluxDB did not answer/)
    expect(body.devices.map((d: { id: string; status: string }) => [d.id, d.status])).toEqual([
      ['pond-1', 'unknown'],
      ['env-1', 'revoked'],
    ])
    expect(body.devices[0]).toMatchObject({ last_seen: null, battery_pct: null, firmware: null })
    const farmer = await w.call('GET', '/devices', { as: 'farmer' })
    expect(farmer.json().devices.map((d: { id: string }) => d.id)).toEqual(['pond-1'])
    expect((await w.call('GET', '/devices', { as: 'otherAdmin' })).json().devices).toEqual([])
  })

  it('filters by farm, kind and status', async () => {
    await twoDevices()
    const ids = async (query: string) =>
      (await w.call('GET', `/devices?${query}`, { as: 'admin' }))
        .json()
        .devices.map((d: { id: string }) => d.id)
    expect(await ids('farm_id=farm-b')).toEqual(['env-1'])
    expect(await ids('kind=pond_sensor')).toEqual(['pond-1'])
    expect(await ids('status=revoked')).toEqual([])
  })

  it('answers 400, 401, 403 and 404 for bad filters and farms', async () => {
    const bad = await w.call('GET', '/devices?kind=drone&silent_after=soon', { as: 'admin' })
    expect(bad.statusCode).toBe(400)
    expect(fieldsOf(bad).sort()).toEqual(['querystring.kind', 'querystring.silent_after'])
    expect((await w.call('GET', '/devices')).statusCode).toBe(401)
    expect((await w.call('GET', '/devices?farm_id=farm-b', { as: 'farmer' })).statusCode).toBe(403)
    expect((await w.call('GET', '/devices?farm_id=farm-a', { as: 'otherAdmin' })).statusCode).toBe(
      403,
    )
    expect((await w.call('GET', '/devices?farm_id=farm-zz', { as: 'admin' })).statusCode).toBe(404)
  })
})

describe('one device: view, change, rotate, revoke', () => {
  const routes: [Method, string, unknown?][] = [
    ['GET', '/devices/pond-1'],
    ['PATCH', '/devices/pond-1', { name: 'Pond 1' }],
    ['POST', '/devices/pond-1/rotate-secret'],
    ['POST', '/devices/pond-1/revoke'],
    ['GET', '/devices/pond-1/readings/latest'],
    ['GET', '/devices/pond-1/readings?metric=ph'],
  ]

  it.each(routes)(
    '%s %s answers 401, 403 for other farms, 404 for unknown devices',
    async (method, url, body) => {
      await twoDevices()
      expect((await w.call(method, url, { body })).statusCode).toBe(401)
      for (const who of ['farmerB', 'otherAdmin'] as const) {
        const res = await w.call(method, url, { as: who, body })
        expect(res.statusCode).toBe(403)
      }
      // Farmers may not change devices at all; another cooperative's admin may not see this one.
      expect((await w.call(method, url, { as: 'otherAdmin', body })).json().message).toMatch(
        /access to device pond-1/,
      )
      const missing = await w.call(method, url.replace('pond-1', 'pond-9'), { as: 'admin', body })
      expect(missing.statusCode).toBe(404)
      expect(missing.json().message).toBe('device pond-9 does not exist')
    },
  )

  it.each(routes.slice(1, 4))(
    '%s %s is for admins and technicians only',
    async (method, url, body) => {
      await twoDevices()
      for (const who of ['farmer', 'agronomist'] as const)
        expect((await w.call(method, url, { as: who, body })).statusCode).toBe(403)
    },
  )

  it('shows a device to a farmer of its farm, and names a bad id', async () => {
    await twoDevices()
    const res = await w.call('GET', '/devices/pond-1', { as: 'farmer' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ id: 'pond-1', farm_id: 'farm-a', status: 'unknown' })
    const bad = await w.call('GET', '/devices/pond%2B1', { as: 'admin' })
    expect(bad.statusCode).toBe(400)
    expect(fieldsOf(bad)).toEqual(['params.id'])
  })

  it('renames a device and moves it to a site of its farm only', async () => {
    await twoDevices()
    const res = await w.call('PATCH', '/devices/pond-1', {
      as: 'technician',
      body: { name: 'Pond A1 probe', site_id: 'pond-a1' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ name: 'Pond A1 probe', site_id: 'pond-a1' })
    const away = await w.call('PATCH', '/devices/pond-1', {
      as: 'admin',
      body: { site_id: 'field-b1' },
    })
    expect(away.statusCode).toBe(400)
    expect(fieldsOf(away)).toEqual(['body.site_id'])
    const empty = await w.call('PATCH', '/devices/pond-1', { as: 'admin', body: {} })
    expect(empty.statusCode).toBe(400)
    expect(empty.json().message).toMatch(/change at least one of name, site_id/)
  })

  it('rotates a secret: the new one verifies, the old one does not, the connection is dropped', async () => {
    const { a } = await twoDevices()
    const res = await w.call('POST', '/devices/pond-1/rotate-secret', { as: 'technician' })
    expect(res.statusCode).toBe(200)
    const { secret, mqtt } = res.json()
    expect(secret).not.toBe(a.secret)
    expect(mqtt.username).toBe('pond-1')
    const hash = (await w.store.deviceSecretHash('pond-1')) as string
    expect(await verifySecret(secret, hash)).toBe(true)
    expect(await verifySecret(a.secret, hash)).toBe(false)
    expect(disconnected).toEqual(['pond-1'])
  })

  it('revokes a device: no secret works, the connection is dropped, and twice is a 409', async () => {
    await twoDevices()
    const res = await w.call('POST', '/devices/pond-1/revoke', { as: 'admin' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ id: 'pond-1', revoked: true, status: 'revoked' })
    expect(await w.store.deviceSecretHash('pond-1')).toBeNull()
    expect(disconnected).toEqual(['pond-1'])
    const again = await w.call('POST', '/devices/pond-1/revoke', { as: 'admin' })
    expect(again.statusCode).toBe(409)
    expect(again.json().message).toMatch(/already revoked/)
    const rotate = await w.call('POST', '/devices/pond-1/rotate-secret', { as: 'admin' })
    expect(rotate.statusCode).toBe(409)
    expect(disconnected).toEqual(['pond-1'])
  })
})

describe('readings without InfluxDB', () => {
  it('answers 503 saying InfluxDB is not answering, after checking access', async () => {
    await twoDevices()
    for (const url of [
      '/devices/pond-1/readings/latest',
      '/devices/pond-1/readings?metric=ph',
      '/farms/farm-a/readings/latest',
    ]) {
      const res = await w.call('GET', url, { as: 'farmer' })
      expect(res.statusCode, url).toBe(503)
      expect(res.json()).toMatchObject({ error: 'unavailable' })
      expect(res.json().message).toMatch(/InfluxDB/)
    }
  })

  it('names the query field at fault in a 400', async () => {
    await twoDevices()
    const cases: [string, string, RegExp][] = [
      ['metric=air_temp_c', 'querystring.metric', /use one of dissolved_oxygen_mg_l/],
      ['metric=ph&aggregate=median', 'querystring.aggregate', /mean/],
      ['metric=ph&from=yesterday', 'querystring.from', /ISO/],
      ['metric=ph&every=often', 'querystring.every', /not a duration/],
      ['metric=ph&species=brown_planthopper', 'querystring.species', /only pest traps/],
      [
        'metric=ph&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z',
        'querystring.from',
        /before to/,
      ],
      [
        'metric=ph&from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&every=1m',
        'querystring.every',
        /too many intervals/,
      ],
    ]
    for (const [query, field, message] of cases) {
      const res = await w.call('GET', `/devices/pond-1/readings?${query}`, { as: 'farmer' })
      expect(res.statusCode, query).toBe(400)
      expect(fieldsOf(res), query).toEqual([field])
      expect(res.json().message, query).toMatch(message)
    }
  })

  it("guards a farm's latest readings like the farm itself", async () => {
    const url = '/farms/farm-a/readings/latest'
    expect((await w.call('GET', url)).statusCode).toBe(401)
    expect((await w.call('GET', url, { as: 'farmerB' })).statusCode).toBe(403)
    expect((await w.call('GET', url, { as: 'otherAdmin' })).statusCode).toBe(403)
    expect(
      (await w.call('GET', '/farms/farm-zz/readings/latest', { as: 'admin' })).statusCode,
    ).toBe(404)
    const bad = await w.call('GET', `${url}?kind=drone`, { as: 'admin' })
    expect(bad.statusCode).toBe(400)
    expect(fieldsOf(bad)).toEqual(['querystring.kind'])
  })
})
