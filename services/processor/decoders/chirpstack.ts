import { bestRssi, type ChirpStackTopic, ChirpStackUplink } from '../../../shared/index.ts'
import { describeIssues, parseJsonPayload, Rejection } from './common.ts'
import type { LorawanUplink } from './lorawan-reading.ts'

/**
 * ChirpStack v4 MQTT integration: the "up" event (JSON marshaler) on
 * `application/{applicationId}/device/{devEui}/event/up`
 * (chirpstack.io/docs/chirpstack/integrations/events.html).
 */
export function decodeChirpStack(topic: ChirpStackTopic, payload: Buffer): LorawanUplink {
  const parsed = ChirpStackUplink.safeParse(parseJsonPayload(payload))
  if (!parsed.success)
    throw new Rejection('invalid', `not a ChirpStack v4 up event: ${describeIssues(parsed.error)}`)
  const e = parsed.data
  if (e.deviceInfo.devEui !== topic.devEui.toLowerCase())
    throw new Rejection(
      'bad_topic',
      `the topic names DevEUI ${topic.devEui} but the event is from ${e.deviceInfo.devEui}`,
    )
  return {
    source: 'lorawan',
    server: 'ChirpStack',
    names: { payload: 'data', object: 'object', receptions: 'rxInfo' },
    devEui: e.deviceInfo.devEui,
    fCnt: e.fCnt,
    receivedAt: Date.parse(e.time),
    rssi: bestRssi(e.rxInfo),
    payload: e.data,
    object: e.object,
  }
}
