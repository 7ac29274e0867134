import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProvisionedDevice } from '../../../services/store/provisioning.ts'
import { rotateServiceAccount } from '../../../services/store/provisioning.ts'
import {
  type AlertEvent,
  AlertEvent as AlertEventSchema,
  type Reading,
  Rule,
} from '../../../shared/index.ts'
import { eventually, type Stack, seedFarm, startStack } from '../../harness/stack.ts'

/** Rule state survives a processor restart: windows come back from InfluxDB, open alerts from the store. */
let stack: Stack
let device: ProvisionedDevice
let client: MqttClient
const events: AlertEvent[] = []

const send = (minutesAgo: number, seq: number, dissolved_oxygen_mg_l: number) =>
  client.publishAsync(
    `devices/${device.id}/up`,
    JSON.stringify({
      kind: 'pond_sensor',
      ts: Date.now() - minutesAgo * 60_000,
      seq,
      battery_pct: 80,
      rssi_dbm: -80,
      dissolved_oxygen_mg_l,
    }),
    { qos: 1 },
  )
const stored = (seq: number) =>
  eventually(
    () => stack.count(`SELECT COUNT(dissolved_oxygen_mg_l) FROM pond_sensor WHERE seq = ${seq}`),
    (n) => n === 1,
    `reading ${seq} in InfluxDB`,
  )

beforeAll(async () => {
  stack = await startStack()
  ;[device] = (await seedFarm(stack.store, 'farm-restart', [
    { kind: 'pond_sensor', count: 1 },
  ])) as [ProvisionedDevice]
  await stack.store.putRule(
    Rule.parse({
      id: 'do-falling',
      name: 'DO falling fast',
      scope: { kind: 'pond_sensor' },
      severity: 'warning',
      message: 'falling {value}',
      condition: {
        type: 'rate_of_change',
        metric: 'dissolved_oxygen_mg_l',
        direction: 'falling',
        per_hour: 0.5,
        window: '2h',
      },
    }),
  )
  await stack.processor?.reloadRules()
  const secret = await rotateServiceAccount(stack.store, 'watcher', 'notifier')
  const watcher = await stack.connect({
    clientId: 'watcher',
    username: 'watcher',
    password: secret,
  })
  watcher.on('message', (_t, p) => events.push(AlertEventSchema.parse(JSON.parse(p.toString()))))
  await watcher.subscribeAsync('alerts/+', { qos: 1 })
  client = await stack.connectDevice(device)
})
afterAll(async () => {
  await stack?.stop()
})

async function restart() {
  await stack.processor?.stop()
  await stack.startProcessor()
}

describe('a processor restart', () => {
  it('keeps the window of a rate rule (reloaded from InfluxDB), so the decline is still seen', async () => {
    await send(90, 1, 6.0)
    await send(60, 2, 5.7) // −0.3 mg/L/h so far: no alert
    await stored(2)
    expect(events).toEqual([])
    await restart()
    await send(30, 3, 5.0) // with the two before it: −1.0 mg/L/h over the window
    const [ev] = await eventually(
      () => events,
      (e) => e.length > 0,
      'the alert after the restart',
    )
    expect(ev).toMatchObject({ state: 'firing', rule_id: 'do-falling' })
    expect(ev?.value).toBeCloseTo(-1.0, 2)
  })

  it('does not fire an open alert again', async () => {
    await stored(3)
    await restart()
    await send(0, 4, 4.4)
    await stored(4)
    await new Promise((r) => setTimeout(r, 500))
    expect(events.filter((e) => e.state === 'firing')).toHaveLength(1)
  })
})

describe('reminders on the clock', () => {
  it('remind of a firing alert until someone acknowledges it', async () => {
    await stack.processor?.stop()
    await stack.startProcessor({ silenceCheckMs: 100 })
    await stack.store.putRule(
      Rule.parse({
        id: 'do-critical',
        name: 'DO critically low',
        scope: { kind: 'pond_sensor' },
        severity: 'critical',
        message: 'DO {value}',
        renotify_every: '1s',
        condition: { type: 'threshold', metric: 'dissolved_oxygen_mg_l', op: 'below', value: 3 },
      }),
    )
    await stack.processor?.reloadRules()
    await send(0, 10, 2.1)
    const mine = () => events.filter((e) => e.rule_id === 'do-critical')
    await eventually(
      mine,
      (e) => e.filter((x) => x.reminder > 0).length >= 2,
      'two reminders',
      10_000,
    )
    const first = mine()[0]
    expect(first).toMatchObject({ state: 'firing', reminder: 0 })
    expect(
      mine()
        .slice(0, 3)
        .map((e) => e.reminder),
    ).toEqual([0, 1, 2])
    expect(new Set(mine().map((e) => e.alert_id)).size).toBe(1)
    expect(await stack.store.acknowledgeAlert(first?.alert_id as string, 'Chị Lan')).toBe(true)
    // The acknowledgement is announced on the bus (the notifier stops escalating).
    const ack = await eventually(
      () => mine().find((e) => e.state === 'acknowledged'),
      (e) => e !== undefined,
      'the acknowledged event',
    )
    expect(ack).toMatchObject({ alert_id: first?.alert_id, acknowledged_by: 'Chị Lan' })
    const count = mine().length
    await new Promise((r) => setTimeout(r, 2500))
    // At most one reminder already on its way when the acknowledgement landed.
    expect(mine().length - count).toBeLessThanOrEqual(1)
  })
})

