import { describe, expect, it } from 'vitest'
import {
  createDeviceModel,
  type DeviceModel,
  diurnal,
  localHour,
  type SimUplink,
} from '../../../firmware-sim/models.ts'
import { createRng, mulberry32 } from '../../../firmware-sim/random.ts'
import { type DeviceKind, deviceKinds, parseDeviceUplink } from '../../../shared/readings.ts'

const START = Date.UTC(2025, 5, 1, 0, 0, 0)
const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** Runs a model for `n` readings, `stepMs` apart, from START. */
function run(model: DeviceModel, n: number, stepMs: number, start = START): SimUplink[] {
  const out: SimUplink[] = []
  for (let i = 0; i < n; i++) out.push(model.next(start + i * stepMs))
  return out
}

const field = (r: SimUplink, name: string): unknown => (r as Record<string, unknown>)[name]
const num = (r: SimUplink, name: string): number => {
  const v = field(r, name)
  if (typeof v !== 'number') throw new Error(`${name} is not a number: ${String(v)}`)
  return v
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

describe('random', () => {
  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    for (let i = 0; i < 10_000; i++) {
      const x = a()
      expect(x).toBe(b())
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
    }
    expect(mulberry32(1)()).not.toBe(mulberry32(2)())
  })

  it('draws plausible normal and Poisson values', () => {
    const rng = createRng(7)
    const normals = Array.from({ length: 20_000 }, () => rng.normal(10, 2))
    expect(mean(normals)).toBeCloseTo(10, 1)
    const counts = Array.from({ length: 20_000 }, () => rng.poisson(3.5))
    expect(mean(counts)).toBeCloseTo(3.5, 1)
    expect(counts.every((c) => Number.isInteger(c) && c >= 0)).toBe(true)
  })
})

describe('diurnal', () => {
  it('is -1 at the minimum hour and +1 at the maximum hour', () => {
    expect(diurnal(5.5, 5.5, 15)).toBeCloseTo(-1)
    expect(diurnal(15, 5.5, 15)).toBeCloseTo(1)
    expect(diurnal(29.5, 5.5, 15)).toBeCloseTo(-1)
    expect(localHour(Date.UTC(2025, 0, 1, 20, 30), 7 * 60)).toBeCloseTo(3.5)
  })
})

