import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { provisionScenario } from '../../../firmware-sim/provision.ts'
import { runScenario } from '../../../firmware-sim/runner.ts'
import { loadScenario } from '../../../firmware-sim/scenario.ts'
import { rotateServiceAccount } from '../../../services/store/provisioning.ts'
import { type AlertEvent, AlertEvent as AlertEventSchema, Rule } from '../../../shared/index.ts'
import { eventually, type Stack, startStack } from '../../harness/stack.ts'

/**
 * Ready scenarios played through the real broker, processor and influxd with the default
 * rule pack: the dawn-crash projection warns hours before the threshold is crossed; a
 * leak fires and resolves when the line is repaired.
 */
let stack: Stack
let watcher: MqttClient
const events: AlertEvent[] = []
const root = join(import.meta.dirname, '../../..')

beforeAll(async () => {
  stack = await startStack()
  const rules = JSON.parse(
    readFileSync(join(root, 'deploy/rules/default-rules.json'), 'utf8'),
  ) as unknown[]
  for (const r of rules) await stack.store.putRule(Rule.parse(r))
  await stack.processor?.reloadRules()
  const secret = await rotateServiceAccount(stack.store, 'watcher', 'notifier')
  watcher = await stack.connect({ clientId: 'watcher', username: 'watcher', password: secret })
  watcher.on('message', (_t, p) => events.push(AlertEventSchema.parse(JSON.parse(p.toString()))))
  await watcher.subscribeAsync('alerts/+', { qos: 1 })
})
afterAll(async () => {
  await stack?.stop()
})

/** Plays a ready scenario at full speed through the stack; every reading acknowledged. */
async function play(name: string) {
  const scenario = await loadScenario(join(root, `firmware-sim/scenarios/${name}.json`))
  const creds = await provisionScenario(stack.store, scenario, join(stack.dir, 'creds.json'))
  const run = runScenario({
    scenario,
    mqttUrl: stack.mqttUrl,
    secrets: creds.secrets,
    speed: 'max',
  })
  expect((await run.done).failed).toBe(0)
  await run.stop()
}

describe('ready scenarios with the default rules', () => {
  it('fires the dawn-crash projection before the 3 mg/L threshold rule', async () => {
    await play('cloudy-dawn-crash')
    const firing = (id: string) => events.find((e) => e.rule_id === id && e.state === 'firing')
    await eventually(
      () => firing('pond-do-critical'),
      (e) => e !== undefined,
      'the threshold alert',
    )
    const projection = firing('pond-dawn-crash')
    const threshold = firing('pond-do-critical')
    expect(projection).toBeDefined()
    const lead = Date.parse(threshold?.reading_ts ?? '') - Date.parse(projection?.reading_ts ?? '')
    // At least two hours of warning to start the aerators.
    expect(lead).toBeGreaterThan(2 * 3_600_000)
    // Next morning the projection is kept against what the pond reached (forecast_error).
    const forecast = await eventually(
      () =>
        stack.query(
          `SELECT projected, observed, error, lead_h FROM forecast_error WHERE rule = 'pond-dawn-crash'`,
        ),
      (s) => (s[0]?.values.length ?? 0) > 0,
      'the forecast error',
    )
    const [, projected, observed, error, leadH] = (forecast[0]?.values[0] ?? []) as number[]
    expect(observed).toBeLessThan(3)
    expect(error).toBeCloseTo((projected as number) - (observed as number), 9)
    expect(leadH).toBeCloseTo(9.5, 1) // made at 20:00 for 05:30
    expect(projection?.message).toMatch(
      /heading for \d+\.\d+ mg\/L by 05:30 and will pass 3 mg\/L around \d\d:\d\d/,
    )
  })

  it('irrigation-leak: flow with the valve closed fires the leak alert, which resolves after the repair', async () => {
    await play('irrigation-leak')
    const leak = await eventually(
      () => events.filter((e) => e.rule_id === 'irrigation-leak'),
      (e) => e.some((x) => x.state === 'resolved'),
      'the leak alert to resolve',
    )
    // Pending for the rule's 10 minutes, then firing, then resolved — one alert throughout.
    expect(leak.map((e) => e.state)).toEqual(['pending', 'firing', 'resolved'])
    expect(new Set(leak.map((e) => e.alert_id)).size).toBe(1)
    const firedAt = Date.parse(leak[1]?.reading_ts ?? '')
    const leakAt = Date.parse('2026-03-05T10:00:00+07:00')
    const repairedAt = Date.parse('2026-03-06T09:00:00+07:00')
    // After the crack, within the rule's 10 minutes plus the readings' 5-minute interval.
    expect(firedAt).toBeGreaterThan(leakAt)
    expect(firedAt - leakAt).toBeLessThanOrEqual(25 * 60_000)
    expect(Date.parse(leak[2]?.reading_ts ?? '')).toBeGreaterThanOrEqual(repairedAt)
    expect(leak[1]?.message).toMatch(/L\/min is flowing at .* with the valve closed/)
  })

  it('backtests a rule on the stored night with the same engine: the same firing as live', async () => {
    const { backtest } = await import('../../../services/processor/rules/backtest.ts')
    const { createInfluxQuery } = await import('../../../services/influx/client.ts')
    const { createDeviceDirectory } = await import(
      '../../../services/processor/device-directory.ts'
    )
    const rules = JSON.parse(
      readFileSync(join(root, 'deploy/rules/default-rules.json'), 'utf8'),
    ) as unknown[]
    const dawn = Rule.parse(rules.find((r) => (r as { id: string }).id === 'pond-dawn-crash'))
    const scenario = await loadScenario(join(root, 'firmware-sim/scenarios/cloudy-dawn-crash.json'))
    const live = events.find((e) => e.rule_id === 'pond-dawn-crash' && e.state === 'firing')
    const result = await backtest({
      rule: dawn,
      from: scenario.startMs,
      to: scenario.endMs,
      influx: createInfluxQuery(stack.influx),
      devices: createDeviceDirectory(stack.store),
    })
    expect(result.devices).toBe(1)
    expect(result.readings).toBeGreaterThan(100)
    const fired = result.events.find((e) => e.state === 'firing')
    expect(fired?.reading_ts).toBe(live?.reading_ts)
    expect(fired?.value).toBeCloseTo(live?.value as number, 9)
    // A draft with a lower bound would have warned later, or not at all.
    const draft = await backtest({
      rule: { ...dawn, condition: { ...dawn.condition, bound: 1.5 } as typeof dawn.condition },
      from: scenario.startMs,
      to: scenario.endMs,
      influx: createInfluxQuery(stack.influx),
      devices: createDeviceDirectory(stack.store),
    })
    const draftFired = draft.events.find((e) => e.state === 'firing')
    if (draftFired)
      expect(Date.parse(draftFired.reading_ts)).toBeGreaterThan(Date.parse(fired?.reading_ts ?? ''))
  })
})
