import { createECDH, createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'

/**
 * A loopback Web Push service: endpoints on 127.0.0.1 that record what arrives, decrypt it
 * with the matching browser subscription's keys (as the browser would, RFC 8291), check
 * the VAPID token (RFC 8292) and answer with queued responses (default 201, RFC 8030 §5).
 */

// http_ece ships no types; only decrypt is used, as a browser's push client would.
const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(
    body: Buffer,
    params: { version: 'aes128gcm'; privateKey: ReturnType<typeof createECDH>; authSecret: Buffer },
  ): Buffer
}

export type BrowserSubscription = {
  /** What PushSubscription.toJSON() gives a page; keys base64url. */
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } }
  /** Decrypts an aes128gcm push body with this subscription's keys; throws if it fails. */
  decrypt(body: Buffer): string
}

export function createBrowserSubscription(endpoint: string): BrowserSubscription {
  const ecdh = createECDH('prime256v1')
  const p256dh = ecdh.generateKeys()
  const authSecret = randomBytes(16)
  return {
    subscription: {
      endpoint,
      keys: { p256dh: p256dh.toString('base64url'), auth: authSecret.toString('base64url') },
    },
    decrypt: (body) =>
      ece.decrypt(body, { version: 'aes128gcm', privateKey: ecdh, authSecret }).toString('utf8'),
  }
}

export type VapidClaims = { aud?: unknown; exp?: unknown; sub?: unknown }

export type VapidCheck = {
  valid: boolean
  /** Why it is not valid, in words; empty when valid. */
  problems: string[]
  /** The JWT claims as sent (unverified if `valid` is false); null if unreadable. */
  claims: VapidClaims | null
  /** The `k` parameter: the application server's public key. */
  publicKey: string | null
}

export type ReceivedPush = {
  name: string
  receivedAtMs: number
  /** The status this service answered with. */
  status: number
  headers: {
    ttl: string | null
    urgency: string | null
    topic: string | null
    contentEncoding: string | null
    authorization: string | null
  }
  body: Buffer
  /** The plaintext, decrypted with the subscription's keys; null if that failed. */
  payload: string | null
  vapid: VapidCheck
}

export type PushResponse = {
  status: number
  headers?: Record<string, string>
  body?: string
  /** Wait this long before answering (to test senders' timeouts). */
  delayMs?: number
}

export type PushService = {
  url: string
  endpoint(name: string): string
  /** A fresh browser subscription at `endpoint(name)`; pushes to it are decrypted. */
  subscribe(name: string): BrowserSubscription
  received: ReceivedPush[]
  /** Queues the next answers for that endpoint; once used up, 201 again. */
  respondWith(name: string, ...responses: PushResponse[]): void
  /** The first push (already received or to come) matching the predicate. */
  waitFor(predicate: (push: ReceivedPush) => boolean, timeoutMs?: number): Promise<ReceivedPush>
  stop(): Promise<void>
}

