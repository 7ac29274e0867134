import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'

let w: ApiWorld
beforeEach(async () => {
  w = await startApiWorld()
})
afterEach(() => w.close())

describe('people', () => {
  it('lets an admin add a farmer with a farm; the generated password signs in once given', async () => {
    const res = await w.call('POST', '/users', {
      as: 'admin',
      body: { login: '0903123456', name: 'Chị Lan', role: 'farmer', farm_ids: ['farm-a'] },
    })
    expect(res.statusCode).toBe(201)
    const { user, password } = res.json()
    expect(user).toMatchObject({
      role: 'farmer',
      cooperative_id: 'mekong',
      farm_ids: ['farm-a'],
      locale: 'vi',
    })
    expect(password).toMatch(/^[A-Za-z0-9_-]{12}$/)
    const login = await w.call('POST', '/auth/login', { body: { login: '0903123456', password } })
    expect(login.statusCode).toBe(200)
    expect(login.json().user.farm_ids).toEqual(['farm-a'])
  })

  it('refuses a farm of another cooperative, naming the field', async () => {
    const res = await w.call('POST', '/users', {
      as: 'admin',
      body: { login: 'someone', name: 'S', role: 'farmer', farm_ids: ['farm-x'] },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().fields[0].field).toBe('body.farm_ids')
  })

  it('names a bad role in a 400 and a taken login in a 409', async () => {
    const bad = await w.call('POST', '/users', {
      as: 'admin',
      body: { login: 'someone', name: 'S', role: 'owner' },
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().fields[0].field).toBe('body.role')
    const taken = await w.call('POST', '/users', {
      as: 'admin',
      body: { login: 'Farmer', name: 'S', role: 'farmer' },
    })
    expect(taken.statusCode).toBe(409)
  })

  it('lets only admins add or change people', async () => {
    for (const as of ['technician', 'agronomist', 'farmer'] as const) {
      const res = await w.call('POST', '/users', {
        as,
        body: { login: 'x-user', name: 'X', role: 'farmer' },
      })
      expect(res.statusCode).toBe(403)
      expect(res.json().message).toMatch(/only admin may add people/)
    }
    expect(
      (await w.call('POST', '/users', { body: { login: 'x', name: 'X', role: 'farmer' } }))
        .statusCode,
    ).toBe(401)
    expect(
      (await w.call('PATCH', '/users/u-farmer', { as: 'technician', body: { role: 'admin' } }))
        .statusCode,
    ).toBe(403)
  })

  it('lists only the caller cooperative people, and not to farmers', async () => {
    const res = await w.call('GET', '/users', { as: 'technician' })
    expect(res.statusCode).toBe(200)
    const ids = res.json().map((u: { id: string }) => u.id)
    expect(ids).toContain('u-farmer')
    expect(ids).not.toContain('u-delta-admin')
    expect((await w.call('GET', '/users', { as: 'farmer' })).statusCode).toBe(403)
    expect((await w.call('GET', '/users')).statusCode).toBe(401)
  })

  it('shows a person to themselves and to staff, 403 across cooperatives, 404 when unknown', async () => {
    expect((await w.call('GET', '/users/u-farmer', { as: 'farmer' })).statusCode).toBe(200)
    expect((await w.call('GET', '/users/u-farmer-b', { as: 'farmer' })).statusCode).toBe(403)
    expect((await w.call('GET', '/users/u-farmer', { as: 'agronomist' })).statusCode).toBe(200)
    expect((await w.call('GET', '/users/u-farmer', { as: 'otherAdmin' })).statusCode).toBe(403)
    expect((await w.call('GET', '/users/u-nobody', { as: 'admin' })).statusCode).toBe(404)
    expect((await w.call('GET', '/users/bad id', { as: 'admin' })).statusCode).toBe(400)
  })

  it('moves a farmer to another farm, which changes what they see', async () => {
    expect((await w.call('GET', '/farms/farm-b', { as: 'farmer' })).statusCode).toBe(403)
    const res = await w.call('PATCH', '/users/u-farmer', {
      as: 'admin',
      body: { farm_ids: ['farm-b'], locale: 'en' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ farm_ids: ['farm-b'], locale: 'en' })
    expect((await w.call('GET', '/farms/farm-b', { as: 'farmer' })).statusCode).toBe(200)
    expect((await w.call('GET', '/farms/farm-a', { as: 'farmer' })).statusCode).toBe(403)
  })

  it('disabling a person ends their tokens; an empty patch is a 400', async () => {
    const empty = await w.call('PATCH', '/users/u-farmer', { as: 'admin', body: {} })
    expect(empty.statusCode).toBe(400)
    expect(empty.json().message).toMatch(/change at least one/)
    expect(
      (await w.call('PATCH', '/users/u-farmer', { as: 'admin', body: { disabled: true } })).json()
        .disabled,
    ).toBe(true)
    expect((await w.call('GET', '/auth/me', { as: 'farmer' })).statusCode).toBe(401)
    const self = await w.call('PATCH', '/users/u-admin', { as: 'admin', body: { disabled: true } })
    expect(self.statusCode).toBe(409)
  })

  it('resets a password: the old sessions end and the new password works', async () => {
    const session = (
      await w.call('POST', '/auth/login', { body: { login: 'admin', password: w.adminPassword } })
    ).json().token
    const res = await w.call('POST', '/users/u-admin/password', { as: 'admin' })
    expect(res.statusCode).toBe(200)
    const me = await w.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${session}` },
    })
    expect(me.statusCode).toBe(401)
    const login = await w.call('POST', '/auth/login', {
      body: { login: 'admin', password: res.json().password },
    })
    expect(login.statusCode).toBe(200)
    expect(
      (await w.call('POST', '/users/u-farmer/password', { as: 'otherAdmin' })).statusCode,
    ).toBe(403)
  })
})

describe('farms and sites', () => {
  it('shows a farmer only their farms, staff every farm of the cooperative', async () => {
    const mine = await w.call('GET', '/farms', { as: 'farmer' })
    expect(mine.json().map((f: { id: string }) => f.id)).toEqual(['farm-a'])
    expect(mine.json()[0].sites[0]).toMatchObject({
      id: 'pond-a1',
      kind: 'pond',
      tags: { stock: 'white-leg shrimp' },
    })
    const staff = await w.call('GET', '/farms', { as: 'agronomist' })
    expect(staff.json().map((f: { id: string }) => f.id)).toEqual(['farm-a', 'farm-b'])
    expect((await w.call('GET', '/farms')).statusCode).toBe(401)
  })

  it('adds a farm to the admin cooperative; bad time zones and taken ids are refused', async () => {
    const res = await w.call('POST', '/farms', {
      as: 'admin',
      body: { id: 'farm-c', name: 'Farm C', timezone: 'Asia/Ho_Chi_Minh' },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({ cooperative_id: 'mekong', sites: [] })
    const badTz = await w.call('POST', '/farms', {
      as: 'admin',
      body: { id: 'farm-d', name: 'D', timezone: 'Mars/Olympus' },
    })
    expect(badTz.statusCode).toBe(400)
    expect(badTz.json().fields[0].field).toBe('body.timezone')
    expect(
      (await w.call('POST', '/farms', { as: 'admin', body: { id: 'farm-x', name: 'X' } }))
        .statusCode,
    ).toBe(409)
    expect(
      (await w.call('POST', '/farms', { as: 'technician', body: { id: 'farm-e', name: 'E' } }))
        .statusCode,
    ).toBe(403)
  })

  it('gives 404 for an unknown farm and 403 for another cooperative farm', async () => {
    expect((await w.call('GET', '/farms/farm-zz', { as: 'admin' })).statusCode).toBe(404)
    expect((await w.call('GET', '/farms/farm-x', { as: 'admin' })).statusCode).toBe(403)
    expect((await w.call('GET', '/farms/farm-x', { as: 'otherAdmin' })).statusCode).toBe(200)
  })

  it('adds a site with coordinates and re-tags it for crop-stage rules', async () => {
    const add = await w.call('POST', '/farms/farm-b/sites', {
      as: 'technician',
      body: {
        id: 'field-b2',
        name: 'Field B2',
        kind: 'field',
        latitude: 10.03,
        longitude: 105.78,
        tags: { crop: 'rice' },
      },
    })
    expect(add.statusCode).toBe(201)
    const badLat = await w.call('POST', '/farms/farm-b/sites', {
      as: 'technician',
      body: { id: 'field-b3', name: 'B3', kind: 'field', latitude: 123 },
    })
    expect(badLat.json().fields[0].field).toBe('body.latitude')
    const tag = await w.call('PATCH', '/farms/farm-b/sites/field-b2', {
      as: 'agronomist',
      body: { tags: { crop: 'rice', crop_stage: 'tillering' } },
    })
    expect(tag.json().tags).toEqual({ crop: 'rice', crop_stage: 'tillering' })
    expect((await w.store.getSite('field-b2'))?.tags).toEqual({
      crop: 'rice',
      crop_stage: 'tillering',
    })
    expect(
      (
        await w.call('PATCH', '/farms/farm-b/sites/pond-a1', {
          as: 'agronomist',
          body: { tags: {} },
        })
      ).statusCode,
    ).toBe(404)
    expect(
      (
        await w.call('POST', '/farms/farm-b/sites', {
          as: 'farmerB',
          body: { id: 's', name: 's', kind: 'pond' },
        })
      ).statusCode,
    ).toBe(403)
  })

  it('lists the people of a farm to staff', async () => {
    const res = await w.call('GET', '/farms/farm-a/members', { as: 'technician' })
    expect(res.json().map((u: { id: string }) => u.id)).toEqual(['u-farmer'])
    expect((await w.call('GET', '/farms/farm-a/members', { as: 'farmer' })).statusCode).toBe(403)
  })
})
