import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ProvisioningError, provisionDevices } from '../../../services/store/provisioning.ts'
import type { Store } from '../../../services/store/repository.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'

let store: Store
beforeEach(async () => {
  store = openSqliteStore(':memory:')
  await store.createFarm({ id: 'f1', name: 'F1', timezone: 'Asia/Ho_Chi_Minh' })
})
afterEach(() => store.close())

const row = (id: string, devEui: string | null = null) =>
  ({ farmId: 'f1', kind: 'pest_trap', id, devEui }) as const

describe('device registration is all or none', () => {
  it('registers a batch with names, secrets and lower-case DevEUIs', async () => {
    const out = await provisionDevices(store, [
      { ...row('trap-1', '0004A30B001C0530'), name: 'Trap north' },
      row('trap-2'),
    ])
    expect(out.map((d) => [d.id, d.name, d.devEui])).toEqual([
      ['trap-1', 'Trap north', '0004a30b001c0530'],
      ['trap-2', 'trap-2', null],
    ])
    expect(new Set(out.map((d) => d.secret)).size).toBe(2)
  })

  it('registers none when one row is taken, repeated or wrong', async () => {
    await provisionDevices(store, [row('trap-1')])
    await expect(provisionDevices(store, [row('trap-9'), row('trap-1')])).rejects.toThrow(
      ProvisioningError,
    )
    await expect(provisionDevices(store, [row('trap-8'), row('trap-8')])).rejects.toThrow(
      /appears twice/,
    )
    await expect(
      provisionDevices(store, [
        row('trap-7', 'ABCDEF0123456789'),
        row('trap-6', 'abcdef0123456789'),
      ]),
    ).rejects.toThrow(/DevEUI appears twice/)
    expect((await store.listDevices()).map((d) => d.id)).toEqual(['trap-1'])
  })

  it('rolls the whole insert back when an id is taken after the checks', async () => {
    await provisionDevices(store, [row('trap-1')])
    const device = (id: string) => ({
      id,
      farmId: 'f1',
      siteId: null,
      kind: 'pest_trap' as const,
      name: id,
      devEui: null,
      secretHash: 'scrypt$12$8$1$x$y',
    })
    await expect(store.createDevices([device('trap-2'), device('trap-1')])).rejects.toThrow(
      /UNIQUE/,
    )
    expect((await store.listDevices()).map((d) => d.id)).toEqual(['trap-1'])
  })
})
