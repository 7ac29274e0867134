import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { chirpstackUplink, ttsUplink } from '../../../firmware-sim/lorawan.ts'
import { Rejection, type Validated } from '../../../services/processor/decoders/common.ts'
import { createDeviceDirectory, decode, validate } from '../../../services/processor/pipeline.ts'
import { registerDevices } from '../../../services/store/provisioning.ts'
import type { Store } from '../../../services/store/repository.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'
import { encodeUplink } from '../../../shared/index.ts'

/**
 * ChirpStack and The Things Stack uplinks through the processor's decode and validate
 * steps, on the documentation examples (tests/fixtures/lorawan/) and on Tani frames.
 */

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/lorawan/${name}`, import.meta.url), 'utf8'))
const csExample = fixture('chirpstack_v4_event_up.json')
const ttsExample = fixture('tts_v3_uplink_example.fixed_comma.json')
const CS_TOPIC = 'application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up'
const TTS_TOPIC = 'v3/app1@tenant1/devices/dev1/up'

let store: Store
let devices: ReturnType<typeof createDeviceDirectory>

const run = (topic: string, body: unknown): Promise<Validated> =>
  Promise.resolve().then(() =>
    validate(
      decode({ topic, payload: Buffer.from(JSON.stringify(body)), receivedAt: 0, ack() {} }),
      devices,
    ),
  )
const rejection = async (
  p: Promise<unknown>,
): Promise<{ reason: string; message: string; deviceId: string | null }> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(err instanceof Rejection)) throw new Error(`expected a Rejection, got ${String(err)}`)
  return { reason: err.reason, message: err.message, deviceId: err.deviceId }
}
const reading = (v: Validated) => {
  if (v.channel !== 'up') throw new Error('expected an uplink')
  return { kind: v.uplink.kind, device: v.device.id, readings: v.uplink.readings }
}

beforeAll(async () => {
  store = openSqliteStore(':memory:')
  await store.createFarm({ id: 'f', name: 'F', timezone: 'UTC' })
  // Upper case on registration, lower case in the ChirpStack example: matched either way.
  await registerDevices(store, {
    farmId: 'f',
    kind: 'pond_sensor',
    ids: ['pond-cs'],
    devEui: '0101010101010101',
  })
  await registerDevices(store, {
    farmId: 'f',
    kind: 'env_sensor',
    ids: ['env-tts'],
    devEui: '0004A30B001C0530',
  })
  devices = createDeviceDirectory(store)
})

const pondFrame = { battery_pct: 86, dissolved_oxygen_mg_l: 3.4, ph: 7.6, water_temp_c: 28.9 }

describe('ChirpStack v4 up events', () => {
  it('reads the verbatim example: fCnt absent is seq 0, and its one-byte payload is no Tani frame', async () => {
    const decoded = decode({
      topic: CS_TOPIC,
      payload: Buffer.from(JSON.stringify(csExample)),
      receivedAt: 0,
      ack() {},
    })
    expect(decoded).toMatchObject({
      source: 'lorawan',
      devEui: '0101010101010101',
      fCnt: 0,
      rssi: -36,
    })
    expect(await rejection(run(CS_TOPIC, csExample))).toEqual({
      reason: 'codec_error',
      deviceId: 'pond-cs',
      message: expect.stringMatching(
        /^data \(1 bytes, 0xaa\) is not a Tani frame: byte 0: codec version 10/,
      ),
    })
  })

  it('turns an event of the same shape with a Tani frame into the exact reading', async () => {
    const event = {
      ...csExample,
      fCnt: 4711,
      data: encodeUplink('pond_sensor', pondFrame).toString('base64'),
    }
    expect(reading(await run(CS_TOPIC, event))).toEqual({
      kind: 'pond_sensor',
      device: 'pond-cs',
      readings: [
        { ...pondFrame, ts: Date.parse('2022-07-18T09:34:15.775Z'), seq: 4711, rssi_dbm: -36 },
      ],
    })
  })

  it('takes the decoded object when the network server runs a codec, and the strongest gateway', async () => {
    const event = {
      ...csExample,
      fCnt: 5,
      object: { ph: 8.1, battery_pct: 70, seq: 999 },
      rxInfo: [{ rssi: -110, snr: -3 }, { rssi: -97, snr: 2 }, { snr: 1 }],
    }
    expect(reading(await run(CS_TOPIC, event)).readings).toEqual([
      {
        ph: 8.1,
        battery_pct: 70,
        ts: Date.parse('2022-07-18T09:34:15.775Z'),
        seq: 5,
        rssi_dbm: -97,
      },
    ])
  })

  it('quarantines unknown DevEUIs, bad base64, kind mismatches and topic mismatches', async () => {
    const other = '0202020202020202'
    const unknown = {
      ...csExample,
      deviceInfo: { ...(csExample.deviceInfo as object), devEui: other },
    }
    expect(
      await rejection(run(CS_TOPIC.replace('0101010101010101', other), unknown)),
    ).toMatchObject({
      reason: 'unknown_dev_eui',
      deviceId: null,
      message: expect.stringContaining('--dev-eui 0202020202020202'),
    })
    expect(await rejection(run(CS_TOPIC, { ...csExample, data: 'qg=' }))).toMatchObject({
      reason: 'codec_error',
      message: 'data is not valid base64',
    })
    const env = encodeUplink('env_sensor', { battery_pct: 50, air_temp_c: 30 }).toString('base64')
    expect(await rejection(run(CS_TOPIC, { ...csExample, data: env }))).toMatchObject({
      reason: 'kind_mismatch',
    })
    expect(
      await rejection(run(CS_TOPIC.replace('0101010101010101', other), csExample)),
    ).toMatchObject({
      reason: 'bad_topic',
    })
    const good = encodeUplink('pond_sensor', pondFrame).toString('base64')
    expect(await rejection(run(CS_TOPIC, { ...csExample, data: good, rxInfo: [] }))).toMatchObject({
      reason: 'invalid',
      message: expect.stringContaining('rxInfo is empty'),
    })
    expect(await rejection(run(CS_TOPIC, { hello: 1 }))).toMatchObject({
      reason: 'invalid',
      message: expect.stringMatching(/^not a ChirpStack v4 up event: time: /),
    })
  })
})

describe('The Things Stack v3 uplink messages', () => {
  it('reads the documentation example, whose decoded payload is not a Tani reading', async () => {
    expect(await rejection(run(TTS_TOPIC, ttsExample))).toEqual({
      reason: 'invalid',
      deviceId: 'env-tts',
      message: expect.stringMatching(
        /^decoded_payload is not a valid env_sensor reading: battery_pct: .*fields Tani does not know: temperature, luminosity/,
      ),
    })
    const { decoded_payload: _d, ...up } = ttsExample.uplink_message as Record<string, unknown>
    expect(await rejection(run(TTS_TOPIC, { ...ttsExample, uplink_message: up }))).toMatchObject({
      reason: 'codec_error',
      message: expect.stringContaining('frm_payload (3 bytes, 0x8241de) is not a Tani frame'),
    })
  })

  it('turns a Tani-shaped uplink into the exact reading (seq = f_cnt, ts = uplink received_at)', async () => {
    const up = ttsExample.uplink_message as Record<string, unknown>
    const message = {
      ...ttsExample,
      uplink_message: {
        ...up,
        decoded_payload: { battery_pct: 90, air_temp_c: 31.2, rel_humidity_pct: 77 },
      },
    }
    expect(reading(await run(TTS_TOPIC, message))).toEqual({
      kind: 'env_sensor',
      device: 'env-tts',
      readings: [
        {
          battery_pct: 90,
          air_temp_c: 31.2,
          rel_humidity_pct: 77,
          ts: Date.parse('2020-02-12T15:15:45.789Z'),
          seq: 1,
          rssi_dbm: -35,
        },
      ],
    })
    // The frame's own time wins; without uplink_message.received_at the top-level one is used.
    const { received_at: _r, decoded_payload: _d, ...noTime } = up
    const frame = encodeUplink('env_sensor', { battery_pct: 90, soil_moisture_pct: 33.3 })
    const fallback = {
      ...ttsExample,
      uplink_message: { ...noTime, frm_payload: frame.toString('base64') },
    }
    expect(reading(await run(TTS_TOPIC, fallback)).readings[0]?.ts).toBe(
      Date.parse('2020-02-12T15:15:46.014Z'),
    )
    const ts = Date.parse('2026-01-02T03:04:05Z')
    const stored = encodeUplink('env_sensor', { battery_pct: 90, soil_moisture_pct: 33.3, ts })
    const withTs = {
      ...ttsExample,
      uplink_message: { ...noTime, frm_payload: stored.toString('base64') },
    }
    expect(reading(await run(TTS_TOPIC, withTs)).readings[0]?.ts).toBe(ts)
  })

  it('refuses a message whose device is not the one in the topic', async () => {
    expect(await rejection(run('v3/app1@tenant1/devices/dev2/up', ttsExample))).toMatchObject({
      reason: 'bad_topic',
    })
  })
})

describe('the simulator envelopes (firmware-sim/lorawan.ts)', () => {
  const ts = Date.parse('2026-11-22T21:40:00.250Z')
  const native = { kind: 'pond_sensor' as const, ts, seq: 1, rssi_dbm: -1, ...pondFrame }

  for (const withObject of [false, true])
    it(`round-trip through the decoders${withObject ? ' with the decoded object' : ''}`, async () => {
      const opts = { fCnt: 0, rssi: -101, snr: 4.5, withObject }
      const cs = chirpstackUplink(
        { devEui: '0101010101010101', name: 'Pond', applicationId: 'farm-f' },
        native,
        opts,
      )
      expect(cs.topic).toBe('application/farm-f/device/0101010101010101/event/up')
      expect(JSON.parse(cs.payload).fCnt).toBeUndefined()
      const expected = { ...pondFrame, ts, seq: 0, rssi_dbm: -101 }
      expect(reading(await run(cs.topic, JSON.parse(cs.payload))).readings).toEqual([expected])
      const env = {
        kind: 'env_sensor' as const,
        ts,
        seq: 1,
        rssi_dbm: -1,
        battery_pct: 12,
        air_temp_c: 25.5,
      }
      const tts = ttsUplink(
        {
          devEui: '0004a30b001c0530',
          deviceId: 'env-1',
          applicationId: 'farm-f',
          tenantId: 'tani',
        },
        env,
        { ...opts, fCnt: 77, timestampInFrame: true, receivedAt: ts + 3_600_000 },
      )
      expect(tts.topic).toBe('v3/farm-f@tani/devices/env-1/up')
      expect(reading(await run(tts.topic, JSON.parse(tts.payload))).readings).toEqual([
        { battery_pct: 12, air_temp_c: 25.5, ts: ts - 250, seq: 77, rssi_dbm: -101 },
      ])
    })
})
