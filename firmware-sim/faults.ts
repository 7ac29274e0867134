import { randomBytes } from 'node:crypto'
import { MAX_UPLINK_BYTES } from '../shared/readings.ts'
import type { FaultMode } from './scenario.ts'
import type { SimReading } from './sensors.ts'

/**
 * Broken uplinks for testing the processor's quarantine. Each carries its mode in a
 * `fault` field where the payload is still JSON, and the simulator counts what it sent
 * per mode, so a test can match them with the quarantine's reasons:
 *
 * | mode            | what is sent                                   | quarantine reason            |
 * | --------------- | ---------------------------------------------- | ---------------------------- |
 * | malformed_json  | a reading cut off mid-way                      | not_json                     |
 * | wrong_types     | numbers as strings, seq negative               | invalid                      |
 * | out_of_range    | a physically impossible value (DO 80 mg/L …)   | invalid                      |
 * | oversized       | a batch padded past the processor's 256 KiB    | too_large                    |
 * | unknown_device  | a LoRaWAN uplink from an unregistered DevEUI; over plain MQTT the broker refuses the unregistered device's connection | unknown_dev_eui, or refused by the broker |
 */
export const expectedOutcome: Record<FaultMode, string> = {
  malformed_json: 'not_json',
  wrong_types: 'invalid',
  out_of_range: 'invalid',
  oversized: 'too_large',
  unknown_device: 'unknown_dev_eui',
}

const outOfRange: Record<string, Record<string, number>> = {
  pond_sensor: { dissolved_oxygen_mg_l: 80 },
  env_sensor: { rel_humidity_pct: 140 },
  pest_trap: { interval_s: -60 },
  irrigation_controller: { pressure_bar: 250 },
}

/** The payload of a native-MQTT fault built from a good reading. */
export function faultPayload(
  mode: Exclude<FaultMode, 'unknown_device'>,
  reading: SimReading,
): string {
  switch (mode) {
    case 'malformed_json': {
      const json = JSON.stringify({ ...reading, fault: mode })
      return json.slice(0, Math.max(10, Math.floor(json.length / 2)))
    }
    case 'wrong_types': {
      const broken: Record<string, unknown> = { ...reading, fault: mode, seq: -1 }
      for (const [k, v] of Object.entries(broken))
        if (typeof v === 'number' && k !== 'seq') broken[k] = String(v)
      return JSON.stringify(broken)
    }
    case 'out_of_range':
      return JSON.stringify({ ...reading, ...outOfRange[reading.kind], fault: mode })
    case 'oversized': {
      const { kind, ...one } = reading
      // Distinct readings so nothing compresses them away on the way: ~300 KiB.
      const readings = []
      let bytes = 0
      for (let i = 0; bytes < MAX_UPLINK_BYTES + 44 * 1024; i++) {
        const r = {
          ...one,
          seq: (one.seq as number) * 10_000 + i,
          note: randomBytes(96).toString('hex'),
        }
        bytes += JSON.stringify(r).length
        readings.push(r)
      }
      return JSON.stringify({ kind, fault: mode, readings })
    }
  }
}

/** A DevEUI no cooperative registered (locally administered range, random). */
export function unknownDevEui(): string {
  return `f0${randomBytes(7).toString('hex')}`
}
