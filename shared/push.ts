import { z } from 'zod'
import { AlertState } from './alerts.ts'
import { Severity } from './rules.ts'

/**
 * Web Push contracts: the subscription a browser hands over (PushSubscription.toJSON()),
 * and the notification payload the notifier encrypts for it and the service worker in
 * dashboards/ shows.
 */

/** https, or http to this machine only (tests, a gateway on the same host). */
export const isSecureOrLoopbackUrl = (u: string): boolean => {
  // z.url() has refused what does not parse; refinements still run after it.
  if (!URL.canParse(u)) return true
  const url = new URL(u)
  return (
    url.protocol === 'https:' ||
    (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
  )
}

const base64url = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} is base64url`)
    .refine(
      (s) => Buffer.from(s, 'base64url').length === bytes,
      `${what} is ${bytes} bytes (base64url), as the browser's subscription gives it`,
    )

export const PushSubscriptionInput = z.object({
  /** The push service's URL for this browser; https, except on loopback for tests. */
  endpoint: z
    .url()
    .max(2048)
    .refine(isSecureOrLoopbackUrl, 'endpoint must be an https URL (the browser push service)'),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    /** The browser's P-256 public key, uncompressed point (65 bytes). */
    p256dh: base64url(65, 'keys.p256dh'),
    /** The authentication secret (16 bytes). */
    auth: base64url(16, 'keys.auth'),
  }),
})
export type PushSubscriptionInput = z.infer<typeof PushSubscriptionInput>

export const locales = ['vi', 'id', 'en'] as const
export const NotificationLocale = z.enum(locales)
export type NotificationLocale = z.infer<typeof NotificationLocale>

/** What the service worker receives (encrypted, aes128gcm) and shows. */
export const NotificationPayload = z.object({
  v: z.literal(1),
  /** One alert, or a digest of several held back during quiet hours. */
  type: z.enum(['alert', 'digest', 'escalation']),
  lang: NotificationLocale,
  title: z.string(),
  body: z.string(),
  /** Replaces an earlier notification with the same tag (the alert id; "digest" for digests). */
  tag: z.string(),
  /** Where a click goes: the alert page (or the alert list for a digest). */
  url: z.string(),
  /** Show without sound or vibration (resolved, late, digests). */
  silent: z.boolean(),
  /** Keep it on screen until the person acts (critical alerts). */
  require_interaction: z.boolean(),
  alert_id: z.string().nullable(),
  state: AlertState.nullable(),
  severity: Severity.nullable(),
  farm_id: z.string().nullable(),
  site_id: z.string().nullable(),
  device_id: z.string().nullable(),
  /** Event time of the reading behind it, ISO 8601. */
  reading_ts: z.string().nullable(),
  /** For a digest: the alerts it gathers. */
  alert_ids: z.array(z.string()).default([]),
})
export type NotificationPayload = z.infer<typeof NotificationPayload>

/** Body of a webhook call (signed: see services/notifier/webhook.ts). */
export const WebhookBody = z.object({
  v: z.literal(1),
  type: z.enum(['alert', 'escalation', 'test']),
  /** Why this went to the webhook: a routed alert, nobody acknowledged, or push failed. */
  reason: z.enum(['alert', 'unacknowledged', 'push_failed', 'test']),
  sent_at: z.string(),
  notification: NotificationPayload,
})
export type WebhookBody = z.infer<typeof WebhookBody>
