import { AlertEvent } from './alerts.ts'
import { ChirpStackUplink, TtsUplink } from './lorawan.ts'
import { parseDeviceUplink } from './readings.ts'
import { DeviceStatus } from './status.ts'

/** What travels where: topic pattern → the validator of its payload. */
export const topicSchemas = {
  'devices/+/up': parseDeviceUplink,
  'devices/+/status': DeviceStatus.safeParse.bind(DeviceStatus),
  'alerts/+': AlertEvent.safeParse.bind(AlertEvent),
  /** Network-server envelopes; the reading inside is then checked with `parseDeviceUplink`. */
  'application/+/device/+/event/up': ChirpStackUplink.safeParse.bind(ChirpStackUplink),
  'v3/+/devices/+/up': TtsUplink.safeParse.bind(TtsUplink),
} as const
