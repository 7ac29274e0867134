import { describe, expect, it } from 'vitest'
import { line, metricValues, readingLines } from '../../../services/processor/line-protocol.ts'
import { parseDeviceUplink, type Reading } from '../../../shared/index.ts'

const tags = { farm: 'coop-1', site: 'pond 2', device: 'pond-01' }
const parse = (v: unknown): Reading => {
  const r = parseDeviceUplink(v)
  if (!r.success) throw new Error(r.error.message)
  return r.data.readings[0] as Reading
}

describe('line protocol', () => {
  it('sorts tags and fields and escapes spaces, commas and quotes', () => {
    expect(
      line(
        'm x',
        { z: 'a,b', a: 'c d', n: null },
        { b: 1.5, a: { int: 3 }, s: 'say "hi"' },
        1700000000000,
      ),
    ).toBe('m\\ x,a=c\\ d,z=a\\,b a=3i,b=1.5,s="say \\"hi\\"" 1700000000000')
  })

  it('writes a pond reading with integer seq, float metrics and the device time in ms', () => {
    const r = parse({
      kind: 'pond_sensor',
      ts: '2026-11-23T05:00:00.250+07:00',
      seq: 42,
      battery_pct: 88,
      rssi_dbm: -71,
      dissolved_oxygen_mg_l: 2.75,
      ph: 7,
    })
    expect(readingLines('pond_sensor', r, tags)).toEqual([
      'pond_sensor,device=pond-01,farm=coop-1,site=pond\\ 2 dissolved_oxygen_mg_l=2.75,ph=7,seq=42i 1795384800250',
      'device_health,device=pond-01,farm=coop-1,kind=pond_sensor,site=pond\\ 2 battery_pct=88,rssi_dbm=-71,seq=42i 1795384800250',
    ])
  })

  it('writes one point per species for a trap, tagged with species, trap and attractant', () => {
    const r = parse({
      kind: 'pest_trap',
      ts: 1795903200000,
      seq: 7,
      battery_pct: 50,
      rssi_dbm: -100,
      trap_id: 'T1',
      attractant: 'light_uv',
      interval_s: 3600,
      counts: { stem_borer: 2, brown_planthopper: 120 },
    })
    const lines = readingLines('pest_trap', r, { ...tags, site: null })
    expect(lines.slice(0, 2)).toEqual([
      'pest_trap,attractant=light_uv,device=pond-01,farm=coop-1,species=brown_planthopper,trap=T1 count=120i,interval_s=3600i,seq=7i 1795903200000',
      'pest_trap,attractant=light_uv,device=pond-01,farm=coop-1,species=stem_borer,trap=T1 count=2i,interval_s=3600i,seq=7i 1795903200000',
    ])
    expect(metricValues(r).get('counts.brown_planthopper')).toBe(120)
  })

  it("writes a trap's lines as line() does: tags sorted and escaped, a site when there is one", () => {
    const r = parse({
      kind: 'pest_trap',
      ts: 1795903200000,
      seq: 8,
      battery_pct: 50,
      rssi_dbm: -100,
      trap_id: 'trap 1,north',
      attractant: 'light_uv',
      interval_s: 3600,
      counts: { stem_borer: 0, brown_planthopper: 31, leaf_folder: 4 },
    })
    const trap = r as Reading & { counts: Record<string, number> }
    const expected = Object.keys(trap.counts)
      .sort()
      .map((species) =>
        line(
          'pest_trap',
          { ...tags, species, trap: 'trap 1,north', attractant: 'light_uv' },
          {
            count: { int: trap.counts[species] as number },
            interval_s: { int: 3600 },
            seq: { int: 8 },
          },
          1795903200000,
        ),
      )
    const lines = readingLines('pest_trap', r, tags)
    expect(lines.slice(0, 3)).toEqual(expected)
    expect(lines[0]).toContain(',site=pond\\ 2,species=brown_planthopper,trap=trap\\ 1\\,north ')
    expect(lines).toHaveLength(4)
  })

  it('stores the valve state as valve_open 1/0 for irrigation controllers', () => {
    const r = parse({
      kind: 'irrigation_controller',
      ts: 1795903200000,
      seq: 1,
      battery_pct: 99,
      rssi_dbm: -60,
      flow_l_min: 0,
      pressure_bar: 0.1,
      valve: 'closed',
      volume_total_l: 12345.5,
    })
    expect(readingLines('irrigation_controller', r, tags)[0]).toBe(
      'irrigation_controller,device=pond-01,farm=coop-1,site=pond\\ 2 flow_l_min=0,pressure_bar=0.1,seq=1i,valve_open=0i,volume_total_l=12345.5 1795903200000',
    )
  })
})
