import type { AlertEvent, DeviceKind, Rule } from '../../shared/index.ts'

/**
 * The control-plane store as the services see it. SQLite implements it today
 * (sqlite-store.ts); another database can implement the same interface without the
 * services noticing. Methods are async so that a networked database fits.
 */

export type Farm = {
  id: string
  name: string
  timezone: string
  createdAt: number
  /** Biofix dates set by an agronomist, per pest species (YYYY-MM-DD, farm time). */
  biofix?: Record<string, string>
}
export type SiteKind = 'pond' | 'field' | 'orchard' | 'greenhouse' | 'other'
export type Site = {
  id: string
  farmId: string
  name: string
  kind: SiteKind
  latitude: number | null
  longitude: number | null
  /** Free labels rules can be scoped by, e.g. { crop_stage: 'tillering', stock: 'white-leg shrimp' }. */
  tags?: Record<string, string>
}
export type Device = {
  id: string
  farmId: string
  siteId: string | null
  kind: DeviceKind
  name: string
  devEui: string | null
  createdAt: number
  revokedAt: number | null
}
export const serviceRoles = ['processor', 'notifier', 'api', 'network-server', 'gateway'] as const
export type ServiceRole = (typeof serviceRoles)[number]
export type NewDevice = Omit<Device, 'createdAt' | 'revokedAt'> & { secretHash: string }
export type QuarantineReason =
  | 'not_json'
  | 'too_large'
  | 'invalid'
  | 'unknown_device'
  | 'kind_mismatch'
  | 'revoked_device'
  | 'bad_topic'
  | 'rejected_by_influxdb'
  /** A LoRaWAN uplink whose DevEUI no registered device has. */
  | 'unknown_dev_eui'
  /** A LoRaWAN payload that is not base64 or not a valid Tani frame. */
  | 'codec_error'
  /** Stamped further in the future than the clock tolerance: the device's clock is wrong. */
  | 'clock_ahead'
export type QuarantineEntry = {
  id: number
  receivedAt: number
  topic: string
  deviceId: string | null
  reason: QuarantineReason
  detail: string
  payload: Buffer
  payloadBytes: number
}
export type StoredAlert = {
  alertId: string
  ruleId: string
  deviceId: string
  farmId: string
  state: 'firing' | 'resolved'
  startedAt: number
  resolvedAt: number | null
  lastEvent: AlertEvent
  eventPublished: boolean
  acknowledgedAt: number | null
  acknowledgedBy: string | null
  /** When the farmer was last told (the state change or the last reminder). */
  notifiedAt: number | null
  reminders: number
}

export interface FarmRepository {
  createFarm(farm: Omit<Farm, 'createdAt'>): Promise<Farm>
  getFarm(id: string): Promise<Farm | null>
  listFarms(): Promise<Farm[]>
  /** Sets (or, with null, clears) a pest's biofix date on a farm; false if there is no such farm. */
  setFarmBiofix(farmId: string, species: string, date: string | null): Promise<boolean>
  createSite(site: Site): Promise<Site>
  listSites(farmId: string): Promise<Site[]>
  getSite(id: string): Promise<Site | null>
  /** Replaces a site's tags; false if there is no such site. */
  setSiteTags(id: string, tags: Record<string, string>): Promise<boolean>
}

export interface DeviceRepository {
  createDevice(device: NewDevice): Promise<Device>
  getDevice(id: string): Promise<Device | null>
  /** The device with this LoRaWAN DevEUI (16 hex digits, either case), revoked or not. */
  getDeviceByDevEui(devEui: string): Promise<Device | null>
  listDevices(filter?: { farmId?: string }): Promise<Device[]>
  /** The stored secret hash of an active (not revoked) device, or null. */
  deviceSecretHash(id: string): Promise<string | null>
  revokeDevice(id: string): Promise<boolean>
  /** Replaces an active device's secret hash (rotation); false if there is no such device. */
  setDeviceSecretHash(id: string, secretHash: string): Promise<boolean>
}

export interface ServiceAccountRepository {
  upsertServiceAccount(name: string, role: ServiceRole, secretHash: string): Promise<void>
  serviceAccount(
    name: string,
  ): Promise<{ name: string; role: ServiceRole; secretHash: string } | null>
}

export interface RuleRepository {
  putRule(rule: Rule): Promise<void>
  listRules(): Promise<Rule[]>
  /** Changes whenever any rule changes, so readers can poll cheaply. */
  rulesRevision(): Promise<string>
}

export interface AlertRepository {
  /** Open (firing) alerts, to restore rule state after a restart. */
  openAlerts(): Promise<StoredAlert[]>
  /** Records a state change; the event is marked unpublished until `markPublished`. */
  saveAlertEvent(event: AlertEvent, startedAt: number): Promise<void>
  markPublished(alertId: string, state: AlertEvent['state']): Promise<void>
  unpublishedEvents(): Promise<AlertEvent[]>
  getAlert(alertId: string): Promise<StoredAlert | null>
  /** Someone has seen a firing alert: reminders stop. False if it is not open or already acknowledged. */
  acknowledgeAlert(alertId: string, by: string, atMs?: number): Promise<boolean>
  /** A reminder of a firing alert went out. */
  recordReminder(alertId: string, atMs: number): Promise<void>
  /** Acknowledged alerts whose acknowledgement has not been published yet. */
  unannouncedAcknowledgements(): Promise<StoredAlert[]>
  markAcknowledgementAnnounced(alertId: string): Promise<void>
}

export interface QuarantineRepository {
  quarantine(entry: Omit<QuarantineEntry, 'id'>): Promise<number>
  listQuarantine(filter?: { reason?: QuarantineReason; limit?: number }): Promise<QuarantineEntry[]>
  countQuarantine(): Promise<Record<string, number>>
}

export interface Store
  extends FarmRepository,
    DeviceRepository,
    ServiceAccountRepository,
    RuleRepository,
    AlertRepository,
    QuarantineRepository {
  close(): Promise<void>
}
