import { describe, expect, it } from 'vitest'
import { defaultRules } from '../../../deploy/rules/default-rules.ts'
import { createRuleEngine } from '../../../services/processor/rules/engine.ts'
import type { Device } from '../../../services/store/repository.ts'
import { type Reading, Rule, type RuleInput } from '../../../shared/index.ts'

/** Threshold `for`, rate of change and the derived ammonia metric, with hand-checked numbers. */
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
const T0 = Date.parse('2026-11-23T15:00:00Z') // 22:00 in the Mekong delta
const MIN = 60_000
const HOUR = 60 * MIN
const ctx = { device, now: T0 + 12 * HOUR, lateAfterMs: 24 * HOUR }
const r = (minutes: number, fields: Record<string, number>): Reading =>
  ({
    ts: T0 + minutes * MIN,
    seq: minutes + 1,
    battery_pct: 90,
    rssi_dbm: -80,
    ...fields,
  }) as Reading
const engine = (rule: RuleInput) => {
  const e = createRuleEngine()
  e.setRules([Rule.parse(rule)])
  return e
}
const base = {
  id: 'r',
  name: 'r',
  scope: { kind: 'pond_sensor' as const },
  severity: 'warning' as const,
  message: '{value}',
}

describe('threshold with `for`', () => {
  const rule = {
    ...base,
    condition: {
      type: 'threshold' as const,
      metric: 'dissolved_oxygen_mg_l',
      op: 'below' as const,
      value: 4,
      for: '20m',
    },
  }

  it('stays pending until the condition has held for the whole duration, then fires', () => {
    const e = engine(rule)
    const [pending, ...rest] = e.evaluate(
      [r(0, { dissolved_oxygen_mg_l: 3.9 }), r(10, { dissolved_oxygen_mg_l: 3.8 })],
      ctx,
    )
    expect(pending?.state).toBe('pending')
    expect(rest).toEqual([])
    // 20 minutes after the first low reading: exactly at `for`, it fires, as the same alert.
    const [ev] = e.evaluate([r(20, { dissolved_oxygen_mg_l: 3.7 })], ctx)
    expect(ev?.state).toBe('firing')
    expect(ev?.alert_id).toBe(pending?.alert_id)
    expect(ev?.reading_ts).toBe(new Date(T0 + 20 * MIN).toISOString())
  })

  it('starts counting again when a reading lets go before `for` is met', () => {
    const e = engine(rule)
    const states = (rs: Reading[]) => e.evaluate(rs, ctx).map((x) => x.state)
    // The pending alert ends quietly when the value recovers.
    expect(
      states([r(0, { dissolved_oxygen_mg_l: 3.9 }), r(10, { dissolved_oxygen_mg_l: 4.1 })]),
    ).toEqual(['pending', 'resolved'])
    expect(
      states([r(20, { dissolved_oxygen_mg_l: 3.9 }), r(30, { dissolved_oxygen_mg_l: 3.9 })]),
    ).toEqual(['pending'])
    expect(states([r(40, { dissolved_oxygen_mg_l: 3.9 })])).toEqual(['firing'])
  })
})

describe('rate of change', () => {
  const rule = {
    ...base,
    message: 'falling {value} mg/L/h',
    condition: {
      type: 'rate_of_change' as const,
      metric: 'dissolved_oxygen_mg_l',
      direction: 'falling' as const,
      per_hour: 0.5,
      clear_per_hour: 0.2,
      window: '2h',
    },
  }

  it('fires when oxygen falls 0.5 mg/L/h (6.0, 5.5, 5.0 at hourly readings), not before it has points', () => {
    const e = engine(rule)
    expect(e.evaluate([r(0, { dissolved_oxygen_mg_l: 6.0 })], ctx)).toEqual([])
    // Two points an hour apart span half the 2 h window: the slope is −0.5, at the bound.
    const [ev] = e.evaluate([r(60, { dissolved_oxygen_mg_l: 5.5 })], ctx)
    expect(ev).toMatchObject({ state: 'firing', value: -0.5, threshold: -0.5, op: 'below' })
    expect(ev?.message).toBe('falling -0.5 mg/L/h')
  })

  it('does not fire on a slower decline, and resolves when the fall slows under clear_per_hour', () => {
    const e = engine(rule)
    expect(
      e.evaluate(
        [r(0, { dissolved_oxygen_mg_l: 6.0 }), r(60, { dissolved_oxygen_mg_l: 5.7 })],
        ctx,
      ),
    ).toEqual([])
    expect(e.evaluate([r(120, { dissolved_oxygen_mg_l: 4.7 })], ctx)[0]?.state).toBe('firing') // slope −0.65
    // Level from here: over the last 2 h (4.7, 4.7, 4.7 … ) the slope rises above −0.2.
    const out = e.evaluate(
      [r(180, { dissolved_oxygen_mg_l: 4.7 }), r(240, { dissolved_oxygen_mg_l: 4.7 })],
      ctx,
    )
    expect(out.map((x) => x.state)).toEqual(['resolved'])
  })

  it('places a late reading in its window without re-deciding the past', () => {
    const e = engine(rule)
    e.evaluate([r(0, { dissolved_oxygen_mg_l: 6.0 }), r(120, { dissolved_oxygen_mg_l: 5.8 })], ctx)
    // The reading from minute 60 arrives last (a backlog); it is older than the last one judged.
    expect(e.evaluate([r(60, { dissolved_oxygen_mg_l: 5.9 })], ctx)).toEqual([])
  })
})

