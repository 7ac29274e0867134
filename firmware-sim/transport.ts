import mqtt, { type MqttClient } from 'mqtt'
import type { DeviceStatus } from '../shared/status.ts'
import { topics } from '../shared/topics.ts'

/**
 * How simulated uplinks reach the broker: a device's own MQTT connection (native
 * devices), or a LoRaWAN network server's connection publishing for many devices.
 * Publishes are QoS 1 and resolve on the broker's PUBACK.
 */

export type SimLogger = {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** CONNACK codes that retrying cannot fix (MQTT 3.1.1: 1, 2, 4, 5; MQTT 5: ≥ 128 but the busy ones). */
const PERMANENT_REFUSALS = new Set([1, 2, 4, 5, 128, 129, 130, 131, 132, 133, 134, 135, 138, 140])

export type LinkState = 'connecting' | 'online' | 'offline' | 'refused' | 'stopped'

export type Link = {
  readonly state: LinkState
  /** Resolves at the first connection, or when refused or stopped. */
  readonly ready: Promise<void>
  publish(topic: string, payload: string | Buffer): Promise<void>
  /** Loses the connection abruptly (no DISCONNECT): the broker publishes the will. */
  dropConnection(): void
  /** Connects again after `dropConnection`; resolves when online. */
  reconnect(): Promise<void>
  /** Says goodbye (status, DISCONNECT) and closes. */
  close(timeoutMs?: number): Promise<void>
}

const codeOf = (err: unknown) =>
  err instanceof Error && 'code' in err && typeof err.code === 'number' ? err.code : undefined

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

export function openLink(opts: {
  url: string
  clientId: string
  username: string
  password: string
  /** Native devices announce themselves on their status topic, with a last will. */
  statusOf?: { deviceId: string; firmware: string }
  log: SimLogger
  onRefused?(code: number, message: string): void
}): Link {
  const { log } = opts
  let state: LinkState = 'connecting'
  let markReady: () => void = () => {}
  const ready = new Promise<void>((r) => {
    markReady = r
  })
  const status = (s: DeviceStatus) => JSON.stringify(s)
  const statusTopic = opts.statusOf ? topics.deviceStatus(opts.statusOf.deviceId) : null
  let waitingOnline: (() => void)[] = []

  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(statusTopic
      ? {
          will: {
            topic: statusTopic,
            payload: Buffer.from(status({ online: false, reason: 'connection lost' })),
            qos: 1 as const,
            retain: true,
          },
        }
      : {}),
  })
  client.on('connect', () => {
    if (state === 'stopped' || state === 'refused') return
    state = 'online'
    if (statusTopic && opts.statusOf)
      client.publish(
        statusTopic,
        status({ online: true, firmware: opts.statusOf.firmware }),
        { qos: 1, retain: true },
        () => {},
      )
    markReady()
    const waiting = waitingOnline
    waitingOnline = []
    for (const w of waiting) w()
  })
  client.on('close', () => {
    if (state === 'online') state = 'offline'
  })
  client.on('error', (err) => {
    const code = codeOf(err)
    if (code !== undefined && PERMANENT_REFUSALS.has(code)) {
      if (state === 'refused') return
      state = 'refused'
      client.end(true)
      log.error(
        { clientId: opts.clientId, code, reason: err.message },
        'broker refused the connection',
      )
      opts.onRefused?.(code, err.message)
      markReady()
      return
    }
    log.debug({ clientId: opts.clientId, err: err.message }, 'MQTT connection error; retrying')
  })

  return {
    get state() {
      return state
    },
    ready,
    publish(topic, payload) {
      return new Promise<void>((resolve, reject) => {
        if (state === 'refused' || state === 'stopped') {
          reject(new Error(`${opts.clientId}: link is ${state}`))
          return
        }
        client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()))
      })
    },
    dropConnection() {
      if (state !== 'online' && state !== 'connecting') return
      state = 'offline'
      // Keep mqtt.js from reconnecting by itself: the device is out of coverage.
      client.options.reconnectPeriod = 0
      client.stream.destroy()
    },
    reconnect() {
      if (state === 'online') return Promise.resolve()
      const online = new Promise<void>((r) => waitingOnline.push(r))
      client.options.reconnectPeriod = 1000
      client.reconnect()
      return online
    },
    async close(timeoutMs = 5000) {
      if (state === 'refused' || state === 'stopped') return
      const wasOnline = client.connected
      state = 'stopped'
      let said = false
      if (wasOnline && statusTopic) {
        try {
          await withTimeout(
            client.publishAsync(statusTopic, status({ online: false, reason: 'stopped' }), {
              qos: 1,
              retain: true,
            }),
            timeoutMs,
            'offline status',
          )
          said = true
        } catch {}
      }
      try {
        // Without an acknowledged goodbye the will is the better last word: no DISCONNECT then.
        await withTimeout(client.endAsync(statusTopic ? !said : false), timeoutMs, 'disconnect')
      } catch {
        client.stream?.destroy()
      }
      markReady()
    },
  }
}
