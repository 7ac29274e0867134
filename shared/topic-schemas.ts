import { AlertEvent } from './alerts.ts'
import { parseDeviceUplink } from './readings.ts'
import { DeviceStatus } from './status.ts'

/** What travels where: topic pattern → the validator of its payload. */
export const topicSchemas = {
  'devices/+/up': parseDeviceUplink,
  'devices/+/status': DeviceStatus.safeParse.bind(DeviceStatus),
  'alerts/+': AlertEvent.safeParse.bind(AlertEvent),
} as const
