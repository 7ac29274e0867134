import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { provisionScenario } from '../../../firmware-sim/provision.ts'
import { runScenario } from '../../../firmware-sim/runner.ts'
import { loadScenario, type Scenario } from '../../../firmware-sim/scenario.ts'
import { eventually, type Stack, startStack } from '../../harness/stack.ts'

/**
 * Scenarios played through the real broker, processor and influxd, as fast as the broker
 * acknowledges: what the devices sent is what InfluxDB holds, at the devices' times.
 */
let stack: Stack
const scenarios = join(import.meta.dirname, '../../../firmware-sim/scenarios')

async function play(name: string) {
  const scenario = await loadScenario(join(scenarios, `${name}.json`))
  const creds = await provisionScenario(
    stack.store,
    scenario,
    join(stack.dir, 'sim-credentials.json'),
  )
  const run = runScenario({
    scenario,
    mqttUrl: stack.mqttUrl,
    secrets: creds.secrets,
    networkServer: creds.networkServer ?? undefined,
    speed: 'max',
    record: true,
  })
  const stats = await run.done
  await run.stop()
  return { scenario, stats, sent: run.sentReadings }
}

/** Every (device, seq, time) stored for the devices of a scenario. */
async function storedReadings(s: Scenario) {
  const out = new Map<string, number>()
  for (const d of s.devices) {
    const series = await stack.query(
      `SELECT seq FROM device_health WHERE device = $d AND time >= ${s.startMs}ms AND time <= ${s.endMs}ms`,
      { d: d.id },
    )
    for (const row of series[0]?.values ?? []) out.set(`${d.id}#${row[1]}`, row[0] as number)
  }
  return out
}

beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.stop()
})

describe('scenarios end to end', () => {
  it('offline-backlog: every reading, sent live or as a backlog batch, is stored at its original time', async () => {
    const { scenario, stats, sent } = await play('offline-backlog')
    expect(stats.failed).toBe(0)
    expect(stats.backlogged).toBeGreaterThan(60) // 6 h of 5-minute readings
    expect(stats.acknowledged).toBe(stats.sent)
    const expected = new Map(sent.map((r) => [`${r.deviceId}#${r.seq}`, r.ts]))
    const stored = await eventually(
      () => storedReadings(scenario),
      (m) => m.size >= expected.size,
      'every reading in InfluxDB',
    )
    expect(stored).toEqual(expected)
    // The backlog arrived in batches after the device came back, with the night's times.
    const night = [...stored.entries()].filter(
      ([k, ts]) =>
        k.startsWith('pond-a-probe#') &&
        ts > Date.parse('2026-07-20T15:00:00Z') &&
        ts < Date.parse('2026-07-20T21:00:00Z'),
    )
    expect(night.length).toBeGreaterThanOrEqual(70)
    // While it was away the broker published its will; then it said it was back.
    const status = await stack.query(
      `SELECT online, reason FROM device_status WHERE device = 'pond-a-probe'`,
    )
    expect(status[0]?.values.map((r) => r[2])).toContain('connection lost')
  })

  it('duplicate-sends: a resent reading is stored once', async () => {
    const { scenario, stats, sent } = await play('duplicate-sends')
    expect(stats.duplicates).toBeGreaterThan(10)
    const unique = new Set(sent.map((r) => `${r.deviceId}#${r.seq}`))
    const stored = await eventually(
      () => storedReadings(scenario),
      (m) => m.size >= unique.size,
      'the readings in InfluxDB',
    )
    expect(stored.size).toBe(unique.size)
    expect(
      await stack.count(
        `SELECT COUNT(dissolved_oxygen_mg_l) FROM pond_sensor WHERE device = 'pond-a-probe' AND farm = 'sim-farm' AND time >= '2026-07-19T23:00:00Z' AND time <= '2026-07-20T11:00:00Z'`,
      ),
    ).toBe(unique.size)
  })

  it('faults: the processor quarantines each broken uplink for the reason it is tagged with', async () => {
    const before = await stack.store.countQuarantine()
    const { stats } = await play('faults')
    expect(stats.faults).toEqual({
      malformed_json: 3,
      wrong_types: 2,
      out_of_range: 2,
      oversized: 1,
      unknown_device: 1,
    })
    // The unregistered device never got past the broker.
    expect(stats.refused).toBe(1)
    const after = await eventually(
      () => stack.store.countQuarantine(),
      (c) => (c.too_large ?? 0) > (before.too_large ?? 0),
      'the quarantine',
    )
    const delta = (r: string) => (after[r] ?? 0) - (before[r] ?? 0)
    expect(delta('not_json')).toBe(3)
    expect(delta('invalid')).toBe(4)
    expect(delta('too_large')).toBe(1)
  })

  it('lorawan-farm: uplinks through ChirpStack and The Things Stack, backlog frames with their own times', async () => {
    const { scenario, stats, sent } = await play('lorawan-farm')
    expect(stats.failed).toBe(0)
    expect(stats.backlogged).toBeGreaterThan(10)
    const stored = await eventually(
      () => storedReadings(scenario),
      (m) => m.size >= sent.length,
      'every LoRaWAN reading in InfluxDB',
    )
    // The network server numbers frames (fCnt) from 0; the reading's seq is the frame counter.
    expect(stored.size).toBe(sent.length)
    expect([...stored.values()].sort()).toEqual(sent.map((r) => r.ts).sort())
  })
})
