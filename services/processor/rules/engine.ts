import { createHash } from 'node:crypto'
import { parseDuration } from '../../../shared/duration.ts'
import type { AlertEvent, DeviceKind, Reading, Rule } from '../../../shared/index.ts'
import type { Device, StoredAlert } from '../../store/repository.ts'
import { metricValues } from '../line-protocol.ts'
import { holdFor, type Judgement, judge } from './conditions.ts'
import { createDegreeDays } from './degree-days.ts'
import { unionizedAmmonia } from './derived.ts'
import { newPair, type PairState, step } from './lifecycle.ts'
import { createSilenceWatch } from './silence.ts'
import { createSeriesWindow, type SeriesWindow } from './window.ts'

/**
 * Evaluates rules on a device's readings in event time and keeps each (rule, device)
 * pair's alert state. Readings at or before the last one evaluated for a pair are
 * skipped: a redelivered message or a repeated sequence number changes nothing.
 */

/** Event-time history per device and metric, for the conditions that look back. */
const MIN_WINDOW_SPAN_MS = 24 * 3_600_000
/** The condition kinds that judge a window of past readings. */
const LOOKS_BACK = new Set([
  'rate_of_change',
  'projection',
  'trend',
  'sanity',
  'range',
  'deviation',
])
const MAX_WINDOW_SPAN_MS = 14 * 24 * 3_600_000

/**
 * How far back the engine keeps a rule's metric: its window and a day more (for trends
 * by night), at most 14 days; null for a rule that does not look back.
 */
export function windowSpanMs(rule: Rule): number | null {
  const c = rule.condition
  if (!LOOKS_BACK.has(c.type) || !('metric' in c) || !('window' in c)) return null
  return Math.min(MAX_WINDOW_SPAN_MS, parseDuration(c.window) + 24 * 3_600_000)
}

export type EvaluationContext = {
  device: Device
  /** Used in messages; the site id when absent. */
  siteName?: string
  /** Biofix dates the agronomist set on the farm, per species (YYYY-MM-DD). */
  biofix?: Record<string, string>
  /** The site's tags (crop stage…), for rules scoped by them. */
  siteTags?: Record<string, string>
  /** The farm's cooperative, for rules a cooperative wrote for its own farms. */
  cooperativeId?: string
  /** The farm's IANA time zone, for times of day in rules (default Asia/Ho_Chi_Minh). */
  timeZone?: string
  now: number
  lateAfterMs: number
}

export function alertIdFor(ruleId: string, deviceId: string, startedAt: number): string {
  const h = createHash('sha256').update(`${ruleId}\n${deviceId}\n${startedAt}`).digest('hex')
  return `al-${h.slice(0, 20)}`
}

const formatValue = (v: number) =>
  Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0$/, '')

/** The reading's metrics plus the derived ones (un-ionized ammonia, flow through a closed valve). */
export function metricsOf(reading: Reading): Map<string, number> {
  const m = metricValues(reading)
  const tan = m.get('tan_mg_l')
  const ph = m.get('ph')
  const temp = m.get('water_temp_c')
  if (tan !== undefined && ph !== undefined && temp !== undefined)
    m.set('nh3_mg_l', unionizedAmmonia({ tanMgL: tan, ph, waterTempC: temp }).nh3MgL)
  // Water moving through a closed valve is a leak (or a valve that does not shut). With
  // the valve open a leak cannot be told from irrigation, so there is no value then: an
  // open leak alert neither resolves nor flaps during an irrigation window.
  const flow = m.get('flow_l_min')
  if (flow !== undefined && m.get('valve_open') === 0) m.set('leak_flow_l_min', flow)
  // Flow per bar while irrigating: clogged emitters pass less water at more pressure.
  const pressure = m.get('pressure_bar')
  if (flow !== undefined && pressure !== undefined && m.get('valve_open') === 1 && pressure > 0.2)
    m.set('flow_per_bar', flow / pressure)
  return m
}

export function renderMessage(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, key: string) => values[key] ?? m)
}

