import type { z } from 'zod'
import {
  DeviceStatus,
  type DeviceUplink,
  parseDeviceTopic,
  parseDeviceUplink,
  type Reading,
} from '../../shared/index.ts'
import type { Logger } from '../log.ts'
import type { Device, QuarantineReason, Store } from '../store/repository.ts'
import type { AlertSink } from './alert-sink.ts'
import { type DeviceTags, readingLines, statusLine } from './line-protocol.ts'
import type { SourceMessage } from './mqtt-source.ts'
import type { RuleEngine } from './rules/engine.ts'
import type { WriteBatcher } from './write-batcher.ts'

/**
 * The processing steps, in order: decode → validate → store → evaluate → emit.
 * A message is acknowledged only after its last step is durable; a message that fails
 * decoding or validation is quarantined (durably, with its reason) and then acknowledged.
 */

/** Payloads above this are quarantined without parsing (the first bytes are kept). */
export const MAX_UPLINK_BYTES = 256 * 1024
const KEPT_PAYLOAD_BYTES = 64 * 1024

export type PipelineDeps = {
  store: Store
  devices: DeviceDirectory
  batcher: WriteBatcher
  rules: RuleEngine
  alerts: AlertSink
  lateAfterMs: number
  log: Logger
  now?: () => number
}

export type PipelineStats = {
  received: number
  readingsStored: number
  statusesStored: number
  quarantined: number
  quarantinedByReason: Partial<Record<QuarantineReason, number>>
  alertEvents: number
  /** Messages whose processing failed and was scheduled again. */
  retried: number
}

class Rejection extends Error {
  readonly reason: QuarantineReason
  readonly deviceId: string | null
  constructor(reason: QuarantineReason, message: string, deviceId: string | null = null) {
    super(message)
    this.reason = reason
    this.deviceId = deviceId
  }
}

/** Caches the device registry (the processor reads it for every message). */
export type DeviceDirectory = {
  get(id: string): Promise<Device | null>
  /** The site's name for messages ("Shrimp pond A"), or its id when unknown. */
  siteName(siteId: string | null): Promise<string>
}

export function createDeviceDirectory(store: Store, ttlMs = 30_000): DeviceDirectory {
  const cache = new Map<string, { device: Device | null; until: number }>()
  const sites = new Map<string, { name: string; until: number }>()
  return {
    async siteName(siteId) {
      if (!siteId) return ''
      const now = Date.now()
      const hit = sites.get(siteId)
      if (hit && hit.until > now) return hit.name
      const name = (await store.getSite(siteId))?.name ?? siteId
      sites.set(siteId, { name, until: now + ttlMs })
      return name
    },
    async get(id) {
      const now = Date.now()
      const hit = cache.get(id)
      if (hit && hit.until > now) return hit.device
      const device = await store.getDevice(id)
      if (cache.size > 200_000) cache.clear()
      cache.set(id, { device, until: now + ttlMs })
      return device
    },
  }
}

const describe = (err: z.ZodError) =>
  err.issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ')

type Decoded = { deviceId: string; channel: 'up' | 'status'; body: unknown }

/** Step 1: topic and JSON. */
export function decode(message: SourceMessage): Decoded {
  const t = parseDeviceTopic(message.topic)
  if (!t) throw new Rejection('bad_topic', `not a device topic: ${message.topic}`)
  if (message.payload.length > MAX_UPLINK_BYTES)
    throw new Rejection(
      'too_large',
      `payload is ${message.payload.length} bytes; the limit is ${MAX_UPLINK_BYTES} (send a backlog in several batches)`,
      t.deviceId,
    )
  try {
    return { ...t, body: JSON.parse(message.payload.toString('utf8')) }
  } catch (err) {
    throw new Rejection('not_json', `payload is not JSON: ${(err as Error).message}`, t.deviceId)
  }
}

/** Step 2: the device is registered and active, and the payload fits its kind's schema. */
export async function validate(
  decoded: Decoded,
  devices: DeviceDirectory,
): Promise<
  | { channel: 'up'; device: Device; uplink: DeviceUplink }
  | { channel: 'status'; device: Device; status: DeviceStatus }
> {
  const device = await devices.get(decoded.deviceId)
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
    if (!parsed.success) throw new Rejection('invalid', describe(parsed.error), device.id)
    return { channel: 'status', device, status: parsed.data }
  }
  const parsed = parseDeviceUplink(decoded.body)
  if (!parsed.success) throw new Rejection('invalid', describe(parsed.error), device.id)
  if (parsed.data.kind !== device.kind)
    throw new Rejection(
      'kind_mismatch',
      `device ${device.id} is registered as ${device.kind} but sent ${parsed.data.kind}`,
      device.id,
    )
  return { channel: 'up', device, uplink: parsed.data }
}

