/**
 * Topic names. Every topic a service publishes or subscribes to is built here, and the
 * map at the bottom says which schema travels on which topic.
 */

/** Ids that appear in topics: no MQTT wildcards or separators, nothing a shell trips on. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export const isValidId = (id: string): boolean => ID_PATTERN.test(id)

export const topics = {
  /** Readings from one device (one reading or a batch). */
  deviceUp: (deviceId: string) => `devices/${deviceId}/up`,
  /** Online/offline and firmware status of one device; the broker's last will lands here. */
  deviceStatus: (deviceId: string) => `devices/${deviceId}/status`,
  /** Alert events of one farm. */
  farmAlerts: (farmId: string) => `alerts/${farmId}`,
  /** Subscriptions of the processor (shared by all devices). */
  allDeviceUp: 'devices/+/up',
  allDeviceStatus: 'devices/+/status',
  allFarmAlerts: 'alerts/+',
  /** Uplink event of a ChirpStack v4 MQTT integration (its default `event_topic`). */
  chirpstackUp: (applicationId: string, devEui: string) =>
    `application/${applicationId}/device/${devEui}/event/up`,
  /** Uplink message of The Things Stack v3 (`@tenant` is left out by the Open Source edition). */
  ttsUp: (applicationId: string, tenantId: string | null, deviceId: string) =>
    `v3/${applicationId}${tenantId ? `@${tenantId}` : ''}/devices/${deviceId}/up`,
  allChirpstackUp: 'application/+/device/+/event/up',
  allTtsUp: 'v3/+/devices/+/up',
} as const

/** The root every device may publish under: `devices/{deviceId}/`. */
export const deviceRoot = (deviceId: string) => `devices/${deviceId}/`

export type DeviceTopic = { deviceId: string; channel: 'up' | 'status' }

/** Parses `devices/{deviceId}/up|status`; anything else is null. */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const parts = topic.split('/')
  if (parts.length !== 3 || parts[0] !== 'devices') return null
  const [, deviceId, channel] = parts
  if (!deviceId || !isValidId(deviceId)) return null
  if (channel !== 'up' && channel !== 'status') return null
  return { deviceId, channel }
}

export const TOPIC_ID = '[A-Za-z0-9][A-Za-z0-9._-]{0,63}'
/** `application/{applicationId}/device/{devEui}/event/up` (ChirpStack v4). */
export const CHIRPSTACK_UP_TOPIC = new RegExp(
  `^application/(${TOPIC_ID})/device/([0-9A-Fa-f]{16})/event/up$`,
)
/**
 * `v3/{applicationId}@{tenantId}/devices/{deviceId}/up` (The Things Stack v3; the Open
 * Source edition has no `@{tenantId}`, see thethingsindustries.com/docs/integrations/other-integrations/mqtt).
 */
/** Every event topic of a ChirpStack v4 device (up, join, status, ack, txack, log, location…). */
export const CHIRPSTACK_EVENT_TOPIC = new RegExp(
  `^application/(${TOPIC_ID})/device/([0-9A-Fa-f]{16})/event/[a-z]+$`,
)
/** Every device topic The Things Stack v3 publishes (up, join, down/…, service/data, location/solved). */
export const TTS_EVENT_TOPIC = new RegExp(
  `^v3/(${TOPIC_ID})(?:@(${TOPIC_ID}))?/devices/(${TOPIC_ID})/[a-z_]+(?:/[a-z_]+)?$`,
)
export const TTS_UP_TOPIC = new RegExp(
  `^v3/(${TOPIC_ID})(?:@(${TOPIC_ID}))?/devices/(${TOPIC_ID})/up$`,
)

export type ChirpStackTopic = { applicationId: string; devEui: string }
export type TtsTopic = { applicationId: string; tenantId: string | null; deviceId: string }

export function parseChirpStackTopic(topic: string): ChirpStackTopic | null {
  const m = CHIRPSTACK_UP_TOPIC.exec(topic)
  return m ? { applicationId: m[1] as string, devEui: m[2] as string } : null
}

export function parseTtsTopic(topic: string): TtsTopic | null {
  const m = TTS_UP_TOPIC.exec(topic)
  return m
    ? { applicationId: m[1] as string, tenantId: m[2] ?? null, deviceId: m[3] as string }
    : null
}