describe('derived metric: un-ionized ammonia', () => {
  it('fires on nh3_mg_l computed from TAN, pH and temperature (1.0 mg/L at pH 8, 28 °C → 0.0654)', () => {
    const e = engine({
      ...base,
      message: 'NH3 {value}',
      condition: { type: 'threshold', metric: 'nh3_mg_l', op: 'above', value: 0.05 },
    })
    const [ev] = e.evaluate([r(0, { tan_mg_l: 1.0, ph: 8.0, water_temp_c: 28 })], ctx)
    expect(ev?.value).toBeCloseTo(0.065384, 5)
    expect(ev?.message).toBe('NH3 0.07')
    // Without pH there is no derived value, so nothing to judge.
    expect(
      engine({
        ...base,
        condition: { type: 'threshold', metric: 'nh3_mg_l', op: 'above', value: 0.05 },
      }).evaluate([r(0, { tan_mg_l: 5 })], ctx),
    ).toEqual([])
  })
})

describe('rule documents', () => {
  it('name the field that is wrong', () => {
    const roc = (c: Record<string, unknown>) =>
      Rule.safeParse({
        ...base,
        condition: {
          type: 'rate_of_change',
          metric: 'ph',
          direction: 'rising',
          per_hour: 0.2,
          window: '2h',
          ...c,
        },
      })
    expect(roc({ clear_per_hour: 0.5 }).error?.issues[0]?.path).toEqual([
      'condition',
      'clear_per_hour',
    ])
    const bad = roc({ window: 'two hours' })
    expect(bad.error?.issues[0]?.path).toEqual(['condition', 'window'])
    expect(bad.error?.issues[0]?.message).toMatch(/write e\.g\. 90s, 10m/)
    expect(
      Rule.safeParse({ ...base, condition: { type: 'seasonal' } }).error?.issues[0]?.path,
    ).toEqual(['condition', 'type'])
  })
})

