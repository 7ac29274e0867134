import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInfluxWriter } from '../../../services/influx/client.ts'
import { readingLines } from '../../../services/processor/line-protocol.ts'
import { registerDevices } from '../../../services/store/provisioning.ts'
import { PestTrapReading } from '../../../shared/index.ts'
import { type ApiWorld, type Person, startApiWorld } from '../../harness/api.ts'
import { type Stack, startStack } from '../../harness/stack.ts'

/**
 * POST /rules/backtest over a real influxd: a week of nightly light-trap catches, stored
 * exactly as the processor stores them, and a draft trend rule whose firing and
 * resolving times were worked out by hand (below).
 */

let stack: Stack
let w: ApiWorld

/**
 * The trap empties its tray at 06:00 (farm time, UTC+7) and reports the night's catch of
 * brown planthoppers, mornings 0–7 = 20–27 November 2026. Nights are counted noon to noon,
 * so morning j's catch is the night that began at noon the day before.
 */
const catches = [100, 100, 100, 200, 400, 400, 200, 200]
const morning = (j: number) => Date.parse(`2026-11-${20 + j}T06:00:00+07:00`)

/**
 * The draft: catches rising more than 30 % a night over 3 days, ending under 10 %.
 *
 * At morning d the engine judges complete nights only (begun before today's noon, so up to
 * morning d−1) within 3 days of the newest: mornings d−4 … d−1, at least 3 of them. It
 * fits ln(catch) against days; with catches 100·2^k, the slope is s·ln 2 and the growth
 * e^(s·ln 2) − 1 = 2^s − 1. For four nights (days −1.5, −0.5, 0.5, 1.5 from their mean,
 * Σ of squares 5): s = (−1.5 k1 − 0.5 k2 + 0.5 k3 + 1.5 k4) / 5; for three, (k3 − k1) / 2.
 *
 *   morning 3: k = 0,0,0    s = 0                      growth 0        ok
 *   morning 4: k = 0,0,0,1  s = 1.5/5 = 0.3            2^0.3−1 = 0.231 < 0.3, ok
 *   morning 5: k = 0,0,1,2  s = (0.5+3)/5 = 0.7        2^0.7−1 = 0.625 ≥ 0.3, FIRES
 *   morning 6: k = 0,1,2,2  s = (−0.5+1+3)/5 = 0.7     0.625 ≥ 0.1, still firing
 *   morning 7: k = 1,2,2,1  s = (−1.5−1+1+1.5)/5 = 0   0 < 0.1, RESOLVES
 *
 * Fires 2026-11-25T06:00+07:00 = 2026-11-24T23:00Z; resolves 2026-11-27T06:00+07:00 =
 * 2026-11-26T23:00Z.
 */
const FIRED_AT = '2026-11-24T23:00:00.000Z'
const RESOLVED_AT = '2026-11-26T23:00:00.000Z'
const rising = {
  id: 'draft-bph-rising',
  name: 'Brown planthopper catches rising (draft)',
  scope: { kind: 'pest_trap' },
  severity: 'warning',
  message:
    'Brown planthopper catches at {device} are rising {value} a night (over {threshold}). Scout the fields this week.',
  condition: {
    type: 'trend',
    metric: 'counts.brown_planthopper',
    direction: 'rising',
    per_day: 0.3,
    clear_per_day: 0.1,
    window: '3d',
    min_points: 3,
    bucket: 'night',
  },
}
const week = { from: '2026-11-20T00:00:00+07:00', to: '2026-11-27T12:00:00+07:00' }

const run = (as: Person, body: object) => w.call('POST', '/rules/backtest', { as, body })