const tagsOf = (d: Device): DeviceTags => ({ farm: d.farmId, site: d.siteId, device: d.id })

export function createPipeline(deps: PipelineDeps) {
  const log = deps.log.child({ module: 'pipeline' })
  const now = deps.now ?? Date.now
  const stats: PipelineStats = {
    received: 0,
    readingsStored: 0,
    statusesStored: 0,
    quarantined: 0,
    quarantinedByReason: {},
    alertEvents: 0,
    retried: 0,
  }

  async function quarantine(
    message: SourceMessage,
    reason: QuarantineReason,
    detail: string,
    deviceId: string | null,
  ) {
    await deps.store.quarantine({
      receivedAt: message.receivedAt,
      topic: message.topic,
      deviceId,
      reason,
      detail,
      payload: message.payload.subarray(0, KEPT_PAYLOAD_BYTES),
      payloadBytes: message.payload.length,
    })
    stats.quarantined++
    stats.quarantinedByReason[reason] = (stats.quarantinedByReason[reason] ?? 0) + 1
    log.warn({ topic: message.topic, deviceId, reason, detail }, 'message quarantined')
  }

  /** Steps 4 and 5: rules on the stored readings, then alert events (saved before the ack). */
  async function evaluateAndEmit(device: Device, readings: readonly Reading[]) {
    const events = deps.rules.evaluate(readings, {
      device,
      siteName: await deps.devices.siteName(device.siteId),
      now: now(),
      lateAfterMs: deps.lateAfterMs,
    })
    if (events.length === 0) return
    stats.alertEvents += events.length
    await deps.alerts.emit(events, (e) => deps.rules.startedAtOf(e))
  }

  /**
   * A step that failed for a reason outside the message (the store is locked, say) is
   * tried again from the start after a back-off: the message stays unacknowledged
   * meanwhile, and as PUBACKs leave in order, leaving it would stall the whole window.
   * Writing its points again is harmless (same series and time).
   */
  let closed = false
  function retryLater(message: SourceMessage, attempt: number, err: unknown) {
    // After stop the message stays unacknowledged; the broker delivers it again.
    if (closed) return
    const delayMs = Math.min(30_000, 100 * 2 ** Math.min(attempt, 9))
    stats.retried++
    log.error(
      { topic: message.topic, attempt: attempt + 1, delayMs, err: (err as Error).message },
      'message processing failed; trying again',
    )
    setTimeout(
      () => void handle(message, attempt + 1).catch((e) => retryLater(message, attempt + 1, e)),
      delayMs,
    )
  }

  function guard<A extends unknown[]>(
    message: SourceMessage,
    attempt: number,
    step: (...args: A) => Promise<void> | void,
  ): (...args: A) => Promise<void> {
    return async (...args) => {
      try {
        await step(...args)
      } catch (err) {
        retryLater(message, attempt, err)
      }
    }
  }

  async function handle(message: SourceMessage, attempt: number): Promise<void> {
    if (attempt === 0) stats.received++
    let valid: Awaited<ReturnType<typeof validate>>
    try {
      valid = await validate(decode(message), deps.devices)
    } catch (err) {
      if (!(err instanceof Rejection)) throw err
      await quarantine(message, err.reason, err.message, err.deviceId)
      message.ack()
      return
    }
    const { device } = valid
    // Step 3: store. The job completes after InfluxDB has the lines.
    if (valid.channel === 'status') {
      const lines = [statusLine(device.kind, valid.status, tagsOf(device), message.receivedAt)]
      deps.batcher.add({
        lines,
        onWritten: guard(message, attempt, () => {
          stats.statusesStored++
          message.ack()
        }),
        onRejected: guard(message, attempt, async (reason: string) => {
          await quarantine(message, 'rejected_by_influxdb', reason, device.id)
          message.ack()
        }),
      })
      return
    }
    const readings = valid.uplink.readings
    deps.batcher.add({
      lines: readings.flatMap((r) => readingLines(device.kind, r, tagsOf(device))),
      onWritten: guard(message, attempt, async () => {
        stats.readingsStored += readings.length
        await evaluateAndEmit(device, readings)
        message.ack()
      }),
      onRejected: guard(message, attempt, async (reason: string) => {
        await quarantine(message, 'rejected_by_influxdb', reason, device.id)
        message.ack()
      }),
    })
  }

  return {
    /** Never throws: a failing message is tried again later, unacknowledged meanwhile. */
    handle(message: SourceMessage): Promise<void> {
      return handle(message, 0).catch((err) => retryLater(message, 0, err))
    },
    stats: () => ({ ...stats, quarantinedByReason: { ...stats.quarantinedByReason } }),
    /** No more retries (the processor is stopping). */
    close() {
      closed = true
    },
  }
}

export type Pipeline = ReturnType<typeof createPipeline>
