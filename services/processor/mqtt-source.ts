import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt'
import type { Logger } from '../log.ts'

/**
 * The processor's input, behind a small interface so another engine (a RabbitMQ
 * quorum queue, say) can feed it later. A message is acknowledged to its source only
 * when `ack()` is called, i.e. once what it carried is durable.
 */
export type SourceMessage = {
  topic: string
  payload: Buffer
  receivedAt: number
  /** Call once the message's effects are durable; unacknowledged messages are redelivered. */
  ack(): void
}

export interface MessageSource {
  start(handler: (message: SourceMessage) => void): Promise<void>
  /** Messages received but not yet acknowledged, and their payload bytes. */
  inflight(): number
  inflightBytes(): number
  /** Whether the source is connected now. */
  connected(): boolean
  /** Stops taking messages; acknowledgements still go out until `close`. */
  pause(): void
  close(): Promise<void>
}

export type MqttSourceOptions = {
  url: string
  username: string
  password: string
  /** Stable client id: the persistent session (and its queued messages) hangs on it. */
  clientId: string
  topics: string[]
  /** At most this many messages are held unacknowledged; then reading stops. */
  maxInflight: number
  /**
   * And at most this many payload bytes: a message may be a 1,000-reading backlog, so a
   * count alone does not bound memory. One message is always let in, however large.
   */
  maxInflightBytes?: number
  log: Logger
}

type PendingAck = {
  messageId: number
  bytes: number
  generation: number
  done: boolean
  /** Whether mqtt.js has produced its PUBACK (held back here; `writePubacks` sends it). */
  puback: boolean
}

const noLog = () => {}

type SendPacket = (packet: Packet, cb?: () => void, ...rest: unknown[]) => void

/**
 * MQTT source on mqtt.js with a window of unacknowledged QoS 1 messages.
 *
 * mqtt.js handles incoming packets one at a time and sends the PUBACK from the
 * `handleMessage` callback, so holding that callback until a write completes would allow
 * exactly one message in flight — one InfluxDB write per reading. Instead the callback
 * returns at once while fewer than `maxInflight` messages are open (and is held when the
 * window is full, which stops mqtt.js reading the socket: TCP backpressure), and the
 * PUBACK it produces is held back here until the message is acknowledged; then this
 * source writes it, with the others released at the same time. PUBACKs leave in the
 * order the PUBLISHes arrived [MQTT-4.6.0-2]. After a reconnect, held PUBACKs of
 * the old connection are dropped: the broker redelivers those messages, and writes are
 * idempotent.
 */
