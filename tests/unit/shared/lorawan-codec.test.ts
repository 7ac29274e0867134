import { describe, expect, it } from 'vitest'
import {
  CodecError,
  decodeUplink,
  encodeUplink,
  type FrameFields,
} from '../../../shared/lorawan-codec.ts'
import type { DeviceKind } from '../../../shared/readings.ts'

const frames: { [K in DeviceKind]: FrameFields<K> } = {
  pest_trap: {
    battery_pct: 77,
    trap_id: 'trap-1',
    attractant: 'light_uv',
    interval_s: 3600,
    counts: { brown_planthopper: 412, stem_borer: 3, fall_armyworm: 0 },
  },
  env_sensor: {
    battery_pct: 64,
    battery_v: 3.612,
    air_temp_c: -3.4,
    rel_humidity_pct: 88.5,
    leaf_wetness_pct: 40,
    rainfall_mm: 12.3,
    soil_moisture_pct: 31.7,
  },
  pond_sensor: {
    battery_pct: 86,
    dissolved_oxygen_mg_l: 3.4,
    ph: 7.6,
    water_temp_c: 28.9,
    salinity_ppt: 14.5,
    tan_mg_l: 0.6,
    turbidity_ntu: 38,
  },
  irrigation_controller: {
    battery_pct: 100,
    flow_l_min: 12.5,
    pressure_bar: 1.25,
    valve: 'open',
    volume_total_l: 3_000_000_000,
  },
}

describe('LoRaWAN payload codec', () => {
  for (const kind of Object.keys(frames) as DeviceKind[]) {
    it(`round-trips a ${kind} reading exactly`, () => {
      const bytes = encodeUplink(kind, frames[kind])
      expect(decodeUplink(bytes)).toEqual({ kind, fields: frames[kind] })
    })
  }

  it('lays the bytes out as documented (README, "LoRaWAN payload codec")', () => {
    const bytes = encodeUplink('pond_sensor', {
      battery_pct: 86,
      dissolved_oxygen_mg_l: 3.4,
      ph: 7.6,
      water_temp_c: 28.9,
      salinity_ppt: 14.5,
      tan_mg_l: 0.6,
      turbidity_ntu: 38,
    })
    // header v1/pond, all six fields, battery 86, DO 340, pH 760, 289, 145, 60, 38
    expect(bytes.toString('hex')).toBe('133f56015402f801210091003c0026')
    const trap = encodeUplink('pest_trap', {
      battery_pct: 90,
      trap_id: 'T-3',
      attractant: 'light_uv',
      interval_s: 3600,
      counts: { brown_planthopper: 412, rice_bug: 7 },
      ts: Date.parse('2026-11-22T14:00:00Z'),
    })
    // header v1/trap, timestamp, epoch s, battery 90, UV, 3600 s, "T-3", 2 species: 1→412, 11→7
    expect(trap.toString('hex')).toBe(
      '1180' + '6b02f560' + '5a' + '01' + '00000e10' + '03542d33' + '02' + '01019c' + '0b0007',
    )
  })

  it('carries a timestamp only in store-and-forward frames, to the second', () => {
    const ts = Date.parse('2026-11-22T21:40:00.750Z')
    const plain = encodeUplink('pond_sensor', frames.pond_sensor)
    const stored = encodeUplink('pond_sensor', { ...frames.pond_sensor, ts })
    expect(stored.length).toBe(plain.length + 4)
    expect(decodeUplink(stored)).toEqual({
      kind: 'pond_sensor',
      fields: { ...frames.pond_sensor, ts: Date.parse('2026-11-22T21:40:00Z') },
    })
    const iso = encodeUplink('env_sensor', {
      battery_pct: 1,
      air_temp_c: 30,
      ts: '2026-11-23T04:40:00+07:00',
    })
    expect(decodeUplink(iso).fields.ts).toBe(Date.parse('2026-11-22T21:40:00Z'))
  })

  it('rounds to the resolution of each field', () => {
    const out = decodeUplink(
      encodeUplink('pond_sensor', {
        battery_pct: 81.6,
        dissolved_oxygen_mg_l: 5.254,
        water_temp_c: 29.46,
      }),
    )
    expect(out.fields).toEqual({ battery_pct: 82, dissolved_oxygen_mg_l: 5.25, water_temp_c: 29.5 })
    const closed = decodeUplink(
      encodeUplink('irrigation_controller', { ...frames.irrigation_controller, valve: 'closed' }),
    )
    expect(closed.fields).toMatchObject({ valve: 'closed' })
  })

  it('refuses values the frame cannot hold, naming the field', () => {
    expect(() => encodeUplink('pond_sensor', { battery_pct: 50, turbidity_ntu: 70_000 })).toThrow(
      /turbidity_ntu = 70000 does not fit the frame: u16/,
    )
    expect(() =>
      encodeUplink('pest_trap', { ...frames.pest_trap, counts: { mystery_beetle: 1 } }),
    ).toThrow(/species mystery_beetle has no code/)
  })

  it('rejects truncated frames with the byte offset and what was expected', () => {
    const bytes = encodeUplink('pond_sensor', frames.pond_sensor)
    expect(() => decodeUplink(bytes.subarray(0, 5))).toThrow(
      'byte 5: expected ph (u16, 2 bytes) but the frame ends after 5 bytes',
    )
    expect(() => decodeUplink(Buffer.alloc(0))).toThrow(/^byte 0: expected the header byte/)
    const trap = encodeUplink('pest_trap', frames.pest_trap)
    expect(() => decodeUplink(trap.subarray(0, trap.length - 1))).toThrow(
      /byte 23: expected the count of fall_armyworm \(u16, 2 bytes\) but the frame ends after 24 bytes/,
    )
    expect(() => decodeUplink(trap.subarray(0, trap.length - 1))).toThrow(CodecError)
  })

  it('rejects frames that are not Tani v1 frames, or have bytes left over', () => {
    expect(() => decodeUplink(Buffer.from([0xaa]))).toThrow(
      /^byte 0: codec version 10 .* expected 1/,
    )
    expect(() => decodeUplink(Buffer.from([0x19, 0x00, 0x50]))).toThrow(
      /^byte 0: device kind code 9/,
    )
    expect(() => decodeUplink(Buffer.from([0x12, 0x20, 0x50]))).toThrow(/^byte 1: flags 0x20/)
    const bytes = encodeUplink('env_sensor', frames.env_sensor)
    expect(() => decodeUplink(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(
      `byte ${bytes.length}: expected the end of the env_sensor frame, found 1 more byte(s)`,
    )
  })
})
