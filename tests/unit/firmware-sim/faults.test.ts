import { describe, expect, it } from 'vitest'
import { expectedOutcome, faultPayload } from '../../../firmware-sim/faults.ts'
import type { SimReading } from '../../../firmware-sim/sensors.ts'
import { decode, validate } from '../../../services/processor/pipeline.ts'
import type { Device } from '../../../services/store/repository.ts'

/** Each fault the simulator sends is quarantined by the processor for the reason it is tagged with. */
const device: Device = {
  id: 'pond-1',
  farmId: 'f',
  siteId: null,
  kind: 'pond_sensor',
  name: 'pond-1',
  devEui: null,
  createdAt: 0,
  revokedAt: null,
}
const good: SimReading = {
  kind: 'pond_sensor',
  ts: Date.now(),
  seq: 12,
  battery_pct: 80,
  rssi_dbm: -90,
  dissolved_oxygen_mg_l: 6.1,
  ph: 7.9,
}
const devices = {
  get: async () => device,
  // Nothing cached: validation takes its asynchronous path.
  peek: () => undefined,
  peekRuleContext: () => undefined,
  byDevEui: async () => null,
  siteName: async () => '',
  farmTimeZone: async () => 'Asia/Ho_Chi_Minh',
  siteTags: async () => ({}),
  farmBiofix: async () => ({}),
  ruleContext: async () => ({
    siteName: '',
    siteTags: {},
    timeZone: 'Asia/Ho_Chi_Minh',
    biofix: {},
  }),
}

async function reasonFor(payload: string): Promise<string> {
  const message = {
    topic: 'devices/pond-1/up',
    payload: Buffer.from(payload),
    receivedAt: Date.now(),
    ack() {},
  }
  try {
    await validate(decode(message), devices)
    return 'accepted'
  } catch (err) {
    return (err as { reason: string }).reason
  }
}

describe('fault modes', () => {
  it.each(['malformed_json', 'wrong_types', 'out_of_range', 'oversized'] as const)(
    '%s is quarantined as its tag says',
    async (mode) => {
      expect(await reasonFor(faultPayload(mode, good))).toBe(expectedOutcome[mode])
    },
  )

  it('a good reading is accepted, so the faults are the only difference', async () => {
    expect(await reasonFor(JSON.stringify(good))).toBe('accepted')
  })

  it('tags faults that are still JSON', () => {
    expect(JSON.parse(faultPayload('wrong_types', good)).fault).toBe('wrong_types')
    expect(JSON.parse(faultPayload('oversized', good)).fault).toBe('oversized')
  })
})
