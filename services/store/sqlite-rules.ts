import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import { Rule } from '../../shared/index.ts'
import {
  type RuleChange,
  type RuleRepository,
  type RuleVersion,
  VersionConflictError,
} from './repository.ts'

type Row = Record<string, SQLInputValue>

const toVersion = (r: Row): RuleVersion => ({
  ruleId: String(r.rule_id),
  version: Number(r.version),
  change: String(r.change) as RuleChange,
  author: String(r.author),
  createdAt: Number(r.created_at),
  document: Rule.parse(JSON.parse(String(r.document))),
  diff: JSON.parse(String(r.diff)) as unknown[],
})

/** Rules and their version history, in SQLite. */
export function sqliteRules(db: DatabaseSync): RuleRepository {
  const q = {
    putRule: db.prepare(
      `INSERT INTO rules (id, version, enabled, document, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET version = excluded.version, enabled = excluded.enabled,
         document = excluded.document, updated_at = excluded.updated_at`,
    ),
    deleteRule: db.prepare('DELETE FROM rules WHERE id = ?'),
    getRule: db.prepare('SELECT document FROM rules WHERE id = ?'),
    listRules: db.prepare('SELECT document FROM rules ORDER BY id'),
    // Every change adds a version row, so their count moves with each change, deletes too.
    rulesRevision: db.prepare(
      `SELECT (SELECT COUNT(*) FROM rules) AS n, (SELECT COUNT(*) FROM rule_versions) AS c,
         (SELECT COALESCE(MAX(updated_at), 0) FROM rules) AS t, (SELECT COALESCE(SUM(version), 0) FROM rules) AS v`,
    ),
    lastVersion: db.prepare(
      'SELECT COALESCE(MAX(version), 0) AS v FROM rule_versions WHERE rule_id = ?',
    ),
    insertVersion: db.prepare(
      `INSERT OR IGNORE INTO rule_versions (rule_id, version, change, author, created_at, document, diff)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    listVersions: db.prepare('SELECT * FROM rule_versions WHERE rule_id = ? ORDER BY version'),
    getVersion: db.prepare('SELECT * FROM rule_versions WHERE rule_id = ? AND version = ?'),
  }
  const currentRule = (id: string): Rule | null => {
    const r = q.getRule.get(id) as Row | undefined
    return r ? Rule.parse(JSON.parse(String(r.document))) : null
  }

  return {
    async putRule(rule) {
      const valid = Rule.parse(rule)
      const now = Date.now()
      q.putRule.run(valid.id, valid.version, valid.enabled ? 1 : 0, JSON.stringify(valid), now)
      q.insertVersion.run(
        valid.id,
        valid.version,
        'create',
        'cli',
        now,
        JSON.stringify(valid),
        '[]',
      )
    },
    async getRule(id) {
      return currentRule(id)
    },
    async listRules() {
      return (q.listRules.all() as Row[]).map((r) => Rule.parse(JSON.parse(String(r.document))))
    },
    async rulesRevision() {
      const r = q.rulesRevision.get() as Row
      return `${r.n}:${r.c}:${r.t}:${r.v}`
    },
    async commitRuleChange(c) {
      db.exec('BEGIN IMMEDIATE')
      try {
        const current = currentRule(c.ruleId)
        if (c.expectedVersion !== undefined && (current?.version ?? 0) !== c.expectedVersion)
          throw new VersionConflictError(
            current
              ? `rule ${c.ruleId} is at version ${current.version}, not ${c.expectedVersion}: someone changed it; reload and apply your change again`
              : `rule ${c.ruleId} no longer exists`,
          )
        const last = Number((q.lastVersion.get(c.ruleId) as Row).v)
        const version = last + 1
        const now = Date.now()
        const document = Rule.parse({ ...c.document, id: c.ruleId, version })
        if (c.change === 'delete') q.deleteRule.run(c.ruleId)
        else
          q.putRule.run(c.ruleId, version, document.enabled ? 1 : 0, JSON.stringify(document), now)
        q.insertVersion.run(
          c.ruleId,
          version,
          c.change,
          c.author,
          now,
          JSON.stringify(document),
          JSON.stringify(c.diff),
        )
        db.exec('COMMIT')
        return {
          ruleId: c.ruleId,
          version,
          change: c.change,
          author: c.author,
          createdAt: now,
          document,
          diff: c.diff,
        }
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
    async listRuleVersions(ruleId) {
      return (q.listVersions.all(ruleId) as Row[]).map(toVersion)
    },
    async getRuleVersion(ruleId, version) {
      const r = q.getVersion.get(ruleId, version) as Row | undefined
      return r ? toVersion(r) : null
    },
  }
}
