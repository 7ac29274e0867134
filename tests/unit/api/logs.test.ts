import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../services/log.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'

/** Structured request logs, and never a password, token or device secret in them. */
let w: ApiWorld
let logged = ''
beforeAll(async () => {
  const sink = new PassThrough()
  sink.on('data', (chunk: Buffer) => {
    logged += chunk.toString()
  })
  w = await startApiWorld({ log: createLogger('debug', sink) })
})
afterAll(() => w.close())

describe('API logs', () => {
  it('record requests as JSON lines without passwords, tokens or device secrets', async () => {
    const login = await w.call('POST', '/auth/login', {
      body: { login: 'admin', password: w.adminPassword },
    })
    const session = login.json().token as string
    await w.call('POST', '/auth/login', { body: { login: 'admin', password: 'a wrong guess 123' } })
    const person = await w.call('POST', '/users', {
      as: 'admin',
      body: { login: 'lan', name: 'Lan', role: 'farmer', farm_ids: ['farm-a'] },
    })
    const device = await w.call('POST', '/devices', {
      as: 'technician',
      body: { farm_id: 'farm-a', site_id: 'pond-a1', kind: 'pond_sensor', id: 'pond-log-1' },
    })
    expect(device.statusCode).toBe(201)
    await new Promise((r) => setTimeout(r, 50))

    const lines = logged
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.some((l) => l.msg === 'request completed' && l.responseTime !== undefined)).toBe(
      true,
    )
    expect(lines.some((l) => l.msg === 'login refused' && l.login === 'admin')).toBe(true)
    for (const secret of [
      w.adminPassword,
      'a wrong guess 123',
      session,
      w.tokens.admin,
      w.tokens.technician,
      person.json().password as string,
      device.json().secret as string,
    ])
      expect(logged).not.toContain(secret)
  })
})
