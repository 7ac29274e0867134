import { describe, expect, it } from 'vitest'
import { dueReminders } from '../../../services/processor/reminders.ts'
import type { StoredAlert } from '../../../services/store/repository.ts'
import { AlertEvent, Rule } from '../../../shared/index.ts'

const T = Date.parse('2026-11-23T20:00:00Z')
const event = AlertEvent.parse({
  v: 1,
  alert_id: 'al-1',
  state: 'firing',
  rule_id: 'do-critical',
  rule_version: 1,
  severity: 'critical',
  farm_id: 'f',
  site_id: null,
  device_id: 'pond-1',
  device_kind: 'pond_sensor',
  metric: 'dissolved_oxygen_mg_l',
  value: 2.5,
  threshold: 3,
  op: 'below',
  reading_ts: new Date(T).toISOString(),
  seq: 1,
  emitted_at: new Date(T).toISOString(),
  late: false,
  message: 'DO low',
})
const open = (over: Partial<StoredAlert> = {}): StoredAlert => ({
  alertId: 'al-1',
  ruleId: 'do-critical',
  deviceId: 'pond-1',
  farmId: 'f',
  siteId: null,
  severity: 'critical',
  resolvedBy: null,
  resolutionNote: null,
  state: 'firing',
  startedAt: T,
  resolvedAt: null,
  lastEvent: event,
  eventPublished: true,
  acknowledgedAt: null,
  acknowledgedBy: null,
  notifiedAt: T,
  reminders: 0,
  ...over,
})
const rule = Rule.parse({
  id: 'do-critical',
  name: 'DO',
  scope: { kind: 'pond_sensor' },
  severity: 'critical',
  message: 'DO low',
  renotify_every: '30m',
  condition: { type: 'threshold', metric: 'dissolved_oxygen_mg_l', op: 'below', value: 3 },
})

describe('reminders', () => {
  it('come every renotify_every after the last notification, numbered', () => {
    expect(dueReminders([open()], [rule], T + 29 * 60_000)).toEqual([])
    const [r] = dueReminders([open()], [rule], T + 30 * 60_000)
    expect(r).toMatchObject({
      alert_id: 'al-1',
      state: 'firing',
      reminder: 1,
      emitted_at: new Date(T + 1_800_000).toISOString(),
    })
    const [r3] = dueReminders(
      [open({ notifiedAt: T + 3_600_000, reminders: 2 })],
      [rule],
      T + 5_400_000,
    )
    expect(r3?.reminder).toBe(3)
  })

  it('stop once someone acknowledged, and never come for rules without renotify_every', () => {
    expect(
      dueReminders(
        [open({ acknowledgedAt: T + 60_000, acknowledgedBy: 'Ba Tu' })],
        [rule],
        T + 7_200_000,
      ),
    ).toEqual([])
    const { renotify_every: _, ...quiet } = rule
    expect(dueReminders([open()], [quiet as Rule], T + 7_200_000)).toEqual([])
  })
})
