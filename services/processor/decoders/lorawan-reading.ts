import {
  CodecError,
  DeviceKind,
  decodeBase64,
  decodeUplink,
  parseDeviceUplink,
  readingSchemas,
} from '../../../shared/index.ts'
import type { DeviceDirectory } from '../device-directory.ts'
import { describeIssues, Rejection, type Validated } from './common.ts'

/**
 * A network server's uplink (ChirpStack or The Things Stack), reduced to what Tani needs,
 * and its translation into a native reading: the device is found by DevEUI, `seq` is the
 * frame counter, `rssi_dbm` the best gateway's RSSI, `ts` the frame's own timestamp
 * (store-and-forward) or else the network server's reception time. The reading is then
 * validated with the same schemas as a native one (README, "LoRaWAN uplinks").
 */
export type LorawanUplink = {
  source: 'lorawan'
  /** Which server, and the names of its fields, for messages. */
  server: 'ChirpStack' | 'The Things Stack'
  names: { payload: string; object: string; receptions: string }
  devEui: string
  fCnt: number
  /** The network server's reception time, epoch ms. */
  receivedAt: number
  rssi: number | undefined
  /** Base64 FRMPayload, when present. */
  payload: string | undefined
  /** The network server's decoding of the payload, when it runs a formatter. */
  object: Record<string, unknown> | undefined
}

/** The reading's fields, from the network server's decoding or else from Tani's codec. */
function measurements(u: LorawanUplink, deviceId: string): Record<string, unknown> {
  if (u.object !== undefined) {
    if ('readings' in u.object)
      throw new Rejection(
        'invalid',
        `${u.names.object}: one reading per uplink; batches ("readings") are not taken over LoRaWAN`,
        deviceId,
      )
    return u.object
  }
  if (u.payload === undefined)
    throw new Rejection(
      'codec_error',
      `the uplink has no ${u.names.payload} and no ${u.names.object}: nothing to read`,
      deviceId,
    )
  const bytes = decodeBase64(u.payload)
  if (!bytes) throw new Rejection('codec_error', `${u.names.payload} is not valid base64`, deviceId)
  try {
    const frame = decodeUplink(bytes)
    return { kind: frame.kind, ...frame.fields }
  } catch (err) {
    if (!(err instanceof CodecError)) throw err
    throw new Rejection(
      'codec_error',
      `${u.names.payload} (${bytes.length} bytes, 0x${bytes.subarray(0, 16).toString('hex')}) is not a Tani frame: ${err.message}`,
      deviceId,
    )
  }
}

function formatterHint(object: Record<string, unknown>, kind: string): string {
  const schema = DeviceKind.safeParse(kind).success ? readingSchemas[kind as DeviceKind] : null
  const unknown = schema
    ? Object.keys(object).filter((k) => k !== 'kind' && !(k in schema.shape))
    : []
  return `${unknown.length ? ` (fields Tani does not know: ${unknown.join(', ')})` : ''}; the network server's payload formatter must output Tani's field names (README, "LoRaWAN uplinks"), or leave the frame to Tani's codec`
}

export async function validateLorawan(
  u: LorawanUplink,
  devices: DeviceDirectory,
): Promise<Validated> {
  const device = await devices.byDevEui(u.devEui)
  if (!device)
    throw new Rejection(
      'unknown_dev_eui',
      `no device is registered with DevEUI ${u.devEui} (${u.server}); register it with \`tani device register ... --dev-eui ${u.devEui}\``,
    )
  if (device.revokedAt !== null)
    throw new Rejection('revoked_device', `device ${device.id} was revoked`, device.id)
  const fields = measurements(u, device.id)
  if (u.rssi === undefined)
    throw new Rejection(
      'invalid',
      `no gateway reported an RSSI (${u.names.receptions} is empty): rssi_dbm is required`,
      device.id,
    )
  // The frame counter and the gateway's RSSI are the network server's: a formatter's
  // own `seq` or `rssi_dbm` do not override them.
  const body = {
    kind: device.kind,
    ...fields,
    ts: fields.ts ?? u.receivedAt,
    seq: u.fCnt,
    rssi_dbm: u.rssi,
  }
  const parsed = parseDeviceUplink(body)
  if (!parsed.success) {
    const from = u.object !== undefined ? u.names.object : `${u.names.payload} (Tani codec)`
    const hint = u.object !== undefined ? formatterHint(u.object, String(body.kind)) : ''
    throw new Rejection(
      'invalid',
      `${from} is not a valid ${body.kind} reading: ${describeIssues(parsed.error, 'readings.0.')}${hint}`,
      device.id,
    )
  }
  if (parsed.data.kind !== device.kind)
    throw new Rejection(
      'kind_mismatch',
      `device ${device.id} (DevEUI ${u.devEui}) is registered as ${device.kind} but sent ${parsed.data.kind}`,
      device.id,
    )
  return { channel: 'up', device, uplink: parsed.data }
}
