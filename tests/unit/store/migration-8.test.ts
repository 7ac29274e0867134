import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrations } from '../../../services/store/migrations.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'
import type { Rule } from '../../../shared/index.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tani-mig-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

describe('migration 8 (cooperatives, people, rule versions, alert history)', () => {
  it('keeps a store made before cooperatives working: farms join "default", rules get a first version', async () => {
    const path = join(dir, 'old.db')
    const old = new DatabaseSync(path)
    old.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    )
    for (const m of migrations.filter((m) => m.version <= 7)) {
      old.exec(m.sql)
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 0)
    }
    old.exec(
      `INSERT INTO farms (id, name, timezone, created_at) VALUES ('f1', 'F1', 'Asia/Ho_Chi_Minh', 1)`,
    )
    const rule = {
      id: 'do-low',
      name: 'DO low',
      description: '',
      enabled: true,
      version: 3,
      scope: { kind: 'pond_sensor' },
      severity: 'critical',
      message: 'DO low at {site}',
      resolved_message: 'ok',
      condition: { type: 'threshold', metric: 'dissolved_oxygen_mg_l', op: 'below', value: 3 },
    }
    old.prepare('INSERT INTO rules VALUES (?, ?, 1, ?, 5)').run('do-low', 3, JSON.stringify(rule))
    old.close()

    const store = openSqliteStore(path)
    expect((await store.getFarm('f1'))?.cooperativeId).toBe('default')
    expect((await store.listCooperatives()).map((c) => c.id)).toEqual(['default'])
    const versions = await store.listRuleVersions('do-low')
    expect(versions).toMatchObject([{ version: 3, change: 'create', author: 'migration' }])
    // The next change continues the numbering.
    const next = await store.commitRuleChange({
      ruleId: 'do-low',
      change: 'disable',
      author: 'agro',
      document: { ...(versions[0]?.document as Rule), enabled: false },
      diff: [],
      expectedVersion: 3,
    })
    expect(next.version).toBe(4)
    expect((await store.listRules())[0]).toMatchObject({ version: 4, enabled: false })
    await store.close()
  })
})
