import { z } from 'zod'
import {
  AlertDetail,
  AlertListQuery,
  AlertView,
  ResolveAlertBody,
} from '../../../../shared/api/alerts.ts'
import { errorResponses, IdParams, iso, isoOrNull } from '../../../../shared/api/common.ts'
import type { StoredAlert } from '../../../store/repository.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { assertFarmAccess, type Principal, visibleFarm, who } from '../../auth.ts'
import { ApiError, notFound } from '../../errors.ts'

const tag = ['alerts']
const errors = errorResponses(400, 401, 403, 404, 409, 429)

export const alertView = (a: StoredAlert): AlertView => ({
  alert_id: a.alertId,
  rule_id: a.ruleId,
  rule_version: a.lastEvent.rule_version,
  farm_id: a.farmId,
  site_id: a.siteId,
  device_id: a.deviceId,
  device_kind: a.lastEvent.device_kind,
  severity: a.severity,
  state: a.state,
  started_at: iso(a.startedAt),
  resolved_at: isoOrNull(a.resolvedAt),
  acknowledged_at: isoOrNull(a.acknowledgedAt),
  acknowledged_by: a.acknowledgedBy,
  resolved_by: a.resolvedBy,
  resolution_note: a.resolutionNote,
  reminders: a.reminders,
  message: a.lastEvent.message,
  metric: a.lastEvent.metric,
  value: a.lastEvent.value,
  threshold: a.lastEvent.threshold,
  op: a.lastEvent.op,
  late: a.lastEvent.late,
})

/**
 * Alerts of the farms the caller may see. Anyone who may see a farm may acknowledge and
 * resolve its alerts: the farmer at the pond is the one who restarts the aerator.
 */
export async function alertRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx

  async function visibleAlert(p: Principal, id: string): Promise<StoredAlert> {
    const alert = await current(id)
    assertFarmAccess(p, alert.farmId, `the alerts of farm ${alert.farmId}`)
    return alert
  }
  async function current(id: string): Promise<StoredAlert> {
    const alert = await store.getAlert(id)
    if (!alert) throw notFound(`alert ${id}`)
    return alert
  }

  app.get(
    '/alerts',
    {
      schema: {
        tags: tag,
        summary: 'Alerts of the farms you may see, newest first, with filters',
        querystring: AlertListQuery,
        response: { 200: z.array(AlertView), ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const q = req.query
      if (q.farm_id) await visibleFarm(store, p, q.farm_id)
      const alerts = await store.listAlerts({
        farmIds: q.farm_id ? [q.farm_id] : [...p.farmIds],
        siteId: q.site_id,
        severity: q.severity,
        state: q.state,
        from: q.from,
        to: q.to,
        limit: q.limit,
      })
      return alerts.map(alertView)
    },
  )

  app.get(
    '/alerts/:id',
    {
      schema: {
        tags: tag,
        summary: 'One alert with its history (state changes, reminders, people) and deliveries',
        params: IdParams,
        response: { 200: AlertDetail, ...errors },
      },
    },
    async (req) => {
      const alert = await visibleAlert(who(req), req.params.id)
      const [history, deliveries] = await Promise.all([
        store.alertHistory(alert.alertId),
        store.alertDeliveries(alert.alertId),
      ])
      return {
        ...alertView(alert),
        events: history.map((h) => ({
          state: h.state,
          reminder: h.reminder,
          at: iso(h.at),
          by: h.by,
          note: h.note,
          message: h.event.message,
        })),
        deliveries: deliveries.map((d) => ({
          channel: d.channel,
          target: d.target,
          status: d.status,
          at: iso(d.at),
          detail: d.detail,
        })),
      }
    },
  )

  app.post(
    '/alerts/:id/acknowledge',
    {
      schema: {
        tags: tag,
        summary: 'Says you have seen a firing alert: reminders and escalation stop',
        params: IdParams,
        response: { 200: AlertView, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const alert = await visibleAlert(p, req.params.id)
      if (alert.state !== 'firing') throw notFiring(alert, 'acknowledge')
      if (alert.acknowledgedAt !== null) throw alreadyAcknowledged(alert)
      if (!(await store.acknowledgeAlert(alert.alertId, p.user.login, ctx.now()))) {
        // Changed since it was read (the readings resolved it, or someone was quicker).
        const now = await current(alert.alertId)
        throw now.state === 'firing' ? alreadyAcknowledged(now) : notFiring(now, 'acknowledge')
      }
      req.log.info({ alertId: alert.alertId, by: p.user.id }, 'alert acknowledged')
      return alertView(await current(alert.alertId))
    },
  )

  app.post(
    '/alerts/:id/resolve',
    {
      schema: {
        tags: tag,
        summary: 'Closes a firing alert by hand, with a note on what was done',
        params: IdParams,
        body: ResolveAlertBody,
        response: { 200: AlertView, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const alert = await visibleAlert(p, req.params.id)
      if (alert.state !== 'firing') throw notFiring(alert, 'resolve')
      const ok = await store.resolveAlertManually(
        alert.alertId,
        p.user.login,
        req.body.note,
        ctx.now(),
      )
      if (!ok) throw notFiring(await current(alert.alertId), 'resolve')
      req.log.info({ alertId: alert.alertId, by: p.user.id }, 'alert resolved by hand')
      return alertView(await current(alert.alertId))
    },
  )
}

function notFiring(a: StoredAlert, action: string): ApiError {
  const why =
    a.state === 'resolved'
      ? `it was resolved at ${isoOrNull(a.resolvedAt)}${a.resolvedBy ? ` by ${a.resolvedBy}` : ' by its readings'}`
      : `it is ${a.state}, not firing yet`
  return new ApiError('conflict', `cannot ${action} alert ${a.alertId}: ${why}`)
}

const alreadyAcknowledged = (a: StoredAlert) =>
  new ApiError(
    'conflict',
    `alert ${a.alertId} was already acknowledged by ${a.acknowledgedBy ?? 'someone'} at ${isoOrNull(a.acknowledgedAt)}`,
  )
