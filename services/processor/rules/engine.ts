import { createHash } from 'node:crypto'
import type { AlertEvent, DeviceKind, Reading, Rule } from '../../../shared/index.ts'
import type { Device, StoredAlert } from '../../store/repository.ts'
import { metricValues } from '../line-protocol.ts'
import { breached, cleared } from './threshold.ts'

/**
 * Evaluates rules on a device's readings in event time and keeps each (rule, device)
 * pair's alert state. Readings at or before the last one evaluated for a pair are
 * skipped: a redelivered message or a repeated sequence number changes nothing.
 */

type PairState = {
  firing: boolean
  alertId: string | null
  startedAt: number | null
  lastTs: number
}

export type EvaluationContext = {
  device: Device
  /** Used in messages; the site id when absent. */
  siteName?: string
  now: number
  lateAfterMs: number
}

export function alertIdFor(ruleId: string, deviceId: string, startedAt: number): string {
  const h = createHash('sha256').update(`${ruleId}\n${deviceId}\n${startedAt}`).digest('hex')
  return `al-${h.slice(0, 20)}`
}

const formatValue = (v: number) =>
  Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0$/, '')

export function renderMessage(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, key: string) => values[key] ?? m)
}

export function createRuleEngine() {
  let rules: Rule[] = []
  const byKind = new Map<DeviceKind, Rule[]>()
  const pairs = new Map<string, PairState>()

  const key = (ruleId: string, deviceId: string) => `${ruleId}\u0000${deviceId}`

  function appliesTo(rule: Rule, device: Device): boolean {
    if (!rule.enabled || rule.scope.kind !== device.kind) return false
    if (rule.scope.farm_ids && !rule.scope.farm_ids.includes(device.farmId)) return false
    if (rule.scope.device_ids && !rule.scope.device_ids.includes(device.id)) return false
    return true
  }

  return {
    setRules(next: Rule[]) {
      rules = next
      byKind.clear()
      for (const r of next) {
        const list = byKind.get(r.scope.kind) ?? []
        list.push(r)
        byKind.set(r.scope.kind, list)
      }
    },
    rules: () => rules,
    /** Restores firing alerts (from the store) after a restart. */
    restore(open: StoredAlert[]) {
      for (const a of open)
        pairs.set(key(a.ruleId, a.deviceId), {
          firing: true,
          alertId: a.alertId,
          startedAt: a.startedAt,
          lastTs: Date.parse(a.lastEvent.reading_ts),
        })
    },
    /** Returns the alert events the readings cause, in event-time order. */
    evaluate(readings: readonly Reading[], ctx: EvaluationContext): AlertEvent[] {
      const candidates = (byKind.get(ctx.device.kind) ?? []).filter((r) => appliesTo(r, ctx.device))
      if (candidates.length === 0) return []
      const ordered = [...readings].sort((a, b) => a.ts - b.ts || a.seq - b.seq)
      const events: AlertEvent[] = []
      for (const reading of ordered) {
        const metrics = metricValues(reading)
        for (const rule of candidates) {
          const v = metrics.get(rule.condition.metric)
          if (v === undefined) continue
          const k = key(rule.id, ctx.device.id)
          const state = pairs.get(k) ?? {
            firing: false,
            alertId: null,
            startedAt: null,
            lastTs: -Infinity,
          }
          if (reading.ts <= state.lastTs) continue
          state.lastTs = reading.ts
          pairs.set(k, state)
          let transition: AlertEvent['state'] | null = null
          if (!state.firing && breached(rule.condition, v)) {
            state.firing = true
            state.startedAt = reading.ts
            state.alertId = alertIdFor(rule.id, ctx.device.id, reading.ts)
            transition = 'firing'
          } else if (state.firing && cleared(rule.condition, v)) {
            state.firing = false
            transition = 'resolved'
          }
          if (!transition || !state.alertId || state.startedAt === null) continue
          const values = {
            device: ctx.device.name,
            site: ctx.siteName || (ctx.device.siteId ?? ''),
            farm: ctx.device.farmId,
            metric: rule.condition.metric,
            value: formatValue(v),
            threshold: formatValue(rule.condition.value),
          }
          events.push({
            v: 1,
            alert_id: state.alertId,
            state: transition,
            rule_id: rule.id,
            rule_version: rule.version,
            severity: rule.severity,
            farm_id: ctx.device.farmId,
            site_id: ctx.device.siteId,
            device_id: ctx.device.id,
            device_kind: ctx.device.kind,
            metric: rule.condition.metric,
            value: v,
            threshold: rule.condition.value,
            op: rule.condition.op,
            reading_ts: new Date(reading.ts).toISOString(),
            seq: reading.seq,
            emitted_at: new Date(ctx.now).toISOString(),
            late: ctx.now - reading.ts > ctx.lateAfterMs,
            message: renderMessage(
              transition === 'firing' ? rule.message : rule.resolved_message,
              values,
            ),
          })
          if (transition === 'resolved') {
            state.alertId = null
            state.startedAt = null
          }
        }
      }
      return events
    },
    /** When an event's alert began (for the store). */
    startedAtOf(event: AlertEvent): number {
      const s = pairs.get(key(event.rule_id, event.device_id))
      return s?.startedAt ?? Date.parse(event.reading_ts)
    },
  }
}

export type RuleEngine = ReturnType<typeof createRuleEngine>
