import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  bestRssi,
  ChirpStackUplink,
  decodeBase64,
  parseChirpStackTopic,
  parseTtsTopic,
  TtsUplink,
  topics,
} from '../../../shared/index.ts'

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/lorawan/${name}`, import.meta.url), 'utf8'))

describe('network-server envelopes', () => {
  it('accepts the verbatim ChirpStack v4 up event, reading fCnt as 0 when left out', () => {
    const parsed = ChirpStackUplink.parse(fixture('chirpstack_v4_event_up.json'))
    expect(parsed).toMatchObject({
      time: '2022-07-18T09:34:15.775023242+00:00',
      deviceInfo: {
        devEui: '0101010101010101',
        applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
      },
      fCnt: 0,
      fPort: 1,
      data: 'qg==',
      rxInfo: [{ rssi: -36, snr: 10.5 }],
    })
    // Fields Tani does not use pass through.
    expect(parsed.txInfo).toEqual(fixture('chirpstack_v4_event_up.json').txInfo)
  })

  it('accepts the The Things Stack v3 documentation example (no f_port)', () => {
    const parsed = TtsUplink.parse(fixture('tts_v3_uplink_example.fixed_comma.json'))
    expect(parsed.end_device_ids.dev_eui).toBe('0004a30b001c0530')
    expect(parsed.uplink_message).toMatchObject({
      f_cnt: 1,
      frm_payload: 'gkHe',
      decoded_payload: { temperature: 1.0, luminosity: 0.64 },
      received_at: '2020-02-12T15:15:45.789585559Z',
    })
    expect(parsed.uplink_message.f_port).toBeUndefined()
    expect(bestRssi(parsed.uplink_message.rx_metadata)).toBe(-35)
  })

  it('is strict on the fields Tani uses', () => {
    const cs = fixture('chirpstack_v4_event_up.json')
    const bad = ChirpStackUplink.safeParse({
      ...cs,
      deviceInfo: { ...(cs.deviceInfo as object), devEui: '01010101' },
      fCnt: -1,
    })
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'))).toEqual([
      'deviceInfo.devEui',
      'fCnt',
    ])
    const tts = fixture('tts_v3_uplink_example.fixed_comma.json')
    const { received_at: _r, ...up } = tts.uplink_message as Record<string, unknown>
    const noTime = TtsUplink.safeParse({ ...tts, received_at: undefined, uplink_message: up })
    expect(noTime.success ? '' : noTime.error.issues[0]?.message).toMatch(
      /needs uplink_message.received_at/,
    )
    const noEui = TtsUplink.safeParse({
      ...tts,
      end_device_ids: { device_id: 'd', application_ids: { application_id: 'a' } },
    })
    expect(noEui.success ? '' : noEui.error.issues[0]?.message).toMatch(
      /finds the device by its DevEUI/,
    )
  })

  it('decodes only proper base64', () => {
    expect(decodeBase64('qg==')).toEqual(Buffer.from([0xaa]))
    expect(decodeBase64('')).toEqual(Buffer.alloc(0))
    expect(decodeBase64('qg=')).toBeNull()
    expect(decodeBase64('not base64!')).toBeNull()
  })
})

describe('network-server topics', () => {
  it('builds and parses ChirpStack and The Things Stack uplink topics', () => {
    const cs = topics.chirpstackUp('17c82e96-be03-4f38-aef3-f83d48582d97', '0101010101010101')
    expect(cs).toBe(
      'application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up',
    )
    expect(parseChirpStackTopic(cs)).toEqual({
      applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
      devEui: '0101010101010101',
    })
    expect(parseTtsTopic(topics.ttsUp('app1', 'tenant1', 'dev1'))).toEqual({
      applicationId: 'app1',
      tenantId: 'tenant1',
      deviceId: 'dev1',
    })
    // The Things Stack Open Source has no tenant in its topics.
    expect(parseTtsTopic('v3/app1/devices/dev1/up')).toEqual({
      applicationId: 'app1',
      tenantId: null,
      deviceId: 'dev1',
    })
    for (const t of [
      'application/+/device/0101010101010101/event/up',
      'application/a/device/0101/event/up',
      'application/a/device/0101010101010101/event/join',
      'v3/app1@ttn/devices/dev1/down/push',
      'v3/app1@ttn/devices/+/up',
    ])
      expect(parseChirpStackTopic(t) ?? parseTtsTopic(t)).toBeNull()
  })
})
