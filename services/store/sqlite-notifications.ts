import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import type { Severity } from '../../shared/index.ts'
import type {
  NotificationPrefs,
  NotificationRepository,
  OutboxItem,
  PushSubscriptionRecord,
  Webhook,
} from './repository.ts'

type Row = Record<string, SQLInputValue>
const optNum = (v: SQLInputValue | undefined) => (v === null || v === undefined ? null : Number(v))
const optStr = (v: SQLInputValue | undefined) => (v === null || v === undefined ? null : String(v))
const optList = (v: SQLInputValue | undefined) =>
  v === null || v === undefined ? null : (JSON.parse(String(v)) as string[])

const toSubscription = (r: Row): PushSubscriptionRecord => ({
  id: String(r.id),
  userId: String(r.user_id),
  endpoint: String(r.endpoint),
  p256dh: String(r.p256dh),
  auth: String(r.auth),
  userAgent: optStr(r.user_agent),
  createdAt: Number(r.created_at),
  lastSuccessAt: optNum(r.last_success_at),
  failures: Number(r.failures),
})
const toWebhook = (r: Row): Webhook => ({
  id: String(r.id),
  cooperativeId: String(r.cooperative_id),
  url: String(r.url),
  secret: String(r.secret),
  minSeverity: String(r.min_severity) as Severity,
  events: String(r.events) as Webhook['events'],
  createdAt: Number(r.created_at),
})
const toItem = (r: Row): OutboxItem => ({
  id: Number(r.id),
  dedupeKey: String(r.dedupe_key),
  alertId: String(r.alert_id),
  state: String(r.state),
  channel: String(r.channel) as OutboxItem['channel'],
  target: String(r.target),
  userId: optStr(r.user_id),
  payload: String(r.payload),
  urgency: String(r.urgency) as OutboxItem['urgency'],
  ttlS: Number(r.ttl_s),
  topic: optStr(r.topic),
  status: String(r.status) as OutboxItem['status'],
  attempts: Number(r.attempts),
  notBefore: Number(r.not_before),
  createdAt: Number(r.created_at),
  doneAt: optNum(r.done_at),
  detail: optStr(r.detail),
})