export async function startPushService(
  opts: { vapidPublicKey?: string } = {},
): Promise<PushService> {
  const subscriptions = new Map<string, BrowserSubscription>()
  const queues = new Map<string, PushResponse[]>()
  const received: ReceivedPush[] = []
  const waiters = new Set<(push: ReceivedPush) => void>()
  const timers = new Set<NodeJS.Timeout>()
  let messages = 0

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handle(req, res, Buffer.concat(chunks)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const url = `http://127.0.0.1:${port}`
  const endpoint = (name: string) => `${url}/push/${encodeURIComponent(name)}`

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const match = /^\/push\/([^/?]+)$/.exec(req.url ?? '')
    if (req.method !== 'POST' || !match?.[1]) {
      res.writeHead(404).end()
      return
    }
    const name = decodeURIComponent(match[1])
    const answer = queues.get(name)?.shift() ?? { status: 201 }
    const header = (h: string) => req.headers[h]?.toString() ?? null
    let payload: string | null = null
    try {
      payload = subscriptions.get(name)?.decrypt(body) ?? null
    } catch {
      payload = null
    }
    const push: ReceivedPush = {
      name,
      receivedAtMs: Date.now(),
      status: answer.status,
      headers: {
        ttl: header('ttl'),
        urgency: header('urgency'),
        topic: header('topic'),
        contentEncoding: header('content-encoding'),
        authorization: header('authorization'),
      },
      body,
      payload,
      vapid: checkVapid(header('authorization'), new URL(url).origin, opts.vapidPublicKey),
    }
    received.push(push)
    for (const waiter of waiters) waiter(push)

    const reply = () => {
      // RFC 8030 §5: a 201 names the push message resource in Location.
      const location = answer.status === 201 ? { location: `${url}/message/${++messages}` } : {}
      res.writeHead(answer.status, { ...location, ...answer.headers }).end(answer.body ?? '')
    }
    if (!answer.delayMs) return reply()
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!res.destroyed) reply()
    }, answer.delayMs)
    timers.add(timer)
  }

  return {
    url,
    endpoint,
    received,
    subscribe(name) {
      const browser = createBrowserSubscription(endpoint(name))
      subscriptions.set(name, browser)
      return browser
    },
    respondWith(name, ...responses) {
      queues.set(name, [...(queues.get(name) ?? []), ...responses])
    },
    waitFor(predicate, timeoutMs = 5000) {
      const already = received.find(predicate)
      if (already) return Promise.resolve(already)
      return new Promise((resolve, reject) => {
        const waiter = (push: ReceivedPush) => {
          if (!predicate(push)) return
          clearTimeout(timer)
          waiters.delete(waiter)
          resolve(push)
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no matching push within ${timeoutMs} ms (${received.length} received)`))
        }, timeoutMs)
        waiters.add(waiter)
      })
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Checks `Authorization: vapid t=<jwt>, k=<key>` as a push service does (RFC 8292 §3). */
export function checkVapid(
  authorization: string | null,
  origin: string,
  expectedPublicKey?: string,
  nowMs = Date.now(),
): VapidCheck {
  const problems: string[] = []
  const result = (claims: VapidClaims | null, publicKey: string | null): VapidCheck => ({
    valid: problems.length === 0,
    problems,
    claims,
    publicKey,
  })
  const scheme = /^vapid\s+(.*)$/i.exec(authorization ?? '')
  if (!scheme?.[1]) {
    problems.push('no "Authorization: vapid" header')
    return result(null, null)
  }
  const params = new Map<string, string>()
  for (const part of scheme[1].split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim())
  }
  const token = params.get('t')
  const k = params.get('k') ?? null
  if (!token) problems.push('no t= (JWT) parameter')
  if (!k) problems.push('no k= (public key) parameter')
  if (k && expectedPublicKey !== undefined && k !== expectedPublicKey) {
    problems.push('k is not the expected application server key')
  }

  const [head, body, signature] = token?.split('.') ?? []
  let claims: VapidClaims | null = null
  try {
    const header = JSON.parse(Buffer.from(head ?? '', 'base64url').toString()) as { alg?: unknown }
    if (header.alg !== 'ES256') problems.push(`JWT alg is ${String(header.alg)}, not ES256`)
    claims = JSON.parse(Buffer.from(body ?? '', 'base64url').toString()) as VapidClaims
  } catch {
    if (token) problems.push('JWT is not three base64url JSON parts')
    return result(null, k)
  }

  const key = k ? publicKeyFrom(k) : null
  if (k && !key) problems.push('k is not an uncompressed P-256 point')
  // RFC 8292 §2 / RFC 7518 §3.4: ES256, signature as r || s (64 bytes).
  const signed = Buffer.from(`${head}.${body}`)
  const sig = Buffer.from(signature ?? '', 'base64url')
  if (key && !verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, sig)) {
    problems.push('JWT signature does not verify with k')
  }
  // RFC 8292 §2: aud is the push resource's origin; exp at most 24 h ahead; sub a contact.
  if (claims.aud !== origin) problems.push(`aud is ${String(claims.aud)}, not ${origin}`)
  const nowS = nowMs / 1000
  if (typeof claims.exp !== 'number') problems.push('exp is missing')
  else if (claims.exp <= nowS) problems.push('exp is in the past')
  else if (claims.exp > nowS + 24 * 3600) problems.push('exp is more than 24 h ahead')
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) {
    problems.push('sub is not a mailto: or https: contact')
  }
  return result(claims, k)
}

function publicKeyFrom(k: string): KeyObject | null {
  const point = Buffer.from(k, 'base64url')
  if (point.length !== 65 || point[0] !== 0x04) return null
  const x = point.subarray(1, 33).toString('base64url')
  const y = point.subarray(33).toString('base64url')
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' })
  } catch {
    return null
  }
}
