import { z } from 'zod'
import { DurationText } from './duration.ts'
import { DeviceKind } from './readings.ts'
import { ID_PATTERN } from './topics.ts'

export const Severity = z.enum(['info', 'warning', 'critical'])
export type Severity = z.infer<typeof Severity>

/**
 * A metric of a reading: a numeric field (`dissolved_oxygen_mg_l`), or a species count
 * of a trap reading (`counts.brown_planthopper`).
 */
export const MetricName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$/, 'metric names look like ph or counts.stem_borer')

/**
 * Metrics computed from a reading, usable in any condition: `nh3_mg_l`, the un-ionized
 * ammonia (as NH3-N) from total ammonia nitrogen, pH and water temperature; and
 * `leak_flow_l_min`, the flow while the valve is closed (no value while it is open); and
 * `flow_per_bar`, flow divided by line pressure while the valve is open (a blocked line
 * passes less water per bar).
 */
export const derivedMetrics = ['nh3_mg_l', 'leak_flow_l_min', 'flow_per_bar'] as const

/**
 * Threshold: fires when the metric is above (or below) `value`; resolves when it is
 * back on the safe side of `clear` (hysteresis, so a reading hovering at the line
 * does not flap). Without `clear`, the alert resolves at `value` itself. With `for`, the
 * condition must hold that long, in the device's time, before the alert fires (until
 * then it is pending).
 */
export const ThresholdCondition = z
  .object({
    type: z.literal('threshold'),
    metric: MetricName,
    op: z.enum(['above', 'below']),
    value: z.number().finite(),
    clear: z.number().finite().optional(),
    for: DurationText.optional(),
  })
  .refine(
    (c) => c.clear === undefined || (c.op === 'above' ? c.clear <= c.value : c.clear >= c.value),
    {
      message:
        'clear must be on the safe side of value (at or below it for above, at or above it for below)',
      path: ['clear'],
    },
  )
export type ThresholdCondition = z.infer<typeof ThresholdCondition>

/**
 * Rate of change: the least-squares slope of the metric over `window` (per hour) is
 * falling faster than `per_hour` (or rising faster). Example: dissolved oxygen falling
 * faster than 0.5 mg/L/h over 2 h. Resolves when the rate is back under `clear_per_hour`
 * (default: `per_hour`).
 */
export const RateOfChangeCondition = z
  .object({
    type: z.literal('rate_of_change'),
    metric: MetricName,
    direction: z.enum(['falling', 'rising']),
    per_hour: z.number().positive(),
    clear_per_hour: z.number().nonnegative().optional(),
    window: DurationText,
  })
  .refine((c) => c.clear_per_hour === undefined || c.clear_per_hour <= c.per_hour, {
    message: 'clear_per_hour must be at most per_hour (a slower change ends the alert)',
    path: ['clear_per_hour'],
  })
export type RateOfChangeCondition = z.infer<typeof RateOfChangeCondition>

const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time of day, HH:MM (24 h)')

/**
 * Projection: fit the metric's recent window and project it to a time of day; alert
 * when the projection crosses `bound` — the dawn-crash warning: at 22:00 the night's
 * decline projects dissolved oxygen below 3 mg/L by 05:30. Judged only between
 * `from` and `by` (farm time); at `by` the night is over and the alert resolves.
 * Night-time DO decays roughly exponentially, so `log-linear` is the default
 * (Madenjian et al. 1987 found it beat linear extrapolation).
 */
export const ProjectionCondition = z.object({
  type: z.literal('projection'),
  metric: MetricName,
  fit: z.enum(['log-linear', 'linear']).default('log-linear'),
  op: z.enum(['below', 'above']),
  bound: z.number().finite(),
  /** Farm-local time the projection is made for (the end of the night). */
  by: LocalTime,
  /** Farm-local time from which the projection is judged. */
  from: LocalTime,
  window: DurationText,
  min_points: z.number().int().min(2).max(500).default(4),
})
export type ProjectionCondition = z.infer<typeof ProjectionCondition>

/**
 * Trend: the least-squares slope of the metric over `window` rises (or falls) faster than
 * `per_day` — relative growth per day when `relative` (0.3 = 30 %/day, compounded), or in
 * the metric's unit per day. With `bucket: "night"`, readings are first summed per night
 * (noon to noon, farm time), as nightly trap catches are judged (e.g. brown planthopper
 * catches rising more than 30 %/day over 5 nights). Complete nights only.
 */
export const TrendCondition = z
  .object({
    type: z.literal('trend'),
    metric: MetricName,
    direction: z.enum(['rising', 'falling']),
    per_day: z.number().positive(),
    clear_per_day: z.number().nonnegative().optional(),
    relative: z.boolean().default(true),
    window: DurationText,
    min_points: z.number().int().min(2).max(500).default(3),
    bucket: z.enum(['night']).optional(),
  })
  .refine((c) => c.clear_per_day === undefined || c.clear_per_day <= c.per_day, {
    message: 'clear_per_day must be at most per_day',
    path: ['clear_per_day'],
  })
export type TrendCondition = z.infer<typeof TrendCondition>

/**
 * Sensor sanity: a metric stuck at one value for `stuck_for` (within `tolerance`), or with
 * an implausibly low spread over `window` (`min_std_dev`; a fouled oxygen probe reads a
 * flat line while a live pond swings by mg/L a day). It raises an equipment alert, and
 * while it fires the device's other alerts on that metric are held back, so a broken
 * sensor cannot wake a farmer with a false water-quality alarm. (Out-of-range values
 * never get this far: they are quarantined.)
 */
