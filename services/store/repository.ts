import type { Role } from '../../shared/api/common.ts'
import type { AlertEvent, DeviceKind, Rule, Severity } from '../../shared/index.ts'

/**
 * The control-plane store as the services see it. SQLite implements it today
 * (sqlite-store.ts); another database can implement the same interface without the
 * services noticing. Methods are async so that a networked database fits.
 */

export type Cooperative = { id: string; name: string; createdAt: number }

export type Farm = {
  id: string
  /** The cooperative the farm belongs to; nobody outside it sees the farm. */
  cooperativeId: string
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
  siteId: string | null
  severity: AlertEvent['severity']
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
  /** Who resolved it by hand, and why (null when the readings resolved it). */
  resolvedBy: string | null
  resolutionNote: string | null
}

/** One entry of an alert's history: a state change, a reminder, an acknowledgement. */
export type AlertHistoryEntry = {
  state: AlertEvent['state']
  reminder: number
  at: number
  by: string | null
  note: string | null
  event: AlertEvent
}

/** One attempt to tell someone about an alert (the bus, web push, a webhook…). */
export type AlertDelivery = {
  alertId: string
  channel: string
  /** Where it went: a topic, a person, a URL (never a secret). */
  target: string
  status: string
  at: number
  detail: string | null
}

export type AlertFilter = {
  farmIds: readonly string[]
  siteId?: string
  severity?: AlertEvent['severity']
  state?: 'firing' | 'resolved' | 'acknowledged' | 'unacknowledged'
  /** Alerts that started at or after / before these times (epoch ms). */
  from?: number
  to?: number
  limit: number
}

export { type Role, roles } from '../../shared/api/common.ts'
export type User = {
  id: string
  cooperativeId: string
  login: string
  name: string
  role: Role
  /** BCP 47 language of notifications and pages: vi, id, en… */
  locale: string
  createdAt: number
  disabledAt: number | null
}
export type NewUser = Omit<User, 'createdAt' | 'disabledAt'> & { passwordHash: string | null }
export type TokenKind = 'session' | 'api'
export type AuthToken = {
  id: string
  userId: string
  kind: TokenKind
  name: string
  createdAt: number
  expiresAt: number | null
  lastUsedAt: number | null
  revokedAt: number | null
}

export type RuleChange = 'create' | 'update' | 'enable' | 'disable' | 'delete' | 'rollback'
export type RuleVersion = {
  ruleId: string
  version: number
  change: RuleChange
  author: string
  createdAt: number
  /** The rule as it stood after this change (as it stood before, for a delete). */
  document: Rule
  /** What changed from the previous version: microdiff entries. */
  diff: unknown[]
}

export class VersionConflictError extends Error {}

export type PushSubscriptionRecord = {
  id: string
  userId: string
  endpoint: string
  /** The browser's keys, base64url, as its PushSubscription gave them. */
  p256dh: string
  auth: string
  userAgent: string | null
  createdAt: number
  lastSuccessAt: number | null
  /** Failed sends in a row (reset by a success). */
  failures: number
}

/** What a person wants to be told about. */
export type NotificationPrefs = {
  userId: string
  /** Farms followed; null: the farms they belong to (a farmer's), none for staff. */
  farmIds: string[] | null
  /** Sites followed within those farms; null: all. */
  siteIds: string[] | null
  minSeverity: Severity
  /** Local times HH:MM; info and warning alerts wait until the end, as one digest. */
  quietHours: { start: string; end: string } | null
  /** IANA zone of the quiet hours; null: the farm's. */
  timeZone: string | null
}

export type Webhook = {
  id: string
  cooperativeId: string
  url: string
  /** Signs each call (HMAC-SHA256); shown once when created. */
  secret: string
  minSeverity: Severity
  /** Every routed alert, or only escalations (nobody acknowledged, or push failed). */
  events: 'all' | 'escalations'
  createdAt: number
}

