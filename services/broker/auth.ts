import { createHash, timingSafeEqual } from 'node:crypto'
import type { AuthenticateError, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes'
import {
  CHIRPSTACK_EVENT_TOPIC,
  deviceRoot,
  isValidId,
  TOPIC_ID,
  TTS_EVENT_TOPIC,
} from '../../shared/index.ts'
import type { Logger } from '../log.ts'
import type { ServiceRole, Store } from '../store/repository.ts'
import { verifySecret } from '../store/secrets.ts'

/**
 * Who may connect, publish and subscribe: aedes' three hooks, with safe defaults
 * (anything not explicitly allowed is refused).
 */

export type Identity =
  /** `secretHash`: the stored hash it authenticated against (a rotation or revocation changes it). */
  | { type: 'device'; id: string; secretHash: string }
  | { type: 'service'; id: string; role: ServiceRole }

// CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3).
const IDENTIFIER_REJECTED = 2
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

const WILDCARD_OR_SEPARATOR = /[+#/]/

const authError = (returnCode: number, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError

/** Topics a service may subscribe to (filters, compared literally) and publish under. */
const servicePermissions: Record<ServiceRole, { subscribe: RegExp; publish: RegExp }> = {
  processor: {
    subscribe:
      /^(\$share\/[A-Za-z0-9_-]+\/)?(devices\/\+\/(up|status)|alerts\/(\+|#)|application\/\+\/device\/\+\/event\/up|v3\/\+\/devices\/\+\/up)$/,
    publish: /^alerts\/[A-Za-z0-9][A-Za-z0-9._-]*$/,
  },
  notifier: {
    subscribe: /^(\$share\/[A-Za-z0-9_-]+\/)?alerts\/(\+|#|[A-Za-z0-9][A-Za-z0-9._-]*)$/,
    publish: /^$/,
  },
  api: { subscribe: /^devices\/\+\/status$/, publish: /^$/ },
  // A LoRaWAN network server (ChirpStack's MQTT integration, or a bridge from The Things
  // Stack) publishes uplinks of the devices it serves; their DevEUIs map them to devices.
  // ChirpStack's MQTT integration publishes every event of a device (join, status, log…),
  // and a refused publish would close its connection: all are allowed, and the processor
  // subscribes to the uplinks only.
  'network-server': {
    subscribe: /^$/,
    publish: new RegExp(`${CHIRPSTACK_EVENT_TOPIC.source}|${TTS_EVENT_TOPIC.source}`),
  },
  // An edge gateway forwarding for devices that cannot speak MQTT themselves (RS-485 or
  // BLE sensors behind a farm gateway), and the simulator's load mode over few
  // connections: it publishes as any device; the processor still checks the registry.
  gateway: {
    subscribe: /^$/,
    publish: new RegExp(`^devices/${TOPIC_ID}/(up|status)$`),
  },
}

export function createAuth(deps: { store: Store; log: Logger }) {
  const { store, log } = deps
  const connectInfo = new WeakMap<Client, { clientId: string; clean: boolean }>()
  const identities = new WeakMap<Client, Identity>()
  // A verified secret's digest, per account and stored hash: reconnects after a broker
  // restart cost a hash lookup instead of scrypt. Keyed by the stored hash, so a rotated
  // or revoked secret misses the cache.
  const verified = new Map<string, { storedHash: string; digest: Buffer }>()

  const stats = { refusedConnections: 0, refusedPublishes: 0, refusedSubscriptions: 0 }
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest()

  async function checkSecret(name: string, storedHash: string, password: Buffer): Promise<boolean> {
    const digest = sha256(password)
    const hit = verified.get(name)
    if (hit && hit.storedHash === storedHash && timingSafeEqual(hit.digest, digest)) return true
    const ok = await verifySecret(password.toString('utf8'), storedHash)
    if (ok) {
      if (verified.size > 100_000) verified.clear()
      verified.set(name, { storedHash, digest })
    }
    return ok
  }

  function preConnect(
    client: Client,
    packet: ConnectPacket,
    done: (err: Error | null, ok: boolean) => void,
  ) {
    connectInfo.set(client, { clientId: packet.clientId, clean: packet.clean !== false })
    done(null, true)
  }

  async function identify(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Identity> {
    const info = connectInfo.get(client)
    // [MQTT-3.1.3-8] a zero-byte ClientId with CleanSession 0 gets CONNACK 0x02.
    if (info && info.clientId === '' && !info.clean)
      throw authError(IDENTIFIER_REJECTED, 'an empty client id needs a clean session')
    const clientId = info?.clientId ?? client.id
    if (WILDCARD_OR_SEPARATOR.test(clientId))
      throw authError(IDENTIFIER_REJECTED, 'client ids may not contain +, # or /')
    if (!username || !password)
      throw authError(BAD_USERNAME_OR_PASSWORD, 'username and password are required')
    if (WILDCARD_OR_SEPARATOR.test(username) || !isValidId(username))
      throw authError(BAD_USERNAME_OR_PASSWORD, 'usernames may not contain +, # or /')

    const account = await store.serviceAccount(username)
    if (account) {
      if (!(await checkSecret(`svc:${username}`, account.secretHash, password)))
        throw authError(BAD_USERNAME_OR_PASSWORD, 'bad username or password')
      return { type: 'service', id: username, role: account.role }
    }
    const storedHash = await store.deviceSecretHash(username)
    if (!storedHash || !(await checkSecret(username, storedHash, password)))
      throw authError(BAD_USERNAME_OR_PASSWORD, 'bad username or password')
    // A device's client id is its device id: no device can take over another's session.
    if (clientId !== username)
      throw authError(IDENTIFIER_REJECTED, 'a device must use its device id as client id')
    return { type: 'device', id: username, secretHash: storedHash }
  }

  function authenticate(
    client: Client,
    username: Readonly<string | undefined>,
    password: Readonly<Buffer | undefined>,
    done: (err: AuthenticateError | null, ok: boolean | null) => void,
  ) {
    identify(client, username, password).then(
      (identity) => {
        identities.set(client, identity)
        done(null, true)
      },
      (err: AuthenticateError) => {
        const returnCode = err.returnCode ?? NOT_AUTHORIZED
        stats.refusedConnections++
        log.warn(
          { clientId: client.id, username, returnCode, reason: err.message },
          'connection refused',
        )
        done(err.returnCode ? err : authError(NOT_AUTHORIZED, 'not authorized'), false)
      },
    )
  }

  function authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (err?: Error | null) => void,
  ) {
    // The broker's own messages ($SYS heartbeats) come without a client.
    if (!client) return done(null)
    const identity = identities.get(client)
    const topic = packet.topic
    let allowed = false
    if (identity?.type === 'device') allowed = topic.startsWith(deviceRoot(identity.id))
    else if (identity?.type === 'service')
      allowed = servicePermissions[identity.role].publish.test(topic)
    if (allowed) return done(null)
    stats.refusedPublishes++
    log.warn({ clientId: client.id, topic }, 'publish refused')
    done(new Error(`not allowed to publish on ${topic}`))
  }

  function authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (err: Error | null, sub?: Subscription | null) => void,
  ) {
    const identity = identities.get(client)
    let allowed = false
    if (identity?.type === 'device') {
      const root = deviceRoot(identity.id)
      allowed = sub.topic.startsWith(root) || sub.topic === root.slice(0, -1)
    } else if (identity?.type === 'service') {
      allowed = servicePermissions[identity.role].subscribe.test(sub.topic)
    }
    if (allowed) return done(null, sub)
    stats.refusedSubscriptions++
    log.warn({ clientId: client.id, topic: sub.topic }, 'subscription refused')
    // A null subscription makes aedes answer SUBACK 0x80 for this filter and keep the
    // connection, as MQTT 3.1.1 section 3.9.3 allows.
    done(null, null)
  }

  return {
    preConnect,
    authenticate,
    authorizePublish,
    authorizeSubscribe,
    identityOf: (client: Client) => identities.get(client),
    stats: () => ({ ...stats }),
  }
}
