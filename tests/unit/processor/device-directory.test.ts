import { afterEach, describe, expect, it, vi } from 'vitest'
import { createDeviceDirectory } from '../../../services/processor/device-directory.ts'
import { registerDevices } from '../../../services/store/provisioning.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'

/** The processor's cache of the registry, on the real store (SQLite in memory). */
async function setup() {
  const store = openSqliteStore(':memory:')
  await store.createFarm({ id: 'farm-1', name: 'Farm 1', timezone: 'Asia/Ho_Chi_Minh' })
  await store.createSite({
    id: 'pond-a',
    farmId: 'farm-1',
    name: 'Shrimp pond A',
    kind: 'pond',
    latitude: 10.03,
    longitude: 105.78,
  })
  await registerDevices(store, {
    farmId: 'farm-1',
    siteId: 'pond-a',
    kind: 'pond_sensor',
    ids: ['pond-1', 'pond-2'],
  })
  return { store, directory: createDeviceDirectory(store, 30_000) }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('device directory', () => {
  it('answers from its cache without waiting once a device has been read', async () => {
    const { directory } = await setup()
    expect(directory.peek('pond-1')).toBeUndefined()
    const device = await directory.get('pond-1')
    expect(device?.kind).toBe('pond_sensor')
    expect(directory.peek('pond-1')).toBe(device)
    // An unknown device is an answer too (null), not a reason to ask SQLite every time.
    expect(await directory.get('nobody')).toBeNull()
    expect(directory.peek('nobody')).toBeNull()
  })

  it('sees a revocation within the TTL, and forgets devices gone quiet', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { store, directory } = await setup()
    expect((await directory.get('pond-1'))?.revokedAt).toBeNull()
    await store.revokeDevice('pond-1')
    vi.advanceTimersByTime(10_000)
    // Still within the TTL: the cached answer.
    expect(directory.peek('pond-1')?.revokedAt).toBeNull()
    vi.advanceTimersByTime(21_000)
    expect(directory.peek('pond-1')).toBeUndefined()
    expect((await directory.get('pond-1'))?.revokedAt).not.toBeNull()
  })

  it('gives one rule context per site, with the site name and the farm time zone', async () => {
    const { directory } = await setup()
    const device = await directory.get('pond-1')
    if (!device) throw new Error('no device')
    expect(directory.peekRuleContext(device)).toBeUndefined()
    const context = await directory.ruleContext(device)
    expect(context).toMatchObject({ siteName: 'Shrimp pond A', timeZone: 'Asia/Ho_Chi_Minh' })
    expect(directory.peekRuleContext(device)).toBe(context)
  })
})
