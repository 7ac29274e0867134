import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { errorResponses, IdParams, iso, isoOrNull, Ok } from '../../../../shared/api/common.ts'
import {
  NewPushSubscriptionBody,
  NewWebhookBody,
  NewWebhookResponse,
  NotificationPrefsBody,
  NotificationPrefsView,
  PushSubscriptionCreated,
  PushSubscriptionView,
  VapidPublicKeyView,
  WebhookTestResult,
  WebhookView,
} from '../../../../shared/api/push.ts'
import { locales } from '../../../../shared/push.ts'
import { PUBLIC_KEY_SETTING } from '../../../notifier/vapid.ts'
import { createWebhookSender, webhookTestBody } from '../../../notifier/webhook.ts'
import type {
  NotificationPrefs,
  PushSubscriptionRecord,
  Webhook,
} from '../../../store/repository.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { type Principal, requireRole, who } from '../../auth.ts'
import { ApiError, forbidden, invalid, notFound } from '../../errors.ts'

const errors = errorResponses(400, 401, 403, 404, 409, 429)
/** Enough for every phone and browser a person uses; stale ones the notifier drops. */
const MAX_SUBSCRIPTIONS = 20

const subscriptionView = (s: PushSubscriptionRecord) => ({
  id: s.id,
  endpoint_origin: new URL(s.endpoint).origin,
  user_agent: s.userAgent,
  created_at: iso(s.createdAt),
  last_success_at: isoOrNull(s.lastSuccessAt),
  failures: s.failures,
})
const prefsView = (p: Omit<NotificationPrefs, 'userId'>): NotificationPrefsView => ({
  farm_ids: p.farmIds,
  site_ids: p.siteIds,
  min_severity: p.minSeverity,
  quiet_hours: p.quietHours,
  time_zone: p.timeZone,
})
const webhookView = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  min_severity: w.minSeverity,
  events: w.events,
  created_at: iso(w.createdAt),
})