export type NotificationStatus = 'queued' | 'held' | 'sent' | 'failed' | 'gone'
/** One notification to send, kept until sent (the notifier's outbox). */
export type OutboxItem = {
  id: number
  /** Unique: (alert, state, reminder, channel, target); a repeat is ignored. */
  dedupeKey: string
  alertId: string
  state: string
  channel: 'push' | 'webhook'
  /** A push subscription id or a webhook id. */
  target: string
  userId: string | null
  /** The NotificationPayload (push) or WebhookBody (webhook), JSON. */
  payload: string
  urgency: 'very-low' | 'low' | 'normal' | 'high'
  ttlS: number
  topic: string | null
  status: NotificationStatus
  attempts: number
  /** Not sent before this time (retry back-off, or the end of quiet hours for held ones). */
  notBefore: number
  createdAt: number
  doneAt: number | null
  detail: string | null
}
export type NewOutboxItem = Pick<
  OutboxItem,
  | 'dedupeKey'
  | 'alertId'
  | 'state'
  | 'channel'
  | 'target'
  | 'userId'
  | 'payload'
  | 'urgency'
  | 'ttlS'
  | 'topic'
  | 'notBefore'
> & { held?: boolean }

export interface NotificationRepository {
  getSetting(key: string): Promise<string | null>
  setSetting(key: string, value: string): Promise<void>
  /** Stores the value unless the key has one; returns what is stored (first writer wins). */
  setSettingIfAbsent(key: string, value: string): Promise<string>
  /** Adds a subscription, or takes over the one with the same endpoint (a re-subscribe). */
  upsertPushSubscription(
    s: Pick<PushSubscriptionRecord, 'id' | 'userId' | 'endpoint' | 'p256dh' | 'auth' | 'userAgent'>,
  ): Promise<PushSubscriptionRecord>
  getPushSubscription(id: string): Promise<PushSubscriptionRecord | null>
  listPushSubscriptions(userId: string): Promise<PushSubscriptionRecord[]>
  removePushSubscription(id: string): Promise<boolean>
  recordPushResult(id: string, ok: boolean, atMs: number): Promise<void>
  /** A person's preferences; the defaults (own farms, every severity, no quiet hours) if unset. */
  notificationPrefs(userId: string): Promise<NotificationPrefs>
  setNotificationPrefs(prefs: NotificationPrefs): Promise<void>
  createWebhook(w: Omit<Webhook, 'createdAt'>): Promise<Webhook>
  getWebhook(id: string): Promise<Webhook | null>
  listWebhooks(cooperativeId: string): Promise<Webhook[]>
  deleteWebhook(id: string): Promise<boolean>
  /** Queues notifications in one transaction, skipping any whose dedupe key exists; returns how many are new. */
  enqueueNotifications(items: readonly NewOutboxItem[]): Promise<number>
  /** Queued notifications whose time has come, oldest first. */
  dueNotifications(nowMs: number, limit: number): Promise<OutboxItem[]>
  /** Held (quiet hours) notifications whose time has come. */
  dueDigests(nowMs: number): Promise<OutboxItem[]>
  finishNotification(
    id: number,
    outcome: { status: 'sent' | 'failed' | 'gone'; detail: string | null; atMs: number },
  ): Promise<void>
  retryNotification(id: number, retry: { notBefore: number; detail: string }): Promise<void>
  notificationsOf(alertId: string): Promise<OutboxItem[]>
  /** Forgets finished sends older than this (their dedupe keys with them); returns how many. */
  pruneNotifications(finishedBeforeMs: number): Promise<number>
  /** Records an escalation; false if this alert was escalated already. */
  markEscalated(alertId: string, atMs: number): Promise<boolean>
}