beforeAll(async () => {
  stack = await startStack({ processor: false })
  w = await startApiWorld({ store: stack.store, influx: stack.influx })
  await stack.store.createSite({
    id: 'field-a1',
    farmId: 'farm-a',
    name: 'Field A1',
    kind: 'field',
    latitude: null,
    longitude: null,
    tags: { crop: 'rice' },
  })
  await registerDevices(stack.store, {
    farmId: 'farm-a',
    siteId: 'field-a1',
    kind: 'pest_trap',
    ids: ['trap-a1'],
  })
  // The same week at a trap of the other cooperative (delta's farm-x).
  await registerDevices(stack.store, { farmId: 'farm-x', kind: 'pest_trap', ids: ['trap-x1'] })
  const writer = await createInfluxWriter(stack.influx, stack.log)
  const lines = catches.flatMap((n, j) => {
    const reading = PestTrapReading.parse({
      ts: morning(j),
      seq: j + 1,
      battery_pct: 90,
      rssi_dbm: -85,
      trap_id: 'T1',
      attractant: 'light_uv',
      interval_s: 86_400,
      counts: { brown_planthopper: n },
    })
    return [
      ...readingLines('pest_trap', reading, {
        farm: 'farm-a',
        site: 'field-a1',
        device: 'trap-a1',
      }),
      ...readingLines('pest_trap', reading, { farm: 'farm-x', site: null, device: 'trap-x1' }),
    ]
  })
  await writer.write(lines)
  await writer.close()
})

afterAll(async () => {
  await w?.close()
  await stack?.stop()
})

describe('POST /rules/backtest on a stored week of trap catches', () => {
  it('fires and resolves the draft trend rule at the hand-computed mornings', async () => {
    const res = await run('agronomist', { ...week, rule: rising })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ readings: 8, devices: 1 })
    expect(body.events.map((e: { state: string }) => e.state)).toEqual(['firing', 'resolved'])
    const [fired, resolved] = body.events
    expect(fired).toMatchObject({
      reading_ts: FIRED_AT,
      device_id: 'trap-a1',
      farm_id: 'farm-a',
      site_id: 'field-a1',
      metric: 'counts.brown_planthopper',
      threshold: 0.3,
      message:
        'Brown planthopper catches at trap-a1 are rising 0.62 a night (over 0.3). Scout the fields this week.',
    })
    expect(fired.value).toBeCloseTo(2 ** 0.7 - 1, 9)
    expect(resolved).toMatchObject({ reading_ts: RESOLVED_AT, alert_id: fired.alert_id })
    expect(resolved.value).toBeCloseTo(0, 9)
    expect(body.episodes).toEqual([
      {
        alert_id: fired.alert_id,
        device_id: 'trap-a1',
        farm_id: 'farm-a',
        site_id: 'field-a1',
        fired_at: FIRED_AT,
        resolved_at: RESOLVED_AT,
        value: fired.value,
        threshold: 0.3,
      },
    ])
  })

  it('judges the first morning of a later range on the nights before it', async () => {
    const res = await run('technician', {
      rule: rising,
      from: '2026-11-25T00:00:00+07:00',
      to: week.to,
    })
    expect(res.json().episodes).toMatchObject([{ fired_at: FIRED_AT, resolved_at: RESOLVED_AT }])
  })

  it('shows a stricter draft would not have fired (0.625 a night is under 0.7)', async () => {
    const strict = { ...rising, condition: { ...rising.condition, per_day: 0.7 } }
    const res = await run('agronomist', { ...week, rule: strict })
    expect(res.json()).toMatchObject({ events: [], episodes: [], devices: 1 })
  })

  it("never reads another cooperative's trap: delta sees only its own", async () => {
    const mekong = (await run('admin', { ...week, rule: rising })).json()
    expect(mekong.events.map((e: { device_id: string }) => e.device_id)).not.toContain('trap-x1')
    const delta = (await run('otherAdmin', { ...week, rule: rising })).json()
    expect(delta).toMatchObject({ readings: 8, devices: 1 })
    expect(delta.episodes).toMatchObject([
      { device_id: 'trap-x1', fired_at: FIRED_AT, resolved_at: RESOLVED_AT },
    ])
    // A mekong rule scoped to delta's farm is refused rather than run.
    const scoped = { ...rising, scope: { kind: 'pest_trap', farm_ids: ['farm-x'] } }
    const refused = await run('agronomist', { ...week, rule: scoped })
    expect(refused.json().fields[0].field).toBe('body.rule.scope.farm_ids')
  })
})
