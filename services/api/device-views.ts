import { iso, isoOrNull } from '../../shared/api/common.ts'
import type { DeviceView, ProvisionedDeviceView } from '../../shared/api/devices.ts'
import { topics } from '../../shared/topics.ts'
import type { InfluxQuery } from '../influx/client.ts'
import type { Device, Store } from '../store/repository.ts'
import { assertFarmAccess, type Principal } from './auth.ts'
import { notFound } from './errors.ts'
import { deviceStatus, type FleetScope, fleetLive, type LiveState } from './fleet.ts'
import { influxReason } from './influx-errors.ts'

/** Devices as the API shows them: the registry entry and, when InfluxDB answers, its live state. */

export type LiveOptions = { liveAvailable: boolean; now: number; silentAfterMs: number }

export function deviceView(
  d: Device,
  live: LiveState | null | undefined,
  o: LiveOptions,
): DeviceView {
  return {
    id: d.id,
    name: d.name,
    kind: d.kind,
    farm_id: d.farmId,
    site_id: d.siteId,
    dev_eui: d.devEui,
    created_at: iso(d.createdAt),
    revoked: d.revokedAt !== null,
    revoked_at: isoOrNull(d.revokedAt),
    last_seen: isoOrNull(live?.lastSeen ?? null),
    battery_pct: live?.batteryPct ?? null,
    battery_v: live?.batteryV ?? null,
    rssi_dbm: live?.rssiDbm ?? null,
    firmware: live?.firmware ?? null,
    online: live?.online ?? null,
    status_at: isoOrNull(live?.statusAt ?? null),
    status: deviceStatus(d, live, o),
  }
}

/** A device with its new secret and what to configure on it. */
export function provisionedView(device: DeviceView, secret: string): ProvisionedDeviceView {
  return {
    device,
    secret,
    mqtt: {
      username: device.id,
      client_id: device.id,
      up_topic: topics.deviceUp(device.id),
      status_topic: topics.deviceStatus(device.id),
    },
  }
}

/** A device the caller may see: 404 when it does not exist, 403 when its farm is not theirs. */
export async function visibleDevice(store: Store, p: Principal, id: string): Promise<Device> {
  const d = await store.getDevice(id)
  if (!d) throw notFound(`device ${id}`)
  assertFarmAccess(p, d.farmId, `device ${id} (it belongs to farm ${d.farmId})`)
  return d
}

/**
 * Views of devices with their live state. When InfluxDB does not answer, the registry is
 * still worth showing: live fields are null, status `unknown`, and `message` says why.
 */
export async function liveViews(
  deps: { influx: InfluxQuery; log: { warn(obj: object, msg: string): void } },
  devices: readonly Device[],
  scope: FleetScope,
  o: { now: number; silentAfterMs: number },
): Promise<{ views: DeviceView[]; liveAvailable: boolean; message?: string }> {
  let live = new Map<string, LiveState>()
  let liveAvailable = true
  let message: string | undefined
  if (devices.length > 0) {
    try {
      live = await fleetLive(deps.influx, scope)
    } catch (err) {
      liveAvailable = false
      message = `InfluxDB did not answer (${influxReason(err)}): last seen, battery, signal and status are missing`
      deps.log.warn({ err: influxReason(err) }, 'fleet view without live data')
    }
  }
  const views = devices.map((d) => deviceView(d, live.get(d.id), { ...o, liveAvailable }))
  return { views, liveAvailable, ...(message ? { message } : {}) }
}
