import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import { type AlertEvent, AlertEvent as AlertEventSchema } from '../../shared/index.ts'
import type {
  AlertDelivery,
  AlertHistoryEntry,
  AlertRepository,
  StoredAlert,
} from './repository.ts'

type Row = Record<string, SQLInputValue>

const optNum = (v: SQLInputValue | undefined) => (v === null || v === undefined ? null : Number(v))
const optStr = (v: SQLInputValue | undefined) => (v === null || v === undefined ? null : String(v))
const parseEvent = (v: SQLInputValue | undefined) => AlertEventSchema.parse(JSON.parse(String(v)))

const toAlert = (r: Row): StoredAlert => ({
  alertId: String(r.alert_id),
  ruleId: String(r.rule_id),
  deviceId: String(r.device_id),
  farmId: String(r.farm_id),
  siteId: optStr(r.site_id),
  severity: String(r.severity) as StoredAlert['severity'],
  state: String(r.state) as StoredAlert['state'],
  startedAt: Number(r.started_at),
  resolvedAt: optNum(r.resolved_at),
  lastEvent: parseEvent(r.last_event),
  eventPublished: Number(r.event_published) === 1,
  acknowledgedAt: optNum(r.acknowledged_at),
  acknowledgedBy: optStr(r.acknowledged_by),
  notifiedAt: optNum(r.notified_at),
  reminders: Number(r.reminders ?? 0),
  resolvedBy: optStr(r.resolved_by),
  resolutionNote: optStr(r.resolution_note),
})

