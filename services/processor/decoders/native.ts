import { DeviceStatus, type DeviceTopic, parseDeviceUplink } from '../../../shared/index.ts'
import type { Device } from '../../store/repository.ts'
import type { DeviceDirectory } from '../device-directory.ts'
import { describeIssues, parseJsonPayload, Rejection, type Validated } from './common.ts'

/** Tani's own contract: `devices/{deviceId}/up|status` carrying JSON (README, "Devices and payloads"). */

export type NativeMessage = {
  source: 'native'
  deviceId: string
  channel: DeviceTopic['channel']
  body: unknown
}

export function decodeNative(topic: DeviceTopic, payload: Buffer): NativeMessage {
  return { source: 'native', ...topic, body: parseJsonPayload(payload, topic.deviceId) }
}

/**
 * The device is registered and active, and the payload fits its kind's schema. Without
 * waiting when the device is in the directory's cache (nearly always).
 */
export function validateNative(
  decoded: NativeMessage,
  devices: DeviceDirectory,
): Validated | Promise<Validated> {
  const held = devices.peek(decoded.deviceId)
  if (held !== undefined) return check(decoded, held)
  return devices.get(decoded.deviceId).then((device) => check(decoded, device))
}

function check(decoded: NativeMessage, device: Device | null): Validated {
  if (!device)
    throw new Rejection(
      'unknown_device',
      `device ${decoded.deviceId} is not registered`,
      decoded.deviceId,
    )
  if (device.revokedAt !== null)
    throw new Rejection('revoked_device', `device ${device.id} was revoked`, device.id)
  if (decoded.channel === 'status') {
    const parsed = DeviceStatus.safeParse(decoded.body)
    if (!parsed.success) throw new Rejection('invalid', describeIssues(parsed.error), device.id)
    return { channel: 'status', device, status: parsed.data }
  }
  const parsed = parseDeviceUplink(decoded.body)
  if (!parsed.success) throw new Rejection('invalid', describeIssues(parsed.error), device.id)
  if (parsed.data.kind !== device.kind)
    throw new Rejection(
      'kind_mismatch',
      `device ${device.id} is registered as ${device.kind} but sent ${parsed.data.kind}`,
      device.id,
    )
  return { channel: 'up', device, uplink: parsed.data }
}
