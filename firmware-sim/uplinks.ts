import { MAX_BATCH_READINGS } from '../shared/readings.ts'
import { topics } from '../shared/topics.ts'
import { chirpstackUplink, ttsUplink } from './lorawan.ts'
import type { RunStats, SentReading, Sim } from './runner-types.ts'
import type { Scenario } from './scenario.ts'
import type { SimReading } from './sensors.ts'

/**
 * How a simulated device's readings leave it: one JSON message each over its own MQTT
 * connection, a backlog as batches (under the reading and byte limits), or a LoRaWAN
 * frame each through the network server's connection.
 */
const MAX_BATCH_BYTES = 200 * 1024

export function createUplinks(ctx: {
  scenario: Scenario
  stats: RunStats
  record: boolean
  sentReadings: SentReading[]
  track(p: Promise<void>, count?: number): Promise<void>
  chance(deviceId: string, p: number): boolean
  simNow(): number
}) {
  const { scenario, stats, sentReadings, track, chance } = ctx
  const opts = { record: ctx.record }
  function sendFrame(sim: Sim, reading: SimReading, timestampInFrame: boolean, devEui?: string) {
    const rssi = typeof reading.rssi_dbm === 'number' ? reading.rssi_dbm : -100
    const eui = devEui ?? (sim.spec.dev_eui as string)
    // A store-and-forward frame reaches the network server now (simulated), not when it was read.
    const receivedAt = timestampInFrame ? Math.max(ctx.simNow(), reading.ts) : reading.ts
    const common = {
      fCnt: sim.fCnt++,
      rssi,
      snr: 7.5,
      withObject: false,
      timestampInFrame,
      receivedAt,
    }
    return sim.spec.transport === 'tts'
      ? ttsUplink(
          { devEui: eui, deviceId: sim.spec.id, applicationId: scenario.farm.id, tenantId: 'tani' },
          reading,
          common,
        )
      : chirpstackUplink(
          { devEui: eui, name: sim.spec.name ?? sim.spec.id, applicationId: scenario.farm.id },
          reading,
          common,
        )
  }

  /** Sends readings now: one message (LoRaWAN: one frame each), or batches for a backlog. */
  function send(sim: Sim, readings: SimReading[], asBacklog: boolean): Promise<void> {
    const out: Promise<void>[] = []
    if (sim.spec.transport !== 'mqtt') {
      for (const r of readings) {
        const fCnt = sim.fCnt
        const { topic, payload } = sendFrame(sim, r, asBacklog)
        // The frame carries whole seconds; the frame counter becomes the reading's seq.
        if (opts.record)
          sentReadings.push({
            deviceId: sim.spec.id,
            seq: fCnt,
            ts: asBacklog ? Math.floor(r.ts / 1000) * 1000 : r.ts,
            duplicate: false,
          })
        stats.sent++
        out.push(track(sim.link.publish(topic, payload)))
      }
      return Promise.all(out).then(() => {})
    }
    const topic = topics.deviceUp(sim.spec.id)
    if (!asBacklog) {
      for (const r of readings) {
        const payload = JSON.stringify(r)
        const copies = chance(sim.spec.id, sim.duplicateProbability) ? 2 : 1
        for (let c = 0; c < copies; c++) {
          stats.sent++
          if (c > 0) stats.duplicates++
          if (opts.record)
            sentReadings.push({ deviceId: sim.spec.id, seq: r.seq, ts: r.ts, duplicate: c > 0 })
          out.push(track(sim.link.publish(topic, payload)))
        }
      }
      return Promise.all(out).then(() => {})
    }
    // A backlog goes as batches under both the reading and the byte limits.
    let batch: Record<string, unknown>[] = []
    let bytes = 0
    const flush = () => {
      if (batch.length === 0) return
      const payload = JSON.stringify({ kind: sim.spec.kind, readings: batch })
      stats.sent += batch.length
      out.push(track(sim.link.publish(topic, payload), batch.length))
      batch = []
      bytes = 0
    }
    for (const r of readings) {
      const { kind: _k, ...one } = r
      const size = JSON.stringify(one).length + 1
      if (batch.length >= Math.min(500, MAX_BATCH_READINGS) || bytes + size > MAX_BATCH_BYTES)
        flush()
      batch.push(one)
      bytes += size
      if (opts.record)
        sentReadings.push({ deviceId: sim.spec.id, seq: r.seq, ts: r.ts, duplicate: false })
    }
    flush()
    return Promise.all(out).then(() => {})
  }

  return { send, sendFrame }
}