describe('projection: the dawn-crash warning', () => {
  // DO decaying as 8·e^(−0.1 t), t in hours since 18:00 local (11:00 UTC).
  const DUSK = Date.parse('2026-11-23T11:00:00Z')
  const decay = (halfHours: number): Reading =>
    ({
      ts: DUSK + halfHours * 30 * MIN,
      seq: 1000 + halfHours,
      battery_pct: 90,
      rssi_dbm: -80,
      dissolved_oxygen_mg_l: 8 * Math.exp(-0.1 * (halfHours / 2)),
    }) as Reading
  const rule = {
    ...base,
    severity: 'critical' as const,
    message: 'DO heading for {value} mg/L by {by}; under {threshold} at {reached_at}',
    condition: {
      type: 'projection' as const,
      metric: 'dissolved_oxygen_mg_l',
      op: 'below' as const,
      bound: 3,
      from: '20:00',
      by: '05:30',
      window: '4h',
    },
  }
  const night = { ...ctx, now: DUSK + 12 * HOUR, timeZone: 'Asia/Ho_Chi_Minh' }

  it('fires at 20:00, hours before the oxygen reaches 3 mg/L, with the projected value and time', () => {
    const e = engine(rule)
    // 18:00–19:30: before `from`, nothing is judged.
    expect(e.evaluate([0, 1, 2, 3].map(decay), night)).toEqual([])
    const [ev] = e.evaluate([decay(4)], night) // 20:00
    expect(ev?.state).toBe('firing')
    // log-linear fit of an exact exponential: 8·e^(−1.15) = 2.5329 at 05:30 (t = 11.5 h);
    // the bound is crossed at t = ln(8/3)/0.1 = 9.808 h, i.e. 03:48.
    expect(ev?.value).toBeCloseTo(8 * Math.exp(-1.15), 6)
    expect(ev?.message).toBe('DO heading for 2.53 mg/L by 05:30; under 3 at 03:48')
    // The threshold itself is not reached for hours.
    expect(8 * Math.exp(-0.2)).toBeGreaterThan(3)
  })

  it('needs enough points, and does not fire on a night that levels off', () => {
    const e = engine({ ...rule, condition: { ...rule.condition, from: '18:00', min_points: 4 } })
    expect(e.evaluate([decay(0), decay(1), decay(2)], night)).toEqual([]) // 3 points: too few
    const flat = engine(rule)
    const level = [0, 1, 2, 3, 4, 5].map(
      (h) => ({ ...decay(h), dissolved_oxygen_mg_l: 6 }) as Reading,
    )
    expect(flat.evaluate(level, night)).toEqual([])
  })

  it('records the first projection of the night against the dawn minimum, once the night is over', () => {
    const e = engine(rule)
    // Readings every 30 min from 18:00 to 05:00: the night is not over yet.
    e.evaluate(
      Array.from({ length: 23 }, (_, h) => decay(h)),
      night,
    )
    expect(e.drainForecasts()).toEqual([])
    // The 05:30 reading ends it.
    e.evaluate([decay(23)], night)
    const [f] = e.drainForecasts()
    expect(f?.madeAt).toBe(DUSK + 2 * HOUR) // 20:00, the first projection
    expect(f?.targetTs).toBe(DUSK + 11.5 * HOUR) // 05:30
    expect(f?.projected).toBeCloseTo(8 * Math.exp(-1.15), 6)
    // The decay was exactly exponential, so the log-linear projection was right.
    expect(f?.observed).toBeCloseTo(8 * Math.exp(-1.15), 6)
    expect(e.drainForecasts()).toEqual([])
  })

  it('resolves once the night is over', () => {
    const e = engine(rule)
    e.evaluate([0, 1, 2, 3, 4].map(decay), night)
    const morning = { ...decay(24), dissolved_oxygen_mg_l: 4.5 } as Reading // 06:00
    expect(e.evaluate([morning], night).map((x) => x.state)).toEqual(['resolved'])
  })
})

describe('no data: a device gone silent', () => {
  const rule = {
    ...base,
    message: '{device} silent for {value} h (since {last_seen})',
    resolved_message: '{device} is back',
    condition: { type: 'no_data' as const, after: '15m', missed_readings: 3 },
  }
  // Readings every 10 minutes in device time, arriving as they are taken.
  const feed = (e: ReturnType<typeof engine>, n: number) => {
    for (let i = 0; i < n; i++)
      e.evaluate([r(i * 10, { ph: 7.9 })], { ...ctx, now: T0 + i * 10 * MIN })
  }

  it('fires after three missed 10-minute readings (30 min), on the clock, once', () => {
    const e = engine(rule)
    feed(e, 4) // last reading at minute 30
    const lastArrival = T0 + 30 * MIN
    expect(e.checkSilence(lastArrival + 29 * MIN)).toEqual([])
    const [ev] = e.checkSilence(lastArrival + 30 * MIN)
    expect(ev).toMatchObject({ state: 'firing', metric: 'no_data', threshold: 0.5, value: 0.5 })
    expect(ev?.message).toBe(
      `Pond 2 probe silent for 0.5 h (since ${new Date(lastArrival).toISOString()})`,
    )
    expect(e.checkSilence(lastArrival + 90 * MIN)).toEqual([])
    // The next reading ends it.
    const [back] = e.evaluate([r(120, { ph: 7.9 })], { ...ctx, now: lastArrival + 95 * MIN })
    expect(back).toMatchObject({
      state: 'resolved',
      alert_id: ev?.alert_id,
      message: 'Pond 2 probe is back',
    })
  })

  it('uses `after` alone until the usual interval is known', () => {
    const e = engine(rule)
    feed(e, 1)
    expect(e.checkSilence(T0 + 14 * MIN)).toEqual([])
    expect(e.checkSilence(T0 + 15 * MIN)[0]?.state).toBe('firing')
  })

  it('needs a duration or a count', () => {
    expect(
      Rule.safeParse({ ...base, condition: { type: 'no_data' } }).error?.issues[0]?.message,
    ).toMatch(/give after \(a duration\) or missed_readings/)
  })
})