/** Web Push subscriptions and notification preferences of the caller; the cooperative's webhooks. */
export async function pushRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx
  const sender = createWebhookSender({ now: ctx.now })

  app.get(
    '/push/vapid-public-key',
    {
      schema: {
        tags: ['push'],
        summary: 'The application server key pages subscribe to Web Push with',
        security: [],
        response: { 200: VapidPublicKeyView, ...errorResponses(503) },
      },
    },
    async () => {
      const publicKey = await store.getSetting(PUBLIC_KEY_SETTING)
      if (publicKey === null)
        throw new ApiError(
          'unavailable',
          'Web Push is not set up yet: the notifier creates its keys when it first starts; start it and try again',
        )
      return { public_key: publicKey }
    },
  )

  app.post(
    '/push/subscriptions',
    {
      schema: {
        tags: ['push'],
        summary: "Keeps this browser's push subscription (its subscription.toJSON()) for you",
        body: NewPushSubscriptionBody,
        response: { 201: PushSubscriptionCreated, ...errors },
      },
    },
    async (req, reply) => {
      const p = who(req)
      const { endpoint, keys, user_agent } = req.body
      const mine = await store.listPushSubscriptions(p.user.id)
      if (mine.length >= MAX_SUBSCRIPTIONS && !mine.some((s) => s.endpoint === endpoint))
        throw new ApiError(
          'conflict',
          `you have ${mine.length} push subscriptions already; remove old ones (DELETE /push/subscriptions/:id) first`,
        )
      // Same endpoint, other person: the phone changed hands (logout, login) and moves over.
      const s = await store.upsertPushSubscription({
        id: `ps-${randomBytes(8).toString('hex')}`,
        userId: p.user.id,
        endpoint,
        p256dh: keys.p256dh,
        auth: keys.auth,
        userAgent: user_agent ?? null,
      })
      return reply.code(201).send({ id: s.id, endpoint: s.endpoint, created_at: iso(s.createdAt) })
    },
  )

  app.get(
    '/push/subscriptions',
    {
      schema: {
        tags: ['push'],
        summary: 'Your push subscriptions (browsers and phones)',
        response: { 200: z.array(PushSubscriptionView), ...errors },
      },
    },
    async (req) => (await store.listPushSubscriptions(who(req).user.id)).map(subscriptionView),
  )

  app.delete(
    '/push/subscriptions/:id',
    {
      schema: {
        tags: ['push'],
        summary: 'Stops push notifications to one of your browsers',
        params: IdParams,
        response: { 200: Ok, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const s = await store.getPushSubscription(req.params.id)
      // Someone else's subscription is not yours to know of: not found either way.
      if (!s || s.userId !== p.user.id || !(await store.removePushSubscription(s.id)))
        throw notFound(`push subscription ${req.params.id}`)
      return { ok: true as const }
    },
  )

  app.delete(
    '/push/subscriptions',
    {
      schema: {
        tags: ['push'],
        summary:
          "Stops push notifications to the browser with this endpoint (what a page knows: its subscription's endpoint)",
        body: z.object({ endpoint: z.string().min(1).max(2048) }),
        response: { 200: Ok, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const mine = (await store.listPushSubscriptions(p.user.id)).find(
        (s) => s.endpoint === req.body.endpoint,
      )
      if (!mine || !(await store.removePushSubscription(mine.id)))
        throw notFound('a push subscription of yours with this endpoint')
      return { ok: true as const }
    },
  )

  app.get(
    '/me/notifications',
    {
      schema: {
        tags: ['push'],
        summary: 'What you are notified about, and your quiet hours',
        response: { 200: NotificationPrefsView, ...errors },
      },
    },
    async (req) => {
      const stored = await store.notificationPrefs(who(req).user.id)
      return prefsView(stored)
    },
  )

  app.put(
    '/me/notifications',
    {
      schema: {
        tags: ['push'],
        summary: 'Sets what you are notified about, and your quiet hours',
        body: NotificationPrefsBody,
        response: { 200: NotificationPrefsView, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const b = req.body
      const farmIds = b.farm_ids && [...new Set(b.farm_ids)]
      const siteIds = b.site_ids && [...new Set(b.site_ids)]
      for (const id of farmIds ?? [])
        if (!p.farmIds.has(id))
          throw invalid('body.farm_ids', `farm ${id} is not one of the farms you may see`)
      if (siteIds) await checkSites(p, farmIds, siteIds)
      const prefs = {
        farmIds,
        siteIds,
        minSeverity: b.min_severity,
        quietHours: b.quiet_hours,
        timeZone: b.time_zone,
      }
      await store.setNotificationPrefs({ userId: p.user.id, ...prefs })
      return prefsView(prefs)
    },
  )

  /** Sites must lie in the farms followed: the ones named, or a farmer's own when none are. */
  async function checkSites(p: Principal, farmIds: string[] | null, siteIds: string[]) {
    const followed = new Set(farmIds ?? (p.user.role === 'farmer' ? p.farmIds : []))
    for (const id of siteIds) {
      const site = await store.getSite(id)
      if (!site || !followed.has(site.farmId))
        throw invalid(
          'body.site_ids',
          farmIds === null && p.user.role !== 'farmer'
            ? `site ${id}: name the farms you follow in farm_ids too`
            : `site ${id} is not a site of the farms you follow`,
        )
    }
  }

  async function webhookOfCoop(p: Principal, id: string) {
    const w = await store.getWebhook(id)
    if (!w) throw notFound(`webhook ${id}`)
    if (w.cooperativeId !== p.user.cooperativeId)
      throw forbidden(`webhook ${id} is not your cooperative's`)
    return w
  }

  app.get(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: "The cooperative's webhooks (SMS gateways, chat bots), without their secrets",
        response: { 200: z.array(WebhookView), ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, ['admin', 'technician'], 'list webhooks')
      return (await store.listWebhooks(p.user.cooperativeId)).map(webhookView)
    },
  )

  app.post(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Adds a webhook; its signing secret is returned only now',
        body: NewWebhookBody,
        response: { 201: NewWebhookResponse, ...errors },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, ['admin'], 'add webhooks')
      const w = await store.createWebhook({
        id: `wh-${randomBytes(6).toString('hex')}`,
        cooperativeId: p.user.cooperativeId,
        url: req.body.url,
        secret: randomBytes(32).toString('base64url'),
        minSeverity: req.body.min_severity,
        events: req.body.events,
      })
      return reply.code(201).send({ ...webhookView(w), secret: w.secret })
    },
  )

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Removes a webhook of your cooperative',
        params: IdParams,
        response: { 200: Ok, ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, ['admin'], 'remove webhooks')
      const w = await webhookOfCoop(p, req.params.id)
      if (!(await store.deleteWebhook(w.id))) throw notFound(`webhook ${w.id}`)
      return { ok: true as const }
    },
  )

  app.post(
    '/webhooks/:id/test',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Sends a signed test call now and tells how the receiver answered',
        params: IdParams,
        response: { 200: WebhookTestResult, ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, ['admin'], 'test webhooks')
      const w = await webhookOfCoop(p, req.params.id)
      const tag = p.user.locale.slice(0, 2)
      const lang = locales.find((l) => l === tag) ?? 'en'
      const outcome = await sender.send(w, webhookTestBody(lang, ctx.now()))
      req.log.info({ webhookId: w.id, outcome: outcome.kind }, 'webhook test sent')
      return {
        kind: outcome.kind,
        status: outcome.status,
        detail: outcome.kind === 'sent' ? null : outcome.detail,
        retry_after_ms: outcome.kind === 'retry' ? outcome.retryAfterMs : null,
      }
    },
  )
}
