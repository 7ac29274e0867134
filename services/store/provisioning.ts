import { randomBytes } from 'node:crypto'
import { type DeviceKind, isValidId } from '../../shared/index.ts'
import type { Device, ServiceRole, Store } from './repository.ts'
import { generateSecret, hashSecret } from './secrets.ts'

const kindPrefix: Record<DeviceKind, string> = {
  pest_trap: 'trap',
  env_sensor: 'env',
  pond_sensor: 'pond',
  irrigation_controller: 'irr',
}

export type ProvisionedDevice = Device & { secret: string }

export class ProvisioningError extends Error {}

/** One device to register; without an id, one is made from its kind. */
export type DeviceRequest = {
  farmId: string
  siteId?: string | null
  kind: DeviceKind
  id?: string
  name?: string
  devEui?: string | null
}

async function check(store: Store, r: DeviceRequest, id: string): Promise<void> {
  const farm = await store.getFarm(r.farmId)
  if (!farm) throw new ProvisioningError(`farm ${r.farmId} does not exist; create it first`)
  if (r.siteId) {
    const site = await store.getSite(r.siteId)
    if (!site || site.farmId !== r.farmId)
      throw new ProvisioningError(`site ${r.siteId} does not belong to farm ${r.farmId}`)
  }
  if (!isValidId(id))
    throw new ProvisioningError(
      `device id "${id}" is not valid: use letters, digits, dot, dash or underscore (max 64)`,
    )
  if (await store.getDevice(id)) throw new ProvisioningError(`device ${id} is already registered`)
  if (r.devEui && !/^[0-9A-Fa-f]{16}$/.test(r.devEui))
    throw new ProvisioningError(
      `DevEUI "${r.devEui}" is not valid: it is 16 hex digits, as printed on the device (e.g. 0004A30B001C0530)`,
    )
  if (r.devEui && (await store.getDeviceByDevEui(r.devEui)))
    throw new ProvisioningError(`DevEUI ${r.devEui} is already registered to another device`)
}

/**
 * Registers devices, all or none, and returns each with its MQTT secret. This is the only
 * time the secret exists in plaintext: only its hash is stored.
 */
export async function provisionDevices(
  store: Store,
  requests: readonly DeviceRequest[],
): Promise<ProvisionedDevice[]> {
  const ids = requests.map((r) => r.id ?? `${kindPrefix[r.kind]}-${randomBytes(4).toString('hex')}`)
  const euis = requests.map((r) => r.devEui?.toLowerCase()).filter(Boolean)
  if (new Set(ids).size !== ids.length)
    throw new ProvisioningError('the same device id appears twice in one registration')
  if (new Set(euis).size !== euis.length)
    throw new ProvisioningError('the same DevEUI appears twice in one registration')
  for (const [i, r] of requests.entries()) await check(store, r, ids[i] as string)
  const secrets = requests.map(() => generateSecret())
  const hashes = await Promise.all(secrets.map((secret) => hashSecret(secret)))
  let devices: Device[]
  try {
    devices = await store.createDevices(
      requests.map((r, i) => ({
        id: ids[i] as string,
        farmId: r.farmId,
        siteId: r.siteId ?? null,
        kind: r.kind,
        name: r.name ?? (ids[i] as string),
        devEui: r.devEui?.toLowerCase() ?? null,
        secretHash: hashes[i] as string,
      })),
    )
  } catch (err) {
    // Another registration took an id or DevEUI between the checks and the insert.
    if (/UNIQUE constraint failed/.test((err as Error).message))
      throw new ProvisioningError(
        'a device id or DevEUI was registered by someone else meanwhile; nothing was registered, try again',
      )
    throw err
  }
  return devices.map((d, i) => ({ ...d, secret: secrets[i] as string }))
}

/** Registers `count` devices of one kind (or the given ids) on a farm: the CLI's way. */
export async function registerDevices(
  store: Store,
  req: {
    farmId: string
    siteId?: string | null
    kind: DeviceKind
    count?: number
    ids?: string[]
    namePrefix?: string
    devEui?: string | null
  },
): Promise<ProvisionedDevice[]> {
  const n = req.ids?.length ?? req.count ?? 1
  if (req.devEui && n !== 1)
    throw new ProvisioningError('a DevEUI belongs to one device: register it alone')
  return provisionDevices(
    store,
    Array.from({ length: n }, (_, i) => ({
      farmId: req.farmId,
      siteId: req.siteId ?? null,
      kind: req.kind,
      id: req.ids?.[i],
      name: req.namePrefix ? `${req.namePrefix} ${i + 1}` : undefined,
      devEui: req.devEui ?? null,
    })),
  )
}

/** Creates or rotates a service account; returns its new secret. */
export async function rotateServiceAccount(
  store: Store,
  name: string,
  role: ServiceRole,
  secret: string = generateSecret(),
): Promise<string> {
  if (!isValidId(name)) throw new ProvisioningError(`service account name "${name}" is not valid`)
  if (await store.getDevice(name))
    throw new ProvisioningError(`"${name}" is a device id; service accounts need their own name`)
  await store.upsertServiceAccount(name, role, await hashSecret(secret))
  return secret
}