describe('trend by night: a planthopper wave building up', () => {
  const trapDevice: Device = { ...device, id: 'trap-01', kind: 'pest_trap', name: 'Light trap 1' }
  const trapCtx = {
    ...ctx,
    device: trapDevice,
    now: T0 + 10 * 24 * HOUR,
    timeZone: 'Asia/Ho_Chi_Minh',
  }
  const rule = {
    ...base,
    scope: { kind: 'pest_trap' as const },
    message: 'catches rising {value} per day',
    condition: {
      type: 'trend' as const,
      metric: 'counts.brown_planthopper',
      direction: 'rising' as const,
      per_day: 0.3,
      window: '5d',
      min_points: 4,
      bucket: 'night' as const,
    },
  }
  // Noon of day 0 in Vietnam is 05:00 UTC. Night k catches 100·1.4^k, in 10 hourly trays 19:00–04:00.
  const NOON0 = Date.parse('2026-11-20T05:00:00Z')
  const nightReadings = (k: number, growth = 1.4): Reading[] =>
    Array.from({ length: 10 }, (_, h) => ({
      ts: NOON0 + k * 24 * HOUR + (7 + h) * HOUR,
      seq: k * 100 + h,
      battery_pct: 90,
      rssi_dbm: -80,
      trap_id: 't',
      attractant: 'light_uv',
      interval_s: 3600,
      counts: { brown_planthopper: (100 * growth ** k) / 10 },
    })) as unknown as Reading[]
  const noonReading = (k: number): Reading =>
    ({
      ...nightReadings(k)[0],
      ts: NOON0 + k * 24 * HOUR + 60_000,
      seq: k * 100 + 99,
      counts: { brown_planthopper: 0 },
    }) as unknown as Reading

  it('fires once four complete nights grow 40 % a night (over the 30 % bound)', () => {
    const e = engine(rule)
    for (let k = 0; k < 4; k++)
      expect(e.evaluate(nightReadings(k), trapCtx), `night ${k}`).toEqual([])
    // The first reading after noon closes night 3: four complete nights.
    const [ev] = e.evaluate([noonReading(4)], trapCtx)
    expect(ev?.state).toBe('firing')
    expect(ev?.value).toBeCloseTo(0.4, 6) // e^(ln 1.4) − 1, a compounded 40 %/day
  })

  it('does not fire on a slower rise (10 % a night)', () => {
    const e = engine(rule)
    for (let k = 0; k < 6; k++)
      expect(e.evaluate([...nightReadings(k, 1.1), noonReading(k + 1)], trapCtx)).toEqual([])
  })
})

