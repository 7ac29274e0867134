/**
 * Topic names. Every topic a service publishes or subscribes to is built here, and the
 * map at the bottom says which schema travels on which topic.
 */

/** Ids that appear in topics: no MQTT wildcards or separators, nothing a shell trips on. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export const isValidId = (id: string): boolean => ID_PATTERN.test(id)

export const topics = {
  /** Readings from one device (one reading or a batch). */
  deviceUp: (deviceId: string) => `devices/${deviceId}/up`,
  /** Online/offline and firmware status of one device; the broker's last will lands here. */
  deviceStatus: (deviceId: string) => `devices/${deviceId}/status`,
  /** Alert events of one farm. */
  farmAlerts: (farmId: string) => `alerts/${farmId}`,
  /** Subscriptions of the processor (shared by all devices). */
  allDeviceUp: 'devices/+/up',
  allDeviceStatus: 'devices/+/status',
  allFarmAlerts: 'alerts/+',
} as const

/** The root every device may publish under: `devices/{deviceId}/`. */
export const deviceRoot = (deviceId: string) => `devices/${deviceId}/`

export type DeviceTopic = { deviceId: string; channel: 'up' | 'status' }

/** Parses `devices/{deviceId}/up|status`; anything else is null. */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const parts = topic.split('/')
  if (parts.length !== 3 || parts[0] !== 'devices') return null
  const [, deviceId, channel] = parts
  if (!deviceId || !isValidId(deviceId)) return null
  if (channel !== 'up' && channel !== 'status') return null
  return { deviceId, channel }
}
