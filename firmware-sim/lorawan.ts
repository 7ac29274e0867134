import { createHash } from 'node:crypto'
import type { z } from 'zod'
import {
  type ChirpStackUplink,
  type DeviceKind,
  decodeUplink,
  encodeUplink,
  type FrameFields,
  type ReadingInput,
  type TtsUplink,
  topics,
} from '../shared/index.ts'

/**
 * What a LoRaWAN network server would publish for a simulated device's reading: a
 * ChirpStack v4 "up" event or a The Things Stack v3 uplink message, in the shapes of their
 * documentation (tests/fixtures/lorawan/), carrying the reading as a Tani codec frame
 * (shared/lorawan-codec.ts). The frame has no sequence number or RSSI: `opts.fCnt` and
 * `opts.rssi` stand in for the network server's frame counter and the gateway's RSSI.
 */

/** A reading as a device publishes it natively; `seq` and `rssi_dbm` are not used here. */
export type NativeReading =
  | { [K in DeviceKind]: { kind: K } & ReadingInput[K] }[DeviceKind]
  | ({ kind: DeviceKind; ts: number | string } & Record<string, unknown>)

export type UplinkOptions = {
  /** LoRaWAN frame counter (becomes the reading's `seq`). */
  fCnt: number
  /** RSSI and SNR the gateway measured. */
  rssi: number
  snr: number
  /** Also send the decoded payload (`object` / `decoded_payload`), as a payload formatter would. */
  withObject: boolean
  /** Put the reading's time in the frame (a store-and-forward frame sent later). */
  timestampInFrame?: boolean
  /** When the network server received the frame; default: the reading's time, or now for a store-and-forward frame. */
  receivedAt?: number
}

export type MqttMessage = { topic: string; payload: string }

type Built = { frame: Buffer; object: Record<string, unknown>; receivedAt: string }

function build(reading: NativeReading, opts: UplinkOptions): Built {
  const {
    kind,
    ts,
    seq: _seq,
    rssi_dbm: _rssi,
    ...rest
  } = reading as Record<string, unknown> & {
    kind: DeviceKind
    ts: number | string
  }
  const fields = (opts.timestampInFrame ? { ...rest, ts } : rest) as FrameFields<DeviceKind>
  const frame = encodeUplink(kind, fields)
  const tsMs = typeof ts === 'number' ? ts : Date.parse(ts)
  const receivedAt = opts.receivedAt ?? (opts.timestampInFrame ? Date.now() : tsMs)
  // What a payload formatter implementing Tani's codec outputs: the frame, decoded.
  const decoded = decodeUplink(frame)
  return {
    frame,
    object: { kind: decoded.kind, ...decoded.fields },
    receivedAt: new Date(receivedAt).toISOString(),
  }
}

/** A stable id from the frame's identity, so that a seeded simulation repeats itself. */
function uuidOf(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('|')).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** A ChirpStack v4 "up" event on `application/{applicationId}/device/{devEui}/event/up`. */
export function chirpstackUplink(
  device: { devEui: string; name: string; applicationId: string },
  reading: NativeReading,
  opts: UplinkOptions,
): MqttMessage {
  const devEui = device.devEui.toLowerCase()
  const b = build(reading, opts)
  const event: z.input<typeof ChirpStackUplink> = {
    deduplicationId: uuidOf('chirpstack', devEui, opts.fCnt, b.receivedAt),
    time: b.receivedAt,
    deviceInfo: {
      tenantId: uuidOf('tenant', device.applicationId),
      tenantName: 'Tani',
      applicationId: device.applicationId,
      applicationName: device.applicationId,
      deviceProfileId: uuidOf('profile', reading.kind),
      deviceProfileName: `Tani ${reading.kind}`,
      deviceName: device.name,
      devEui,
      tags: {},
    },
    devAddr: devEui.slice(-8),
    dr: 5,
    // Protobuf JSON leaves out zero values: the first frame after a join has no fCnt.
    ...(opts.fCnt !== 0 ? { fCnt: opts.fCnt } : {}),
    fPort: 1,
    data: b.frame.toString('base64'),
    ...(opts.withObject ? { object: b.object } : {}),
    rxInfo: [
      {
        gatewayId: '0016c001f153a14c',
        uplinkId: opts.fCnt % 2 ** 32,
        rssi: opts.rssi,
        snr: opts.snr,
        context: 'E3OWOQ==',
        metadata: { region_name: 'as923', region_common_name: 'AS923' },
      },
    ],
    txInfo: {
      frequency: 923200000,
      modulation: { lora: { bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' } },
    },
  }
  return {
    topic: topics.chirpstackUp(device.applicationId, devEui),
    payload: JSON.stringify(event),
  }
}

/** A The Things Stack v3 uplink message on `v3/{applicationId}@{tenantId}/devices/{deviceId}/up`. */
export function ttsUplink(
  device: { devEui: string; deviceId: string; applicationId: string; tenantId: string },
  reading: NativeReading,
  opts: UplinkOptions,
): MqttMessage {
  const b = build(reading, opts)
  const devEui = device.devEui.toUpperCase()
  const id = uuidOf('tts', devEui, opts.fCnt, b.receivedAt).replaceAll('-', '').toUpperCase()
  const message: z.input<typeof TtsUplink> = {
    end_device_ids: {
      device_id: device.deviceId,
      application_ids: { application_id: device.applicationId },
      dev_eui: devEui,
      join_eui: '800000000000000C',
      dev_addr: devEui.slice(-8),
    },
    correlation_ids: [`as:up:${id.slice(0, 26)}`, `ns:uplink:${id.slice(6, 32)}`],
    received_at: b.receivedAt,
    uplink_message: {
      session_key_id: 'AXA50tHUGUucuzS/bCGMNw==',
      f_port: 1,
      ...(opts.fCnt !== 0 ? { f_cnt: opts.fCnt } : {}),
      frm_payload: b.frame.toString('base64'),
      ...(opts.withObject ? { decoded_payload: b.object } : {}),
      rx_metadata: [
        {
          gateway_ids: { gateway_id: 'tani-gw-1', eui: '9C5C8E00001A05C4' },
          time: b.receivedAt,
          timestamp: 2463457000,
          rssi: opts.rssi,
          channel_rssi: opts.rssi,
          snr: opts.snr,
          uplink_token: 'ChIKEAoEZ3R3MRIInFyOAAAaBcQQ6L3Vlgk=',
          channel_index: 2,
        },
      ],
      settings: {
        data_rate: { lora: { bandwidth: 125000, spreading_factor: 7 } },
        coding_rate: '4/5',
        frequency: '923200000',
        timestamp: 2463457000,
        time: b.receivedAt,
      },
      consumed_airtime: '0.061696s',
      version_ids: {
        brand_id: 'tani',
        model_id: `sim-${reading.kind}`,
        hardware_version: '1.0',
        firmware_version: 'sim',
        band_id: 'AS_923',
      },
      network_ids: { net_id: '000013', tenant_id: device.tenantId, cluster_id: 'as1' },
      received_at: b.receivedAt,
    },
  }
  return {
    topic: topics.ttsUp(device.applicationId, device.tenantId, device.deviceId),
    payload: JSON.stringify(message),
  }
}