describe('sensor sanity: a fouled oxygen probe', () => {
  const sanity = {
    ...base,
    id: 'do-probe-stuck',
    message: 'probe stuck at {stuck_at} for {value} h',
    resolved_message: 'probe reads again',
    condition: {
      type: 'sanity' as const,
      metric: 'dissolved_oxygen_mg_l',
      stuck_for: '2h',
      tolerance: 0.01,
      min_points: 6,
    },
  }
  const low = {
    ...base,
    id: 'do-low',
    message: 'DO low',
    condition: {
      type: 'threshold' as const,
      metric: 'dissolved_oxygen_mg_l',
      op: 'below' as const,
      value: 5.5,
      for: '3h',
    },
  }
  const both = () => {
    const e = createRuleEngine()
    e.setRules([Rule.parse(low), Rule.parse(sanity)])
    return e
  }

  it('raises an equipment alert on a flat line and holds back the water-quality alarm it would cause', () => {
    const e = both()
    // 4 h of the same 5.00 mg/L every 10 minutes: real pond DO never holds that still.
    const flat = Array.from({ length: 25 }, (_, i) => r(i * 10, { dissolved_oxygen_mg_l: 5.0 }))
    const events = e.evaluate(flat, ctx)
    // The low reading starts a pending alarm; once the probe is judged stuck, it ends
    // without ever firing.
    expect(events.map((x) => [x.rule_id, x.state])).toEqual([
      ['do-low', 'pending'],
      ['do-probe-stuck', 'firing'],
      ['do-low', 'resolved'],
    ])
    expect(events[1]?.message).toBe('probe stuck at 5 for 2 h')
    // Cleaned: it moves again, the equipment alert ends.
    const moving = [6.1, 6.3, 6.6].map((v, i) => r(250 + i * 10, { dissolved_oxygen_mg_l: v }))
    expect(e.evaluate(moving, ctx).map((x) => [x.rule_id, x.state])).toEqual([
      ['do-probe-stuck', 'resolved'],
    ])
  })

  it('does not take a new probe’s calm first hours for a flat line (default pack)', async () => {
    const pack = defaultRules()
    const e = createRuleEngine()
    e.setRules(pack.filter((x) => x.id === 'pond-do-probe-suspect' || x.id === 'pond-do-critical'))
    // Installed at 22:00: every 5 minutes, oxygen drifting down 0.002 mg/L a reading,
    // then the dawn crash under 3 mg/L. The crash alarm must not be held back.
    const calm = Array.from({ length: 24 }, (_, i) =>
      r(i * 5, { dissolved_oxygen_mg_l: 3.2 - i * 0.002 }),
    )
    const crash = [r(120, { dissolved_oxygen_mg_l: 2.7 })]
    const events = [...e.evaluate(calm, ctx), ...e.evaluate(crash, ctx)]
    expect(events.map((x) => [x.rule_id, x.state])).toEqual([['pond-do-critical', 'firing']])
  })

  it('says how long and around what a probe has barely moved (a flat day)', async () => {
    const suspect = defaultRules().find((x) => x.id === 'pond-do-probe-suspect') as RuleInput
    const e = engine(suspect)
    // 6.10 / 6.12 mg/L every 10 minutes: jitter in the last digit, no day cycle. Judged
    // once the readings span 90 % of the 24 h window.
    const day = Array.from({ length: 24 * 6 + 1 }, (_, i) =>
      r(i * 10, { dissolved_oxygen_mg_l: i % 2 ? 6.12 : 6.1 }),
    )
    const [event] = e.evaluate(day, ctx)
    expect(event?.state).toBe('firing')
    expect(event?.message).toBe(
      'The oxygen probe Pond 2 probe has read 6.11 mg/L for 21.7 h. Clean or check it; its oxygen alarms are paused.',
    )
  })

  it('lets the alarm through for a pond whose oxygen really stays low but moves', () => {
    const e = both()
    const wavering = Array.from({ length: 25 }, (_, i) =>
      r(i * 10, { dissolved_oxygen_mg_l: 5.0 + (i % 2 ? 0.08 : -0.08) }),
    )
    expect(e.evaluate(wavering, ctx).map((x) => [x.rule_id, x.state])).toEqual([
      ['do-low', 'pending'],
      ['do-low', 'firing'],
    ])
  })
})

describe('flapping guard', () => {
  it('after three firings within 2 h, resolves only once the value has stayed clear for 30 min', () => {
    const e = engine({
      ...base,
      flap_guard: { changes: 3, within: '2h', settle: '30m' },
      condition: { type: 'threshold', metric: 'dissolved_oxygen_mg_l', op: 'below', value: 4 },
    })
    // Hovering at the line: 3.9, 4.1, 3.9, 4.1 … every 10 minutes for 100 minutes.
    const hover = Array.from({ length: 10 }, (_, i) =>
      r(i * 10, { dissolved_oxygen_mg_l: i % 2 ? 4.1 : 3.9 }),
    )
    const states = e.evaluate(hover, ctx).map((x) => x.state)
    expect(states).toEqual(['firing', 'resolved', 'firing', 'resolved', 'firing'])
    // Then it stays clear: 20 minutes is not enough, 30 is.
    expect(
      e.evaluate(
        [r(100, { dissolved_oxygen_mg_l: 4.2 }), r(110, { dissolved_oxygen_mg_l: 4.2 })],
        ctx,
      ),
    ).toEqual([])
    expect(e.evaluate([r(120, { dissolved_oxygen_mg_l: 4.2 })], ctx).map((x) => x.state)).toEqual([
      'resolved',
    ])
  })
})