/** Alerts (the outbox of alert events), their history and deliveries, in SQLite. */
export function sqliteAlerts(db: DatabaseSync): AlertRepository {
  const q = {
    openAlerts: db.prepare("SELECT * FROM alerts WHERE state = 'firing'"),
    getAlert: db.prepare('SELECT * FROM alerts WHERE alert_id = ?'),
    upsertAlert: db.prepare(
      `INSERT INTO alerts (alert_id, rule_id, device_id, farm_id, site_id, severity, state, started_at, resolved_at, last_event, event_published, notified_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
       ON CONFLICT(alert_id) DO UPDATE SET state = excluded.state, resolved_at = excluded.resolved_at,
         last_event = excluded.last_event, event_published = 0, notified_at = excluded.notified_at`,
    ),
    insertHistory: db.prepare(
      'INSERT INTO alert_events (alert_id, state, reminder, at, by, note, event) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    history: db.prepare('SELECT * FROM alert_events WHERE alert_id = ? ORDER BY id'),
    acknowledge: db.prepare(
      "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE alert_id = ? AND state = 'firing' AND acknowledged_at IS NULL",
    ),
    unannouncedAcks: db.prepare(
      'SELECT * FROM alerts WHERE acknowledged_at IS NOT NULL AND ack_announced = 0',
    ),
    announceAck: db.prepare('UPDATE alerts SET ack_announced = 1 WHERE alert_id = ?'),
    resolve: db.prepare(
      `UPDATE alerts SET state = 'resolved', resolved_at = ?, resolved_by = ?, resolution_note = ?,
         resolution_announced = 0, last_event = ?, event_published = 0
       WHERE alert_id = ? AND state = 'firing'`,
    ),
    unannouncedResolutions: db.prepare('SELECT * FROM alerts WHERE resolution_announced = 0'),
    announceResolution: db.prepare('UPDATE alerts SET resolution_announced = 1 WHERE alert_id = ?'),
    recordReminder: db.prepare(
      'UPDATE alerts SET notified_at = ?, reminders = reminders + 1 WHERE alert_id = ?',
    ),
    markPublished: db.prepare(
      'UPDATE alerts SET event_published = 1 WHERE alert_id = ? AND state = ?',
    ),
    unpublished: db.prepare(
      'SELECT last_event FROM alerts WHERE event_published = 0 ORDER BY started_at',
    ),
    insertDelivery: db.prepare(
      'INSERT INTO alert_deliveries (alert_id, channel, target, status, at, detail) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deliveries: db.prepare('SELECT * FROM alert_deliveries WHERE alert_id = ? ORDER BY id'),
  }
  const inTransaction = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE')
    try {
      const out = fn()
      db.exec('COMMIT')
      return out
    } catch (err) {
      db.exec('ROLLBACK')
      throw err
    }
  }

  return {
    async openAlerts() {
      return (q.openAlerts.all() as Row[]).map(toAlert)
    },
    async getAlert(alertId) {
      const r = q.getAlert.get(alertId) as Row | undefined
      return r ? toAlert(r) : null
    },
    async saveAlertEvent(event: AlertEvent, startedAt: number) {
      const json = JSON.stringify(event)
      const now = Date.now()
      inTransaction(() => {
        q.upsertAlert.run(
          event.alert_id,
          event.rule_id,
          event.device_id,
          event.farm_id,
          event.site_id,
          event.severity,
          event.state,
          startedAt,
          event.state === 'resolved' ? Date.parse(event.reading_ts) : null,
          json,
          now,
        )
        q.insertHistory.run(event.alert_id, event.state, event.reminder, now, null, null, json)
      })
    },
    async acknowledgeAlert(alertId, by, atMs = Date.now()) {
      return inTransaction(() => {
        if (Number(q.acknowledge.run(atMs, by, alertId).changes) === 0) return false
        const r = q.getAlert.get(alertId) as Row
        const event = { ...parseEvent(r.last_event), state: 'acknowledged', acknowledged_by: by }
        q.insertHistory.run(alertId, 'acknowledged', 0, atMs, by, null, JSON.stringify(event))
        return true
      })
    },
    async resolveAlertManually(alertId, by, note, atMs = Date.now()) {
      return inTransaction(() => {
        const r = q.getAlert.get(alertId) as Row | undefined
        if (r?.state !== 'firing') return false
        // The resolution becomes the alert's last event, in the outbox like any other: an
        // unpublished firing event is replaced, never sent after its resolution.
        const event: AlertEvent = {
          ...parseEvent(r.last_event),
          state: 'resolved',
          reminder: 0,
          emitted_at: new Date(atMs).toISOString(),
          message: `Resolved by ${by}: ${note}`,
        }
        const json = JSON.stringify(event)
        q.resolve.run(atMs, by, note, json, alertId)
        q.insertHistory.run(alertId, 'resolved', 0, atMs, by, note, json)
        return true
      })
    },
    async unannouncedResolutions() {
      return (q.unannouncedResolutions.all() as Row[]).map(toAlert)
    },
    async markResolutionAnnounced(alertId) {
      q.announceResolution.run(alertId)
    },
    async unannouncedAcknowledgements() {
      return (q.unannouncedAcks.all() as Row[]).map(toAlert)
    },
    async markAcknowledgementAnnounced(alertId) {
      q.announceAck.run(alertId)
    },
    async recordReminder(alertId, atMs) {
      q.recordReminder.run(atMs, alertId)
    },
    async markPublished(alertId, state) {
      q.markPublished.run(alertId, state)
    },
    async unpublishedEvents() {
      return (q.unpublished.all() as Row[]).map((r) => parseEvent(r.last_event))
    },
    async listAlerts(f) {
      if (f.farmIds.length === 0) return []
      const where = [`farm_id IN (${f.farmIds.map(() => '?').join(', ')})`]
      const params: SQLInputValue[] = [...f.farmIds]
      if (f.siteId) {
        where.push('site_id = ?')
        params.push(f.siteId)
      }
      if (f.severity) {
        where.push('severity = ?')
        params.push(f.severity)
      }
      if (f.state === 'firing' || f.state === 'resolved') {
        where.push('state = ?')
        params.push(f.state)
      } else if (f.state === 'acknowledged') where.push('acknowledged_at IS NOT NULL')
      else if (f.state === 'unacknowledged')
        where.push("state = 'firing' AND acknowledged_at IS NULL")
      if (f.from !== undefined) {
        where.push('started_at >= ?')
        params.push(f.from)
      }
      if (f.to !== undefined) {
        where.push('started_at < ?')
        params.push(f.to)
      }
      params.push(f.limit)
      const sql = `SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY started_at DESC, alert_id LIMIT ?`
      return (db.prepare(sql).all(...params) as Row[]).map(toAlert)
    },
    async alertHistory(alertId) {
      return (q.history.all(alertId) as Row[]).map(
        (r): AlertHistoryEntry => ({
          state: String(r.state) as AlertHistoryEntry['state'],
          reminder: Number(r.reminder),
          at: Number(r.at),
          by: optStr(r.by),
          note: optStr(r.note),
          event: parseEvent(r.event),
        }),
      )
    },
    async recordDelivery(d) {
      q.insertDelivery.run(d.alertId, d.channel, d.target, d.status, d.at, d.detail)
    },
    async alertDeliveries(alertId) {
      return (q.deliveries.all(alertId) as Row[]).map(
        (r): AlertDelivery => ({
          alertId: String(r.alert_id),
          channel: String(r.channel),
          target: String(r.target),
          status: String(r.status),
          at: Number(r.at),
          detail: optStr(r.detail),
        }),
      )
    },
  }
}