/** The notifier's data in SQLite: VAPID keys, subscriptions, preferences, webhooks, outbox. */
export function sqliteNotifications(db: DatabaseSync): NotificationRepository {
  const q = {
    getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
    setSetting: db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)'),
    putSetting: db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ),
    upsertSub: db.prepare(
      `INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, user_agent, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh,
         auth = excluded.auth, user_agent = excluded.user_agent, failures = 0`,
    ),
    subByEndpoint: db.prepare('SELECT * FROM push_subscriptions WHERE endpoint = ?'),
    getSub: db.prepare('SELECT * FROM push_subscriptions WHERE id = ?'),
    listSubs: db.prepare('SELECT * FROM push_subscriptions WHERE user_id = ? ORDER BY created_at'),
    removeSub: db.prepare('DELETE FROM push_subscriptions WHERE id = ?'),
    subOk: db.prepare(
      'UPDATE push_subscriptions SET last_success_at = ?, failures = 0 WHERE id = ?',
    ),
    subFailed: db.prepare('UPDATE push_subscriptions SET failures = failures + 1 WHERE id = ?'),
    getPrefs: db.prepare('SELECT * FROM notification_prefs WHERE user_id = ?'),
    setPrefs: db.prepare(
      `INSERT INTO notification_prefs (user_id, farm_ids, site_ids, min_severity, quiet_start, quiet_end, time_zone)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(user_id) DO UPDATE SET farm_ids = excluded.farm_ids, site_ids = excluded.site_ids,
         min_severity = excluded.min_severity, quiet_start = excluded.quiet_start,
         quiet_end = excluded.quiet_end, time_zone = excluded.time_zone`,
    ),
    insertWebhook: db.prepare(
      'INSERT INTO webhooks (id, cooperative_id, url, secret, min_severity, events, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    getWebhook: db.prepare('SELECT * FROM webhooks WHERE id = ?'),
    listWebhooks: db.prepare('SELECT * FROM webhooks WHERE cooperative_id = ? ORDER BY created_at'),
    deleteWebhook: db.prepare('DELETE FROM webhooks WHERE id = ?'),
    enqueue: db.prepare(
      `INSERT OR IGNORE INTO notification_outbox (dedupe_key, alert_id, state, channel, target, user_id,
         payload, urgency, ttl_s, topic, status, not_before, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    due: db.prepare(
      "SELECT * FROM notification_outbox WHERE status = 'queued' AND not_before <= ? ORDER BY id LIMIT ?",
    ),
    dueHeld: db.prepare(
      "SELECT * FROM notification_outbox WHERE status = 'held' AND not_before <= ? ORDER BY id",
    ),
    finish: db.prepare(
      'UPDATE notification_outbox SET status = ?, detail = ?, done_at = ?, attempts = attempts + 1 WHERE id = ?',
    ),
    retry: db.prepare(
      "UPDATE notification_outbox SET status = 'queued', not_before = ?, detail = ?, attempts = attempts + 1 WHERE id = ?",
    ),
    prune: db.prepare(
      "DELETE FROM notification_outbox WHERE status IN ('sent', 'failed', 'gone') AND done_at < ?",
    ),
    ofAlert: db.prepare('SELECT * FROM notification_outbox WHERE alert_id = ? ORDER BY id'),
    escalate: db.prepare(
      'INSERT OR IGNORE INTO escalations (alert_id, escalated_at) VALUES (?, ?)',
    ),
  }

  return {
    async getSetting(key) {
      return optStr((q.getSetting.get(key) as Row | undefined)?.value)
    },
    async setSetting(key, value) {
      q.putSetting.run(key, value)
    },
    async setSettingIfAbsent(key, value) {
      q.setSetting.run(key, value)
      return String((q.getSetting.get(key) as Row).value)
    },
    async upsertPushSubscription(s) {
      q.upsertSub.run(s.id, s.userId, s.endpoint, s.p256dh, s.auth, s.userAgent, Date.now())
      return toSubscription(q.subByEndpoint.get(s.endpoint) as Row)
    },
    async getPushSubscription(id) {
      const r = q.getSub.get(id) as Row | undefined
      return r ? toSubscription(r) : null
    },
    async listPushSubscriptions(userId) {
      return (q.listSubs.all(userId) as Row[]).map(toSubscription)
    },
    async removePushSubscription(id) {
      return Number(q.removeSub.run(id).changes) > 0
    },
    async recordPushResult(id, ok, atMs) {
      if (ok) q.subOk.run(atMs, id)
      else q.subFailed.run(id)
    },
    async notificationPrefs(userId) {
      const r = q.getPrefs.get(userId) as Row | undefined
      if (!r)
        return {
          userId,
          farmIds: null,
          siteIds: null,
          minSeverity: 'info',
          quietHours: null,
          timeZone: null,
        }
      const start = optStr(r.quiet_start)
      const end = optStr(r.quiet_end)
      return {
        userId,
        farmIds: optList(r.farm_ids),
        siteIds: optList(r.site_ids),
        minSeverity: String(r.min_severity) as Severity,
        quietHours: start && end ? { start, end } : null,
        timeZone: optStr(r.time_zone),
      }
    },
    async setNotificationPrefs(p: NotificationPrefs) {
      q.setPrefs.run(
        p.userId,
        p.farmIds ? JSON.stringify(p.farmIds) : null,
        p.siteIds ? JSON.stringify(p.siteIds) : null,
        p.minSeverity,
        p.quietHours?.start ?? null,
        p.quietHours?.end ?? null,
        p.timeZone,
      )
    },
    async createWebhook(w) {
      const createdAt = Date.now()
      q.insertWebhook.run(
        w.id,
        w.cooperativeId,
        w.url,
        w.secret,
        w.minSeverity,
        w.events,
        createdAt,
      )
      return { ...w, createdAt }
    },
    async getWebhook(id) {
      const r = q.getWebhook.get(id) as Row | undefined
      return r ? toWebhook(r) : null
    },
    async listWebhooks(cooperativeId) {
      return (q.listWebhooks.all(cooperativeId) as Row[]).map(toWebhook)
    },
    async deleteWebhook(id) {
      return Number(q.deleteWebhook.run(id).changes) > 0
    },
    async enqueueNotifications(items) {
      const now = Date.now()
      db.exec('BEGIN IMMEDIATE')
      try {
        let added = 0
        for (const i of items)
          added += Number(
            q.enqueue.run(
              i.dedupeKey,
              i.alertId,
              i.state,
              i.channel,
              i.target,
              i.userId,
              i.payload,
              i.urgency,
              i.ttlS,
              i.topic,
              i.held ? 'held' : 'queued',
              i.notBefore,
              now,
            ).changes,
          )
        db.exec('COMMIT')
        return added
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
    async dueNotifications(nowMs, limit) {
      return (q.due.all(nowMs, limit) as Row[]).map(toItem)
    },
    async dueDigests(nowMs) {
      return (q.dueHeld.all(nowMs) as Row[]).map(toItem)
    },
    async finishNotification(id, o) {
      q.finish.run(o.status, o.detail, o.atMs, id)
    },
    async retryNotification(id, r) {
      q.retry.run(r.notBefore, r.detail, id)
    },
    async notificationsOf(alertId) {
      return (q.ofAlert.all(alertId) as Row[]).map(toItem)
    },
    async pruneNotifications(finishedBeforeMs) {
      return Number(q.prune.run(finishedBeforeMs).changes)
    },
    async markEscalated(alertId, atMs) {
      return Number(q.escalate.run(alertId, atMs).changes) > 0
    },
  }
}
