import type { AlertEvent } from '../../shared/alerts.ts'
import type { NotificationLocale, NotificationPayload } from '../../shared/push.ts'
import type { Condition, Severity } from '../../shared/rules.ts'
import type { ConditionKind } from './message-catalog.ts'
import {
  adviceFor,
  clamp,
  clockTime,
  fill,
  formatNumber,
  formatReadingTime,
  localClock,
  metricLabel,
  midSentence,
} from './message-format.ts'
import { phrases } from './message-phrases.ts'

export { formatNumber, metricName } from './message-format.ts'
export {
  ALERT_TTL_S,
  ALERT_URGENCY,
  alertTopic,
  DIGEST_TOPIC,
  DIGEST_TTL_S,
  digestPushOptions,
  pushOptionsFor,
  TOPIC_MAX_LENGTH,
} from './message-push.ts'

/**
 * Notification text for an alert event, in the reader's language: what crossed what,
 * where and when, and what to do. Phones cut long notifications, so titles stay near 50
 * characters and bodies under BODY_MAX (the advice is dropped first).
 */
export const TITLE_MAX = 64
export const BODY_MAX = 180
export const DIGEST_LINES = 3
const DIGEST_LINE_MAX = 54
export const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh'

export type MessageContext = {
  lang: NotificationLocale
  baseUrl: string
  siteName?: string
  farmName?: string
  deviceName?: string
  /** The display name of whoever acknowledged (the event carries an id). */
  acknowledgedByName?: string
  /** The farm's IANA time zone, for reading times. */
  timeZone?: string
  /**
   * The rule's condition: says how to read the event's value and threshold (a rate per
   * hour, a spread, a share of usual…). Without it a plain threshold is assumed; no-data
   * events are recognised by their metric.
   */
  condition?: Condition
}

export type EscalationContext = MessageContext & { minutes: number }

export type DigestContext = {
  lang: NotificationLocale
  baseUrl: string
  timeZone?: string
  siteNames?: Readonly<Record<string, string>>
  deviceNames?: Readonly<Record<string, string>>
  /** Rule conditions by rule id (see MessageContext.condition). */
  conditions?: Readonly<Record<string, Condition>>
}

type Described = {
  headline: string
  subject: string
  sentence: string
  resolved: string
  advice: string
}

function kindOf(event: AlertEvent, condition: Condition | undefined): ConditionKind {
  return condition?.type ?? (event.metric === 'no_data' ? 'no_data' : 'threshold')
}

function describe(event: AlertEvent, ctx: MessageContext): Described {
  const { lang, condition } = ctx
  const p = phrases[lang]
  const kind = kindOf(event, condition)
  const label = metricLabel(event.metric, lang)
  const num = (n: number) => formatNumber(n, lang)
  const withUnit = (n: number) => `${num(n)}${label.unit}`

  let value = withUnit(event.value)
  let threshold = withUnit(event.threshold)
  let per = ''
  if (kind === 'rate_of_change' || kind === 'trend') {
    // Falling rates come as negative slopes; the words already say "falling".
    const relative = condition?.type === 'trend' && condition.relative
    const rate = (n: number) => (relative ? `${num(Math.abs(n) * 100)}%` : withUnit(Math.abs(n)))
    value = rate(event.value)
    threshold = rate(event.threshold)
    if (condition?.type === 'trend') per = condition.bucket === 'night' ? p.perNight : p.perDay
  } else if (kind === 'deviation') {
    value = `${num(event.value)}%`
    threshold = `${num(event.threshold)}%`
  } else if (kind === 'sanity' || kind === 'no_data') {
    value = num(event.value)
    threshold = num(event.threshold)
  }

  const readingTime = formatReadingTime(
    event.reading_ts,
    event.emitted_at,
    lang,
    ctx.timeZone ?? DEFAULT_TIME_ZONE,
  )
  const words: Record<string, string> = {
    Metric: label.name,
    metric: midSentence(label.name),
    place: ctx.siteName ?? ctx.deviceName ?? event.site_id ?? event.device_id,
    device: ctx.deviceName ?? event.device_id,
    value,
    threshold,
    per,
    time: event.late ? `${readingTime} ${p.late}` : readingTime,
    by: condition?.type === 'projection' ? clockTime(condition.by, lang) : '',
  }
  const headline =
    kind === 'threshold' && event.op === 'above' && label.high
      ? label.high
      : p.headline[kind][event.op]
  const subjectTemplate =
    kind === 'sanity' || kind === 'no_data' ? p.subject[kind] : p.subject.metric
  const subject = fill(subjectTemplate, words)
  const withSubject = { ...words, Subject: subject, subject: midSentence(subject) }
  const resolvedTemplate =
    kind === 'no_data'
      ? p.resolved.no_data
      : kind === 'threshold'
        ? p.resolved.value
        : p.resolved.plain
  return {
    headline: fill(headline, words),
    subject,
    sentence: fill(p.sentence[kind][event.op], words),
    resolved: fill(resolvedTemplate, withSubject),
    advice: adviceFor(event.metric, kind, event.op, event.severity, lang),
  }
}

/** Joins sentences; when too long for a phone, drops `optional` first, then cuts. */
function compose(required: string[], optional: string[]): string {
  const all = [...required, ...optional].filter(Boolean).join(' ')
  if (all.length <= BODY_MAX) return all
  return clamp(required.filter(Boolean).join(' '), BODY_MAX)
}

