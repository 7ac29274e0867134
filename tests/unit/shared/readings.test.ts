import { describe, expect, it } from 'vitest'
import { parseDeviceTopic, parseDeviceUplink } from '../../../shared/index.ts'

const pond = {
  kind: 'pond_sensor',
  ts: '2026-11-23T05:00:00+07:00',
  seq: 1,
  battery_pct: 80,
  rssi_dbm: -80,
}
const issues = (v: unknown) => {
  const r = parseDeviceUplink(v)
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

describe('uplink contract', () => {
  it('accepts one reading or a batch, normalising both to a batch with epoch-ms times', () => {
    const one = parseDeviceUplink({ ...pond, dissolved_oxygen_mg_l: 6 })
    const batch = parseDeviceUplink({
      kind: 'pond_sensor',
      readings: [
        { ...pond, ph: 8 },
        { ...pond, seq: 2, ph: 8.1 },
      ],
    })
    expect(one.success && one.data.readings[0]?.ts).toBe(Date.parse('2026-11-22T22:00:00Z'))
    expect(batch.success && batch.data.readings.length).toBe(2)
  })

  it('rejects out-of-range values, naming the field', () => {
    expect(issues({ ...pond, dissolved_oxygen_mg_l: 80 })).toEqual([
      'readings.0.dissolved_oxygen_mg_l: Too big: expected number to be <=25',
    ])
  })

  it('explains epoch seconds and unset clocks', () => {
    expect(issues({ ...pond, ts: 1795903200, ph: 7 })[0]).toMatch(/milliseconds/)
    expect(issues({ ...pond, ts: '1970-01-01T00:00:10Z', ph: 7 })[0]).toMatch(/clock is not set/)
  })

  it('needs at least one measurement, and a known kind', () => {
    expect(issues(pond)[0]).toMatch(/at least one of dissolved_oxygen_mg_l/)
    expect(issues({ ...pond, kind: 'cow' })[0]).toMatch(/^kind:/)
    expect(issues('hello')[0]).toMatch(/JSON object/)
  })
})

describe('topics', () => {
  it('parses device topics and refuses anything else', () => {
    expect(parseDeviceTopic('devices/pond-1/up')).toEqual({ deviceId: 'pond-1', channel: 'up' })
    expect(parseDeviceTopic('devices/pond-1/status')).toEqual({
      deviceId: 'pond-1',
      channel: 'status',
    })
    expect(parseDeviceTopic('devices/+/up')).toBeNull()
    expect(parseDeviceTopic('devices/pond-1/down')).toBeNull()
    expect(parseDeviceTopic('alerts/farm')).toBeNull()
  })
})
