import { describe, expect, it } from 'vitest'
import { createRuleEngine } from '../../../services/processor/rules/engine.ts'
import type { Device } from '../../../services/store/repository.ts'
import { type Reading, Rule } from '../../../shared/index.ts'

const device: Device = {
  id: 'pond-01',
  farmId: 'coop-1',
  siteId: 'pond-2',
  kind: 'pond_sensor',
  name: 'Pond 2 probe',
  devEui: null,
  createdAt: 0,
  revokedAt: null,
}
const rule = Rule.parse({
  id: 'do-low',
  name: 'DO low',
  scope: { kind: 'pond_sensor' },
  severity: 'critical',
  message: 'DO at {device} is {value} mg/L, under {threshold}',
  condition: {
    type: 'threshold',
    metric: 'dissolved_oxygen_mg_l',
    op: 'below',
    value: 3,
    clear: 4,
  },
})
const T0 = Date.parse('2026-11-23T04:00:00Z')
const r = (seq: number, dissolved_oxygen_mg_l: number, ts = T0 + seq * 60_000): Reading =>
  ({ ts, seq, battery_pct: 90, rssi_dbm: -80, dissolved_oxygen_mg_l }) as Reading

const engineWith = (...rules: Rule[]) => {
  const e = createRuleEngine()
  e.setRules(rules)
  return e
}
const ctx = { device, now: T0 + 3_600_000, lateAfterMs: 15 * 60_000 }

describe('threshold rule with hysteresis', () => {
  it('fires once when DO falls under 3 mg/L, and not again while it stays low', () => {
    const e = engineWith(rule)
    const events = e.evaluate([r(1, 5), r(2, 2.9), r(3, 2.5), r(4, 3.5)], {
      ...ctx,
      now: T0 + 5 * 60_000,
    })
    expect(events.map((x) => [x.state, x.value])).toEqual([['firing', 2.9]])
    expect(events[0]?.message).toBe('DO at Pond 2 probe is 2.9 mg/L, under 3')
  })

  it('resolves only at the clear value, with the same alert id', () => {
    const e = engineWith(rule)
    const [firing] = e.evaluate([r(1, 2.9)], ctx)
    expect(e.evaluate([r(2, 3.9)], ctx)).toEqual([])
    const [resolved] = e.evaluate([r(3, 4.0)], ctx)
    expect(resolved?.state).toBe('resolved')
    expect(resolved?.alert_id).toBe(firing?.alert_id)
    // A new episode is a new alert.
    const [again] = e.evaluate([r(4, 1)], ctx)
    expect(again?.alert_id).not.toBe(firing?.alert_id)
  })

  it('ignores redelivered and older readings, and orders a batch by event time', () => {
    const e = engineWith(rule)
    // Sorted: 1 (5 mg/L) nothing, 2 (2 mg/L) fires, 3 (5 mg/L) resolves.
    expect(e.evaluate([r(3, 5), r(2, 2), r(1, 5)], ctx).map((x) => [x.state, x.seq])).toEqual([
      ['firing', 2],
      ['resolved', 3],
    ])
    const e2 = engineWith(rule)
    e2.evaluate([r(5, 2)], ctx)
    expect(e2.evaluate([r(5, 2)], ctx)).toEqual([]) // duplicate
    expect(e2.evaluate([r(4, 8)], ctx)).toEqual([]) // older than the last seen
  })

  it('marks an alert from a backlog reading as late', () => {
    const e = engineWith(rule)
    const [ev] = e.evaluate([r(1, 2)], { ...ctx, now: T0 + 60_000 + 16 * 60_000 })
    expect(ev?.late).toBe(true)
  })

  it('only applies to the scoped kind, farms and enabled rules', () => {
    expect(engineWith({ ...rule, enabled: false }).evaluate([r(1, 1)], ctx)).toEqual([])
    expect(
      engineWith({ ...rule, scope: { kind: 'pond_sensor', farm_ids: ['other'] } }).evaluate(
        [r(1, 1)],
        ctx,
      ),
    ).toEqual([])
    expect(
      engineWith(rule).evaluate([r(1, 1)], { ...ctx, device: { ...device, kind: 'env_sensor' } }),
    ).toEqual([])
  })

  it('restores a firing alert after a restart instead of firing again', () => {
    const e = engineWith(rule)
    const [firing] = e.evaluate([r(1, 2)], ctx)
    const restarted = engineWith(rule)
    restarted.restore([
      {
        alertId: firing?.alert_id as string,
        ruleId: 'do-low',
        deviceId: device.id,
        farmId: device.farmId,
        siteId: null,
        severity: 'warning',
        resolvedBy: null,
        resolutionNote: null,
        state: 'firing',
        startedAt: T0 + 60_000,
        resolvedAt: null,
        lastEvent: firing as NonNullable<typeof firing>,
        eventPublished: true,
        acknowledgedAt: null,
        acknowledgedBy: null,
        notifiedAt: null,
        reminders: 0,
      },
    ])
    expect(restarted.evaluate([r(2, 1.5)], ctx)).toEqual([])
    expect(restarted.evaluate([r(3, 6)], ctx)[0]?.alert_id).toBe(firing?.alert_id)
  })
})

describe('rule documents', () => {
  it('reject a clear value on the wrong side, naming the field', () => {
    const bad = Rule.safeParse({ ...rule, condition: { ...rule.condition, clear: 2 } })
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0]?.path).toEqual(['condition', 'clear'])
  })
})