const trimBase = (baseUrl: string) => baseUrl.replace(/\/+$/, '')

function alertPayload(
  event: AlertEvent,
  ctx: MessageContext,
  type: 'alert' | 'escalation',
  title: string,
  body: string,
  quiet: { silent: boolean; requireInteraction: boolean },
): NotificationPayload {
  return {
    v: 1,
    type,
    lang: ctx.lang,
    title: clamp(title, TITLE_MAX),
    body,
    tag: event.alert_id,
    url: `${trimBase(ctx.baseUrl)}/alerts/${encodeURIComponent(event.alert_id)}`,
    silent: quiet.silent,
    require_interaction: quiet.requireInteraction,
    alert_id: event.alert_id,
    state: event.state,
    severity: event.severity,
    farm_id: event.farm_id,
    site_id: event.site_id,
    device_id: event.device_id,
    reading_ts: event.reading_ts,
    alert_ids: [],
  }
}

export function notificationFor(event: AlertEvent, ctx: MessageContext): NotificationPayload {
  const p = phrases[ctx.lang]
  const d = describe(event, ctx)
  const severity = p.severity[event.severity]
  let title: string
  let body: string
  switch (event.state) {
    case 'firing':
      title = fill(event.reminder > 0 ? p.title.reminder : p.title.alert, {
        severity,
        headline: d.headline,
      })
      body = compose([d.sentence], [d.advice])
      break
    case 'pending':
      title = fill(p.title.pending, { headline: d.headline })
      body = compose([d.sentence], [p.pendingNote])
      break
    case 'acknowledged': {
      const who = ctx.acknowledgedByName ?? event.acknowledged_by
      const lead = who ? fill(p.acknowledgedBy, { who }) : p.acknowledged
      title = fill(p.title.acknowledged, { headline: d.headline })
      body = compose([lead, d.sentence], [])
      break
    }
    case 'resolved':
      title = fill(p.title.resolved, { Subject: d.subject })
      body = compose([d.resolved], [])
      break
  }
  const settled = event.state !== 'firing'
  return alertPayload(event, ctx, 'alert', title, body, {
    // Only a live alarm makes a sound; an info alert only when it is repeated.
    silent: settled || event.late || (event.severity === 'info' && event.reminder === 0),
    requireInteraction: !settled && !event.late && event.severity === 'critical',
  })
}

/** For a cooperative technician: nobody on the farm acknowledged the alert in time. */
export function escalationFor(event: AlertEvent, ctx: EscalationContext): NotificationPayload {
  const p = phrases[ctx.lang]
  const d = describe(event, ctx)
  const lead = fill(p.escalation, {
    farm: ctx.farmName ?? event.farm_id,
    minutes: formatNumber(ctx.minutes, ctx.lang),
  })
  const title = fill(p.title.escalation, { headline: d.headline })
  return alertPayload(event, ctx, 'escalation', title, compose([lead, d.sentence], [d.advice]), {
    silent: false,
    requireInteraction: event.severity === 'critical',
  })
}

const severityRank: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

/**
 * One quiet notification for the alerts held back during quiet hours: the most severe
 * first, each alert once in its latest state.
 */
export function digestFor(events: AlertEvent[], ctx: DigestContext): NotificationPayload {
  if (events.length === 0) throw new RangeError('a digest needs at least one alert event')
  const p = phrases[ctx.lang]
  const timeZone = ctx.timeZone ?? DEFAULT_TIME_ZONE
  const latest = new Map<string, AlertEvent>()
  for (const e of events) latest.set(e.alert_id, e)
  const alerts = [...latest.values()].sort(
    (a, b) =>
      severityRank[a.severity] - severityRank[b.severity] ||
      Date.parse(a.reading_ts) - Date.parse(b.reading_ts),
  )
  const lines = alerts.slice(0, DIGEST_LINES).map((e) => {
    const d = describe(e, {
      lang: ctx.lang,
      baseUrl: ctx.baseUrl,
      timeZone,
      siteName: e.site_id ? ctx.siteNames?.[e.site_id] : undefined,
      deviceName: ctx.deviceNames?.[e.device_id],
      condition: ctx.conditions?.[e.rule_id],
    })
    const time = localClock(e.reading_ts, ctx.lang, timeZone)
    const state = p.digestState[e.state]
    // The headline gives way, not the time or the state (a resolved alert is good news).
    const room = Math.max(DIGEST_LINE_MAX - time.length - state.length - 2, 16)
    return `${time} ${clamp(d.headline, room)} ${state}`.trim()
  })
  const more = alerts.length - lines.length
  if (more > 0) lines.push(fill(p.digestMore, { n: String(more) }))
  const n = alerts.length
  const farms = new Set(alerts.map((e) => e.farm_id))
  return {
    v: 1,
    type: 'digest',
    lang: ctx.lang,
    title: fill(n === 1 ? p.digestTitle.one : p.digestTitle.other, { n: String(n) }),
    body: lines.join('\n'),
    tag: 'digest',
    url: `${trimBase(ctx.baseUrl)}/alerts`,
    silent: true,
    require_interaction: false,
    alert_id: null,
    state: null,
    severity: alerts[0]?.severity ?? null,
    farm_id: farms.size === 1 ? (alerts[0]?.farm_id ?? null) : null,
    site_id: null,
    device_id: null,
    reading_ts: null,
    alert_ids: alerts.map((e) => e.alert_id),
  }
}