export const SanityCondition = z
  .object({
    type: z.literal('sanity'),
    metric: MetricName,
    stuck_for: DurationText.optional(),
    tolerance: z.number().nonnegative().default(0),
    min_std_dev: z.number().positive().optional(),
    window: DurationText.default('24h'),
    min_points: z.number().int().min(3).max(500).default(12),
  })
  .refine((c) => c.stuck_for !== undefined || c.min_std_dev !== undefined, {
    message: 'give stuck_for (a duration) or min_std_dev, or both',
    path: ['stuck_for'],
  })
export type SanityCondition = z.infer<typeof SanityCondition>

/**
 * Range: the spread (highest − lowest) of the metric over `window` is above `max_spread`
 * — a large daily pH swing means a dense algal bloom that can crash.
 */
export const RangeCondition = z.object({
  type: z.literal('range'),
  metric: MetricName,
  max_spread: z.number().positive(),
  clear_spread: z.number().nonnegative().optional(),
  window: DurationText,
  min_points: z.number().int().min(2).max(500).default(6),
})
export type RangeCondition = z.infer<typeof RangeCondition>

/**
 * Deviation: the metric is below (or above) `percent` of its own median over `window` —
 * a drop from the device's usual, where no fixed number fits every site (a blocked drip
 * line delivers much less flow per bar of pressure than the same line did last week).
 */
export const DeviationCondition = z.object({
  type: z.literal('deviation'),
  metric: MetricName,
  op: z.enum(['below', 'above']),
  percent: z.number().positive().max(1000),
  clear_percent: z.number().positive().max(1000).optional(),
  window: DurationText,
  min_points: z.number().int().min(3).max(500).default(6),
})
export type DeviationCondition = z.infer<typeof DeviationCondition>

/**
 * No data: the device has sent nothing for `after`, or for `missed_readings` times its
 * usual interval (learned from its recent readings), whichever is longer — a dead
 * battery or lost signal. Judged on the processor's clock, so it fires even though no
 * reading comes; the next reading resolves it.
 */
export const NoDataCondition = z
  .object({
    type: z.literal('no_data'),
    after: DurationText.optional(),
    missed_readings: z.number().int().min(1).max(1000).optional(),
  })
  .refine((c) => c.after !== undefined || c.missed_readings !== undefined, {
    message: 'give after (a duration) or missed_readings (a count), or both',
    path: ['after'],
  })
export type NoDataCondition = z.infer<typeof NoDataCondition>

export const Condition = z.discriminatedUnion('type', [
  ThresholdCondition,
  RateOfChangeCondition,
  ProjectionCondition,
  TrendCondition,
  SanityCondition,
  RangeCondition,
  DeviationCondition,
  NoDataCondition,
])
export type Condition = z.infer<typeof Condition>

export const RuleScope = z.object({
  kind: DeviceKind,
  /**
   * The cooperative whose farms the rule watches (set by the API from its author);
   * absent for platform-wide rules loaded by an operator.
   */
  cooperative_id: z.string().regex(ID_PATTERN).optional(),
  /** Limit to these farms; absent means every farm. */
  farm_ids: z.array(z.string().regex(ID_PATTERN)).optional(),
  /** Limit to these sites (ponds, fields); absent means every site. */
  site_ids: z.array(z.string().regex(ID_PATTERN)).optional(),
  /**
   * Limit to sites carrying one of these tag values, e.g. `{ "crop_stage": ["tillering",
   * "booting"] }` (site tags are set with `npm run tani -- site tag`).
   */
  site_tags: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.array(z.string()).min(1)).optional(),
  /** Limit to these devices; absent means every device of the kind. */
  device_ids: z.array(z.string().regex(ID_PATTERN)).optional(),
})

export const Rule = z.object({
  id: z.string().regex(ID_PATTERN, 'rule ids are letters, digits, dot, dash or underscore'),
  name: z.string().min(1).max(120),
  description: z.string().max(2000).default(''),
  enabled: z.boolean().default(true),
  version: z.number().int().positive().default(1),
  scope: RuleScope,
  severity: Severity,
  /**
   * What the farmer reads. Placeholders: {device}, {site}, {farm}, {metric}, {value},
   * {threshold}.
   */
  message: z.string().min(1).max(500),
  /** What the farmer reads when it is over; same placeholders. */
  resolved_message: z
    .string()
    .min(1)
    .max(500)
    .default('Back to normal: {metric} at {device} is {value}.'),
  /**
   * Remind every so often while the alert fires and nobody has acknowledged it — on the
   * clock, so reminders go on even if the device has gone silent.
   */
  renotify_every: DurationText.optional(),
  /**
   * Flapping guard: once the alert has fired `changes` times within `within`, it resolves
   * only after the condition has stayed clear for `settle` (a value hovering at the line
   * should not ring the farmer's phone every ten minutes).
   */
  flap_guard: z
    .object({
      changes: z.number().int().min(2).max(100),
      within: DurationText,
      settle: DurationText,
    })
    .optional(),
  condition: Condition,
})
export type Rule = z.infer<typeof Rule>
export type RuleInput = z.input<typeof Rule>
