import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'

let w: ApiWorld
beforeEach(async () => {
  w = await startApiWorld({ config: { loginRateLimit: { max: 3, windowMs: 60_000 } } })
})
afterEach(() => w.close())

describe('auth', () => {
  it('signs in with login and password and answers /auth/me with the session token', async () => {
    const res = await w.call('POST', '/auth/login', {
      body: { login: 'ADMIN', password: w.adminPassword },
    })
    expect(res.statusCode).toBe(200)
    const { token, user, expires_at } = res.json()
    expect(token).toMatch(/^tani_s_/)
    expect(user).toMatchObject({ id: 'u-admin', role: 'admin', cooperative_id: 'mekong' })
    expect(Date.parse(expires_at)).toBeGreaterThan(Date.now() + 11 * 3_600_000)
    const me = await w.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(me.json()).toMatchObject({ id: 'u-admin', login: 'admin' })
  })

  it('stores tokens only as digests', async () => {
    const res = await w.call('POST', '/auth/login', {
      body: { login: 'admin', password: w.adminPassword },
    })
    const { token } = res.json()
    const listed = await w.store.listTokens('u-admin')
    expect(JSON.stringify(listed)).not.toContain(token)
  })

  it('refuses a wrong password or an unknown login with the same 401', async () => {
    const wrong = await w.call('POST', '/auth/login', {
      body: { login: 'admin', password: 'nope' },
    })
    const unknown = await w.call('POST', '/auth/login', {
      body: { login: 'nobody', password: 'x' },
    })
    expect(wrong.statusCode).toBe(401)
    expect(unknown.statusCode).toBe(401)
    expect(wrong.json()).toEqual(unknown.json())
  })

  it('names the missing field in a 400', async () => {
    const res = await w.call('POST', '/auth/login', { body: { login: 'admin' } })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ error: 'invalid_request' })
    expect(res.json().fields[0].field).toBe('body.password')
  })

  it('limits login attempts per address and login with a 429', async () => {
    for (let i = 0; i < 3; i++)
      expect(
        (await w.call('POST', '/auth/login', { body: { login: 'admin', password: 'x' } }))
          .statusCode,
      ).toBe(401)
    const limited = await w.call('POST', '/auth/login', {
      body: { login: 'admin', password: w.adminPassword },
    })
    expect(limited.statusCode).toBe(429)
    expect(limited.json().message).toMatch(/too many requests/)
    // Another login from the same address is not locked out.
    expect(
      (await w.call('POST', '/auth/login', { body: { login: 'tech', password: 'x' } })).statusCode,
    ).toBe(401)
  })

  it('answers 401 without a token or with a revoked one, and logout revokes', async () => {
    expect((await w.call('GET', '/auth/me')).statusCode).toBe(401)
    expect(
      (await w.call('GET', '/auth/me', { headers: { authorization: 'Bearer tani_a_forged' } }))
        .statusCode,
    ).toBe(401)
    expect((await w.call('POST', '/auth/logout', { as: 'farmer' })).statusCode).toBe(200)
    const after = await w.call('GET', '/auth/me', { as: 'farmer' })
    expect(after.statusCode).toBe(401)
    expect(after.json().message).toMatch(/Bearer/)
  })

  it('creates an API token shown once, lists it without the token, and revokes it', async () => {
    const created = await w.call('POST', '/auth/tokens', {
      as: 'technician',
      body: { name: 'grafana', expires_in_days: 30 },
    })
    expect(created.statusCode).toBe(201)
    const { id, token } = created.json()
    const ok = await w.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(ok.statusCode).toBe(200)
    const list = await w.call('GET', '/auth/tokens', { as: 'technician' })
    expect(list.json().map((t: { id: string }) => t.id)).toContain(id)
    expect(list.body).not.toContain(token)
    expect((await w.call('DELETE', `/auth/tokens/${id}`, { as: 'farmer' })).statusCode).toBe(404)
    expect((await w.call('DELETE', `/auth/tokens/${id}`, { as: 'technician' })).statusCode).toBe(
      200,
    )
    const gone = await w.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(gone.statusCode).toBe(401)
  })

  it('changes your own password only with the current one', async () => {
    const bad = await w.call('POST', '/auth/password', {
      as: 'admin',
      body: { current_password: 'wrong', new_password: 'a much longer password' },
    })
    expect(bad.statusCode).toBe(403)
    const short = await w.call('POST', '/auth/password', {
      as: 'admin',
      body: { current_password: w.adminPassword, new_password: 'short' },
    })
    expect(short.statusCode).toBe(400)
    expect(short.json().fields[0].field).toBe('body.new_password')
    const good = await w.call('POST', '/auth/password', {
      as: 'admin',
      body: { current_password: w.adminPassword, new_password: 'a much longer password' },
    })
    expect(good.statusCode).toBe(200)
    const login = await w.call('POST', '/auth/login', {
      body: { login: 'admin', password: 'a much longer password' },
    })
    expect(login.statusCode).toBe(200)
  })

  it('answers unknown routes with a JSON 404 pointing at /docs', async () => {
    const res = await w.call('GET', '/nope', { as: 'admin' })
    expect(res.statusCode).toBe(404)
    expect(res.json().message).toMatch(/docs/)
  })
})
