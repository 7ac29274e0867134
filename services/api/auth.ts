import { createHash, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Role } from '../../shared/api/common.ts'
import type { AuthToken, Farm, Store, User } from '../store/repository.ts'
import { ApiError, forbidden, notFound } from './errors.ts'

/**
 * Who is calling, and what they may see. Tokens (sessions from a login, or API tokens
 * for scripts and Grafana) are 256 random bits, stored as a SHA-256 digest: a digest of
 * a random token is as good as a slow hash and costs nothing per request.
 *
 * Everything belongs to one cooperative. Admins, technicians and agronomists serve all
 * of their cooperative's farms; a farmer sees the farms they belong to.
 */

export type Principal = {
  user: User
  token: AuthToken
  /** The farms this person may see (ids), all within their cooperative. */
  farmIds: ReadonlySet<string>
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

export const digestToken = (token: string) => createHash('sha256').update(token).digest('hex')

export function newToken(kind: AuthToken['kind']): { id: string; token: string; hash: string } {
  const token = `tani_${kind === 'session' ? 's' : 'a'}_${randomBytes(32).toString('base64url')}`
  return { id: `tok-${randomBytes(6).toString('hex')}`, token, hash: digestToken(token) }
}

export async function principalFor(store: Store, user: User, token: AuthToken): Promise<Principal> {
  const farms =
    user.role === 'farmer'
      ? await store.userFarms(user.id)
      : (await store.listFarms({ cooperativeId: user.cooperativeId })).map((f) => f.id)
  return { user, token, farmIds: new Set(farms) }
}

/** Reads the bearer token; sets `req.principal` (null when there is none or it is not valid). */
export function bearerAuth(store: Store, now: () => number) {
  return async (req: FastifyRequest) => {
    req.principal = null
    const header = req.headers.authorization
    if (!header) return
    const m = /^Bearer\s+(\S+)$/i.exec(header)
    if (!m?.[1]) return
    const found = await store.tokenByHash(digestToken(m[1]), now())
    if (!found) return
    req.principal = await principalFor(store, found.user, found.token)
    // Last use is kept to the minute: enough to spot stale tokens, few writes.
    if (!found.token.lastUsedAt || now() - found.token.lastUsedAt > 60_000)
      await store.touchToken(found.token.id, now())
  }
}

/** The caller, or a 401. */
export function who(req: FastifyRequest): Principal {
  if (!req.principal)
    throw new ApiError(
      'unauthenticated',
      'sign in first: send Authorization: Bearer <token> (POST /auth/login gives one)',
    )
  return req.principal
}

/** The caller if their role is one of `allowed`, else a 403 naming who may. */
export function requireRole(
  req: FastifyRequest,
  allowed: readonly Role[],
  action: string,
): Principal {
  const p = who(req)
  if (!allowed.includes(p.user.role))
    throw forbidden(`only ${allowed.join(' or ')} may ${action}; you are ${p.user.role}`)
  return p
}

/** A farm the caller may see: 404 when it does not exist, 403 when it is not theirs. */
export async function visibleFarm(store: Store, p: Principal, farmId: string): Promise<Farm> {
  const farm = await store.getFarm(farmId)
  if (!farm) throw notFound(`farm ${farmId}`)
  if (farm.cooperativeId !== p.user.cooperativeId || !p.farmIds.has(farm.id))
    throw forbidden(`you do not have access to farm ${farmId}`)
  return farm
}

/** Throws a 403 unless the caller may see this farm (for things found by their own id). */
export function assertFarmAccess(p: Principal, farmId: string, what: string) {
  if (!p.farmIds.has(farmId)) throw forbidden(`you do not have access to ${what}`)
}
