import {
  MAX_CLOCK_AHEAD_MS,
  parseChirpStackTopic,
  parseDeviceTopic,
  parseTtsTopic,
  type Reading,
} from '../../shared/index.ts'
import type { Logger } from '../log.ts'
import type { Device, QuarantineReason, Store } from '../store/repository.ts'
import type { AlertSink } from './alert-sink.ts'
import { decodeChirpStack } from './decoders/chirpstack.ts'
import { Rejection, type Validated } from './decoders/common.ts'
import { type LorawanUplink, validateLorawan } from './decoders/lorawan-reading.ts'
import { decodeNative, type NativeMessage, validateNative } from './decoders/native.ts'
import { decodeTts } from './decoders/tts.ts'
import type { DeviceDirectory, RuleContext } from './device-directory.ts'
import { type DeviceTags, forecastLine, readingLines, statusLine } from './line-protocol.ts'
import type { SourceMessage } from './mqtt-source.ts'
import type { RuleEngine } from './rules/engine.ts'
import type { WriteBatcher, WriteCompletion } from './write-batcher.ts'

export { MAX_UPLINK_BYTES } from './decoders/common.ts'
export { createDeviceDirectory, type DeviceDirectory } from './device-directory.ts'

/**
 * The processing steps: decode → validate → store, and evaluate → emit alongside the
 * store step (alerts do not wait for InfluxDB). A message is acknowledged only after its
 * points and its alert events are durable; a message that fails
 * decoding or validation is quarantined (durably, with its reason) and then acknowledged.
 * Decoding and validation depend on where the message comes from (decoders/): a device
 * speaking Tani's JSON on `devices/{id}/...`, or a LoRaWAN network server.
 */

const KEPT_PAYLOAD_BYTES = 64 * 1024
const noError = () => null

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

export type Decoded = NativeMessage | LorawanUplink

/** Step 1: topic, JSON, and for network servers their envelope. */
export function decode(message: SourceMessage): Decoded {
  const device = parseDeviceTopic(message.topic)
  if (device) return decodeNative(device, message.payload)
  const chirpstack = parseChirpStackTopic(message.topic)
  if (chirpstack) return decodeChirpStack(chirpstack, message.payload)
  const tts = parseTtsTopic(message.topic)
  if (tts) return decodeTts(tts, message.payload)
  throw new Rejection('bad_topic', `not a device or network-server topic: ${message.topic}`)
}

/** Step 2: the device is registered and active, and the reading fits its kind's schema. */
/**
 * A reading from the future is a device clock gone wrong (a time zone applied twice, an
 * RTC reset to a future date). Stored, it would sit ahead of every real reading, and the
 * rules — which skip readings older than the last one seen — would ignore the device
 * until real time caught up. So the whole message is quarantined instead.
 */
export function checkClock(
  readings: readonly { ts: number; seq: number }[],
  receivedAt: number,
  deviceId: string,
) {
  const limit = receivedAt + MAX_CLOCK_AHEAD_MS
  const ahead = readings.find((r) => r.ts > limit)
  if (!ahead) return
  const hours = ((ahead.ts - receivedAt) / 3_600_000).toFixed(1)
  throw new Rejection(
    'clock_ahead',
    `reading seq ${ahead.seq} is stamped ${hours} h ahead of the server clock (${MAX_CLOCK_AHEAD_MS / 60_000} min allowed): set the device's clock (NTP, GPS or the network time) and send again`,
    deviceId,
  )
}

