import webPush from 'web-push'
import {
  type PushOptions,
  type PushTarget,
  parseRetryAfter,
  type SendOutcome,
  type VapidKeys,
} from './outcome.ts'

export type PushSenderOptions = {
  vapid: VapidKeys
  /** Whole request, response headers and body included. */
  timeoutMs?: number
  fetch?: typeof fetch
}

export type PushSender = {
  send(target: PushTarget, payload: string, options: PushOptions): Promise<SendOutcome>
}

/**
 * RFC 8030 §7.2: a push service need only accept 4096 octets of (encrypted) payload.
 * With aes128gcm's 86-octet header, 1 delimiter and 16 tag octets that is 3993 octets of
 * plaintext in the single record RFC 8291 §4 allows; web-push would instead split a
 * longer payload into several records, which push services refuse.
 */
const MAX_BODY_BYTES = 4096

export function createPushSender(opts: PushSenderOptions): PushSender {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const doFetch = opts.fetch ?? fetch
  const vapidDetails = {
    subject: opts.vapid.subject,
    publicKey: opts.vapid.publicKey,
    privateKey: opts.vapid.privateKey,
  }

  return {
    async send(target, payload, options) {
      let request: { headers: Record<string, string>; body: Uint8Array<ArrayBuffer> }
      try {
        request = encryptAndSign(target, payload, options, vapidDetails)
      } catch (err) {
        // web-push's messages name the bad input (key length, topic alphabet), not its value.
        return { kind: 'failed', status: null, detail: `cannot encrypt: ${errorMessage(err)}` }
      }
      if (request.body.length > MAX_BODY_BYTES) {
        return {
          kind: 'failed',
          status: null,
          detail: `payload too large: ${request.body.length} bytes encrypted, push services take ${MAX_BODY_BYTES}`,
        }
      }

      const signal = AbortSignal.timeout(timeoutMs)
      let res: Response
      try {
        res = await doFetch(target.endpoint, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          // A push service answers directly; never forward the VAPID token elsewhere.
          redirect: 'manual',
          signal,
        })
      } catch (err) {
        return { kind: 'retry', status: null, retryAfterMs: null, detail: transportError(err) }
      }
      return toOutcome(res, signal)
    },
  }
}

function encryptAndSign(
  target: PushTarget,
  payload: string,
  options: PushOptions,
  vapidDetails: { subject: string; publicKey: string; privateKey: string },
) {
  // aes128gcm (RFC 8291) and `Authorization: vapid t=…, k=…` (RFC 8292 §3); web-push sets
  // the JWT `aud` to the endpoint's origin and `exp` to 12 h ahead (§2: at most 24 h).
  const details = webPush.generateRequestDetails(
    { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
    payload,
    {
      vapidDetails,
      contentEncoding: 'aes128gcm',
      TTL: options.ttlS, // RFC 8030 §5.2
      urgency: options.urgency, // RFC 8030 §5.3
      topic: options.topic ?? undefined, // RFC 8030 §5.4
    },
  )
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(details.headers)) {
    // fetch computes Content-Length itself and refuses a hand-set one that disagrees.
    if (name.toLowerCase() !== 'content-length') headers[name] = String(value)
  }
  return { headers, body: new Uint8Array(details.body) }
}

async function toOutcome(res: Response, signal: AbortSignal): Promise<SendOutcome> {
  const status = res.status
  if (status === 200 || status === 201 || status === 202) {
    await res.body?.cancel().catch(() => {})
    return { kind: 'sent', status }
  }
  const body = await readSnippet(res, signal)
  const detail = body
    ? `push service answered ${status}: ${body}`
    : `push service answered ${status}`
  // RFC 8030 §7.3: the subscription has expired or been removed.
  if (status === 404 || status === 410) return { kind: 'gone', status, detail }
  // RFC 8030 §8.4 (429) and server errors: the message may go through later.
  if (status === 429 || status >= 500) {
    return {
      kind: 'retry',
      status,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      detail,
    }
  }
  return { kind: 'failed', status, detail }
}

async function readSnippet(res: Response, signal: AbortSignal): Promise<string> {
  if (signal.aborted) return ''
  try {
    const text = await res.text()
    return text.replace(/\s+/g, ' ').trim().slice(0, 200)
  } catch {
    return ''
  }
}

function transportError(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return 'push service did not answer in time'
  }
  const cause = err instanceof Error ? err.cause : undefined
  const code =
    cause instanceof Error
      ? ((cause as NodeJS.ErrnoException).code ?? cause.message)
      : errorMessage(err)
  return `cannot reach push service: ${code}`
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
