import {
  type Condition,
  type NotificationPayload,
  NotificationPayload as PayloadSchema,
  type WebhookBody,
} from '../../shared/index.ts'
import type { Logger } from '../log.ts'
import type { NewOutboxItem, OutboxItem, Store } from '../store/repository.ts'
import { digestFor, digestPushOptions } from './messages.ts'
import type { PushOptions, PushTarget, SendOutcome } from './outcome.ts'
import { localeOf } from './router.ts'

/**
 * The outbox worker: sends what is due, one channel call per item, and records the
 * outcome. 429 and 5xx are retried with back-off (at least the push service's
 * Retry-After) until the notification's TTL has passed; a subscription the push service
 * says is gone (404, 410) is removed. A critical alert whose push could not be delivered
 * goes to the cooperative's webhooks instead.
 */

export type PushSender = {
  send(target: PushTarget, payload: string, options: PushOptions): Promise<SendOutcome>
}
export type WebhookSender = {
  send(webhook: { url: string; secret: string }, body: WebhookBody): Promise<SendOutcome>
}

export type DeliveryDeps = {
  store: Store
  push: PushSender
  webhook: WebhookSender
  log: Logger
  baseUrl: string
  now: () => number
  /** Sends in flight at once. */
  concurrency?: number
  onOutcome?: (channel: OutboxItem['channel'], outcome: SendOutcome['kind'] | 'expired') => void
}

const MAX_BACKOFF_MS = 5 * 60_000
export const backoffMs = (attempts: number) => Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempts)
/** A webhook (an SMS gateway) is tried this often before it is given up. */
const WEBHOOK_ATTEMPTS = 8

