import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import { migrations } from './migrations.ts'
import type {
  Device,
  Farm,
  NewDevice,
  QuarantineEntry,
  QuarantineReason,
  ServiceRole,
  Site,
  Store,
} from './repository.ts'
import { sqliteAlerts } from './sqlite-alerts.ts'
import { sqliteNotifications } from './sqlite-notifications.ts'
import { sqlitePeople } from './sqlite-people.ts'
import { sqliteRules } from './sqlite-rules.ts'

type Row = Record<string, SQLInputValue>

/** Applies pending migrations in one transaction each; returns the schema version. */
export function migrate(db: DatabaseSync): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  )
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as {
    v: number | null
  }
  let current = row.v ?? 0
  for (const m of migrations) {
    if (m.version <= current) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(m.sql)
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      )
      db.exec('COMMIT')
    } catch (err) {
      db.exec('ROLLBACK')
      throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`)
    }
    current = m.version
  }
  return current
}

const toFarm = (r: Row): Farm => ({
  id: String(r.id),
  cooperativeId: String(r.cooperative_id),
  name: String(r.name),
  timezone: String(r.timezone),
  createdAt: Number(r.created_at),
  biofix: JSON.parse(String(r.biofix ?? '{}')) as Record<string, string>,
})
const toSite = (r: Row): Site => ({
  id: String(r.id),
  farmId: String(r.farm_id),
  name: String(r.name),
  kind: String(r.kind) as Site['kind'],
  latitude: r.latitude === null ? null : Number(r.latitude),
  longitude: r.longitude === null ? null : Number(r.longitude),
  tags: JSON.parse(String(r.tags ?? '{}')) as Record<string, string>,
})
const toDevice = (r: Row): Device => ({
  id: String(r.id),
  farmId: String(r.farm_id),
  siteId: r.site_id === null ? null : String(r.site_id),
  kind: String(r.kind) as Device['kind'],
  name: String(r.name),
  devEui: r.dev_eui === null ? null : String(r.dev_eui),
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
})
export const DEFAULT_COOPERATIVE = 'default'

/** Opens (creating and migrating if needed) the SQLite control-plane store. */
export function openSqliteStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new DatabaseSync(path)
  // WAL lets the CLI register devices while the broker and processor read.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;')
  migrate(db)

  const q = {
    insertFarm: db.prepare(
      'INSERT INTO farms (id, cooperative_id, name, timezone, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    ensureDefaultCoop: db.prepare(
      "INSERT OR IGNORE INTO cooperatives (id, name, created_at) VALUES (?, 'Default cooperative', ?)",
    ),
    getFarm: db.prepare('SELECT * FROM farms WHERE id = ?'),
    listFarms: db.prepare('SELECT * FROM farms ORDER BY id'),
    listCoopFarms: db.prepare('SELECT * FROM farms WHERE cooperative_id = ? ORDER BY id'),
    insertSite: db.prepare(
      'INSERT INTO sites (id, farm_id, name, kind, latitude, longitude, created_at, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    setSiteTags: db.prepare('UPDATE sites SET tags = ? WHERE id = ?'),
    setFarmBiofix: db.prepare('UPDATE farms SET biofix = ? WHERE id = ?'),
    listSites: db.prepare('SELECT * FROM sites WHERE farm_id = ? ORDER BY id'),
    getSite: db.prepare('SELECT * FROM sites WHERE id = ?'),
    insertDevice: db.prepare(
      'INSERT INTO devices (id, farm_id, site_id, kind, name, dev_eui, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getDevice: db.prepare('SELECT * FROM devices WHERE id = ?'),
    getDeviceByDevEui: db.prepare('SELECT * FROM devices WHERE lower(dev_eui) = lower(?)'),
    listDevices: db.prepare('SELECT * FROM devices ORDER BY id'),
    listFarmDevices: db.prepare('SELECT * FROM devices WHERE farm_id = ? ORDER BY id'),
    deviceSecret: db.prepare('SELECT secret_hash FROM devices WHERE id = ? AND revoked_at IS NULL'),
    setDeviceSecret: db.prepare(
      'UPDATE devices SET secret_hash = ? WHERE id = ? AND revoked_at IS NULL',
    ),
    revokeDevice: db.prepare(
      'UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    ),
    renameDevice: db.prepare('UPDATE devices SET name = ? WHERE id = ?'),
    setDeviceSite: db.prepare('UPDATE devices SET site_id = ? WHERE id = ?'),
    upsertAccount: db.prepare(
      `INSERT INTO service_accounts (name, role, secret_hash, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET role = excluded.role, secret_hash = excluded.secret_hash`,
    ),
    getAccount: db.prepare('SELECT * FROM service_accounts WHERE name = ?'),
    insertQuarantine: db.prepare(
      'INSERT INTO quarantine (received_at, topic, device_id, reason, detail, payload, payload_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    listQuarantine: db.prepare('SELECT * FROM quarantine ORDER BY id DESC LIMIT ?'),
    listQuarantineByReason: db.prepare(
      'SELECT * FROM quarantine WHERE reason = ? ORDER BY id DESC LIMIT ?',
    ),
    countQuarantine: db.prepare('SELECT reason, COUNT(*) AS n FROM quarantine GROUP BY reason'),
  }

  function insertDevice(d: NewDevice): Device {
    const createdAt = Date.now()
    // Stored in lower case: network servers write DevEUIs in either case.
    const devEui = d.devEui?.toLowerCase() ?? null
    q.insertDevice.run(d.id, d.farmId, d.siteId, d.kind, d.name, devEui, d.secretHash, createdAt)
    const { secretHash: _hash, ...device } = d
    return { ...device, devEui, createdAt, revokedAt: null }
  }

  return {
    ...sqlitePeople(db),
    ...sqliteRules(db),
    ...sqliteAlerts(db),
    ...sqliteNotifications(db),
    async createFarm(farm) {
      const createdAt = Date.now()
      const cooperativeId = farm.cooperativeId ?? DEFAULT_COOPERATIVE
      if (!farm.cooperativeId) q.ensureDefaultCoop.run(DEFAULT_COOPERATIVE, createdAt)
      q.insertFarm.run(farm.id, cooperativeId, farm.name, farm.timezone, createdAt)
      return { ...farm, cooperativeId, biofix: farm.biofix ?? {}, createdAt }
    },
    async getFarm(id) {
      const r = q.getFarm.get(id) as Row | undefined
      return r ? toFarm(r) : null
    },
    async setFarmBiofix(farmId, species, date) {
      const r = q.getFarm.get(farmId) as Row | undefined
      if (!r) return false
      const biofix = toFarm(r).biofix ?? {}
      if (date === null) delete biofix[species]
      else biofix[species] = date
      q.setFarmBiofix.run(JSON.stringify(biofix), farmId)
      return true
    },
    async listFarms(filter) {
      const rows = filter?.cooperativeId
        ? q.listCoopFarms.all(filter.cooperativeId)
        : q.listFarms.all()
      return (rows as Row[]).map(toFarm)
    },
    async createSite(site) {
      q.insertSite.run(
        site.id,
        site.farmId,
        site.name,
        site.kind,
        site.latitude,
        site.longitude,
        Date.now(),
        JSON.stringify(site.tags ?? {}),
      )
      return { ...site, tags: site.tags ?? {} }
    },
    async setSiteTags(id, tags) {
      return Number(q.setSiteTags.run(JSON.stringify(tags), id).changes) > 0
    },
    async listSites(farmId) {
      return (q.listSites.all(farmId) as Row[]).map(toSite)
    },
    async getSite(id) {
      const r = q.getSite.get(id) as Row | undefined
      return r ? toSite(r) : null
    },
    async createDevice(d: NewDevice) {
      return insertDevice(d)
    },
    async createDevices(devices) {
      db.exec('BEGIN IMMEDIATE')
      try {
        const created = devices.map(insertDevice)
        db.exec('COMMIT')
        return created
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
    async getDevice(id) {
      const r = q.getDevice.get(id) as Row | undefined
      return r ? toDevice(r) : null
    },
    async getDeviceByDevEui(devEui) {
      const r = q.getDeviceByDevEui.get(devEui) as Row | undefined
      return r ? toDevice(r) : null
    },
    async listDevices(filter) {
      const rows = filter?.farmId ? q.listFarmDevices.all(filter.farmId) : q.listDevices.all()
      return (rows as Row[]).map(toDevice)
    },
    async deviceSecretHash(id) {
      const r = q.deviceSecret.get(id) as Row | undefined
      return r ? String(r.secret_hash) : null
    },
    async setDeviceSecretHash(id, secretHash) {
      return Number(q.setDeviceSecret.run(secretHash, id).changes) > 0
    },
    async revokeDevice(id) {
      return Number(q.revokeDevice.run(Date.now(), id).changes) > 0
    },
    async updateDevice(id, patch) {
      if (patch.name !== undefined) q.renameDevice.run(patch.name, id)
      if (patch.siteId !== undefined) q.setDeviceSite.run(patch.siteId, id)
      const r = q.getDevice.get(id) as Row | undefined
      return r ? toDevice(r) : null
    },
    async upsertServiceAccount(name, role, secretHash) {
      q.upsertAccount.run(name, role, secretHash, Date.now())
    },
    async serviceAccount(name) {
      const r = q.getAccount.get(name) as Row | undefined
      return r
        ? {
            name: String(r.name),
            role: String(r.role) as ServiceRole,
            secretHash: String(r.secret_hash),
          }
        : null
    },
    async quarantine(e) {
      const r = q.insertQuarantine.run(
        e.receivedAt,
        e.topic,
        e.deviceId,
        e.reason,
        e.detail,
        e.payload,
        e.payloadBytes,
      )
      return Number(r.lastInsertRowid)
    },
    async listQuarantine(filter) {
      const limit = filter?.limit ?? 100
      const rows = filter?.reason
        ? q.listQuarantineByReason.all(filter.reason, limit)
        : q.listQuarantine.all(limit)
      return (rows as Row[]).map(
        (r): QuarantineEntry => ({
          id: Number(r.id),
          receivedAt: Number(r.received_at),
          topic: String(r.topic),
          deviceId: r.device_id === null ? null : String(r.device_id),
          reason: String(r.reason) as QuarantineReason,
          detail: String(r.detail),
          payload: Buffer.from(r.payload as Uint8Array),
          payloadBytes: Number(r.payload_bytes),
        }),
      )
    },
    async countQuarantine() {
      const out: Record<string, number> = {}
      for (const r of q.countQuarantine.all() as Row[]) out[String(r.reason)] = Number(r.n)
      return out
    },
    async close() {
      if (db.isOpen) db.close()
    },
  }
}
