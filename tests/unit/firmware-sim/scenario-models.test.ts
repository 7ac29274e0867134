import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dryRun } from '../../../firmware-sim/dry-run.ts'
import { loadScenario } from '../../../firmware-sim/scenario.ts'
import type { SimReading } from '../../../firmware-sim/sensors.ts'
import { parseDeviceUplink } from '../../../shared/index.ts'

/** The ready scenarios do what their descriptions promise, read through the sensors. */
const dir = join(import.meta.dirname, '../../../firmware-sim/scenarios')
const play = async (name: string) => {
  const s = await loadScenario(join(dir, `${name}.json`))
  return { s, readings: dryRun(s) }
}
const HOUR = 3_600_000
const localHour = (ts: number) => (((ts / HOUR + 7) % 24) + 24) % 24
const num = (r: SimReading, k: string) => r[k] as number
/** The reading closest to a local hour on a given local day (1 = the start's date). */
const at = (rs: SimReading[], startMs: number, day: number, hour: number) => {
  const midnight = Math.floor((startMs + 7 * HOUR) / (24 * HOUR)) * 24 * HOUR - 7 * HOUR
  const target = midnight + (day - 1) * 24 * HOUR + hour * HOUR
  return rs.reduce((best, r) => (Math.abs(r.ts - target) < Math.abs(best.ts - target) ? r : best))
}

