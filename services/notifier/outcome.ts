/**
 * What a channel (web push, webhook) reports for one send; the outbox worker decides from
 * it: done, retry later, or give the target up.
 */
export type SendOutcome =
  | { kind: 'sent'; status: number }
  /** 404/410 from a push service: the subscription is gone for good; remove it. */
  | { kind: 'gone'; status: number; detail: string }
  /** 429, 5xx, a timeout or a network error: try again, not before `retryAfterMs` if given. */
  | { kind: 'retry'; status: number | null; retryAfterMs: number | null; detail: string }
  /** Any other refusal (400, 401, 403, 413…): retrying would not help. */
  | { kind: 'failed'; status: number | null; detail: string }

/** A browser's push subscription as stored. */
export type PushTarget = { endpoint: string; p256dh: string; auth: string }

/** Web Push request options (RFC 8030 §5.2–5.4 headers TTL, Urgency, Topic). */
export type PushOptions = {
  urgency: 'very-low' | 'low' | 'normal' | 'high'
  ttlS: number
  /** At most 32 characters of the URL-safe base64 alphabet. */
  topic: string | null
}

export type VapidKeys = {
  /** base64url, uncompressed P-256 point (what pages pass to pushManager.subscribe). */
  publicKey: string
  privateKey: string
  /** Contact for push services: a mailto: or https: URL. */
  subject: string
}

/** Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date; ms from now, or null. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | null {
  if (value === null) return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  // An HTTP-date always ends in GMT; this keeps Date.parse from guessing at "7s".
  if (!/GMT$/.test(trimmed)) return null
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs)
}
