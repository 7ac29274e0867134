import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadReading } from '../../firmware-sim/load.ts'
import { createDeviceDirectory } from '../../services/processor/device-directory.ts'
import { readingLines } from '../../services/processor/line-protocol.ts'
import { decode, validate } from '../../services/processor/pipeline.ts'
import { createRuleEngine } from '../../services/processor/rules/engine.ts'
import { openSqliteStore } from '../../services/store/sqlite-store.ts'
import { type DeviceKind, deviceKinds } from '../../shared/readings.ts'
import { cleanupAll } from '../lib/children.ts'
import { createFixture } from '../lib/fixture.ts'

/**
 * CPU per reading of the processor's own steps, without MQTT, InfluxDB or other
 * processes on the same cores: decode + validate, line protocol, rule context, rule
 * evaluation (default rule pack). For finding where a change helps before a full
 * `npm run bench`. Device time advances 10 ms a reading, so windows fill as `--rounds`
 * grows (a window's length is what the look-back rules cost).
 *
 *   node bench/micro/per-reading.ts [--devices 10000] [--rounds 30]
 */
const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '30' },
  },
})
const devices = Number(values.devices)
const rounds = Number(values.rounds)

const fixture = await createFixture(devices, 'micro')
const store = openSqliteStore(join(fixture.dataDir, 'tani.db'))
const directory = createDeviceDirectory(store)
const rules = createRuleEngine()
rules.setRules(await store.listRules())

const spent = { decode: 0, lines: 0, context: 0, evaluate: 0 }
let ts = Date.now() - rounds * devices * 10
let seq = 0
let events = 0
// The first round fills caches and windows; it is not counted.
for (let round = 0; round < rounds; round++) {
  if (round === 1) for (const k of Object.keys(spent)) spent[k as keyof typeof spent] = 0
  for (let i = 0; i < devices; i++) {
    const kind = deviceKinds[i % deviceKinds.length] as DeviceKind
    ts += 10
    const payload = Buffer.from(loadReading(kind, seq++, ts, Math.random()))
    let t0 = performance.now()
    const message = { topic: `devices/bench-${i}/up`, payload, receivedAt: ts, ack() {} }
    const valid = await validate(decode(message), directory)
    if (valid.channel !== 'up') throw new Error('expected an uplink')
    let t1 = performance.now()
    spent.decode += t1 - t0
    const { device } = valid
    t0 = t1
    for (const r of valid.uplink.readings)
      readingLines(device.kind, r, { farm: device.farmId, site: device.siteId, device: device.id })
    t1 = performance.now()
    spent.lines += t1 - t0
    t0 = t1
    const context = directory.peekRuleContext(device) ?? (await directory.ruleContext(device))
    t1 = performance.now()
    spent.context += t1 - t0
    t0 = t1
    events += rules.evaluate(valid.uplink.readings, {
      device,
      ...context,
      now: ts,
      lateAfterMs: 900_000,
    }).length
    spent.evaluate += performance.now() - t0
  }
}
const counted = devices * (rounds - 1)
const perReading = Object.entries(spent).map(
  ([step, ms]) => `${step} ${((ms * 1000) / counted).toFixed(2)}`,
)
const total = Object.values(spent).reduce((a, b) => a + b, 0)
console.log(
  `${devices} devices, ${counted} readings (${events} alert events), µs a reading: ${perReading.join(', ')}; total ${((total * 1000) / counted).toFixed(2)}`,
)
await store.close()
await cleanupAll()
