import { parseDuration } from '../../shared/duration.ts'
import type { AlertEvent, Rule } from '../../shared/index.ts'
import type { StoredAlert } from '../store/repository.ts'

/**
 * Reminders of alerts that still fire and nobody has acknowledged, on the clock: a
 * farmer asleep through the first notification is told again every `renotify_every`,
 * even when the device has gone silent since.
 */
export function dueReminders(
  open: readonly StoredAlert[],
  rules: readonly Rule[],
  nowMs: number,
): AlertEvent[] {
  const byId = new Map(rules.map((r) => [r.id, r]))
  const due: AlertEvent[] = []
  for (const a of open) {
    const rule = byId.get(a.ruleId)
    if (!rule?.enabled || !rule.renotify_every || a.acknowledgedAt !== null) continue
    const last = a.notifiedAt ?? a.startedAt
    if (nowMs - last < parseDuration(rule.renotify_every)) continue
    due.push({
      ...a.lastEvent,
      reminder: a.reminders + 1,
      emitted_at: new Date(nowMs).toISOString(),
    })
  }
  return due
}
