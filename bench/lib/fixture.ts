import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { defaultRules } from '../../deploy/rules/default-rules.ts'
import type { NewDevice, Store } from '../../services/store/repository.ts'
import { generateSecret, hashSecret } from '../../services/store/secrets.ts'
import { openSqliteStore } from '../../services/store/sqlite-store.ts'
import { type DeviceKind, deviceKinds } from '../../shared/readings.ts'
import { tempDir } from './children.ts'

/**
 * A control-plane store for one run: the load devices (addLoadDevices), the default rule
 * pack, and the accounts the bench connects with. Devices are inserted in one
 * transaction with a placeholder secret hash: the load publishes through a `gateway`
 * account, so no device ever logs in, and scrypt-hashing 50k secrets would measure
 * provisioning, not ingest.
 */
export type Fixture = {
  dataDir: string
  /** JSON file of `{ devices: [{ id, kind }] }` for the load child. */
  devicesFile: string
  deviceCount: number
  gateway: { username: string; password: string }
  /** A `processor`-role account the reference and raw subscribers use on aedes. */
  subscriber: { username: string; password: string }
  processorSecret: string
}

const DEVICES_PER_FARM = 100
const NO_LOGIN = 'bench:no-login'

/**
 * Farms of 100 devices (a pond and a field each) and `count` devices of the four kinds
 * in turn, with the placeholder secret: the mix every load of the bench publishes, so a
 * rate measured in one section means the same work in another.
 */
export async function addLoadDevices(
  store: Store,
  count: number,
): Promise<{ id: string; kind: DeviceKind }[]> {
  const devices: NewDevice[] = []
  for (let i = 0; i < count; i++) {
    const farmId = `bench-farm-${Math.floor(i / DEVICES_PER_FARM)}`
    if (i % DEVICES_PER_FARM === 0) {
      await store.createFarm({ id: farmId, name: farmId, timezone: 'Asia/Ho_Chi_Minh' })
      for (const kind of ['pond', 'field'] as const)
        await store.createSite({
          id: `${farmId}-${kind}`,
          farmId,
          name: `${kind} of ${farmId}`,
          kind,
          latitude: 10.03,
          longitude: 105.78,
        })
    }
    const kind = deviceKinds[i % deviceKinds.length] as DeviceKind
    devices.push({
      id: `bench-${i}`,
      farmId,
      siteId: `${farmId}-${kind === 'pond_sensor' ? 'pond' : 'field'}`,
      kind,
      name: `bench-${i}`,
      devEui: null,
      secretHash: NO_LOGIN,
    })
  }
  await store.createDevices(devices)
  return devices.map((d) => ({ id: d.id, kind: d.kind }))
}

export async function createFixture(deviceCount: number, name = 'fixture'): Promise<Fixture> {
  const dataDir = await tempDir(name)
  const store = openSqliteStore(join(dataDir, 'tani.db'))
  try {
    for (const r of defaultRules()) await store.putRule(r)
    const devices = await addLoadDevices(store, deviceCount)
    const gateway = { username: 'bench-gateway', password: generateSecret() }
    await store.upsertServiceAccount(
      gateway.username,
      'gateway',
      await hashSecret(gateway.password),
    )
    const subscriber = { username: 'bench-subscriber', password: generateSecret() }
    await store.upsertServiceAccount(
      subscriber.username,
      'processor',
      await hashSecret(subscriber.password),
    )
    const devicesFile = join(dataDir, 'devices.json')
    await writeFile(devicesFile, JSON.stringify({ devices }))
    return {
      dataDir,
      devicesFile,
      deviceCount,
      gateway,
      subscriber,
      processorSecret: generateSecret(),
    }
  } finally {
    await store.close()
  }
}
