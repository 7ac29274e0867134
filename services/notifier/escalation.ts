import type { WebhookBody } from '../../shared/index.ts'
import type { NewOutboxItem, Store, StoredAlert } from '../store/repository.ts'
import { escalationFor } from './messages.ts'
import { eventFacts, localeOf } from './router.ts'

/**
 * A critical alert nobody on the farm has acknowledged within `escalateAfterMs` goes to
 * the cooperative's technicians and to its webhooks (an SMS gateway, a chat bot). The
 * dedupe keys make a repeated check, or a restart, escalate nothing twice.
 */
export async function escalations(ctx: {
  store: Store
  baseUrl: string
  now: number
  escalateAfterMs: number
}): Promise<{ alert: StoredAlert; items: NewOutboxItem[] }[]> {
  const out: { alert: StoredAlert; items: NewOutboxItem[] }[] = []
  for (const a of await ctx.store.openAlerts()) {
    const e = a.lastEvent
    if (a.severity !== 'critical' || a.acknowledgedAt !== null || e.late) continue
    if (ctx.now - a.startedAt < ctx.escalateAfterMs) continue
    const farm = await ctx.store.getFarm(a.farmId)
    if (!farm) continue
    const facts = await eventFacts(ctx.store, e, farm)
    const minutes = Math.round((ctx.now - a.startedAt) / 60_000)
    const items: NewOutboxItem[] = []
    const technicians = (await ctx.store.listUsers(farm.cooperativeId)).filter(
      (u) => u.role === 'technician' && u.disabledAt === null,
    )
    const messageCtx = (lang: ReturnType<typeof localeOf>) => ({
      ...facts,
      lang,
      baseUrl: ctx.baseUrl,
      minutes,
    })
    for (const tech of technicians)
      for (const s of await ctx.store.listPushSubscriptions(tech.id))
        items.push({
          dedupeKey: `${a.alertId}|escalation|push|${s.id}`,
          alertId: a.alertId,
          state: 'escalation',
          channel: 'push',
          target: s.id,
          userId: tech.id,
          payload: JSON.stringify(escalationFor(e, messageCtx(localeOf(tech)))),
          urgency: 'high',
          ttlS: 6 * 3600,
          topic: null,
          notBefore: ctx.now,
        })
    const lang = technicians[0] ? localeOf(technicians[0]) : 'vi'
    for (const hook of await ctx.store.listWebhooks(farm.cooperativeId)) {
      const body: WebhookBody = {
        v: 1,
        type: 'escalation',
        reason: 'unacknowledged',
        sent_at: new Date(ctx.now).toISOString(),
        notification: escalationFor(e, messageCtx(lang)),
      }
      items.push({
        dedupeKey: `${a.alertId}|escalation|webhook|${hook.id}`,
        alertId: a.alertId,
        state: 'escalation',
        channel: 'webhook',
        target: hook.id,
        userId: null,
        payload: JSON.stringify(body),
        urgency: 'high',
        ttlS: 6 * 3600,
        topic: null,
        notBefore: ctx.now,
      })
    }
    out.push({ alert: a, items })
  }
  return out
}