describe('degree-days survive a restart', () => {
  it('replays the farm’s weather and trap catches from InfluxDB', async () => {
    const [env, trap] = (await seedFarm(stack.store, 'farm-dd', [
      { kind: 'env_sensor', count: 1 },
      { kind: 'pest_trap', count: 1 },
    ])) as [ProvisionedDevice, ProvisionedDevice]
    await stack.store.putRule(
      Rule.parse({
        id: 'bph-dd',
        name: 'BPH degree-days',
        scope: { kind: 'env_sensor', farm_ids: ['farm-dd'] },
        severity: 'info',
        message: '{value} degree-days',
        condition: {
          type: 'threshold',
          metric: 'degree_days.brown_planthopper',
          op: 'above',
          value: 50,
        },
      }),
    )
    await stack.processor?.reloadRules()
    const DAY = 86_400_000
    // The latest local noon in Vietnam that has passed, and days before it (after local
    // midnight, today's noon is still ahead: a reading stamped then would be clock_ahead).
    const todayNoon =
      Math.floor((Date.now() + 7 * 3_600_000) / DAY) * DAY - 7 * 3_600_000 + 12 * 3_600_000
    const noon = todayNoon <= Date.now() ? todayNoon : todayNoon - DAY
    // History from before this processor started, straight into InfluxDB (as a previous
    // run of the processor would have left it).
    const { createInfluxWriter } = await import('../../../services/influx/client.ts')
    const { readingLines } = await import('../../../services/processor/line-protocol.ts')
    const { createLogger } = await import('../../../services/log.ts')
    const writer = await createInfluxWriter(stack.influx, createLogger('silent'))
    const tags = (d: ProvisionedDevice) => ({ farm: 'farm-dd', site: d.siteId, device: d.id })
    const lines: string[] = []
    let seq = 0
    for (const d of [6, 5])
      lines.push(
        ...readingLines(
          'pest_trap',
          {
            ts: noon - d * DAY + 10 * 3_600_000,
            seq: ++seq,
            battery_pct: 80,
            rssi_dbm: -80,
            trap_id: 't',
            attractant: 'light_uv',
            interval_s: 3600,
            counts: { brown_planthopper: 30 },
          } as unknown as Reading,
          tags(trap),
        ),
      )
    // 24 °C at dawn, 32 °C in the afternoon: 17 degree-days a day.
    for (const d of [5, 4, 3, 2])
      for (const [h, t] of [
        [-7, 24],
        [2, 32],
      ] as const)
        lines.push(
          ...readingLines(
            'env_sensor',
            {
              ts: noon - d * DAY + h * 3_600_000,
              seq: ++seq,
              battery_pct: 80,
              rssi_dbm: -80,
              air_temp_c: t,
            } as unknown as Reading,
            tags(env),
          ),
        )
    await writer.write(lines)
    await writer.close()
    const envClient = await stack.connectDevice(env)
    await stack.processor?.stop()
    await stack.startProcessor()
    const before = events.length
    // Today's first reading: with the replayed days it is past 50 degree-days.
    await envClient.publishAsync(
      `devices/${env.id}/up`,
      JSON.stringify({
        kind: 'env_sensor',
        ts: noon - 3 * 3_600_000,
        seq: ++seq,
        battery_pct: 80,
        rssi_dbm: -80,
        air_temp_c: 26,
      }),
      { qos: 1 },
    )
    const [ev] = await eventually(
      () => events.slice(before).filter((e) => e.rule_id === 'bph-dd'),
      (e) => e.length > 0,
      'the degree-day alert after the restart',
    )
    expect(ev?.state).toBe('firing')
    expect(ev?.value).toBeGreaterThan(50)
    expect(ev?.value).toBeCloseTo(68, 6) // four complete days since the biofix
    envClient.end()
  })
})
