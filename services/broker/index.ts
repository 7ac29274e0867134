import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { type AddressInfo, createServer, type Server } from 'node:net'
import type { Readable } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import aedesPersistenceLevel from 'aedes-persistence-level'
import { ClassicLevel } from 'classic-level'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { Logger } from '../log.ts'
import type { Store } from '../store/repository.ts'
import { createAuth } from './auth.ts'
import { coalescingLevel } from './coalescing-level.ts'

export type BrokerConfig = {
  host: string
  /** MQTT over TCP; 0 picks a free port. */
  port: number
  /** MQTT over WebSocket at /mqtt; null disables it, 0 picks a free port. */
  wsPort: number | null
  /** Sessions, subscriptions and queued QoS 1 messages live here across restarts. */
  persistenceDir: string
  /** How often connected devices are checked against the registry (revoked, rotated). */
  revocationSweepMs?: number
}

export type BrokerStats = {
  connectedClients: number
  refusedConnections: number
  refusedPublishes: number
  refusedSubscriptions: number
  listening: boolean
}

export type Broker = {
  port: number
  stats(): BrokerStats
  wsPort: number | null
  /** Closes a device's connection at once (after its credentials were revoked). */
  disconnectDevice(deviceId: string): boolean
  stop(): Promise<void>
}

/**
 * aedes drops a packet for a client when its broker counter is not above the last one
 * it forwarded to that client (`dedupe` in aedes/lib/client.js). With a persistence
 * whose writes complete out of order (LevelDB), packets reach that check out of order
 * and QoS 1 messages are lost for persistent sessions — ~5 % under concurrent
 * publishers here (moscajs/aedes#955, #994). The check only guards against a client
 * with overlapping subscriptions getting a packet twice, which MQTT 3.1.1 allows
 * [MQTT-3.3.5-1] and which Tani handles (idempotent writes), so it is turned off: the
 * client's record of what it saw always says "nothing yet".
 */
const NOTHING_SEEN: Record<string, number> = new Proxy(Object.create(null), {
  get: () => 0,
  set: () => true,
})
function forwardEveryPacket(client: Client) {
  ;(client as unknown as { duplicates: Record<string, number> }).duplicates = NOTHING_SEEN
}

/**
 * aedes persists a QoS 1 packet for persistent sessions (`outgoingEnqueueCombi`) before
 * routing it, and records its message id (`outgoingUpdate`) before writing it to each
 * persistent subscriber; it goes on when each LevelDB write completes. Those complete
 * out of order, so a subscriber got one publisher's messages out of order (9 in 400
 * here), against MQTT-4.6.0-6 (every topic is an ordered topic). Both are handed back
 * in call order — the enqueues broker-wide, the updates per client — while the LevelDB
 * writes themselves still overlap.
 */
type Persistence = {
  outgoingEnqueueCombi(subs: unknown, packet: unknown): Promise<unknown>
  outgoingUpdate(client: { id: string }, packet: unknown): Promise<unknown>
  createRetainedStreamCombi(patterns: string[]): Readable
}
function inCallOrder<A extends unknown[]>(
  fn: (...args: A) => Promise<unknown>,
  keyOf: (...args: A) => string,
): (...args: A) => Promise<unknown> {
  const last = new Map<string, Promise<unknown>>()
  return (...args) => {
    const key = keyOf(...args)
    const result = fn(...args)
    const ordered = (last.get(key) ?? Promise.resolve()).then(
      () => result,
      () => result,
    )
    const settled = ordered.then(
      () => undefined,
      () => undefined,
    )
    last.set(key, settled)
    settled.then(() => {
      if (last.get(key) === settled) last.delete(key)
    })
    return ordered
  }
}
function keepDeliveryOrder<P extends Persistence>(persistence: P): P {
  persistence.outgoingEnqueueCombi = inCallOrder(
    persistence.outgoingEnqueueCombi.bind(persistence),
    (_subs: unknown, _packet: unknown) => '',
  )
  persistence.outgoingUpdate = inCallOrder(
    persistence.outgoingUpdate.bind(persistence),
    (client) => client.id,
  )
  return persistence
}

/**
 * A SUBSCRIBE makes aedes read the retained messages through a stream it pipes without
 * an error handler; stopping the broker closes the database under a stream still
 * reading, and its 'Database is not open' became an uncaught exception. The streams are
 * tracked, their errors logged, and the ones still open are ended before the database
 * closes.
 */
