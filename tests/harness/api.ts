import type { LightMyRequestResponse } from 'fastify'
import { Registry } from 'prom-client'
import { type ApiApp, type ApiConfig, buildApp, defaultApiConfig } from '../../services/api/app.ts'
import { newToken } from '../../services/api/auth.ts'
import { createInfluxQuery, type InfluxConfig } from '../../services/influx/client.ts'
import { createLogger, type Logger } from '../../services/log.ts'
import { createHealthChecks, type HealthChecks } from '../../services/ops/server.ts'
import type { Role, Store } from '../../services/store/repository.ts'
import { hashPassword } from '../../services/store/secrets.ts'
import { openSqliteStore } from '../../services/store/sqlite-store.ts'

/**
 * The API over a real SQLite store with two cooperatives:
 *   mekong (farms `farm-a`, `farm-b`): an admin, a technician, an agronomist, `farmer`
 *   (member of farm-a only) and `farmer-b` (farm-b only);
 *   delta (farm `farm-x`): its own admin.
 * Tokens for each are minted straight into the store (no login round trip per test).
 */
export type ApiWorld = {
  app: ApiApp
  store: Store
  /** Bearer tokens by person. */
  tokens: Record<Person, string>
  /** The admin's password (for login tests). */
  adminPassword: string
  call(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    opts?: { as?: Person; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>
  close(): Promise<void>
}

export type Person = 'admin' | 'technician' | 'agronomist' | 'farmer' | 'farmerB' | 'otherAdmin'

const people: { key: Person; id: string; role: Role; coop: string; farms: string[] }[] = [
  { key: 'admin', id: 'u-admin', role: 'admin', coop: 'mekong', farms: [] },
  { key: 'technician', id: 'u-tech', role: 'technician', coop: 'mekong', farms: [] },
  { key: 'agronomist', id: 'u-agro', role: 'agronomist', coop: 'mekong', farms: [] },
  { key: 'farmer', id: 'u-farmer', role: 'farmer', coop: 'mekong', farms: ['farm-a'] },
  { key: 'farmerB', id: 'u-farmer-b', role: 'farmer', coop: 'mekong', farms: ['farm-b'] },
  { key: 'otherAdmin', id: 'u-delta-admin', role: 'admin', coop: 'delta', farms: [] },
]

export async function startApiWorld(
  opts: {
    store?: Store
    influx?: InfluxConfig
    config?: Partial<ApiConfig>
    onDeviceRevoked?: (deviceId: string) => void
    /** Checks for /health besides the store's (which is always added). */
    health?: HealthChecks
    /** Where the API logs (default: silent, or TEST_LOG_LEVEL). */
    log?: Logger
  } = {},
): Promise<ApiWorld> {
  const store = opts.store ?? openSqliteStore(':memory:')
  await store.createCooperative({ id: 'mekong', name: 'Mekong Shrimp & Rice Cooperative' })
  await store.createCooperative({ id: 'delta', name: 'Delta Growers' })
  await store.createFarm({
    id: 'farm-a',
    name: 'Farm A',
    timezone: 'Asia/Ho_Chi_Minh',
    cooperativeId: 'mekong',
  })
  await store.createFarm({
    id: 'farm-b',
    name: 'Farm B',
    timezone: 'Asia/Ho_Chi_Minh',
    cooperativeId: 'mekong',
  })
  await store.createFarm({
    id: 'farm-x',
    name: 'Farm X',
    timezone: 'Asia/Jakarta',
    cooperativeId: 'delta',
  })
  await store.createSite({
    id: 'pond-a1',
    farmId: 'farm-a',
    name: 'Pond A1',
    kind: 'pond',
    latitude: 9.6,
    longitude: 105.9,
    tags: { stock: 'white-leg shrimp' },
  })
  await store.createSite({
    id: 'field-b1',
    farmId: 'farm-b',
    name: 'Field B1',
    kind: 'field',
    latitude: null,
    longitude: null,
    tags: { crop: 'rice' },
  })
  const adminPassword = 'correct horse battery staple'
  const tokens = {} as Record<Person, string>
  for (const p of people) {
    await store.createUser({
      id: p.id,
      cooperativeId: p.coop,
      login: p.id.replace(/^u-/, ''),
      name: p.key,
      role: p.role,
      locale: 'vi',
      passwordHash: p.key === 'admin' ? await hashPassword(adminPassword) : null,
    })
    await store.setUserFarms(p.id, p.farms)
    const t = newToken('api')
    await store.createToken({
      id: t.id,
      userId: p.id,
      kind: 'api',
      name: 'test',
      tokenHash: t.hash,
      expiresAt: null,
    })
    tokens[p.key] = t.token
  }
  const influx = createInfluxQuery(
    opts.influx ?? { url: 'http://127.0.0.1:9', api: 'v1', database: 'none' },
  )
  const health = opts.health ?? createHealthChecks()
  health.add('store', async () => {
    await store.listFarms()
    return null
  })
  const app = await buildApp(
    {
      store,
      influx,
      log: opts.log ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      health,
      registry: new Registry(),
      onDeviceRevoked: opts.onDeviceRevoked,
    },
    { ...defaultApiConfig, ...opts.config },
  )
  await app.ready()
  return {
    app,
    store,
    tokens,
    adminPassword,
    call(method, url, o = {}) {
      return app.inject({
        method,
        url,
        headers: { ...(o.as ? { authorization: `Bearer ${tokens[o.as]}` } : {}), ...o.headers },
        ...(o.body === undefined ? {} : { payload: o.body as object }),
      })
    },
    async close() {
      await app.close()
      if (!opts.store) await store.close()
    },
  }
}
