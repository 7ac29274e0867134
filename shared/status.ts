import { z } from 'zod'
import { DeviceTime } from './readings.ts'

/**
 * Published by a device on `devices/{deviceId}/status`, retained: `online: true` after it
 * connects, and as its MQTT last will `online: false` (the broker sends it when the
 * connection is lost without a DISCONNECT).
 */
export const DeviceStatus = z.object({
  online: z.boolean(),
  ts: DeviceTime.optional(),
  firmware: z.string().max(64).optional(),
  /** Why it went offline, when it knows (for a will: "connection lost"). */
  reason: z.string().max(200).optional(),
})
export type DeviceStatus = z.output<typeof DeviceStatus>