describe('device models', () => {
  it.each(deviceKinds)('every %s reading passes parseDeviceUplink', (kind: DeviceKind) => {
    const checks: Array<{ seed: number; n: number; stepMs: number }> = [
      // Three weeks at a 10-minute interval: nights, days, rain, watering windows.
      { seed: 1, n: 3_000, stepMs: 10 * MINUTE },
      // Fast publishing, as the CLI does by default.
      { seed: 2, n: 2_000, stepMs: 10_000 },
      // Sparse readings, long gaps.
      { seed: 3, n: 500, stepMs: 6 * HOUR },
    ]
    let checked = 0
    for (const { seed, n, stepMs } of checks) {
      for (const id of ['dev-a', 'dev-b']) {
        const model = createDeviceModel({ deviceId: id, kind, seed, intervalMs: stepMs })
        for (const reading of run(model, n, stepMs)) {
          // What travels over MQTT is JSON.
          const result = parseDeviceUplink(JSON.parse(JSON.stringify(reading)))
          if (!result.success) {
            throw new Error(`${kind} reading rejected: ${JSON.stringify(reading)}\n${result.error}`)
          }
          expect(result.data.kind).toBe(kind)
          checked++
        }
      }
    }
    expect(checked).toBe(11_000)
  })

  it('numbers readings from 1 and stamps them with the simulated time in epoch ms', () => {
    const model = createDeviceModel({ deviceId: 'p1', kind: 'pond_sensor', intervalMs: 10_000 })
    const readings = run(model, 5, 10_000)
    expect(readings.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5])
    expect(readings.map((r) => r.ts)).toEqual([0, 1, 2, 3, 4].map((i) => START + i * 10_000))
    expect(model.lastSeq).toBe(5)
  })

  it.each(deviceKinds)('is deterministic for a seed (%s)', (kind: DeviceKind) => {
    const make = (seed: number, deviceId = 'dev-1') =>
      run(createDeviceModel({ deviceId, kind, seed, intervalMs: 5 * MINUTE }), 600, 5 * MINUTE)
    expect(make(99)).toEqual(make(99))
    expect(make(99)).not.toEqual(make(100))
    expect(make(99, 'dev-1')).not.toEqual(make(99, 'dev-2'))
  })

  it('pond: dissolved oxygen is higher in the afternoon than before dawn', () => {
    const model = createDeviceModel({
      deviceId: 'pond-1',
      kind: 'pond_sensor',
      seed: 5,
      intervalMs: 10 * MINUTE,
    })
    const afternoon: number[] = []
    const preDawn: number[] = []
    for (const r of run(model, 14 * 144, 10 * MINUTE)) {
      const h = localHour(r.ts as number)
      const value = num(r, 'dissolved_oxygen_mg_l')
      if (h >= 13 && h < 17) afternoon.push(value)
      if (h >= 3 && h < 6) preDawn.push(value)
    }
    expect(mean(afternoon)).toBeGreaterThan(mean(preDawn) + 1.5)
  })

  it('pond: values stay in the typical ranges', () => {
    const model = createDeviceModel({ deviceId: 'pond-2', kind: 'pond_sensor', intervalMs: HOUR })
    const ranges: Record<string, [number, number]> = {
      dissolved_oxygen_mg_l: [5, 9],
      ph: [7.5, 8.5],
      water_temp_c: [27, 32],
      salinity_ppt: [10, 20],
      tan_mg_l: [0.1, 1],
      turbidity_ntu: [20, 60],
    }
    for (const r of run(model, 24 * 60, HOUR)) {
      for (const [name, [min, max]] of Object.entries(ranges)) {
        expect(num(r, name)).toBeGreaterThanOrEqual(min)
        expect(num(r, name)).toBeLessThanOrEqual(max)
      }
    }
  })

  it('env sensor: warmer afternoons, occasional rain', () => {
    const model = createDeviceModel({
      deviceId: 'env-1',
      kind: 'env_sensor',
      intervalMs: 15 * MINUTE,
    })
    const readings = run(model, 30 * 96, 15 * MINUTE)
    const temp = (from: number, to: number) =>
      mean(
        readings
          .filter((r) => localHour(r.ts as number) >= from && localHour(r.ts as number) < to)
          .map((r) => num(r, 'air_temp_c')),
      )
    expect(temp(13, 15)).toBeGreaterThan(temp(4, 6) + 4)
    const rainy = readings.filter((r) => num(r, 'rainfall_mm') > 0).length
    expect(rainy).toBeGreaterThan(0)
    expect(rainy).toBeLessThan(readings.length * 0.25)
    for (const r of readings) {
      expect(num(r, 'air_temp_c')).toBeGreaterThanOrEqual(24)
      expect(num(r, 'air_temp_c')).toBeLessThanOrEqual(34)
    }
  })

  it('pest trap: counts cover the publishing interval and come at night', () => {
    const model = createDeviceModel({ deviceId: 'trap-1', kind: 'pest_trap', intervalMs: HOUR })
    let day = 0
    let night = 0
    for (const r of run(model, 14 * 24, HOUR)) {
      expect(field(r, 'interval_s')).toBe(3600)
      expect(field(r, 'attractant')).toBe('light_uv')
      const counts = field(r, 'counts') as Record<string, number>
      expect(Object.keys(counts).sort()).toEqual(['brown_planthopper', 'stem_borer'])
      const total = (counts.brown_planthopper ?? 0) + (counts.stem_borer ?? 0)
      // The reading at hour h covers (h-1, h]; the lamp is on 18:00–06:00.
      const h = Math.round(localHour(r.ts as number))
      if (h >= 8 && h <= 17) day += total
      if (h >= 20 && h <= 23) night += total
    }
    expect(day).toBe(0)
    expect(night).toBeGreaterThan(100)
  })

  it('irrigation: the valve opens on a schedule; closed means no flow or pressure', () => {
    const model = createDeviceModel({
      deviceId: 'valve-1',
      kind: 'irrigation_controller',
      intervalMs: MINUTE,
    })
    const readings = run(model, 3 * 24 * 60, MINUTE)
    const open = readings.filter((r) => field(r, 'valve') === 'open')
    const closed = readings.filter((r) => field(r, 'valve') === 'closed')
    expect(open.length).toBeGreaterThan(3 * 2 * 25)
    expect(closed.length).toBeGreaterThan(open.length)
    for (const r of closed) {
      expect(num(r, 'flow_l_min')).toBe(0)
      expect(num(r, 'pressure_bar')).toBe(0)
    }
    for (const r of open) {
      expect(num(r, 'flow_l_min')).toBeGreaterThan(0)
      expect(num(r, 'pressure_bar')).toBeGreaterThan(0)
    }
    const totals = readings.map((r) => num(r, 'volume_total_l'))
    for (let i = 1; i < totals.length; i++) {
      expect(totals[i]).toBeGreaterThanOrEqual(totals[i - 1] as number)
    }
    expect(totals.at(-1)).toBeGreaterThan(totals[0] as number)
  })

  it('battery drains slowly and RSSI jitters around a mean', () => {
    const model = createDeviceModel({ deviceId: 'env-2', kind: 'env_sensor', intervalMs: HOUR })
    const readings = run(model, 30 * 24, HOUR)
    const battery = readings.map((r) => num(r, 'battery_pct'))
    expect(battery.at(-1)).toBeLessThan(battery[0] as number)
    expect((battery[0] as number) - (battery.at(-1) as number)).toBeLessThan(20)
    const rssi = readings.map((r) => num(r, 'rssi_dbm'))
    expect(new Set(rssi).size).toBeGreaterThan(3)
    expect(Math.max(...rssi) - Math.min(...rssi)).toBeLessThan(30)
  })
})