describe('range, trends with too few points, and site scope', () => {
  it('fires on a daily pH swing over 1.0 (7.6 at dawn, 8.7 in the afternoon)', () => {
    const e = engine({
      ...base,
      condition: {
        type: 'range',
        metric: 'ph',
        max_spread: 1.0,
        clear_spread: 0.8,
        window: '24h',
        min_points: 4,
      },
    })
    const day = [7.6, 7.9, 8.3, 8.5].map((ph, i) => r(i * 180, { ph }))
    expect(e.evaluate(day, ctx)).toEqual([]) // spread 0.9
    const [ev] = e.evaluate([r(720, { ph: 8.7 })], ctx) // spread 1.1
    expect(ev).toMatchObject({ state: 'firing', op: 'above', threshold: 1 })
    expect(ev?.value).toBeCloseTo(1.1, 9)
  })

  it('does not judge a trend on fewer points than min_points', () => {
    const e = engine({
      ...base,
      condition: {
        type: 'trend',
        metric: 'ph',
        direction: 'rising',
        per_day: 0.01,
        window: '2d',
        min_points: 4,
      },
    })
    expect(
      e.evaluate(
        [7, 7.5, 8].map((ph, i) => r(i * 600, { ph })),
        ctx,
      ),
    ).toEqual([])
    expect(e.evaluate([r(1800, { ph: 8.5 })], ctx)[0]?.state).toBe('firing')
  })

  it('applies a rule scoped to sites only there', () => {
    const rule = {
      ...base,
      scope: { kind: 'pond_sensor' as const, site_ids: ['pond-9'] },
      condition: { type: 'threshold' as const, metric: 'ph', op: 'above' as const, value: 9 },
    }
    expect(engine(rule).evaluate([r(0, { ph: 9.5 })], ctx)).toEqual([])
    expect(
      engine({ ...rule, scope: { kind: 'pond_sensor', site_ids: ['pond-2'] } }).evaluate(
        [r(0, { ph: 9.5 })],
        ctx,
      ),
    ).toHaveLength(1)
  })
})