describe('ready scenarios through the sensors', () => {
  it('every reading of every scenario fits the contract', async () => {
    for (const name of [
      'mekong-farm-day',
      'planthopper-outbreak',
      'irrigation-leak',
      'heavy-rain-salinity-drop',
    ]) {
      const { readings } = await play(name)
      for (const [device, rs] of readings)
        for (const r of rs) {
          const parsed = parseDeviceUplink(r)
          if (!parsed.success)
            throw new Error(`${name} ${device} seq ${r.seq}: ${parsed.error.message}`)
        }
    }
  })

  it('sunny-pond-day: dissolved oxygen is far higher at 15:00 than at 05:00', async () => {
    const { s, readings } = await play('sunny-pond-day')
    const rs = readings.get('pond-a-probe') as SimReading[]
    const afternoon = num(at(rs, s.startMs, 1, 15), 'dissolved_oxygen_mg_l')
    const dawn = num(at(rs, s.startMs, 2, 5), 'dissolved_oxygen_mg_l')
    expect(afternoon - dawn).toBeGreaterThan(3)
    expect(Math.min(...rs.map((r) => num(r, 'dissolved_oxygen_mg_l')))).toBeGreaterThan(3)
    expect(num(at(rs, s.startMs, 1, 15), 'ph')).toBeGreaterThan(num(at(rs, s.startMs, 2, 5), 'ph'))
  })

  it('cloudy-dawn-crash: dissolved oxygen falls under 3 mg/L before dawn', async () => {
    const { s, readings } = await play('cloudy-dawn-crash')
    const rs = readings.get('pond-a-probe') as SimReading[]
    const dawn = Date.parse('2026-06-11T05:30:00+07:00')
    const before = rs.filter((r) => r.ts > s.startMs + 12 * HOUR && r.ts <= dawn)
    expect(Math.min(...before.map((r) => num(r, 'dissolved_oxygen_mg_l')))).toBeLessThan(3)
  })

  it('planthopper-outbreak: nightly catches rise across the outbreak, and days catch nothing', async () => {
    const { readings } = await play('planthopper-outbreak')
    const rs = readings.get('rice-1-light-trap') as SimReading[]
    const nightly = new Map<number, number>()
    for (const r of rs) {
      // A night runs from 18:00 to 06:00; attribute it to the evening's date.
      const night = Math.floor((r.ts + 7 * HOUR - 6 * HOUR) / (24 * HOUR))
      const n = (r.counts as Record<string, number>).brown_planthopper ?? 0
      nightly.set(night, (nightly.get(night) ?? 0) + n)
      const h = localHour(r.ts)
      if (h > 9 && h < 16) expect(n).toBe(0)
    }
    const nights = [...nightly.values()]
    expect(nights[4] as number).toBeGreaterThan(3 * (nights[1] as number))
    expect(nights[5] as number).toBeGreaterThan(nights[2] as number)
  })

  it('irrigation-leak: flow is zero with the valve closed, except while the leak lasts', async () => {
    const { readings } = await play('irrigation-leak')
    const rs = readings.get('veg-1-drip') as SimReading[]
    const leakAt = Date.parse('2026-03-05T10:00:00+07:00')
    const repairedAt = Date.parse('2026-03-06T09:00:00+07:00')
    const closed = rs.filter((r) => r.valve === 'closed')
    const leaking = closed.filter((r) => r.ts > leakAt + 600_000 && r.ts < repairedAt)
    const tight = closed.filter((r) => r.ts < leakAt || r.ts > repairedAt + 600_000)
    expect(tight.every((r) => num(r, 'flow_l_min') === 0)).toBe(true)
    expect(leaking.length).toBeGreaterThan(100)
    expect(leaking.every((r) => num(r, 'flow_l_min') > 3)).toBe(true)
    const volumes = rs.map((r) => num(r, 'volume_total_l'))
    expect(volumes).toEqual([...volumes].sort((a, b) => a - b))
  })

  it('clogged-dripper-line: irrigation flow falls and pressure rises after the clog', async () => {
    const { readings } = await play('clogged-dripper-line')
    const open = (readings.get('veg-1-drip') as SimReading[]).filter(
      (r) => r.valve === 'open' && num(r, 'flow_l_min') > 1,
    )
    const clogAt = Date.parse('2026-03-06T00:00:00+07:00')
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const before = open.filter((r) => r.ts < clogAt)
    const after = open.filter((r) => r.ts > clogAt)
    expect(mean(after.map((r) => num(r, 'flow_l_min')))).toBeLessThan(
      0.7 * mean(before.map((r) => num(r, 'flow_l_min'))),
    )
    expect(mean(after.map((r) => num(r, 'pressure_bar')))).toBeGreaterThan(
      mean(before.map((r) => num(r, 'pressure_bar'))),
    )
  })

  it('heavy-rain-salinity-drop: salinity drops after the downpour and the gauge counts the rain', async () => {
    const { readings } = await play('heavy-rain-salinity-drop')
    const pond = readings.get('pond-a-probe') as SimReading[]
    const before = at(pond, pond[0]?.ts as number, 1, 13.5)
    const after = at(pond, pond[0]?.ts as number, 1, 18)
    expect(num(after, 'salinity_ppt')).toBeLessThan(num(before, 'salinity_ppt') - 0.8)
    const rain = (readings.get('pond-a-weather') as SimReading[]).reduce(
      (t, r) => t + num(r, 'rainfall_mm'),
      0,
    )
    expect(rain).toBeGreaterThan(85)
  })

  it('sensor-drift: the fouled probe reads lower and lower than the same pond without drift', async () => {
    const { s, readings } = await play('sensor-drift')
    const clean = dryRun({ ...s, events: [] }).get('pond-a-probe') as SimReading[]
    const drifted = readings.get('pond-a-probe') as SimReading[]
    const gap = (i: number) =>
      num(clean[i] as SimReading, 'dissolved_oxygen_mg_l') -
      num(drifted[i] as SimReading, 'dissolved_oxygen_mg_l')
    const perDay = 144 // 10-minute readings
    expect(gap(perDay / 2)).toBeCloseTo(0, 0)
    expect(gap(4 * perDay)).toBeGreaterThan(2)
  })

  it('clock-skew: the weather station stamps its readings 7 hours ahead after the update', async () => {
    const { s, readings } = await play('clock-skew')
    const rs = readings.get('rice-1-weather') as SimReading[]
    const late = rs.filter((r) => r.ts > s.startMs + 11 * HOUR + 7 * HOUR)
    expect(late.length).toBeGreaterThan(0)
  })

  it('is deterministic for a seed', async () => {
    const a = await play('mekong-farm-day')
    const b = await play('mekong-farm-day')
    expect(JSON.stringify([...a.readings])).toBe(JSON.stringify([...b.readings]))
  })
})