describe('overrides', () => {
  const pond = () =>
    createDeviceModel({ deviceId: 'pond-9', kind: 'pond_sensor', seed: 3, intervalMs: MINUTE })

  it('forces values into the next readings, then generation resumes unchanged', () => {
    const plain = run(pond(), 6, MINUTE)
    const model = pond()
    model.override({ dissolved_oxygen_mg_l: 2.1 }, 2)
    const forced = run(model, 6, MINUTE)
    expect(forced.map((r) => num(r, 'dissolved_oxygen_mg_l')).slice(0, 2)).toEqual([2.1, 2.1])
    expect(forced.slice(2)).toEqual(plain.slice(2))
    expect({ ...forced[0], dissolved_oxygen_mg_l: 0 }).toEqual({
      ...plain[0],
      dissolved_oxygen_mg_l: 0,
    })
  })

  it('applies per-reading overrides on top of queued ones, and can be cleared', () => {
    const model = pond()
    model.override({ ph: 6.2, tan_mg_l: 3 }, Number.POSITIVE_INFINITY)
    const a = model.next(START, { ph: 9.1 })
    expect(num(a, 'ph')).toBe(9.1)
    expect(num(a, 'tan_mg_l')).toBe(3)
    const b = model.next(START + MINUTE)
    expect(num(b, 'ph')).toBe(6.2)
    model.clearOverrides()
    const c = model.next(START + 2 * MINUTE)
    expect(num(c, 'ph')).not.toBe(6.2)
    expect(c.kind).toBe('pond_sensor')
    expect(c.seq).toBe(3)
  })
})
