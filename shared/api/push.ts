import { z } from 'zod'
import { isSecureOrLoopbackUrl, PushSubscriptionInput } from '../push.ts'
import { Severity } from '../rules.ts'
import { Id, Time, TimeZone } from './common.ts'

/** Web Push subscriptions, what each person wants to be told, and cooperatives' webhooks. */

export const VapidPublicKeyView = z.object({
  /** base64url; pages pass it to pushManager.subscribe as applicationServerKey. */
  public_key: z.string(),
})

export const NewPushSubscriptionBody = PushSubscriptionInput.extend({
  /** To tell one's phones apart in the list, e.g. navigator.userAgent. */
  user_agent: z.string().max(300).optional(),
})

export const PushSubscriptionCreated = z.object({
  /** The same id again when this browser subscribes again: a page may keep it to unsubscribe. */
  id: z.string(),
  endpoint: z.string(),
  created_at: Time,
})

/** The endpoint is a push service's capability URL for one browser: only its origin is shown. */
export const PushSubscriptionView = z.object({
  id: z.string(),
  endpoint_origin: z.string(),
  user_agent: z.string().nullable(),
  created_at: Time,
  last_success_at: Time.nullable(),
  /** Failed sends in a row; the notifier drops a subscription the push service says is gone. */
  failures: z.number().int(),
})

const clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM between 00:00 and 23:59, e.g. 22:00')

const QuietHours = z
  .object({ start: clock, end: clock })
  .refine((q) => q.start !== q.end, 'start and end must differ (22:00 to 05:00, say)')
  .describe(
    'Info and warning alerts wait until the end and come as one digest; critical ones do not',
  )

/** PUT replaces all of them; a field left out takes its default. */
export const NotificationPrefsBody = z.object({
  /** null: the farms you belong to (a farmer's); staff name the farms they follow. */
  farm_ids: z.array(Id).max(200).nullable().default(null),
  /** null: every site of those farms. */
  site_ids: z.array(Id).max(500).nullable().default(null),
  min_severity: Severity.default('info'),
  quiet_hours: QuietHours.nullable().default(null),
  /** The zone of the quiet hours; null: each farm's own. */
  time_zone: TimeZone.nullable().default(null),
})

export const NotificationPrefsView = z.object({
  farm_ids: z.array(z.string()).nullable(),
  site_ids: z.array(z.string()).nullable(),
  min_severity: Severity,
  quiet_hours: z.object({ start: z.string(), end: z.string() }).nullable(),
  time_zone: z.string().nullable(),
})
export type NotificationPrefsView = z.infer<typeof NotificationPrefsView>

export const WebhookView = z.object({
  id: z.string(),
  url: z.string(),
  min_severity: Severity,
  /** all: every routed alert; escalations: only when nobody acknowledged or push failed. */
  events: z.enum(['all', 'escalations']),
  created_at: Time,
})

export const NewWebhookBody = z.object({
  url: z
    .url()
    .max(2048)
    .refine(
      isSecureOrLoopbackUrl,
      'url must be https (http only to a receiver on this machine: 127.0.0.1, localhost, [::1])',
    ),
  min_severity: Severity.default('warning'),
  events: z.enum(['all', 'escalations']).default('escalations'),
})

export const NewWebhookResponse = WebhookView.extend({
  /** Verify each call's x-tani-signature with it; shown only now. */
  secret: z.string(),
})

export const WebhookTestResult = z.object({
  /** sent: the receiver took it (2xx); retry: it would be tried again; failed: it would not. */
  kind: z.enum(['sent', 'retry', 'failed', 'gone']),
  status: z.number().int().nullable(),
  detail: z.string().nullable(),
  retry_after_ms: z.number().int().nullable(),
})
