import {
  type AlertEvent,
  locales,
  type NotificationLocale,
  type Severity,
  type WebhookBody,
} from '../../shared/index.ts'
import type { Farm, NewOutboxItem, NotificationPrefs, Store, User } from '../store/repository.ts'
import { notificationFor, pushOptionsFor } from './messages.ts'
import { quietUntil } from './quiet-hours.ts'

/**
 * Who hears of an alert event, and how: the people who follow the farm (and site), at
 * or above their chosen severity, on each of their browsers; plus the cooperative's
 * webhooks that take every alert. Quiet hours hold info and warning alerts for a digest.
 * Each planned send has a dedupe key, so an event delivered twice plans nothing new.
 */

const rank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 }
export const atLeast = (s: Severity, min: Severity) => rank[s] >= rank[min]

export const localeOf = (u: User): NotificationLocale =>
  (locales as readonly string[]).includes(u.locale) ? (u.locale as NotificationLocale) : 'en'

export type RouteContext = { store: Store; baseUrl: string; now: number }

/** What messages say of an event beyond its own fields: names, the farm's clock, the rule's kind. */
export async function eventFacts(store: Store, event: AlertEvent, farm: Farm) {
  const site = event.site_id ? await store.getSite(event.site_id) : null
  const device = await store.getDevice(event.device_id)
  const rule = await store.getRule(event.rule_id)
  return {
    siteName: site?.name,
    farmName: farm.name,
    deviceName: device?.name,
    timeZone: farm.timezone,
    // Rates, spreads and projections are worded by the kind of rule that raised them.
    condition: rule?.condition,
  }
}
type Facts = Awaited<ReturnType<typeof eventFacts>>

/** A person's sends for one event, one per browser subscription. */
async function pushItems(
  ctx: RouteContext,
  event: AlertEvent,
  user: User,
  prefs: NotificationPrefs,
  farm: Farm,
  facts: Facts,
): Promise<NewOutboxItem[]> {
  const subs = await ctx.store.listPushSubscriptions(user.id)
  if (subs.length === 0) return []
  const timeZone = prefs.timeZone ?? farm.timezone
  const quietEnd =
    event.severity !== 'critical' && prefs.quietHours
      ? quietUntil(ctx.now, prefs.quietHours, timeZone)
      : null
  const payload = JSON.stringify(
    notificationFor(event, { ...facts, lang: localeOf(user), baseUrl: ctx.baseUrl }),
  )
  const options = pushOptionsFor(event)
  return subs.map((s) => ({
    dedupeKey: `${event.alert_id}|${event.state}|${event.reminder}|push|${s.id}`,
    alertId: event.alert_id,
    state: event.state,
    channel: 'push' as const,
    target: s.id,
    userId: user.id,
    payload,
    ...options,
    notBefore: quietEnd ?? ctx.now,
    held: quietEnd !== null,
  }))
}

/** Everyone on the farm (members) and staff who chose to follow it. */
async function followers(store: Store, farm: Farm) {
  const members = await store.farmMembers(farm.id)
  const memberIds = new Set(members.map((m) => m.id))
  const staff = (await store.listUsers(farm.cooperativeId)).filter(
    (u) => !memberIds.has(u.id) && u.disabledAt === null,
  )
  const out: { user: User; prefs: NotificationPrefs }[] = []
  for (const user of [...members, ...staff]) {
    const prefs = await store.notificationPrefs(user.id)
    // A farmer hears only of farms they still belong to, whatever they once chose.
    const mayFollow = user.role !== 'farmer' || memberIds.has(user.id)
    const follows = prefs.farmIds ? prefs.farmIds.includes(farm.id) : memberIds.has(user.id)
    if (follows && mayFollow) out.push({ user, prefs })
  }
  return out
}

export async function planDeliveries(
  ctx: RouteContext,
  event: AlertEvent,
): Promise<NewOutboxItem[]> {
  // Pending is "not yet": nobody is woken for it.
  if (event.state === 'pending') return []
  const farm = await ctx.store.getFarm(event.farm_id)
  if (!farm) return []
  const facts = await eventFacts(ctx.store, event, farm)
  const items: NewOutboxItem[] = []
  const people = await followers(ctx.store, farm)
  for (const { user, prefs } of people) {
    if (!atLeast(event.severity, prefs.minSeverity)) continue
    if (prefs.siteIds && event.site_id && !prefs.siteIds.includes(event.site_id)) continue
    items.push(...(await pushItems(ctx, event, user, prefs, farm, facts)))
  }
  const lang = people[0] ? localeOf(people[0].user) : 'vi'
  for (const hook of await ctx.store.listWebhooks(farm.cooperativeId)) {
    if (hook.events !== 'all' || !atLeast(event.severity, hook.minSeverity)) continue
    const body: WebhookBody = {
      v: 1,
      type: 'alert',
      reason: 'alert',
      sent_at: new Date(ctx.now).toISOString(),
      notification: notificationFor(event, { ...facts, lang, baseUrl: ctx.baseUrl }),
    }
    items.push({
      dedupeKey: `${event.alert_id}|${event.state}|${event.reminder}|webhook|${hook.id}`,
      alertId: event.alert_id,
      state: event.state,
      channel: 'webhook',
      target: hook.id,
      userId: null,
      payload: JSON.stringify(body),
      urgency: 'normal',
      ttlS: pushOptionsFor(event).ttlS,
      topic: null,
      notBefore: ctx.now,
    })
  }
  return items
}
