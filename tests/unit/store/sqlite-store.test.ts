import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import { migrations } from '../../../services/store/migrations.ts'
import { ProvisioningError, registerDevices } from '../../../services/store/provisioning.ts'
import { verifySecret } from '../../../services/store/secrets.ts'
import { migrate, openSqliteStore } from '../../../services/store/sqlite-store.ts'

describe('control-plane store', () => {
  it('migrates a new database to the latest version, and again is a no-op', () => {
    const db = new DatabaseSync(':memory:')
    const latest = migrations.at(-1)?.version
    expect(migrate(db)).toBe(latest)
    expect(migrate(db)).toBe(latest)
  })

  it('registers devices with a secret shown once and stored only as an scrypt hash', async () => {
    const store = openSqliteStore(':memory:')
    await store.createFarm({ id: 'coop-1', name: 'Coop', timezone: 'Asia/Ho_Chi_Minh' })
    const [d] = await registerDevices(store, { farmId: 'coop-1', kind: 'pond_sensor', count: 1 })
    const hash = (await store.deviceSecretHash(d?.id as string)) as string
    expect(hash).toMatch(/^scrypt\$/)
    expect(hash).not.toContain(d?.secret as string)
    expect(await verifySecret(d?.secret as string, hash)).toBe(true)
    expect(await verifySecret('wrong', hash)).toBe(false)
    expect(await store.revokeDevice(d?.id as string)).toBe(true)
    expect(await store.deviceSecretHash(d?.id as string)).toBeNull()
    await store.close()
  })

  it('finds a device by its DevEUI whatever the case, and keeps DevEUIs unique and well-formed', async () => {
    const store = openSqliteStore(':memory:')
    await store.createFarm({ id: 'f', name: 'F', timezone: 'UTC' })
    const [d] = await registerDevices(store, {
      farmId: 'f',
      kind: 'pond_sensor',
      ids: ['pond-lora'],
      devEui: '0004A30B001C0530',
    })
    expect(d?.devEui).toBe('0004a30b001c0530')
    expect((await store.getDeviceByDevEui('0004A30B001C0530'))?.id).toBe('pond-lora')
    expect((await store.getDeviceByDevEui('0004a30b001c0530'))?.id).toBe('pond-lora')
    expect(await store.getDeviceByDevEui('0101010101010101')).toBeNull()
    await expect(
      registerDevices(store, { farmId: 'f', kind: 'pond_sensor', devEui: '0004a30b001c0530' }),
    ).rejects.toThrow(/already registered/)
    await expect(
      registerDevices(store, { farmId: 'f', kind: 'pond_sensor', devEui: '0004a30b' }),
    ).rejects.toThrow(/16 hex digits/)
    await store.close()
  })

  it('refuses devices for unknown farms and invalid ids with a message that says what to fix', async () => {
    const store = openSqliteStore(':memory:')
    await expect(registerDevices(store, { farmId: 'nope', kind: 'pest_trap' })).rejects.toThrow(
      /farm nope does not exist/,
    )
    await store.createFarm({ id: 'f', name: 'F', timezone: 'UTC' })
    await expect(
      registerDevices(store, { farmId: 'f', kind: 'pest_trap', ids: ['a/b'] }),
    ).rejects.toBeInstanceOf(ProvisioningError)
    await store.close()
  })

  it('keeps site tags for rules scoped by crop stage', async () => {
    const store = openSqliteStore(':memory:')
    await store.createFarm({ id: 'f', name: 'F', timezone: 'UTC' })
    await store.createSite({
      id: 'rice-1',
      farmId: 'f',
      name: 'Rice 1',
      kind: 'field',
      latitude: null,
      longitude: null,
    })
    expect((await store.getSite('rice-1'))?.tags).toEqual({})
    expect(await store.setSiteTags('rice-1', { crop_stage: 'tillering' })).toBe(true)
    expect((await store.getSite('rice-1'))?.tags).toEqual({ crop_stage: 'tillering' })
    expect(await store.setSiteTags('nope', {})).toBe(false)
    await store.close()
  })

  it('keeps biofix dates per farm and pest', async () => {
    const store = openSqliteStore(':memory:')
    await store.createFarm({ id: 'f', name: 'F', timezone: 'UTC' })
    expect(await store.setFarmBiofix('f', 'brown_planthopper', '2026-08-02')).toBe(true)
    expect((await store.getFarm('f'))?.biofix).toEqual({ brown_planthopper: '2026-08-02' })
    expect(await store.setFarmBiofix('f', 'brown_planthopper', null)).toBe(true)
    expect((await store.getFarm('f'))?.biofix).toEqual({})
    expect(await store.setFarmBiofix('nope', 'x', null)).toBe(false)
    await store.close()
  })
})