const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh'

/**
 * Values per device, then per rule id or metric: a reading looks its device up once,
 * and no key is built by joining strings (the joined keys cost CPU on every rule of
 * every reading, and memory for every pair).
 */
class PerDevice<V> {
  readonly #byDevice = new Map<string, Map<string, V>>()
  of(deviceId: string): Map<string, V> {
    let m = this.#byDevice.get(deviceId)
    if (!m) {
      m = new Map()
      this.#byDevice.set(deviceId, m)
    }
    return m
  }
  /** The device's values, if it has any (creates nothing). */
  peek(deviceId: string): Map<string, V> | undefined {
    return this.#byDevice.get(deviceId)
  }
  get(deviceId: string, key: string): V | undefined {
    return this.#byDevice.get(deviceId)?.get(key)
  }
  set(deviceId: string, key: string, value: V) {
    this.of(deviceId).set(key, value)
  }
  delete(deviceId: string, key: string) {
    const m = this.#byDevice.get(deviceId)
    if (!m) return
    m.delete(key)
    if (m.size === 0) this.#byDevice.delete(deviceId)
  }
}

/**
 * When each of the kind's rules last judged a reading of the device, in the order of the
 * kind's rule list. Most (rule, device) pairs never raise anything: for them this slot is
 * all the state kept (8 bytes), instead of an alert state object each.
 */
type Judged = {
  rules: readonly Rule[]
  lastTs: number[]
  /** The device's windows as [metric, window, metric, window…] (one to three, or none). */
  windows: (string | SeriesWindow)[] | null
}

const EMPTY_RULES: Rule[] = []
const NO_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>
const NO_METRICS = new Set<string>()
/** Sanity first: a sensor found broken holds back the other rules on the same reading. */
const sanityFirst = (a: Rule, b: Rule) =>
  Number(b.condition.type === 'sanity') - Number(a.condition.type === 'sanity')
/** The metrics the rules look back on (only those are kept in windows). */
const windowedMetrics = (list: readonly Rule[]) =>
  new Set(
    list.flatMap((r) =>
      LOOKS_BACK.has(r.condition.type) && 'metric' in r.condition ? [r.condition.metric] : [],
    ),
  )
const byReadingTime = (a: Reading, b: Reading) => a.ts - b.ts || a.seq - b.seq

/**
 * How far to trust a projection: the night's first projection against what the pond
 * actually reached by the target time. Kept as a series (forecast_error) every morning.
 */
export type ForecastRecord = {
  ruleId: string
  device: Device
  metric: string
  /** When the projection was made, and the time it was for. */
  madeAt: number
  targetTs: number
  projected: number
  /** The lowest (or highest, for `above`) value the metric reached by the target time. */
  observed: number
}

type EventFacts = {
  device: Device
  siteName: string
  metric: string
  judgement: Pick<Judgement, 'value' | 'threshold' | 'op' | 'extras'>
  readingTs: number
  seq: number
  now: number
  late: boolean
  extras?: Record<string, string>
}

function makeEvent(
  rule: Rule,
  alertId: string,
  state: AlertEvent['state'],
  f: EventFacts,
): AlertEvent {
  const values = {
    device: f.device.name,
    site: f.siteName,
    farm: f.device.farmId,
    metric: f.metric,
    value: formatValue(f.judgement.value),
    threshold: formatValue(f.judgement.threshold),
    ...f.judgement.extras,
    ...f.extras,
  }
  return {
    v: 1,
    alert_id: alertId,
    state,
    rule_id: rule.id,
    rule_version: rule.version,
    severity: rule.severity,
    farm_id: f.device.farmId,
    site_id: f.device.siteId,
    device_id: f.device.id,
    device_kind: f.device.kind,
    metric: f.metric,
    value: f.judgement.value,
    threshold: f.judgement.threshold,
    op: f.judgement.op,
    reading_ts: new Date(f.readingTs).toISOString(),
    seq: f.seq,
    emitted_at: new Date(f.now).toISOString(),
    late: f.late,
    reminder: 0,
    // Only the end of an alert has its own words; pending, firing, reminders share the rule's.
    message: renderMessage(state === 'resolved' ? rule.resolved_message : rule.message, values),
  }
}