export function createMqttSource(opts: MqttSourceOptions): MessageSource {
  const log = opts.log.child({ module: 'mqtt-source' })
  const window: PendingAck[] = []
  const byMessageId = new Map<number, PendingAck>()
  let generation = 0
  let waitingCallback: (() => void) | null = null
  let paused = false
  let client: MqttClient | null = null
  let inflightBytes = 0
  const maxBytes = opts.maxInflightBytes ?? 32 * 1024 * 1024
  const roomForMore = () =>
    !paused && window.length < opts.maxInflight && (window.length === 0 || inflightBytes < maxBytes)

  /** Message ids whose PUBACKs leave together once the current task is done. */
  const acks: number[] = []
  let acksScheduled = false

  function release() {
    while (window.length > 0 && window[0]?.done && window[0].puback) {
      const head = window.shift() as PendingAck
      byMessageId.delete(head.messageId)
      inflightBytes -= head.bytes
      if (head.generation === generation) acks.push(head.messageId)
    }
    if (acks.length > 0 && !acksScheduled) {
      acksScheduled = true
      process.nextTick(writePubacks)
    }
    if (waitingCallback && roomForMore()) {
      const cb = waitingCallback
      waitingCallback = null
      cb()
    }
  }

  /**
   * The PUBACKs released during a task (a batch's completions, say) go out as one buffer
   * in one socket write: written one by one through mqtt.js, each costs a packet object,
   * its encoding and a buffer of its own. A PUBACK of MQTT 3.1.1 is four bytes: 0x40,
   * remaining length 2, the message id (big-endian).
   */
  function writePubacks() {
    acksScheduled = false
    if (acks.length === 0) return
    const stream = client?.stream
    if (!stream || !client?.connected || stream.destroyed) {
      // Gone: the broker redelivers these messages on the next connection.
      acks.length = 0
      return
    }
    const buf = Buffer.allocUnsafe(4 * acks.length)
    for (let i = 0; i < acks.length; i++) {
      const id = acks[i] as number
      buf[4 * i] = 0x40
      buf[4 * i + 1] = 0x02
      buf[4 * i + 2] = id >> 8
      buf[4 * i + 3] = id & 0xff
    }
    acks.length = 0
    stream.write(buf)
  }

  return {
    inflight: () => window.length,
    inflightBytes: () => inflightBytes,
    connected: () => client?.connected ?? false,
    pause() {
      paused = true
    },
    async start(handler) {
      const options: IClientOptions = {
        clientId: opts.clientId,
        username: opts.username,
        password: opts.password,
        clean: false,
        // 3.1.1: `writePubacks` encodes its PUBACKs itself.
        protocolVersion: 4,
        reconnectPeriod: 1000,
        connectTimeout: 10_000,
        // mqtt.js's default logger (the `debug` package) gathers its arguments into an
        // array on each of its ~10 calls per message even when off: a tenth of the
        // processor's allocations. Connection events are logged below instead.
        log: noLog,
      }
      const c = mqtt.connect(opts.url, options)
      client = c
      // See the note above: the PUBACK is intercepted on its way out. `_sendPacket` is
      // mqtt.js's internal writer (stable since mqtt.js 1.x); the source tests pin the
      // behaviour (no PUBACK before ack, redelivery after a crash).
      const internal = c as unknown as { _sendPacket: SendPacket }
      const original = internal._sendPacket.bind(c)
      internal._sendPacket = (packet, cb, ...rest) => {
        if (packet.cmd !== 'puback') return original(packet, cb, ...rest)
        const pending = byMessageId.get(packet.messageId ?? -1)
        if (pending && pending.generation === generation) {
          pending.puback = true
          cb?.()
          release()
          return
        }
        // A PUBACK for a message of a previous connection: the broker will redeliver it.
        cb?.()
      }
      c.handleMessage = (packet, callback) => {
        if (packet.cmd !== 'publish') return callback()
        // Stopping: leave it unacknowledged (and hold mqtt.js) so the broker keeps it.
        if (paused) {
          waitingCallback = callback
          return
        }
        let pending: PendingAck | null = null
        if (packet.qos === 1 && packet.messageId !== undefined) {
          const bytes = (packet.payload as Buffer).length
          pending = { messageId: packet.messageId, bytes, generation, done: false, puback: false }
          inflightBytes += bytes
          window.push(pending)
          byMessageId.set(packet.messageId, pending)
        }
        const p = pending
        handler({
          topic: packet.topic,
          payload: packet.payload as Buffer,
          receivedAt: Date.now(),
          ack: () => {
            if (!p || p.done) return
            p.done = true
            release()
          },
        })
        if (roomForMore()) callback()
        else waitingCallback = callback
      }
      c.on('close', () => {
        generation++
        window.length = 0
        acks.length = 0
        inflightBytes = 0
        byMessageId.clear()
        // mqtt.js discards the old connection's packet queue; let it go on.
        if (waitingCallback) {
          const cb = waitingCallback
          waitingCallback = null
          cb()
        }
      })
      c.on('error', (err) => log.error({ err: err.message }, 'MQTT error'))
      c.on('reconnect', () => log.warn('reconnecting to the broker'))
      // Ready once subscribed: a reading published before the SUBACK would not be queued
      // for the processor's session (on its very first start).
      let subscribed: (err: Error | null) => void = () => {}
      const firstSubscription = new Promise<void>((resolve, reject) => {
        subscribed = (err) => (err ? reject(err) : resolve())
      })
      c.on('connect', (connack) => {
        log.info({ sessionPresent: connack.sessionPresent }, 'connected to the broker')
        c.subscribe(opts.topics, { qos: 1 }, (err, granted) => {
          // mqtt.js reports a refused filter (SUBACK 0x80) as an error carrying the SUBACK.
          const suback = (err as unknown as { packet?: { granted?: number[] } } | null)?.packet
          const refused = suback?.granted
            ? opts.topics.filter((_, k) => suback.granted?.[k] === 128)
            : (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic)
          if (refused.length) {
            log.error({ refused }, 'subscription refused')
            return subscribed(
              new Error(`the broker refused the subscription to ${refused.join(', ')}`),
            )
          }
          if (err) {
            log.error({ err: err.message }, 'subscribe failed')
            return subscribed(err)
          }
          subscribed(null)
        })
      })
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => {
          c.removeListener('connect', onConnect)
          c.end(true)
          reject(new Error(`processor could not connect to ${opts.url}: ${err.message}`))
        }
        const onConnect = () => {
          c.removeListener('error', onError)
          resolve()
        }
        c.once('connect', onConnect)
        c.once('error', onError)
      })
      try {
        await firstSubscription
      } catch (err) {
        c.end(true)
        throw new Error(`processor could not subscribe on ${opts.url}: ${(err as Error).message}`)
      }
    },
    async close() {
      paused = true
      if (!client) return
      const c = client
      // The PUBACKs released just now leave before the DISCONNECT.
      writePubacks()
      // With messages still held, the broker has more queued for us that we will not read;
      // a DISCONNECT would wait behind them (aedes drains its writes for up to a minute).
      // Those messages are unacknowledged, so dropping the connection loses nothing.
      const force = window.some((p) => !p.done) || waitingCallback !== null
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => c.end(true, {}, () => resolve()), 3000)
        c.end(force, {}, () => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
  }
}
