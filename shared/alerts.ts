import { z } from 'zod'
import { DeviceKind } from './readings.ts'
import { Severity } from './rules.ts'

/**
 * pending: the condition holds but its `for` is not met yet (not for waking anyone);
 * firing; acknowledged (someone has seen it: reminders and escalation stop; it still
 * fires until resolved); resolved (also ends a pending alert that never fired).
 */
export const AlertState = z.enum(['pending', 'firing', 'acknowledged', 'resolved'])
export type AlertState = z.infer<typeof AlertState>

/**
 * Published on `alerts/{farmId}` with QoS 1 whenever an alert changes state.
 * `alert_id` is derived from the rule, the device and the event time at which the
 * alert began, so a redelivered reading reproduces the same id.
 */
export const AlertEvent = z.object({
  v: z.literal(1),
  alert_id: z.string(),
  state: AlertState,
  rule_id: z.string(),
  rule_version: z.number().int().positive(),
  severity: Severity,
  farm_id: z.string(),
  site_id: z.string().nullable(),
  device_id: z.string(),
  device_kind: DeviceKind,
  metric: z.string(),
  /** The reading's value and the bound it was compared with. */
  value: z.number(),
  threshold: z.number(),
  op: z.enum(['above', 'below']),
  /** Event time of the reading that changed the state (device clock), ISO 8601. */
  reading_ts: z.iso.datetime(),
  seq: z.number().int().nonnegative(),
  /** When the processor decided, ISO 8601. */
  emitted_at: z.iso.datetime(),
  /** The reading was already old when it arrived (a backlog): inform, do not wake anyone. */
  late: z.boolean(),
  /** Who acknowledged it, on `acknowledged` events. */
  acknowledged_by: z.string().optional(),
  /** 0 for the state change itself; 1, 2… for reminders of a firing, unacknowledged alert. */
  reminder: z.number().int().nonnegative().default(0),
  message: z.string(),
})
export type AlertEvent = z.infer<typeof AlertEvent>
