import { z } from 'zod'
import { AlertState } from '../alerts.ts'
import { DeviceKind } from '../readings.ts'
import { Severity } from '../rules.ts'
import { Id, Time, TimeParam } from './common.ts'

/** Alerts as the API shows them: the list, one alert with its history, and what people do. */

export const AlertListQuery = z
  .object({
    farm_id: Id.optional().describe('Only this farm (default: every farm you may see)'),
    site_id: Id.optional(),
    severity: Severity.optional(),
    state: z
      .enum(['firing', 'resolved', 'acknowledged', 'unacknowledged'])
      .optional()
      .describe(
        'firing (acknowledged or not), resolved, acknowledged (ever), unacknowledged (firing and nobody has seen it)',
      ),
    from: TimeParam.optional().describe('Alerts that started at or after this time'),
    to: TimeParam.optional().describe('Alerts that started before this time'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    message: 'to must be after from',
    path: ['to'],
  })
export type AlertListQuery = z.infer<typeof AlertListQuery>

export const AlertView = z.object({
  alert_id: z.string(),
  rule_id: z.string(),
  rule_version: z.number().int(),
  farm_id: z.string(),
  site_id: z.string().nullable(),
  device_id: z.string(),
  device_kind: DeviceKind,
  severity: Severity,
  /** Acknowledgement does not change the state: an acknowledged alert still fires. */
  state: z
    .enum(['pending', 'firing', 'resolved'])
    .describe('firing until the readings (or a person) resolve it; see acknowledged_at'),
  started_at: Time,
  resolved_at: Time.nullable(),
  acknowledged_at: Time.nullable(),
  acknowledged_by: z.string().nullable(),
  /** Who resolved it by hand, and why; null when the readings resolved it. */
  resolved_by: z.string().nullable(),
  resolution_note: z.string().nullable(),
  reminders: z.number().int(),
  message: z.string(),
  metric: z.string(),
  value: z.number(),
  threshold: z.number(),
  op: z.enum(['above', 'below']),
  /** The reading was already old when it arrived. */
  late: z.boolean(),
})
export type AlertView = z.infer<typeof AlertView>

export const AlertHistoryView = z.object({
  state: AlertState,
  /** 0 for a state change, 1, 2… for reminders. */
  reminder: z.number().int(),
  at: Time,
  by: z.string().nullable(),
  note: z.string().nullable(),
  message: z.string(),
})

export const AlertDeliveryView = z.object({
  channel: z.string().describe('mqtt, webpush, webhook…'),
  target: z.string(),
  status: z.string(),
  at: Time,
  detail: z.string().nullable(),
})

export const AlertDetail = AlertView.extend({
  events: z.array(AlertHistoryView),
  deliveries: z.array(AlertDeliveryView),
})
export type AlertDetail = z.infer<typeof AlertDetail>

export const ResolveAlertBody = z.object({
  note: z
    .string()
    .trim()
    .min(1, 'say what was done, e.g. "aerator 2 restarted"')
    .max(500)
    .describe('What was done; shown in the history and announced on the bus'),
})
