import { describe, expect, it } from 'vitest'
import { createLogger } from '../../../services/log.ts'
import type { AlertSink } from '../../../services/processor/alert-sink.ts'
import type { SourceMessage } from '../../../services/processor/mqtt-source.ts'
import { createDeviceDirectory, createPipeline } from '../../../services/processor/pipeline.ts'
import { createRuleEngine } from '../../../services/processor/rules/engine.ts'
import { createWriteBatcher } from '../../../services/processor/write-batcher.ts'
import { registerDevices } from '../../../services/store/provisioning.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'
import { Rule } from '../../../shared/index.ts'

/**
 * The pipeline's own logic, on the real store (SQLite in memory) and the real batcher;
 * InfluxDB is replaced by a line recorder because what is tested here is when messages
 * are acknowledged, retried and quarantined (the integration tests use a real influxd).
 */
const log = createLogger('silent')

async function setup(
  opts: {
    failQuarantineOnce?: boolean
    rejectLinesWith?: string
    influx?: { down: boolean }
    rules?: Rule[]
  } = {},
) {
  const store = openSqliteStore(':memory:')
  await store.createFarm({ id: 'f', name: 'F', timezone: 'UTC' })
  const [device] = await registerDevices(store, {
    farmId: 'f',
    kind: 'pond_sensor',
    ids: ['pond-1'],
  })
  const written: string[] = []
  let failQuarantine = opts.failQuarantineOnce ?? false
  const flakyStore = Object.assign(Object.create(store), {
    quarantine: async (...args: Parameters<typeof store.quarantine>) => {
      if (failQuarantine) {
        failQuarantine = false
        throw new Error('database is locked')
      }
      return store.quarantine(...args)
    },
  }) as typeof store
  const batcher = createWriteBatcher({
    writer: {
      async writeBody(body) {
        const lines = body.split('\n')
        if (opts.influx?.down)
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
        const bad =
          opts.rejectLinesWith && lines.find((l) => l.includes(opts.rejectLinesWith as string))
        if (bad)
          throw Object.assign(new Error('partial write: field type conflict'), { statusCode: 400 })
        written.push(...lines)
      },
    },
    maxLines: 1000,
    flushMs: 1,
    isRetriable: (err) => (err as { statusCode?: number }).statusCode !== 400,
    retryDelayMs: () => 1,
    log,
  })
  const alerts: AlertSink = {
    async emit(events, startedAt) {
      for (const e of events) await store.saveAlertEvent(e, startedAt(e))
    },
    announce: async () => {},
    resend: () => {},
    published: () => 0,
    close: async () => {},
  }
  const pipeline = createPipeline({
    store: flakyStore,
    devices: createDeviceDirectory(store),
    batcher,
    rules: (() => {
      const engine = createRuleEngine()
      if (opts.rules) engine.setRules(opts.rules)
      return engine
    })(),
    alerts,
    lateAfterMs: 60_000,
    log,
  })
  const acked: string[] = []
  const message = (payload: string, id: string): SourceMessage => ({
    topic: `devices/${device?.id}/up`,
    payload: Buffer.from(payload),
    receivedAt: Date.now(),
    ack: () => acked.push(id),
  })
  return { store, pipeline, acked, written, message }
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5))
}
const good = (seq: number, ph = 7.5) =>
  JSON.stringify({ kind: 'pond_sensor', ts: Date.now(), seq, battery_pct: 50, rssi_dbm: -70, ph })

describe('pipeline acknowledgements', () => {
  it('acknowledges a reading only after its lines are written', async () => {
    const { pipeline, acked, written, message } = await setup()
    await pipeline.handle(message(good(1), 'm1'))
    expect(acked).toEqual([])
    await until(() => acked.length === 1)
    expect(acked).toEqual(['m1'])
    expect(written.some((l) => l.startsWith('pond_sensor,') && l.includes('ph=7.5'))).toBe(true)
  })

  it('raises an oxygen alarm while InfluxDB is down, and acknowledges once it is back', async () => {
    const influx = { down: true }
    const critical = Rule.parse({
      id: 'do-critical',
      name: 'Oxygen critical',
      scope: { kind: 'pond_sensor' },
      severity: 'critical',
      message: 'Oxygen {value} mg/L',
      condition: { type: 'threshold', metric: 'dissolved_oxygen_mg_l', op: 'below', value: 3 },
    })
    const { store, pipeline, acked, written, message } = await setup({ influx, rules: [critical] })
    const crash = JSON.parse(good(1)) as Record<string, unknown>
    await pipeline.handle(message(JSON.stringify({ ...crash, dissolved_oxygen_mg_l: 2.4 }), 'm1'))
    // The alarm is saved (and so published) at once; the reading waits for InfluxDB.
    let firing: unknown[] = []
    for (let i = 0; i < 100 && firing.length === 0; i++) {
      firing = (await store.openAlerts()).filter((a) => a.ruleId === 'do-critical')
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(firing).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 30))
    expect(acked).toEqual([])
    expect(written).toEqual([])
    influx.down = false
    await until(() => acked.length === 1)
    expect(acked).toEqual(['m1'])
    expect(written.some((l) => l.includes('dissolved_oxygen_mg_l=2.4'))).toBe(true)
  })

  it('retries a message whose quarantine failed, instead of leaving it unacknowledged', async () => {
    const { store, pipeline, acked, message } = await setup({ failQuarantineOnce: true })
    await pipeline.handle(message('not json', 'bad'))
    await until(() => acked.length === 1)
    expect(acked).toEqual(['bad'])
    expect(pipeline.stats().retried).toBe(1)
    expect(await store.countQuarantine()).toEqual({ not_json: 1 })
  })

  it('quarantines only the message InfluxDB refuses and writes the rest of its batch', async () => {
    const { store, pipeline, acked, written, message } = await setup({ rejectLinesWith: 'ph=6.66' })
    await pipeline.handle(message(good(1), 'a'))
    await pipeline.handle(message(good(2, 6.66), 'b'))
    await pipeline.handle(message(good(3), 'c'))
    await until(() => acked.length === 3)
    expect(acked.sort()).toEqual(['a', 'b', 'c'])
    expect(written.filter((l) => l.startsWith('pond_sensor,'))).toHaveLength(2)
    const [q] = await store.listQuarantine({})
    expect(q?.reason).toBe('rejected_by_influxdb')
    expect(q?.detail).toContain('field type conflict')
  })

  it('quarantines a reading stamped hours ahead of the server clock, saying what to fix', async () => {
    const { store, pipeline, acked, written, message } = await setup()
    const ahead = JSON.stringify({
      kind: 'pond_sensor',
      ts: Date.now() + 7 * 3_600_000,
      seq: 9,
      battery_pct: 50,
      rssi_dbm: -70,
      ph: 7.5,
    })
    await pipeline.handle(message(ahead, 'ahead'))
    await until(() => acked.length === 1)
    expect(written).toEqual([])
    const [q] = await store.listQuarantine({})
    expect(q?.reason).toBe('clock_ahead')
    expect(q?.detail).toMatch(/7\.0 h ahead of the server clock .*set the device's clock/)
    // A few minutes fast is within the tolerance.
    await pipeline.handle(
      message(good(10).replace(/"ts":\d+/, `"ts":${Date.now() + 120_000}`), 'ok'),
    )
    await until(() => acked.length === 2)
    expect(acked).toEqual(['ahead', 'ok'])
  })
})