function trackRetainedStreams(persistence: Persistence, log: Logger): () => void {
  const open = new Set<Readable>()
  const create = persistence.createRetainedStreamCombi.bind(persistence)
  persistence.createRetainedStreamCombi = (patterns) => {
    const stream = create(patterns)
    open.add(stream)
    stream.on('error', (err: Error) =>
      log.warn({ err: err.message }, 'reading retained messages failed'),
    )
    stream.on('close', () => open.delete(stream))
    return stream
  }
  return () => {
    for (const stream of open) stream.destroy()
    open.clear()
  }
}

/** Hard cap on one PUBLISH payload; the processor quarantines anything over its own smaller limit. */
const MAX_PAYLOAD_BYTES = 1024 * 1024

export async function startBroker(
  config: BrokerConfig,
  deps: { store: Store; log: Logger },
): Promise<Broker> {
  const log = deps.log.child({ module: 'broker' })
  mkdirSync(config.persistenceDir, { recursive: true })
  const db = new ClassicLevel<string, Buffer>(config.persistenceDir, { valueEncoding: 'buffer' })
  const persistence = keepDeliveryOrder(aedesPersistenceLevel(coalescingLevel(db)))
  const endRetainedStreams = trackRetainedStreams(persistence, log)
  const auth = createAuth({ store: deps.store, log })

  const aedes = await Aedes.createBroker({
    persistence,
    preConnect: (client, packet, done) => {
      forwardEveryPacket(client)
      auth.preConnect(client, packet, done)
    },
    authenticate: auth.authenticate,
    authorizePublish: (client, packet, done) => {
      if (packet.payload.length > MAX_PAYLOAD_BYTES) {
        log.warn(
          { clientId: client?.id, bytes: packet.payload.length },
          'payload over 1 MiB refused',
        )
        return done(new Error('payload too large'))
      }
      auth.authorizePublish(client, packet, done)
    },
    authorizeSubscribe: auth.authorizeSubscribe,
    // Wills and retained messages are published by the broker on a client's behalf; the
    // hook above already checked the topic when the client connected or published.
  })

  aedes.on('clientError', (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, 'client error'),
  )
  aedes.on('connectionError', (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, 'connection error'),
  )
  aedes.on('client', (client) => log.debug({ clientId: client.id }, 'client connected'))
  aedes.on('clientDisconnect', (client) =>
    log.debug({ clientId: client.id }, 'client disconnected'),
  )

  const tcp: Server = createServer(aedes.handle)
  tcp.listen(config.port, config.host)
  await once(tcp, 'listening')
  const port = (tcp.address() as AddressInfo).port

  let http: HttpServer | null = null
  let wss: WebSocketServer | null = null
  let wsPort: number | null = null
  if (config.wsPort !== null) {
    http = createHttpServer((_req, res) => {
      res
        .writeHead(426, { 'content-type': 'text/plain' })
        .end('MQTT over WebSocket: connect to /mqtt\n')
    })
    wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: MAX_PAYLOAD_BYTES + 1024 })
    wss.on('connection', (socket, req) => aedes.handle(createWebSocketStream(socket), req))
    http.listen(config.wsPort, config.host)
    await once(http, 'listening')
    wsPort = (http.address() as AddressInfo).port
  }
  log.info({ port, wsPort, persistence: config.persistenceDir }, 'broker listening')

  // The API tells an embedded broker about a revocation at once (disconnectDevice); a
  // broker in another process finds out here, from the shared registry, within a sweep.
  const clients = () =>
    Object.values((aedes as unknown as { clients: Record<string, Client> }).clients)
  async function sweepRevoked() {
    for (const client of clients()) {
      const identity = auth.identityOf(client)
      if (identity?.type !== 'device') continue
      if ((await deps.store.deviceSecretHash(identity.id)) === identity.secretHash) continue
      log.info({ deviceId: identity.id }, 'device revoked or its secret rotated: disconnected')
      client.close()
    }
  }
  const sweepTimer = setInterval(() => {
    sweepRevoked().catch((err: Error) => log.error({ err: err.message }, 'revocation sweep failed'))
  }, config.revocationSweepMs ?? 5000)
  sweepTimer.unref()

  return {
    port,
    wsPort,
    stats: () => ({
      connectedClients: aedes.connectedClients,
      ...auth.stats(),
      listening: tcp.listening,
    }),
    disconnectDevice(deviceId) {
      const client = (aedes as unknown as { clients: Record<string, { close(): void }> }).clients[
        deviceId
      ]
      if (!client) return false
      client.close()
      return true
    },
    async stop() {
      clearInterval(sweepTimer)
      for (const c of wss?.clients ?? []) c.terminate()
      wss?.close()
      const closing = [new Promise<void>((r) => tcp.close(() => r()))]
      if (http) closing.push(new Promise<void>((r) => http.close(() => r())))
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await Promise.all(closing)
      endRetainedStreams()
      await persistence.destroy()
      log.info('broker stopped')
    },
  }
}
