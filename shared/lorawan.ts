import { z } from 'zod'

/**
 * What LoRaWAN network servers publish for an uplink, as far as Tani reads it. Objects
 * are loose (fields Tani does not use pass through untouched, so a newer server version
 * adding fields is no problem); the fields Tani uses are checked strictly.
 *
 * Both servers encode protobuf messages as JSON, which leaves out fields holding their
 * zero value: an absent frame counter is 0 (the first uplink after a join).
 */

/** A DevEUI: 16 hex digits, either case; normalised to lower case. */
export const DevEui = z
  .string({
    error: (iss) =>
      iss.input === undefined
        ? 'missing: Tani finds the device by its DevEUI'
        : 'a DevEUI is a string of 16 hex digits',
  })
  .regex(/^[0-9A-Fa-f]{16}$/, 'a DevEUI is 16 hex digits, e.g. 0004a30b001c0530')
  .transform((s) => s.toLowerCase())

/** RFC 3339 time of the network server (nanosecond fractions allowed). */
const NetworkTime = z.iso.datetime({ offset: true })

/** The LoRaWAN frame counter; protobuf JSON leaves it out when it is 0. */
const FrameCounter = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 32 - 1)
  .default(0)

const FPort = z.number().int().min(0).max(255).optional()

/** Base64 of the FRMPayload (checked strictly by `decodeBase64` when it is used). */
const Base64Text = z.string()

/** The payload as decoded by the network server's payload formatter/codec. */
const PayloadObject = z.record(z.string(), z.unknown())

/** One gateway's reception of the frame. */
const Reception = z.looseObject({
  rssi: z.number().finite().optional(),
  snr: z.number().finite().optional(),
})

/**
 * ChirpStack v4 "up" event, on `application/{applicationId}/device/{devEui}/event/up`
 * (chirpstack.io/docs/chirpstack/integrations/events.html).
 */
export const ChirpStackUplink = z.looseObject({
  deduplicationId: z.string().optional(),
  /** When the network server received the frame. */
  time: NetworkTime,
  deviceInfo: z.looseObject({
    tenantId: z.string().optional(),
    applicationId: z.string().min(1),
    deviceName: z.string().optional(),
    devEui: DevEui,
  }),
  fCnt: FrameCounter,
  fPort: FPort,
  data: Base64Text.optional(),
  /** Present when the device profile has a codec. */
  object: PayloadObject.optional(),
  rxInfo: z.array(Reception).default([]),
})
export type ChirpStackUplink = z.output<typeof ChirpStackUplink>

/**
 * The Things Stack v3 uplink message, on `v3/{applicationId}@{tenantId}/devices/{deviceId}/up`
 * (thethingsindustries.com/docs/integrations/data-formats/).
 */
export const TtsUplink = z
  .looseObject({
    end_device_ids: z.looseObject({
      device_id: z.string().min(1),
      application_ids: z.looseObject({ application_id: z.string().min(1) }),
      dev_eui: DevEui,
    }),
    received_at: NetworkTime.optional(),
    uplink_message: z.looseObject({
      f_cnt: FrameCounter,
      f_port: FPort,
      frm_payload: Base64Text.optional(),
      /** Present when the application or device has a payload formatter. */
      decoded_payload: PayloadObject.optional(),
      rx_metadata: z.array(Reception).default([]),
      received_at: NetworkTime.optional(),
    }),
  })
  .refine((u) => u.uplink_message.received_at !== undefined || u.received_at !== undefined, {
    message: 'needs uplink_message.received_at (or received_at): the time of the uplink',
    path: ['uplink_message', 'received_at'],
  })
export type TtsUplink = z.output<typeof TtsUplink>

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Decodes standard, padded base64 (RFC 4648 section 4); null when `text` is not that. */
export function decodeBase64(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null
}

/** The strongest RSSI any gateway reported, or undefined when none did. */
export function bestRssi(receptions: readonly { rssi?: number | undefined }[]): number | undefined {
  const values = receptions.map((r) => r.rssi).filter((r): r is number => r !== undefined)
  return values.length > 0 ? Math.max(...values) : undefined
}
