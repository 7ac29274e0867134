import { bestRssi, type TtsTopic, TtsUplink } from '../../../shared/index.ts'
import { describeIssues, parseJsonPayload, Rejection } from './common.ts'
import type { LorawanUplink } from './lorawan-reading.ts'

/**
 * The Things Stack v3 uplink message on `v3/{applicationId}@{tenantId}/devices/{deviceId}/up`
 * (thethingsindustries.com/docs/integrations/data-formats/), as its MQTT server or a
 * Pub/Sub integration publishes it.
 */
export function decodeTts(topic: TtsTopic, payload: Buffer): LorawanUplink {
  const parsed = TtsUplink.safeParse(parseJsonPayload(payload))
  if (!parsed.success)
    throw new Rejection(
      'invalid',
      `not a The Things Stack v3 uplink message: ${describeIssues(parsed.error)}`,
    )
  const m = parsed.data
  const ids = m.end_device_ids
  if (
    ids.device_id !== topic.deviceId ||
    ids.application_ids.application_id !== topic.applicationId
  )
    throw new Rejection(
      'bad_topic',
      `the topic names device ${topic.deviceId} of application ${topic.applicationId} but the message is from ${ids.device_id} of ${ids.application_ids.application_id}`,
    )
  const up = m.uplink_message
  // The refinement in TtsUplink guarantees one of the two.
  const receivedAt = (up.received_at ?? m.received_at) as string
  return {
    source: 'lorawan',
    server: 'The Things Stack',
    names: { payload: 'frm_payload', object: 'decoded_payload', receptions: 'rx_metadata' },
    devEui: ids.dev_eui,
    fCnt: up.f_cnt,
    receivedAt: Date.parse(receivedAt),
    rssi: bestRssi(up.rx_metadata),
    payload: up.frm_payload,
    object: up.decoded_payload,
  }
}
