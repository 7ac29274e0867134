import type { z } from 'zod'
import type { DeviceStatus, DeviceUplink } from '../../../shared/index.ts'
import type { Device, QuarantineReason } from '../../store/repository.ts'

/** Payloads above this are quarantined without parsing (the first bytes are kept). */
export const MAX_UPLINK_BYTES = 256 * 1024

/** A message that cannot be processed: it is quarantined with this reason, then acknowledged. */
export class Rejection extends Error {
  readonly reason: QuarantineReason
  readonly deviceId: string | null
  constructor(reason: QuarantineReason, message: string, deviceId: string | null = null) {
    super(message)
    this.reason = reason
    this.deviceId = deviceId
  }
}

/** What the validate step hands to the store step, whatever the message's source. */
export type Validated =
  | { channel: 'up'; device: Device; uplink: DeviceUplink }
  | { channel: 'status'; device: Device; status: DeviceStatus }

export const describeIssues = (err: z.ZodError, dropPrefix = '') =>
  err.issues
    .slice(0, 10)
    .map((i) => {
      const path = i.path.join('.')
      const shown = dropPrefix && path.startsWith(dropPrefix) ? path.slice(dropPrefix.length) : path
      return `${shown || '(message)'}: ${i.message}`
    })
    .join('; ')

/** Size check and JSON parsing, shared by every topic. */
export function parseJsonPayload(payload: Buffer, deviceId: string | null = null): unknown {
  if (payload.length > MAX_UPLINK_BYTES)
    throw new Rejection(
      'too_large',
      `payload is ${payload.length} bytes; the limit is ${MAX_UPLINK_BYTES} (send a backlog in several batches)`,
      deviceId,
    )
  try {
    return JSON.parse(payload.toString('utf8'))
  } catch (err) {
    throw new Rejection('not_json', `payload is not JSON: ${(err as Error).message}`, deviceId)
  }
}