export function createRuleEngine() {
  let rules: Rule[] = []
  // Per kind, sanity rules first, and the metrics they window.
  const byKind = new Map<DeviceKind, Rule[]>()
  const windowedByKind = new Map<DeviceKind, Set<string>>()
  // Alert state of the pairs that ever raised something; the rest only have a `Judged` slot.
  const pairs = new PerDevice<PairState>()
  const judged = new Map<string, Judged>()
  const slotOf = new Map<Rule, number>()
  function judgedOf(deviceId: string, all: readonly Rule[]): Judged {
    const held = judged.get(deviceId)
    if (held?.rules === all) return held
    const lastTs = all.map(() => Number.NEGATIVE_INFINITY)
    if (!held) {
      const fresh: Judged = { rules: all, lastTs, windows: null }
      judged.set(deviceId, fresh)
      return fresh
    }
    // The rules changed since: carry over the slots of the rules still there.
    held.rules.forEach((r, i) => {
      const k = all.findIndex((n) => n.id === r.id)
      if (k >= 0) lastTs[k] = held.lastTs[i] as number
    })
    held.rules = all
    held.lastTs = lastTs
    return held
  }
  const silence = createSilenceWatch()
  const degreeDays = createDegreeDays()
  // Degree-days are summed for every weather reading only when some rule reads them.
  let degreeDayRules = false
  const forecasts = new PerDevice<{ value: number; madeAt: number; targetTs: number }>()
  let finished: ForecastRecord[] = []
  // The longest look-back any rule needs on a metric (a night more for trends by night).
  const spans = new Map<string, number>()
  const spanFor = (metric: string) => spans.get(metric) ?? MIN_WINDOW_SPAN_MS
  const sensorSuspect = (
    candidates: readonly Rule[],
    devicePairs: Map<string, PairState> | undefined,
    metric: string,
  ) =>
    devicePairs !== undefined &&
    candidates.some(
      (r) =>
        r.condition.type === 'sanity' &&
        r.condition.metric === metric &&
        devicePairs.get(r.id)?.phase === 'firing',
    )
  // A device's windows live in its `Judged` record, in a list rather than a Map: a Map
  // each cost more than the windows themselves on an idle fleet.
  const windowsOfDevice = (deviceId: string) => {
    let held = judged.get(deviceId)
    if (!held) {
      // Seeded before any reading (restart): the slots come with the first reading.
      held = { rules: EMPTY_RULES, lastTs: [], windows: null }
      judged.set(deviceId, held)
    }
    held.windows ??= []
    return held.windows
  }
  const windowIn = (deviceWindows: (string | SeriesWindow)[], metric: string) => {
    for (let i = 0; i < deviceWindows.length; i += 2)
      if (deviceWindows[i] === metric) return deviceWindows[i + 1] as SeriesWindow
    const w = createSeriesWindow({ spanMs: spanFor(metric) })
    deviceWindows.push(metric, w)
    return w
  }

  function appliesTo(
    rule: Rule,
    device: Device,
    facts: { siteTags?: Record<string, string>; cooperativeId?: string },
  ): boolean {
    if (!rule.enabled || rule.scope.kind !== device.kind) return false
    if (rule.scope.cooperative_id && rule.scope.cooperative_id !== facts.cooperativeId) return false
    if (rule.scope.farm_ids && !rule.scope.farm_ids.includes(device.farmId)) return false
    if (rule.scope.device_ids && !rule.scope.device_ids.includes(device.id)) return false
    if (rule.scope.site_ids && !(device.siteId && rule.scope.site_ids.includes(device.siteId)))
      return false
    if (!rule.scope.site_tags) return true
    const siteTags = facts.siteTags ?? {}
    for (const [tag, allowed] of Object.entries(rule.scope.site_tags))
      if (!allowed.includes(siteTags[tag] ?? '')) return false
    return true
  }

  return {
    setRules(next: Rule[]) {
      rules = next
      degreeDayRules = next.some(
        (r) =>
          r.enabled && 'metric' in r.condition && r.condition.metric.startsWith('degree_days.'),
      )
      spans.clear()
      for (const r of next) {
        const span = windowSpanMs(r)
        if (span === null || !('metric' in r.condition)) continue
        spans.set(r.condition.metric, Math.max(spanFor(r.condition.metric), span))
      }
      byKind.clear()
      for (const r of next) {
        const list = byKind.get(r.scope.kind) ?? []
        list.push(r)
        byKind.set(r.scope.kind, list)
      }
      windowedByKind.clear()
      slotOf.clear()
      for (const [kind, list] of byKind) {
        list.sort(sanityFirst)
        windowedByKind.set(kind, windowedMetrics(list))
        for (const [i, r] of list.entries()) slotOf.set(r, i)
      }
    },
    rules: () => rules,
    /** Restores firing alerts (from the store) after a restart. */
    restore(open: StoredAlert[]) {
      for (const a of open)
        pairs.set(a.deviceId, a.ruleId, {
          ...newPair(),
          phase: 'firing',
          alertId: a.alertId,
          startedAt: a.startedAt,
          lastTs: Date.parse(a.lastEvent.reading_ts),
          starts: [a.startedAt],
        })
    },
    /** Returns the alert events the readings cause, in event-time order. */
    evaluate(readings: readonly Reading[], ctx: EvaluationContext): AlertEvent[] {
      // Degree-days need every weather reading and trap catch of the farm, rules or not.
      if (ctx.device.kind === 'env_sensor' || ctx.device.kind === 'pest_trap')
        for (const reading of readings)
          degreeDays.observe(ctx.device, reading, ctx.timeZone ?? DEFAULT_TIME_ZONE)
      // The kind's rules (sanity first), unless scopes leave some out for this device.
      const all = byKind.get(ctx.device.kind) ?? EMPTY_RULES
      let candidates = all
      let windowed = windowedByKind.get(ctx.device.kind) ?? NO_METRICS
      if (!all.every((r) => appliesTo(r, ctx.device, ctx))) {
        candidates = all.filter((r) => appliesTo(r, ctx.device, ctx))
        windowed = windowedMetrics(candidates)
      }
      if (candidates.length === 0) return []
      const ordered = readings.length === 1 ? readings : [...readings].sort(byReadingTime)
      const events: AlertEvent[] = []
      const deviceId = ctx.device.id
      let devicePairs = pairs.peek(deviceId)
      // Created on first use: a device none of whose rules looks back has no windows.
      let deviceWindows: (string | SeriesWindow)[] | undefined
      const windowsOf = () => {
        deviceWindows ??= windowsOfDevice(deviceId)
        return deviceWindows
      }
      const slots = judgedOf(deviceId, all)
      for (const reading of ordered) {
        const metrics = metricsOf(reading)
        const zone = ctx.timeZone ?? DEFAULT_TIME_ZONE
        if (degreeDayRules && ctx.device.kind === 'env_sensor')
          for (const [name, dd] of degreeDays.metrics(
            ctx.device.farmId,
            reading.ts,
            zone,
            ctx.biofix,
          ))
            metrics.set(name, dd)
        for (const metric of windowed) {
          const v = metrics.get(metric)
          if (v !== undefined) windowIn(windowsOf(), metric).addPoint(reading.ts, v)
        }
        silence.seen(
          ctx.siteTags ?? NO_TAGS,
          ctx.cooperativeId,
          ctx.device,
          reading,
          ctx.now,
          ctx.siteName || (ctx.device.siteId ?? ''),
          ctx.timeZone ?? DEFAULT_TIME_ZONE,
        )
        for (const rule of candidates) {
          const c = rule.condition
          if (c.type === 'no_data') {
            // Any reading ends a silence.
            const state = devicePairs?.get(rule.id)
            if (state?.phase === 'firing' && state.alertId) {
              events.push(
                makeEvent(rule, state.alertId, 'resolved', {
                  device: ctx.device,
                  siteName: ctx.siteName || (ctx.device.siteId ?? ''),
                  metric: 'no_data',
                  judgement: { value: 0, threshold: 0, op: 'above' },
                  readingTs: reading.ts,
                  seq: reading.seq,
                  now: ctx.now,
                  late: false,
                }),
              )
              pairs.set(deviceId, rule.id, {
                ...state,
                phase: 'ok',
                alertId: null,
                startedAt: null,
              })
            }
            continue
          }
          const v = metrics.get(c.metric)
          if (v === undefined) continue
          // A sensor judged broken cannot raise (or keep pending) a water-quality alarm.
          if (c.type !== 'sanity' && sensorSuspect(candidates, devicePairs, c.metric)) {
            const held = devicePairs?.get(rule.id)
            if (held?.phase === 'pending' && held.alertId) {
              events.push(
                makeEvent(rule, held.alertId, 'resolved', {
                  device: ctx.device,
                  siteName: ctx.siteName || (ctx.device.siteId ?? ''),
                  metric: c.metric,
                  judgement: { value: v, threshold: 0, op: 'above' },
                  readingTs: reading.ts,
                  seq: reading.seq,
                  now: ctx.now,
                  late: ctx.now - reading.ts > ctx.lateAfterMs,
                }),
              )
              pairs.set(deviceId, rule.id, {
                ...held,
                phase: 'ok',
                pendingSince: null,
                alertId: null,
              })
            }
            continue
          }
          let state = devicePairs?.get(rule.id)
          const slot = slotOf.get(rule) as number
          if (reading.ts <= (state ? state.lastTs : (slots.lastTs[slot] as number))) continue
          if (state) state.lastTs = reading.ts
          slots.lastTs[slot] = reading.ts
          const j = judge(c, v, windowIn(windowsOf(), c.metric), {
            ts: reading.ts,
            timeZone: ctx.timeZone ?? DEFAULT_TIME_ZONE,
          })
          if (!j) continue
          if (c.type === 'projection') {
            const open = forecasts.get(deviceId, rule.id)
            if (j.projection && !open)
              forecasts.set(deviceId, rule.id, {
                value: j.projection.value,
                madeAt: reading.ts,
                targetTs: j.projection.targetTs,
              })
            if (j.nightOver && open && reading.ts >= open.targetTs) {
              const seen = windowIn(windowsOf(), c.metric)
                .points(open.madeAt, open.targetTs)
                .map((p) => p.value)
              if (seen.length > 0)
                finished.push({
                  ruleId: rule.id,
                  device: ctx.device,
                  metric: c.metric,
                  madeAt: open.madeAt,
                  targetTs: open.targetTs,
                  projected: open.value,
                  observed: c.op === 'below' ? Math.min(...seen) : Math.max(...seen),
                })
              forecasts.delete(deviceId, rule.id)
            }
          }
          // A pair with nothing raised whose condition is not met stays as it is (ok).
          if (!state) {
            if (!j.breached) continue
            state = { ...newPair(), lastTs: reading.ts }
            pairs.set(deviceId, rule.id, state)
            devicePairs = pairs.peek(deviceId)
          }
          const transition = step(state, j, reading.ts, rule, holdFor(c), (startTs) =>
            alertIdFor(rule.id, ctx.device.id, startTs),
          )
          if (!transition || !state.alertId || state.startedAt === null) continue
          events.push(
            makeEvent(rule, state.alertId, transition, {
              device: ctx.device,
              siteName: ctx.siteName || (ctx.device.siteId ?? ''),
              metric: c.metric,
              judgement: j,
              readingTs: reading.ts,
              seq: reading.seq,
              now: ctx.now,
              late: ctx.now - reading.ts > ctx.lateAfterMs,
            }),
          )
          if (transition === 'resolved') {
            state.alertId = null
            state.startedAt = null
            state.pendingSince = null
          }
        }
      }
      return events
    },
    /**
     * No-data rules, on the processor's clock: devices silent past their limit raise an
     * alert (once; the next reading resolves it). Call it periodically.
     */
    checkSilence(nowMs: number): AlertEvent[] {
      const events: AlertEvent[] = []
      for (const h of silence.devices()) {
        for (const rule of byKind.get(h.device.kind) ?? []) {
          const c = rule.condition
          if (c.type !== 'no_data' || !appliesTo(rule, h.device, h)) continue
          const limit = silence.limitMs(c, h)
          const silentMs = nowMs - h.lastArrivalMs
          if (limit === null || silentMs < limit) continue
          const state = pairs.get(h.device.id, rule.id)
          if (state?.phase === 'firing') continue
          const alertId = alertIdFor(rule.id, h.device.id, h.lastTs)
          pairs.set(h.device.id, rule.id, {
            ...(state ?? newPair()),
            phase: 'firing',
            alertId,
            startedAt: nowMs,
            lastTs: state?.lastTs ?? h.lastTs,
          })
          events.push(
            makeEvent(rule, alertId, 'firing', {
              device: h.device,
              siteName: h.siteName,
              metric: 'no_data',
              // Hours silent, against the limit in hours.
              judgement: { value: silentMs / 3_600_000, threshold: limit / 3_600_000, op: 'above' },
              readingTs: h.lastTs,
              seq: h.lastSeq,
              now: nowMs,
              late: false,
              extras: { last_seen: new Date(h.lastTs).toISOString() },
            }),
          )
        }
      }
      return events
    },
    /**
     * What windows the rules need: per device kind, the metrics looked back on and the
     * longest span, so a restarted processor can reload them from InfluxDB.
     */
    windowNeeds(): { kind: DeviceKind; metrics: string[]; spanMs: number }[] {
      const needs = new Map<DeviceKind, { metrics: Set<string>; spanMs: number }>()
      for (const r of rules) {
        const c = r.condition
        if (
          !r.enabled ||
          (c.type !== 'rate_of_change' && c.type !== 'projection' && c.type !== 'trend')
        )
          continue
        const need = needs.get(r.scope.kind) ?? { metrics: new Set<string>(), spanMs: 0 }
        need.metrics.add(c.metric)
        need.spanMs = Math.max(need.spanMs, parseDuration(c.window))
        needs.set(r.scope.kind, need)
      }
      return [...needs].map(([kind, n]) => ({ kind, metrics: [...n.metrics], spanMs: n.spanMs }))
    },
    /** Whether any enabled rule uses degree-days (a restart then replays their inputs). */
    usesDegreeDays: () => degreeDayRules,
    /** Replays stored weather and trap readings into the farm's degree-days (after a restart). */
    replayForDegreeDays(device: Device, readings: Reading[], timeZone: string) {
      for (const r of readings) degreeDays.observe(device, r, timeZone)
    },
    /** Puts stored points back in a device's window (after a restart); judges nothing. */
    seedWindow(deviceId: string, metric: string, points: { ts: number; value: number }[]) {
      const w = windowIn(windowsOfDevice(deviceId), metric)
      for (const p of points) w.add(p)
    },
    /** Forecasts whose night is over since the last call (for the forecast_error series). */
    drainForecasts(): ForecastRecord[] {
      const out = finished
      finished = []
      return out
    },
    /**
     * Forgets an alert someone resolved by hand: if the condition still holds, the next
     * readings raise a new alert rather than continuing the closed one.
     */
    forget(ruleId: string, deviceId: string) {
      pairs.delete(deviceId, ruleId)
    },
    /** When an event's alert began (for the store). */
    startedAtOf(event: AlertEvent): number {
      const s = pairs.get(event.device_id, event.rule_id)
      return s?.startedAt ?? Date.parse(event.reading_ts)
    },
  }
}

export type RuleEngine = ReturnType<typeof createRuleEngine>