export function createDeliveryWorker(deps: DeliveryDeps) {
  const { store, log } = deps

  async function record(item: OutboxItem, status: string, detail: string | null, target: string) {
    const alertIds =
      item.alertId === 'digest'
        ? (PayloadSchema.safeParse(JSON.parse(item.payload)).data?.alert_ids ?? [])
        : [item.alertId]
    for (const alertId of alertIds)
      await store.recordDelivery({
        alertId,
        channel: item.channel === 'push' ? 'web-push' : 'webhook',
        target,
        status,
        at: deps.now(),
        detail: item.alertId === 'digest' ? `digest${detail ? `: ${detail}` : ''}` : detail,
      })
  }

  /** A critical alert that no push reached goes to the cooperative's webhooks. */
  async function pushFailed(item: OutboxItem) {
    const payload = PayloadSchema.safeParse(JSON.parse(item.payload)).data
    if (payload?.severity !== 'critical' || payload.state !== 'firing') return
    const farm = payload.farm_id ? await store.getFarm(payload.farm_id) : null
    if (!farm) return
    const items: NewOutboxItem[] = (await store.listWebhooks(farm.cooperativeId)).map((hook) => ({
      dedupeKey: `${item.alertId}|push_failed|webhook|${hook.id}`,
      alertId: item.alertId,
      state: 'escalation',
      channel: 'webhook',
      target: hook.id,
      userId: null,
      payload: JSON.stringify({
        v: 1,
        type: 'escalation',
        reason: 'push_failed',
        sent_at: new Date(deps.now()).toISOString(),
        notification: payload,
      } satisfies WebhookBody),
      urgency: 'high',
      ttlS: item.ttlS,
      topic: null,
      notBefore: deps.now(),
    }))
    if (items.length) await store.enqueueNotifications(items)
  }

  async function deliver(item: OutboxItem): Promise<void> {
    const now = deps.now()
    const expiresAt = item.createdAt + item.ttlS * 1000
    let outcome: SendOutcome
    let target: string
    if (item.channel === 'push') {
      const sub = await store.getPushSubscription(item.target)
      if (!sub) {
        await store.finishNotification(item.id, {
          status: 'gone',
          detail: 'unsubscribed',
          atMs: now,
        })
        return
      }
      target = `${sub.userId} · ${new URL(sub.endpoint).host}`
      const ttlS = Math.max(0, Math.round((expiresAt - now) / 1000))
      outcome = await deps.push.send(sub, item.payload, {
        urgency: item.urgency,
        ttlS,
        topic: item.topic,
      })
      await store.recordPushResult(sub.id, outcome.kind === 'sent', now)
      if (outcome.kind === 'gone') await store.removePushSubscription(sub.id)
    } else {
      const hook = await store.getWebhook(item.target)
      if (!hook) {
        await store.finishNotification(item.id, {
          status: 'failed',
          detail: 'webhook deleted',
          atMs: now,
        })
        return
      }
      target = new URL(hook.url).host
      outcome = await deps.webhook.send(hook, JSON.parse(item.payload) as WebhookBody)
    }
    deps.onOutcome?.(item.channel, outcome.kind)
    if (outcome.kind === 'sent') {
      await store.finishNotification(item.id, { status: 'sent', detail: null, atMs: now })
      await record(item, 'sent', null, target)
      return
    }
    if (outcome.kind === 'retry') {
      // Retry-After counts from the answer, not from when the attempt began (RFC 9110
      // §10.2.3): sending can take a while on a busy notifier.
      const notBefore = deps.now() + Math.max(outcome.retryAfterMs ?? 0, backoffMs(item.attempts))
      const giveUp =
        notBefore >= expiresAt ||
        (item.channel === 'webhook' && item.attempts + 1 >= WEBHOOK_ATTEMPTS)
      if (!giveUp) {
        await store.retryNotification(item.id, { notBefore, detail: outcome.detail })
        await record(item, 'retrying', outcome.detail, target)
        return
      }
      deps.onOutcome?.(item.channel, 'expired')
      outcome = { kind: 'failed', status: outcome.status, detail: `gave up: ${outcome.detail}` }
    }
    const status = outcome.kind === 'gone' ? 'gone' : 'failed'
    await store.finishNotification(item.id, { status, detail: outcome.detail, atMs: now })
    await record(item, status, outcome.detail, target)
    log.warn(
      { alertId: item.alertId, channel: item.channel, status, detail: outcome.detail },
      'notification not delivered',
    )
    if (item.channel === 'push') await pushFailed(item)
  }

  /** Held (quiet-hours) notifications whose time has come, one digest per browser. */
  async function releaseDigests(now: number) {
    const held = await store.dueDigests(now)
    const byTarget = new Map<string, OutboxItem[]>()
    for (const h of held) byTarget.set(h.target, [...(byTarget.get(h.target) ?? []), h])
    for (const [target, items] of byTarget) {
      const user = items[0]?.userId ? await store.getUser(items[0].userId) : null
      const alerts = []
      const siteNames: Record<string, string> = {}
      const conditions: Record<string, Condition> = {}
      for (const id of new Set(items.map((i) => i.alertId))) {
        const a = await store.getAlert(id)
        if (!a) continue
        alerts.push(a.lastEvent)
        const site = a.siteId ? await store.getSite(a.siteId) : null
        if (site) siteNames[site.id] = site.name
        const rule = await store.getRule(a.ruleId)
        if (rule) conditions[rule.id] = rule.condition
      }
      if (alerts.length === 0) {
        for (const i of items)
          await store.finishNotification(i.id, {
            status: 'failed',
            detail: 'alert unknown',
            atMs: now,
          })
        continue
      }
      const farm = await store.getFarm(alerts[0]?.farm_id ?? '')
      const digest: NotificationPayload = digestFor(alerts, {
        lang: user ? localeOf(user) : 'en',
        baseUrl: deps.baseUrl,
        timeZone: farm?.timezone,
        siteNames,
        conditions,
      })
      const key = `digest|${target}|${items.map((i) => i.id).join(',')}`
      await store.enqueueNotifications([
        {
          dedupeKey: key,
          alertId: 'digest',
          state: 'digest',
          channel: 'push',
          target,
          userId: items[0]?.userId ?? null,
          payload: JSON.stringify(digest),
          ...digestPushOptions(),
          notBefore: now,
        },
      ])
      for (const i of items)
        await store.finishNotification(i.id, { status: 'sent', detail: `in ${key}`, atMs: now })
    }
  }

  let running: Promise<number> | null = null
  let again = false
  /**
   * Sends what is due now; returns how many sends were tried. One pass at a time: asked
   * during a pass, another follows it at once (a new alert does not wait for the timer).
   */
  function runOnce(): Promise<number> {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      let tried = 0
      try {
        do {
          again = false
          const now = deps.now()
          await releaseDigests(now)
          const due = await store.dueNotifications(now, 200)
          const width = deps.concurrency ?? 8
          for (let i = 0; i < due.length; i += width)
            await Promise.all(
              due
                .slice(i, i + width)
                .map((item) =>
                  deliver(item).catch((err: Error) =>
                    log.error({ alertId: item.alertId, err: err.message }, 'delivery failed'),
                  ),
                ),
            )
          tried += due.length
        } while (again)
        return tried
      } finally {
        running = null
      }
    })()
    return running
  }

  return { runOnce }
}
