import { describe, expect, it } from 'vitest'
import { CliError, parseCliArgs, parseDevicesFile } from '../../../firmware-sim/cli.ts'

const devices = (list: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ mqttUrl: 'mqtt://127.0.0.1:1883', devices: list, ...extra })

describe('devices file', () => {
  it('accepts the registration CLI output (extra fields are ignored)', () => {
    const file = parseDevicesFile(
      devices([{ id: 'pond-1', kind: 'pond_sensor', secret: 's3cret', farmId: 'f1' }], {
        farm: 'x',
      }),
      'devices.json',
    )
    expect(file).toEqual({
      mqttUrl: 'mqtt://127.0.0.1:1883',
      devices: [{ id: 'pond-1', kind: 'pond_sensor', secret: 's3cret' }],
    })
  })

  it('names the bad field', () => {
    const bad = devices([
      { id: 'pond-1', kind: 'pond_sensor', secret: 's' },
      { id: 'pond-2', kind: 'fish_tank', secret: 's' },
    ])
    expect(() => parseDevicesFile(bad, 'devices.json')).toThrow(
      /devices\.json[\s\S]*devices\[1\]\.kind/,
    )
    expect(() =>
      parseDevicesFile(devices([{ id: 'a b', kind: 'pest_trap', secret: 's' }]), 'f'),
    ).toThrow(/devices\[0\]\.id/)
    expect(() => parseDevicesFile(devices([]), 'f')).toThrow(/devices: the file lists no devices/)
    expect(() => parseDevicesFile('{', 'f')).toThrow(CliError)
    const dup = devices([
      { id: 'p', kind: 'pest_trap', secret: 's' },
      { id: 'p', kind: 'pest_trap', secret: 's' },
    ])
    expect(() => parseDevicesFile(dup, 'f')).toThrow(/devices\[1\]\.id: duplicate device id p/)
  })
})

describe('arguments', () => {
  it('has defaults and parses numbers', () => {
    expect(parseCliArgs(['--devices', 'd.json'])).toMatchObject({
      devicesFile: 'd.json',
      intervalMs: 10_000,
      seed: 1,
      speed: 1,
      mqttUrl: undefined,
    })
    expect(
      parseCliArgs([
        '-d',
        'd.json',
        '--interval',
        '0.5',
        '--speed',
        '60',
        '--seed',
        '7',
        '--start',
        '2025-06-01T00:00:00Z',
      ]),
    ).toMatchObject({ intervalMs: 500, speed: 60, seed: 7, startTime: Date.UTC(2025, 5, 1) })
    expect(parseCliArgs(['--help'])).toBeNull()
  })

  it('rejects bad values with a usage error', () => {
    expect(() => parseCliArgs([])).toThrow(/--devices <file> is required/)
    expect(() => parseCliArgs(['-d', 'x', '--interval', '0'])).toThrow(/--interval/)
    expect(() => parseCliArgs(['-d', 'x', '--mqtt-url', 'http://x'])).toThrow(/--mqtt-url/)
    expect(() => parseCliArgs(['-d', 'x', '--nope'])).toThrow(CliError)
  })
})