describe('degree-days since the biofix', () => {
  const env: Device = { ...device, id: 'env-01', kind: 'env_sensor', name: 'Weather station' }
  const trap: Device = { ...device, id: 'trap-01', kind: 'pest_trap', name: 'Light trap' }
  const zone = { ...ctx, timeZone: 'Asia/Ho_Chi_Minh' }
  // Local midnight of 2026-08-01 in Vietnam.
  const DAY0 = Date.parse('2026-07-31T17:00:00Z')
  const at = (day: number, hour: number) => DAY0 + day * 24 * HOUR + hour * HOUR
  const catchOn = (day: number, n: number): Reading =>
    ({
      ts: at(day, 22),
      seq: day,
      battery_pct: 90,
      rssi_dbm: -80,
      trap_id: 't',
      attractant: 'light_uv',
      interval_s: 3600,
      counts: { brown_planthopper: n },
    }) as unknown as Reading
  // Each day: 24 °C at 05:00, 32 °C at 14:00.
  const weather = (day: number): Reading[] =>
    [
      [5, 24],
      [14, 32],
    ].map(
      ([h, t]) =>
        ({
          ts: at(day, h as number),
          seq: day * 10 + (h as number),
          battery_pct: 90,
          rssi_dbm: -80,
          air_temp_c: t,
        }) as Reading,
    )

  // Alerts above 50 planthopper degree-days, and what weather readings make it say.
  const degreeDayEngine = () => {
    const e = createRuleEngine()
    e.setRules([
      Rule.parse({
        ...base,
        scope: { kind: 'env_sensor' },
        message: '{value} degree-days',
        condition: {
          type: 'threshold',
          metric: 'degree_days.brown_planthopper',
          op: 'above',
          value: 50,
        },
      }),
    ])
    return e
  }
  const weatherEvents = (e: ReturnType<typeof createRuleEngine>) => (readings: Reading[]) =>
    e.evaluate(readings, { ...zone, device: env }).map((x) => `${x.state}:${x.value}`)

  it('counts from the first sustained catch, single-sine between 11 and 32 °C (17 a day here)', () => {
    const e = createRuleEngine()
    e.setRules([
      Rule.parse({
        ...base,
        scope: { kind: 'env_sensor' },
        message: '{value} degree-days since the first catches',
        condition: {
          type: 'threshold',
          metric: 'degree_days.brown_planthopper',
          op: 'above',
          value: 50,
        },
      }),
    ])
    // Two nights with 20+ planthoppers: the biofix is the first of them (day 1, 1 August + 1).
    e.evaluate([catchOn(0, 5)], { ...zone, device: trap })
    e.evaluate([catchOn(1, 30), catchOn(2, 45)], { ...zone, device: trap })
    // 24/32 °C days: between both thresholds, so (24 + 32)/2 − 11 = 17 degree-days a day.
    const fired: string[] = []
    for (let day = 0; day < 6; day++) {
      const evs = e.evaluate(weather(day), { ...zone, device: env })
      fired.push(...evs.map((x) => `${day}:${x.state}:${x.value}`))
    }
    // Days 1, 2, 3 complete by day 4: 51 > 50.
    expect(fired).toEqual(['4:firing:51'])
  })

  it('counts a late reading that lands on a day already complete', () => {
    const e = degreeDayEngine()
    // Biofix on day 0; days 0, 1, 2 are complete by day 3: 3 × 17 = 51.
    e.evaluate([catchOn(0, 25), catchOn(1, 30)], { ...zone, device: trap })
    const events = weatherEvents(e)
    for (let day = 0; day < 3; day++) expect(events(weather(day))).toEqual([])
    expect(events(weather(3))).toEqual(['firing:51'])
    // A backlog arrives: day 1 fell to 14 °C before dawn, so it gave less than 17, and
    // the sum asked on day 3 again is under 50.
    const reading = (ts: number, seq: number, air_temp_c: number) =>
      ({ ts, seq, battery_pct: 90, rssi_dbm: -80, air_temp_c }) as Reading
    expect(events([reading(at(1, 3), 103, 14)])).toEqual([])
    const [after] = events([reading(at(3, 20), 320, 28)])
    expect(after).toMatch(/^resolved:/)
    expect(Number(after?.split(':')[1])).toBeLessThan(50)
  })

  it('starts counting the moment the traps show the biofix, mid-day', () => {
    const e = degreeDayEngine()
    const events = weatherEvents(e)
    // Weather for days 0-3 but no catches yet: no biofix, nothing to count.
    for (let day = 0; day < 4; day++) expect(events(weather(day))).toEqual([])
    // The trap's backlog of nights 0 and 1 arrives: biofix on day 0.
    e.evaluate([catchOn(0, 25), catchOn(1, 30)], { ...zone, device: trap })
    const reading = { ts: at(3, 20), seq: 320, battery_pct: 90, rssi_dbm: -80, air_temp_c: 28 }
    expect(events([reading as Reading])).toEqual(['firing:51'])
  })
})

describe('deviation: a blocked drip line (clogged-dripper-line scenario)', () => {
  it('fires when flow per bar drops under 70 % of the line’s usual, only after the clog', async () => {
    const { loadScenario } = await import('../../../firmware-sim/scenario.ts')
    const { dryRun } = await import('../../../firmware-sim/dry-run.ts')
    const s = await loadScenario(
      `${import.meta.dirname}/../../../firmware-sim/scenarios/clogged-dripper-line.json`,
    )
    const readings = (dryRun(s).get('veg-1-drip') ?? []) as unknown as Reading[]
    const drip: Device = {
      ...device,
      id: 'veg-1-drip',
      kind: 'irrigation_controller',
      name: 'Drip line 1',
    }
    const e = createRuleEngine()
    e.setRules([
      Rule.parse({
        ...base,
        scope: { kind: 'irrigation_controller' },
        message: 'flow per bar at {value} % of usual',
        condition: {
          type: 'deviation',
          metric: 'flow_per_bar',
          op: 'below',
          percent: 70,
          clear_percent: 85,
          window: '3d',
          min_points: 12,
        },
      }),
    ])
    const events = readings.flatMap((r) => e.evaluate([r], { ...ctx, device: drip, now: r.ts }))
    const clogAt = Date.parse('2026-03-06T00:00:00+07:00')
    expect(events.length).toBeGreaterThan(0)
    expect(events[0]?.state).toBe('firing')
    expect(Date.parse(events[0]?.reading_ts ?? '')).toBeGreaterThan(clogAt)
    // 60 % of the emitters blocked: roughly half the flow at more pressure.
    expect(events[0]?.value).toBeLessThan(70)
  })
})