export function validate(
  decoded: Decoded,
  devices: DeviceDirectory,
): Validated | Promise<Validated> {
  return decoded.source === 'native'
    ? validateNative(decoded, devices)
    : validateLorawan(decoded, devices)
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

  /**
   * Steps 4 and 5: rules on the stored readings, then alert events (saved before the
   * ack). Synchronous in the common case (the device's context is cached and nothing
   * fires): a promise per reading is measurable at thousands of readings a second.
   */
  function evaluateAndEmit(device: Device, readings: readonly Reading[]): Promise<void> | void {
    const context = deps.devices.peekRuleContext(device)
    if (!context)
      return deps.devices.ruleContext(device).then((c) => evaluateIn(c, device, readings))
    return evaluateIn(context, device, readings)
  }

  function evaluateIn(
    context: RuleContext,
    device: Device,
    readings: readonly Reading[],
  ): Promise<void> | void {
    const events = deps.rules.evaluate(readings, {
      device,
      ...context,
      now: now(),
      lateAfterMs: deps.lateAfterMs,
    })
    const forecasts = deps.rules.drainForecasts()
    if (forecasts.length)
      deps.batcher.add(forecasts.map(forecastLine), {
        onWritten: () => {},
        onRejected: (reason) => log.warn({ reason }, 'forecast errors not recorded'),
      })
    if (events.length === 0) return
    stats.alertEvents += events.length
    return deps.alerts.emit(events, (e) => deps.rules.startedAtOf(e))
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
    setTimeout(() => run(message, attempt + 1), delayMs)
  }

  /** Runs a step of the message's processing; if it fails, the message is tried again. */
  function attemptStep(
    message: SourceMessage,
    attempt: number,
    step: () => Promise<void> | void,
  ): Promise<void> | void {
    try {
      const done = step()
      if (done) return done.catch((err) => retryLater(message, attempt, err))
    } catch (err) {
      retryLater(message, attempt, err)
    }
  }

  /**
   * What waits for a message's InfluxDB write: one small object, not closures over the
   * whole step — those kept the readings, tags and lines alive until the write returned,
   * and everything alive then is copied by each young-generation collection.
   */
  class StoredMessage implements WriteCompletion {
    readonly message: SourceMessage
    readonly attempt: number
    readonly deviceId: string
    /** Readings the message carried; null for a status message. */
    readonly readings: number | null
    /** The save of the alert events the readings raised, settled to its error (if any). */
    readonly saved: Promise<unknown> | null

    constructor(
      message: SourceMessage,
      attempt: number,
      deviceId: string,
      readings: number | null,
      saved: Promise<unknown> | null,
    ) {
      this.message = message
      this.attempt = attempt
      this.deviceId = deviceId
      this.readings = readings
      this.saved = saved
    }

    onWritten(): Promise<void> | void {
      return attemptStep(this.message, this.attempt, () =>
        this.saved
          ? this.saved.then((err) => {
              if (err) throw err
              this.acknowledge()
            })
          : this.acknowledge(),
      )
    }

    onRejected(reason: string): Promise<void> | void {
      return attemptStep(this.message, this.attempt, async () => {
        const err = await this.saved
        if (err) throw err
        await quarantine(this.message, 'rejected_by_influxdb', reason, this.deviceId)
        this.message.ack()
      })
    }

    private acknowledge() {
      if (this.readings === null) stats.statusesStored++
      else stats.readingsStored += this.readings
      this.message.ack()
    }
  }

  const run = (message: SourceMessage, attempt: number) =>
    attemptStep(message, attempt, () => handle(message, attempt))

  /** A message that cannot be processed is quarantined with its reason, then acknowledged. */
  async function refuse(message: SourceMessage, err: unknown): Promise<void> {
    if (!(err instanceof Rejection)) throw err
    await quarantine(message, err.reason, err.message, err.deviceId)
    message.ack()
  }

  /**
   * Steps 1 and 2, then the rest. Without a promise when nothing needs to wait (the
   * device is in the directory's cache): two promises per message were measurable.
   */
  function handle(message: SourceMessage, attempt: number): Promise<void> | void {
    if (attempt === 0) stats.received++
    let validated: Validated | Promise<Validated>
    try {
      validated = validate(decode(message), deps.devices)
    } catch (err) {
      return refuse(message, err)
    }
    if (validated instanceof Promise)
      return validated.then(
        (valid) => accept(message, attempt, valid),
        (err: unknown) => refuse(message, err),
      )
    return accept(message, attempt, validated)
  }

  function accept(message: SourceMessage, attempt: number, valid: Validated): Promise<void> | void {
    if (valid.channel === 'up') {
      try {
        checkClock(valid.uplink.readings, message.receivedAt, valid.device.id)
      } catch (err) {
        return refuse(message, err)
      }
    }
    const { device } = valid
    // Step 3: store. The message is acknowledged after InfluxDB has the lines.
    if (valid.channel === 'status') {
      const lines = [statusLine(device.kind, valid.status, tagsOf(device), message.receivedAt)]
      deps.batcher.add(lines, new StoredMessage(message, attempt, device.id, null, null))
      return
    }
    const readings = valid.uplink.readings
    // Steps 4 and 5 run before the store step finishes: an oxygen alarm waits neither for
    // InfluxDB's write nor, if InfluxDB is down, for it to come back. The message is still
    // acknowledged only once both its points and its alert events are durable. (Redelivered,
    // the rules skip readings they have judged.)
    const emitted = evaluateAndEmit(device, readings)
    // Settled to the error, if any, so a failure waits for the write instead of escaping.
    const saved = emitted ? emitted.then(noError, (err: unknown) => err) : null
    const tags = tagsOf(device)
    const lines: string[] = []
    for (const r of readings) readingLines(device.kind, r, tags, lines)
    deps.batcher.add(lines, new StoredMessage(message, attempt, device.id, readings.length, saved))
  }

  return {
    /** Never throws: a failing message is tried again later, unacknowledged meanwhile. */
    handle: (message: SourceMessage): Promise<void> | void => run(message, 0),
    stats: () => ({ ...stats, quarantinedByReason: { ...stats.quarantinedByReason } }),
    /** No more retries (the processor is stopping). */
    close() {
      closed = true
    },
  }
}

export type Pipeline = ReturnType<typeof createPipeline>
