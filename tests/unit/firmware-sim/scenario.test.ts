import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createEventQueue } from '../../../firmware-sim/event-queue.ts'
import { loadScenario, resolveScenario } from '../../../firmware-sim/scenario.ts'
import { parseDuration, parseMoment, parseSignedDuration } from '../../../firmware-sim/time.ts'

const dir = join(import.meta.dirname, '../../../firmware-sim/scenarios')
const START = Date.parse('2026-06-10T05:00:00+07:00')

describe('time expressions', () => {
  it('reads durations, signed offsets and moments', () => {
    expect(parseDuration('1d6h30m')).toBe((30 * 60 + 30) * 60_000)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseSignedDuration('-3m')).toBe(-180_000)
    expect(parseMoment('+36h', START, 420)).toBe(START + 36 * 3_600_000)
    expect(new Date(parseMoment('day 2 05:30', START, 420)).toISOString()).toBe(
      '2026-06-10T22:30:00.000Z',
    )
    expect(parseMoment('2026-06-11T00:00:00Z', START, 420)).toBe(Date.parse('2026-06-11T00:00:00Z'))
  })

  it('says how to write a time it cannot read', () => {
    expect(() => parseDuration('ten minutes')).toThrow(/write e\.g\. 90s, 10m/)
    expect(() => parseMoment('tomorrow', START, 420)).toThrow(/\+6h, "day 2 05:30"/)
  })
})

describe('scenario files', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'))

  it('ships the ready scenarios the simulator promises', () => {
    for (const name of [
      'cloudy-dawn-crash',
      'planthopper-outbreak',
      'irrigation-leak',
      'clogged-dripper-line',
      'heavy-rain-salinity-drop',
      'sensor-drift',
      'offline-backlog',
      'clock-skew',
      'duplicate-sends',
      'faults',
    ])
      expect(files).toContain(`${name}.json`)
  })

  it.each(files)('%s is valid and its events fall inside the run', async (file) => {
    const s = await loadScenario(join(dir, file))
    for (const e of s.events) {
      expect(e.atMs).toBeGreaterThanOrEqual(s.startMs)
      expect(e.atMs).toBeLessThanOrEqual(s.endMs)
    }
  })

  it('names the field that is wrong', () => {
    const base = {
      name: 'x',
      start: '2026-06-10T05:00:00+07:00',
      duration: '1h',
      farm: { id: 'f' },
      sites: [{ id: 'p', kind: 'pond' }],
      devices: [{ id: 'd', kind: 'pond_sensor', site: 'p' }],
    }
    expect(() =>
      resolveScenario({ ...base, devices: [{ id: 'd', kind: 'pest_trap', site: 'p' }] }),
    ).toThrow(/devices\[0\]\.site: a pest_trap belongs on a field site/)
    expect(() =>
      resolveScenario({
        ...base,
        events: [{ type: 'offline', at: '+1h', until: '+2h', device: 'nope' }],
      }),
    ).toThrow(/events\[0\]\.device: no device nope/)
    expect(() => resolveScenario({ ...base, duration: 'a while' })).toThrow(
      /duration: "a while" is not a duration/,
    )
    expect(() =>
      resolveScenario({
        ...base,
        events: [{ type: 'rain', at: '+2h', until: '+1h', mm_per_hour: 5 }],
      }),
    ).toThrow(/events\[0\]\.until must come after/)
    expect(() =>
      resolveScenario({
        ...base,
        devices: [{ id: 'd', kind: 'pond_sensor', site: 'p', transport: 'chirpstack' }],
      }),
    ).toThrow(/dev_eui: a chirpstack device needs its dev_eui/)
  })
})

describe('event queue', () => {
  it('pops by time, and in insertion order at equal times', () => {
    const q = createEventQueue<{ t: number; order: number; name: string }>()
    const items = [5, 1, 3, 1, 9, 3, 0].map((t, order) => ({ t, order, name: `${t}/${order}` }))
    for (const i of items) q.push(i)
    const out: string[] = []
    for (let i = q.pop(); i; i = q.pop()) out.push(i.name)
    expect(out).toEqual(['0/6', '1/1', '1/3', '3/2', '3/5', '5/0', '9/4'])
  })
})

describe('latest start', () => {
  it('keeps the local time of day and ends the scenario before now', async () => {
    const { latestStart } = await import('../../../firmware-sim/scenario.ts')
    const now = Date.parse('2026-11-23T13:00:00Z') // 20:00 in Vietnam
    const start = latestStart({ start: '2026-06-10T05:00:00+07:00', duration: '26h' }, now)
    expect(start).toBe('2026-11-22T05:00:00+07:00')
    expect(Date.parse(start) + 26 * 3_600_000).toBeLessThanOrEqual(now)
    expect(latestStart({ start: '2026-06-10T05:00:00+07:00', duration: '2h' }, now)).toBe(
      '2026-11-23T05:00:00+07:00',
    )
  })
})
