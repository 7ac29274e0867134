/**
 * Versioned schema migrations for the control-plane store. Append only: a released
 * migration is never edited, a change is a new entry.
 */
export const migrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'farms, sites, devices, service accounts',
    sql: `
      CREATE TABLE farms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sites (
        id TEXT PRIMARY KEY,
        farm_id TEXT NOT NULL REFERENCES farms(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        latitude REAL,
        longitude REAL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX sites_farm ON sites(farm_id);
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        farm_id TEXT NOT NULL REFERENCES farms(id),
        site_id TEXT REFERENCES sites(id),
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        dev_eui TEXT UNIQUE,
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE INDEX devices_farm ON devices(farm_id);
      CREATE TABLE service_accounts (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'rules, alerts, quarantine',
    sql: `
      CREATE TABLE rules (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        enabled INTEGER NOT NULL,
        document TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        farm_id TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        resolved_at INTEGER,
        last_event TEXT NOT NULL,
        event_published INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX alerts_open ON alerts(rule_id, device_id) WHERE state = 'firing';
      CREATE INDEX alerts_unpublished ON alerts(event_published) WHERE event_published = 0;
      CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at INTEGER NOT NULL,
        topic TEXT NOT NULL,
        device_id TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        payload BLOB NOT NULL,
        payload_bytes INTEGER NOT NULL
      );
      CREATE INDEX quarantine_reason ON quarantine(reason);
    `,
  },
  {
    version: 3,
    name: 'DevEUIs in lower case, unique whatever the case',
    sql: `
      UPDATE devices SET dev_eui = lower(dev_eui) WHERE dev_eui IS NOT NULL;
      CREATE UNIQUE INDEX devices_dev_eui_lower ON devices(lower(dev_eui));
    `,
  },
  {
    version: 4,
    name: 'alert acknowledgement and reminders',
    sql: `
      ALTER TABLE alerts ADD COLUMN acknowledged_at INTEGER;
      ALTER TABLE alerts ADD COLUMN acknowledged_by TEXT;
      ALTER TABLE alerts ADD COLUMN notified_at INTEGER;
      ALTER TABLE alerts ADD COLUMN reminders INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 5,
    name: 'acknowledgements announced on the bus',
    sql: `
      ALTER TABLE alerts ADD COLUMN ack_announced INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 6,
    name: 'site tags (crop stage, stock…)',
    sql: `
      ALTER TABLE sites ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
    `,
  },
  {
    version: 7,
    name: 'biofix dates per farm and pest',
    sql: `
      ALTER TABLE farms ADD COLUMN biofix TEXT NOT NULL DEFAULT '{}';
    `,
  },
  {
    version: 8,
    name: 'cooperatives, people, tokens, rule versions, alert history and deliveries',
    sql: `
      CREATE TABLE cooperatives (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Farms made before cooperatives existed join one called "default".
      INSERT INTO cooperatives (id, name, created_at)
        SELECT 'default', 'Default cooperative', CAST(unixepoch('subsec') * 1000 AS INTEGER)
        WHERE EXISTS (SELECT 1 FROM farms);
      ALTER TABLE farms ADD COLUMN cooperative_id TEXT REFERENCES cooperatives(id);
      UPDATE farms SET cooperative_id = 'default';
      CREATE INDEX farms_cooperative ON farms(cooperative_id);
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        cooperative_id TEXT NOT NULL REFERENCES cooperatives(id),
        login TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        locale TEXT NOT NULL,
        password_hash TEXT,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER
      );
      CREATE UNIQUE INDEX users_login ON users(lower(login));
      CREATE INDEX users_cooperative ON users(cooperative_id);
      CREATE TABLE farm_members (
        farm_id TEXT NOT NULL REFERENCES farms(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (farm_id, user_id)
      );
      CREATE INDEX farm_members_user ON farm_members(user_id);
      CREATE TABLE auth_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX auth_tokens_user ON auth_tokens(user_id);
      CREATE TABLE rule_versions (
        rule_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        change TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        document TEXT NOT NULL,
        diff TEXT NOT NULL,
        PRIMARY KEY (rule_id, version)
      );
      INSERT INTO rule_versions (rule_id, version, change, author, created_at, document, diff)
        SELECT id, version, 'create', 'migration', updated_at, document, '[]' FROM rules;
      CREATE TABLE alert_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL,
        state TEXT NOT NULL,
        reminder INTEGER NOT NULL DEFAULT 0,
        at INTEGER NOT NULL,
        by TEXT,
        note TEXT,
        event TEXT NOT NULL
      );
      CREATE INDEX alert_events_alert ON alert_events(alert_id);
      INSERT INTO alert_events (alert_id, state, at, event)
        SELECT alert_id, state, started_at, last_event FROM alerts;
      CREATE TABLE alert_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        status TEXT NOT NULL,
        at INTEGER NOT NULL,
        detail TEXT
      );
      CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);
      ALTER TABLE alerts ADD COLUMN site_id TEXT;
      UPDATE alerts SET site_id = json_extract(last_event, '$.site_id');
      ALTER TABLE alerts ADD COLUMN resolved_by TEXT;
      ALTER TABLE alerts ADD COLUMN resolution_note TEXT;
      ALTER TABLE alerts ADD COLUMN resolution_announced INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX alerts_farm_started ON alerts(farm_id, started_at);
    `,
  },
  {
    version: 9,
    name: 'web push: VAPID keys, subscriptions, preferences, webhooks, notification outbox',
    sql: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE push_subscriptions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        endpoint TEXT NOT NULL UNIQUE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        user_agent TEXT,
        created_at INTEGER NOT NULL,
        last_success_at INTEGER,
        failures INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id);
      CREATE TABLE notification_prefs (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        farm_ids TEXT,
        site_ids TEXT,
        min_severity TEXT NOT NULL,
        quiet_start TEXT,
        quiet_end TEXT,
        time_zone TEXT
      );
      CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        cooperative_id TEXT NOT NULL REFERENCES cooperatives(id),
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        min_severity TEXT NOT NULL,
        events TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX webhooks_cooperative ON webhooks(cooperative_id);
      CREATE TABLE notification_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedupe_key TEXT NOT NULL UNIQUE,
        alert_id TEXT NOT NULL,
        state TEXT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        user_id TEXT,
        payload TEXT NOT NULL,
        urgency TEXT NOT NULL,
        ttl_s INTEGER NOT NULL,
        topic TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        done_at INTEGER,
        detail TEXT
      );
      CREATE INDEX notification_outbox_due ON notification_outbox(status, not_before)
        WHERE status IN ('queued', 'held');
      CREATE TABLE escalations (alert_id TEXT PRIMARY KEY, escalated_at INTEGER NOT NULL);
    `,
  },
]
