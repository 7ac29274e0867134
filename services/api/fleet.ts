import type { DeviceStatusName } from '../../shared/api/devices.ts'
import type { InfluxQuery, InfluxSeries } from '../influx/client.ts'
import { tagIn } from '../influx/readings.ts'
import type { Device } from '../store/repository.ts'

/**
 * The live half of the fleet view, from InfluxDB (1.x, InfluxQL): each device's last
 * `device_health` point (one per reading: battery, signal) and its last `device_status`
 * point (what the device, or the broker's last will for it, said on devices/{id}/status).
 */

export type LiveState = {
  /** Device time of the latest reading. */
  lastSeen: number | null
  batteryPct: number | null
  batteryV: number | null
  rssiDbm: number | null
  firmware: string | null
  online: boolean | null
  statusAt: number | null
}

export type FleetScope = { farmIds: readonly string[] } | { deviceId: string }

function whereOf(scope: FleetScope): { clause: string; params: Record<string, string> } {
  if ('deviceId' in scope) return { clause: 'device = $device', params: { device: scope.deviceId } }
  return tagIn('farm', scope.farmIds)
}

/** Each series' first row as { column: value }, by device. */
function rowsByDevice(series: InfluxSeries[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>()
  for (const s of series) {
    const device = s.tags?.device
    const row = s.values[0]
    if (!device || !row) continue
    out.set(device, Object.fromEntries(s.columns.map((c, i) => [c, row[i]])))
  }
  return out
}

const num = (v: unknown) => (typeof v === 'number' ? v : null)

/** The live state of the devices in scope; devices never heard of are absent. */
export async function fleetLive(
  influx: InfluxQuery,
  scope: FleetScope,
): Promise<Map<string, LiveState>> {
  if ('farmIds' in scope && scope.farmIds.length === 0) return new Map()
  const { clause, params } = whereOf(scope)
  const last = (m: string) =>
    influx.query(
      `SELECT * FROM "${m}" WHERE ${clause} GROUP BY "device" ORDER BY time DESC LIMIT 1`,
      params,
    )
  // The will carries no firmware, so the version is the last one any status reported.
  const [health, status, firmware] = await Promise.all([
    last('device_health'),
    last('device_status'),
    influx.query(
      `SELECT last("firmware") AS "firmware" FROM "device_status" WHERE ${clause} GROUP BY "device"`,
      params,
    ),
  ])
  const h = rowsByDevice(health)
  const s = rowsByDevice(status)
  const f = rowsByDevice(firmware)
  const out = new Map<string, LiveState>()
  for (const id of new Set([...h.keys(), ...s.keys()])) {
    const hr = h.get(id)
    const sr = s.get(id)
    const fw = f.get(id)?.firmware
    out.set(id, {
      lastSeen: num(hr?.time),
      batteryPct: num(hr?.battery_pct),
      batteryV: num(hr?.battery_v),
      rssiDbm: num(hr?.rssi_dbm),
      firmware: typeof fw === 'string' ? fw : null,
      online: typeof sr?.online === 'number' ? sr.online === 1 : null,
      statusAt: num(sr?.time),
    })
  }
  return out
}

/**
 * One word for a device's state. A reading newer than an "offline" status means it came
 * back without saying so (firmware that publishes status only on connect), so it counts.
 * A device with a status but no reading yet is judged by the time of its status.
 */
export function deviceStatus(
  device: Device,
  live: LiveState | null | undefined,
  o: { liveAvailable: boolean; now: number; silentAfterMs: number },
): DeviceStatusName {
  if (device.revokedAt !== null) return 'revoked'
  if (!o.liveAvailable) return 'unknown'
  if (!live || (live.lastSeen === null && live.statusAt === null)) return 'never_seen'
  const { lastSeen, statusAt, online } = live
  if (online === false && statusAt !== null && (lastSeen === null || statusAt >= lastSeen))
    return 'offline'
  // Silence is about readings: a device that says it is online but sends nothing is stuck.
  const lastHeard = lastSeen ?? statusAt ?? 0
  return o.now - lastHeard > o.silentAfterMs ? 'silent' : 'online'
}
