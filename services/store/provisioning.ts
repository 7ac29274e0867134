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

/**
 * Registers devices and returns each with its MQTT secret. This is the only time the
 * secret exists in plaintext: only its hash is stored.
 */
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
  const farm = await store.getFarm(req.farmId)
  if (!farm) throw new ProvisioningError(`farm ${req.farmId} does not exist; create it first`)
  if (req.siteId) {
    const site = await store.getSite(req.siteId)
    if (!site || site.farmId !== req.farmId)
      throw new ProvisioningError(`site ${req.siteId} does not belong to farm ${req.farmId}`)
  }
  const ids =
    req.ids ??
    Array.from(
      { length: req.count ?? 1 },
      () => `${kindPrefix[req.kind]}-${randomBytes(4).toString('hex')}`,
    )
  for (const id of ids) {
    if (!isValidId(id))
      throw new ProvisioningError(
        `device id "${id}" is not valid: use letters, digits, dot, dash or underscore (max 64)`,
      )
    if (await store.getDevice(id)) throw new ProvisioningError(`device ${id} is already registered`)
  }
  if (req.devEui && ids.length !== 1)
    throw new ProvisioningError('a DevEUI belongs to one device: register it alone')
  if (req.devEui && !/^[0-9A-Fa-f]{16}$/.test(req.devEui))
    throw new ProvisioningError(
      `DevEUI "${req.devEui}" is not valid: it is 16 hex digits, as printed on the device (e.g. 0004A30B001C0530)`,
    )
  if (req.devEui && (await store.getDeviceByDevEui(req.devEui)))
    throw new ProvisioningError(`DevEUI ${req.devEui} is already registered to another device`)
  const out: ProvisionedDevice[] = []
  for (const [i, id] of ids.entries()) {
    const secret = generateSecret()
    const device = await store.createDevice({
      id,
      farmId: req.farmId,
      siteId: req.siteId ?? null,
      kind: req.kind,
      name: req.namePrefix ? `${req.namePrefix} ${i + 1}` : id,
      devEui: req.devEui?.toLowerCase() ?? null,
      secretHash: await hashSecret(secret),
    })
    out.push({ ...device, secret })
  }
  return out
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