export interface FarmRepository {
  createCooperative(c: Omit<Cooperative, 'createdAt'>): Promise<Cooperative>
  getCooperative(id: string): Promise<Cooperative | null>
  listCooperatives(): Promise<Cooperative[]>
  /** Without a cooperative, the farm joins the one called "default" (created when missing). */
  createFarm(
    farm: Omit<Farm, 'createdAt' | 'cooperativeId'> & { cooperativeId?: string },
  ): Promise<Farm>
  getFarm(id: string): Promise<Farm | null>
  listFarms(filter?: { cooperativeId?: string }): Promise<Farm[]>
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
  /** Creates all of them or, if any fails (a taken id or DevEUI), none. */
  createDevices(devices: readonly NewDevice[]): Promise<Device[]>
  getDevice(id: string): Promise<Device | null>
  /** The device with this LoRaWAN DevEUI (16 hex digits, either case), revoked or not. */
  getDeviceByDevEui(devEui: string): Promise<Device | null>
  listDevices(filter?: { farmId?: string }): Promise<Device[]>
  /** The stored secret hash of an active (not revoked) device, or null. */
  deviceSecretHash(id: string): Promise<string | null>
  revokeDevice(id: string): Promise<boolean>
  /** Replaces an active device's secret hash (rotation); false if there is no such device. */
  setDeviceSecretHash(id: string, secretHash: string): Promise<boolean>
  /** Renames a device or moves it to another site (null: none); null if there is no such device. */
  updateDevice(id: string, patch: { name?: string; siteId?: string | null }): Promise<Device | null>
}

export interface ServiceAccountRepository {
  upsertServiceAccount(name: string, role: ServiceRole, secretHash: string): Promise<void>
  serviceAccount(
    name: string,
  ): Promise<{ name: string; role: ServiceRole; secretHash: string } | null>
}

export interface PeopleRepository {
  createUser(user: NewUser): Promise<User>
  getUser(id: string): Promise<User | null>
  /** A user by login (any case), with the password hash for logging in. */
  userByLogin(login: string): Promise<(User & { passwordHash: string | null }) | null>
  listUsers(cooperativeId: string): Promise<User[]>
  updateUser(
    id: string,
    patch: Partial<Pick<User, 'name' | 'role' | 'locale'>> & { disabled?: boolean },
  ): Promise<User | null>
  setUserPassword(id: string, passwordHash: string): Promise<boolean>
  /** Replaces the farms a person belongs to. */
  setUserFarms(userId: string, farmIds: readonly string[]): Promise<void>
  userFarms(userId: string): Promise<string[]>
  /** The people of a farm (for routing notifications). */
  farmMembers(farmId: string): Promise<User[]>
  createToken(
    token: Omit<AuthToken, 'createdAt' | 'lastUsedAt' | 'revokedAt'> & { tokenHash: string },
  ): Promise<AuthToken>
  /** The live (not revoked, not expired, user not disabled) token with this hash, and its user. */
  tokenByHash(tokenHash: string, nowMs: number): Promise<{ token: AuthToken; user: User } | null>
  touchToken(id: string, atMs: number): Promise<void>
  listTokens(userId: string): Promise<AuthToken[]>
  revokeToken(id: string, atMs?: number): Promise<boolean>
}

export interface RuleRepository {
  /** Stores a rule as it is (CLI import); recorded as a version when that version is new. */
  putRule(rule: Rule): Promise<void>
  getRule(id: string): Promise<Rule | null>
  listRules(): Promise<Rule[]>
  /**
   * Records a change as the rule's next version, atomically: the rule (or, for a delete,
   * its removal) and the version entry. With `expectedVersion`, a rule changed by someone
   * else in between throws VersionConflictError.
   */
  commitRuleChange(change: {
    ruleId: string
    change: RuleChange
    author: string
    /** The new document (its version is set here); for a delete, the last one. */
    document: Rule
    diff: unknown[]
    expectedVersion?: number
  }): Promise<RuleVersion>
  listRuleVersions(ruleId: string): Promise<RuleVersion[]>
  getRuleVersion(ruleId: string, version: number): Promise<RuleVersion | null>
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
  listAlerts(filter: AlertFilter): Promise<StoredAlert[]>
  alertHistory(alertId: string): Promise<AlertHistoryEntry[]>
  recordDelivery(delivery: AlertDelivery): Promise<void>
  alertDeliveries(alertId: string): Promise<AlertDelivery[]>
  /** Someone closed a firing alert by hand; false if it is not firing. */
  resolveAlertManually(alertId: string, by: string, note: string, atMs?: number): Promise<boolean>
  /** Alerts resolved by hand whose resolution has not been published yet. */
  unannouncedResolutions(): Promise<StoredAlert[]>
  markResolutionAnnounced(alertId: string): Promise<void>
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
    PeopleRepository,
    NotificationRepository,
    RuleRepository,
    AlertRepository,
    QuarantineRepository {
  close(): Promise<void>
}
