import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import type { AuthToken, Cooperative, PeopleRepository, Role, User } from './repository.ts'

type Row = Record<string, SQLInputValue>

const toUser = (r: Row): User => ({
  id: String(r.id),
  cooperativeId: String(r.cooperative_id),
  login: String(r.login),
  name: String(r.name),
  role: String(r.role) as Role,
  locale: String(r.locale),
  createdAt: Number(r.created_at),
  disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
})
const toToken = (r: Row): AuthToken => ({
  id: String(r.id),
  userId: String(r.user_id),
  kind: String(r.kind) as AuthToken['kind'],
  name: String(r.name),
  createdAt: Number(r.created_at),
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
})

/** Cooperatives, people, their farms and their tokens, in SQLite. */
export function sqlitePeople(db: DatabaseSync): PeopleRepository & {
  createCooperative(c: Omit<Cooperative, 'createdAt'>): Promise<Cooperative>
  getCooperative(id: string): Promise<Cooperative | null>
  listCooperatives(): Promise<Cooperative[]>
} {
  const q = {
    insertCoop: db.prepare('INSERT INTO cooperatives (id, name, created_at) VALUES (?, ?, ?)'),
    getCoop: db.prepare('SELECT * FROM cooperatives WHERE id = ?'),
    listCoops: db.prepare('SELECT * FROM cooperatives ORDER BY id'),
    insertUser: db.prepare(
      'INSERT INTO users (id, cooperative_id, login, name, role, locale, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getUser: db.prepare('SELECT * FROM users WHERE id = ?'),
    userByLogin: db.prepare('SELECT * FROM users WHERE lower(login) = lower(?)'),
    listUsers: db.prepare('SELECT * FROM users WHERE cooperative_id = ? ORDER BY login'),
    updateUser: db.prepare(
      `UPDATE users SET name = COALESCE(?, name), role = COALESCE(?, role), locale = COALESCE(?, locale),
         disabled_at = CASE WHEN ? IS NULL THEN disabled_at WHEN ? = 1 THEN COALESCE(disabled_at, ?) ELSE NULL END
       WHERE id = ?`,
    ),
    setPassword: db.prepare('UPDATE users SET password_hash = ? WHERE id = ?'),
    clearFarms: db.prepare('DELETE FROM farm_members WHERE user_id = ?'),
    addFarm: db.prepare('INSERT OR IGNORE INTO farm_members (farm_id, user_id) VALUES (?, ?)'),
    userFarms: db.prepare('SELECT farm_id FROM farm_members WHERE user_id = ? ORDER BY farm_id'),
    farmMembers: db.prepare(
      'SELECT u.* FROM users u JOIN farm_members m ON m.user_id = u.id WHERE m.farm_id = ? AND u.disabled_at IS NULL ORDER BY u.login',
    ),
    insertToken: db.prepare(
      'INSERT INTO auth_tokens (id, user_id, kind, name, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    tokenByHash: db.prepare(
      `SELECT t.*, u.id AS u_id, u.cooperative_id, u.login, u.name AS u_name, u.role, u.locale,
         u.created_at AS u_created_at, u.disabled_at
       FROM auth_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)
         AND u.disabled_at IS NULL`,
    ),
    touchToken: db.prepare('UPDATE auth_tokens SET last_used_at = ? WHERE id = ?'),
    listTokens: db.prepare(
      'SELECT * FROM auth_tokens WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at',
    ),
    revokeToken: db.prepare(
      'UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    ),
    revokeUserTokens: db.prepare(
      'UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL',
    ),
  }
  const toCoop = (r: Row): Cooperative => ({
    id: String(r.id),
    name: String(r.name),
    createdAt: Number(r.created_at),
  })

  return {
    async createCooperative(c) {
      const createdAt = Date.now()
      q.insertCoop.run(c.id, c.name, createdAt)
      return { ...c, createdAt }
    },
    async getCooperative(id) {
      const r = q.getCoop.get(id) as Row | undefined
      return r ? toCoop(r) : null
    },
    async listCooperatives() {
      return (q.listCoops.all() as Row[]).map(toCoop)
    },
    async createUser(u) {
      const createdAt = Date.now()
      q.insertUser.run(
        u.id,
        u.cooperativeId,
        u.login,
        u.name,
        u.role,
        u.locale,
        u.passwordHash,
        createdAt,
      )
      const { passwordHash: _hash, ...user } = u
      return { ...user, createdAt, disabledAt: null }
    },
    async getUser(id) {
      const r = q.getUser.get(id) as Row | undefined
      return r ? toUser(r) : null
    },
    async userByLogin(login) {
      const r = q.userByLogin.get(login) as Row | undefined
      if (!r) return null
      return {
        ...toUser(r),
        passwordHash: r.password_hash === null ? null : String(r.password_hash),
      }
    },
    async listUsers(cooperativeId) {
      return (q.listUsers.all(cooperativeId) as Row[]).map(toUser)
    },
    async updateUser(id, patch) {
      const disabled = patch.disabled === undefined ? null : patch.disabled ? 1 : 0
      q.updateUser.run(
        patch.name ?? null,
        patch.role ?? null,
        patch.locale ?? null,
        disabled,
        disabled,
        Date.now(),
        id,
      )
      // A disabled person's sessions and API tokens end with it.
      if (patch.disabled) q.revokeUserTokens.run(Date.now(), id)
      const r = q.getUser.get(id) as Row | undefined
      return r ? toUser(r) : null
    },
    async setUserPassword(id, passwordHash) {
      return Number(q.setPassword.run(passwordHash, id).changes) > 0
    },
    async setUserFarms(userId, farmIds) {
      db.exec('BEGIN IMMEDIATE')
      try {
        q.clearFarms.run(userId)
        for (const farmId of farmIds) q.addFarm.run(farmId, userId)
        db.exec('COMMIT')
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
    async userFarms(userId) {
      return (q.userFarms.all(userId) as Row[]).map((r) => String(r.farm_id))
    },
    async farmMembers(farmId) {
      return (q.farmMembers.all(farmId) as Row[]).map(toUser)
    },
    async createToken(t) {
      const createdAt = Date.now()
      q.insertToken.run(t.id, t.userId, t.kind, t.name, t.tokenHash, createdAt, t.expiresAt)
      const { tokenHash: _hash, ...token } = t
      return { ...token, createdAt, lastUsedAt: null, revokedAt: null }
    },
    async tokenByHash(tokenHash, nowMs) {
      const r = q.tokenByHash.get(tokenHash, nowMs) as Row | undefined
      if (!r) return null
      return {
        token: toToken(r),
        user: toUser({ ...r, id: r.u_id, name: r.u_name, created_at: r.u_created_at } as Row),
      }
    },
    async touchToken(id, atMs) {
      q.touchToken.run(atMs, id)
    },
    async listTokens(userId) {
      return (q.listTokens.all(userId) as Row[]).map(toToken)
    },
    async revokeToken(id, atMs = Date.now()) {
      return Number(q.revokeToken.run(atMs, id).changes) > 0
    },
  }
}
