import { z } from 'zod'
import { AlertEvent } from '../alerts.ts'
import { DeviceKind } from '../readings.ts'
import { Rule } from '../rules.ts'
import { Id, Time, TimeParam } from './common.ts'

/**
 * Rules over HTTP. Documents are the `Rule` schema itself (shared/rules.ts); what is added
 * here is how they travel: the version a change starts from, history entries, backtests.
 */

export const RuleQuery = z.object({
  kind: DeviceKind.optional(),
  enabled: z.stringbool().optional().describe('true: only enabled rules; false: only disabled'),
})

/** The version you edited: a change to a rule someone changed since is a 409. */
const ExpectedVersion = z
  .number()
  .int()
  .positive()
  .describe('The version you edited (from GET); 409 when the rule has changed since')

/** A full replacement; `id` may be left out (it is the path's). */
export const RuleUpdateBody = Rule.extend({
  id: Rule.shape.id.optional(),
  version: ExpectedVersion,
})

/** For enable, disable and delete: with `version`, a rule changed since is a 409. */
export const OptionalVersionQuery = z.object({
  version: z.coerce.number().pipe(ExpectedVersion).optional(),
})

export const RuleVersionParams = z.object({
  id: Id,
  version: z.coerce.number().int().positive(),
})

export const RollbackBody = z.object({
  version: z.number().int().positive().describe('The version whose document comes back'),
})

/** One difference from the previous version (microdiff); `path` runs from the document's top. */
export const RuleDiffEntry = z.object({
  type: z.enum(['CREATE', 'REMOVE', 'CHANGE']),
  path: z.array(z.union([z.string(), z.number()])),
  value: z.unknown().optional(),
  old_value: z.unknown().optional(),
})
export type RuleDiffEntry = z.infer<typeof RuleDiffEntry>

export const RuleVersionView = z.object({
  version: z.number().int().positive(),
  change: z.enum(['create', 'update', 'enable', 'disable', 'delete', 'rollback']),
  /** Login of who made the change ("cli" for imports). */
  author: z.string(),
  at: Time,
  diff: z.array(RuleDiffEntry),
  /** The rule after the change (before it, for a delete). */
  rule: Rule,
})
export type RuleVersionView = z.infer<typeof RuleVersionView>

export const BacktestBody = z.object({
  rule: Rule.describe('The draft; its scope is limited to your cooperative'),
  from: TimeParam,
  to: TimeParam,
})

export const BacktestEvent = AlertEvent.pick({
  alert_id: true,
  state: true,
  reading_ts: true,
  device_id: true,
  farm_id: true,
  site_id: true,
  metric: true,
  value: true,
  threshold: true,
  op: true,
  message: true,
})

/** One alert from firing to resolved, as an agronomist reads a backtest. */
export const BacktestEpisode = z.object({
  alert_id: z.string(),
  device_id: z.string(),
  farm_id: z.string(),
  site_id: z.string().nullable(),
  /** May be before `from` when the alert was already firing then. */
  fired_at: Time,
  /** Null: still firing at `to`. */
  resolved_at: Time.nullable(),
  /** The value and bound when it fired. */
  value: z.number(),
  threshold: z.number(),
})
export type BacktestEpisode = z.infer<typeof BacktestEpisode>

export const BacktestResponse = z.object({
  from: Time,
  to: Time,
  /** State changes at or after `from`, oldest first. */
  events: z.array(BacktestEvent),
  episodes: z.array(BacktestEpisode),
  /** Stored readings played, the look-back before `from` included. */
  readings: z.number().int().nonnegative(),
  /** Devices of your cooperative that had readings. */
  devices: z.number().int().nonnegative(),
})