describe('scope by site tags', () => {
  it('applies a rule only at sites whose crop stage it names', () => {
    const e = engine({
      ...base,
      scope: { kind: 'pond_sensor', site_tags: { crop_stage: ['tillering', 'booting'] } },
      condition: { type: 'threshold', metric: 'ph', op: 'above', value: 9 },
    })
    expect(
      e.evaluate([r(0, { ph: 9.5 })], { ...ctx, siteTags: { crop_stage: 'harvest' } }),
    ).toEqual([])
    expect(e.evaluate([r(10, { ph: 9.5 })], ctx)).toEqual([])
    expect(
      e.evaluate([r(20, { ph: 9.5 })], { ...ctx, siteTags: { crop_stage: 'booting' } }),
    ).toHaveLength(1)
  })
})

describe('degree-days from a biofix the agronomist set', () => {
  it('counts from the farm’s biofix date, without any trap catch', () => {
    const env: Device = { ...device, id: 'env-02', kind: 'env_sensor', name: 'Weather station' }
    const e = createRuleEngine()
    e.setRules([
      Rule.parse({
        ...base,
        scope: { kind: 'env_sensor' },
        message: '{value}',
        condition: {
          type: 'threshold',
          metric: 'degree_days.yellow_stem_borer',
          op: 'above',
          value: 20,
        },
      }),
    ])
    // Local midnight of 2026-08-01 in Vietnam; days of 24/32 °C: (24 + 32)/2 − 15 = 13 a day.
    const DAY0 = Date.parse('2026-07-31T17:00:00Z')
    const ctxBiofix = {
      ...ctx,
      device: env,
      timeZone: 'Asia/Ho_Chi_Minh',
      biofix: { yellow_stem_borer: '2026-08-02' },
    }
    const out: string[] = []
    for (let d = 0; d < 5; d++)
      for (const [h, t] of [
        [5, 24],
        [14, 32],
      ] as const)
        out.push(
          ...e
            .evaluate(
              [
                {
                  ts: DAY0 + d * 24 * HOUR + h * HOUR,
                  seq: d * 100 + h,
                  battery_pct: 90,
                  rssi_dbm: -80,
                  air_temp_c: t,
                } as Reading,
              ],
              ctxBiofix,
            )
            .map((x) => `${d}:${x.state}:${x.value}`),
        )
    // 2 and 3 August complete by the 4th: 26 > 20.
    expect(out).toEqual(['3:firing:26']) // on 4 August (day index 3)
  })
})

describe('messages by state', () => {
  it('a pending alert speaks with the rule message, only the end with resolved_message', () => {
    const e = engine({
      ...base,
      message: 'low {value}',
      resolved_message: 'back to {value}',
      condition: { type: 'threshold', metric: 'ph', op: 'below', value: 7, for: '20m' },
    })
    const out = e.evaluate(
      [6.8, 6.7, 6.6, 7.4].map((ph, i) => r(i * 10, { ph })),
      ctx,
    )
    expect(out.map((x) => [x.state, x.message])).toEqual([
      ['pending', 'low 6.8'],
      ['firing', 'low 6.6'],
      ['resolved', 'back to 7.4'],
    ])
  })

  it('a projection needs data over half its window before it judges', () => {
    const e = engine({
      ...base,
      condition: {
        type: 'projection',
        metric: 'dissolved_oxygen_mg_l',
        op: 'below',
        bound: 3,
        from: '20:00',
        by: '05:30',
        window: '3h',
        min_points: 4,
      },
    })
    // Ten readings a minute apart at 22:00 falling fast: far too short a span to project 7 h.
    const T22 = Date.parse('2026-11-23T15:00:00Z')
    const burst = Array.from(
      { length: 10 },
      (_, i) =>
        ({ ...r(0, { dissolved_oxygen_mg_l: 6 - i * 0.1 }), ts: T22 + i * MIN, seq: i }) as Reading,
    )
    expect(e.evaluate(burst, { ...ctx, timeZone: 'Asia/Ho_Chi_Minh' })).toEqual([])
  })
})
