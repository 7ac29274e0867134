import { z } from 'zod'
import { errorResponses, IdParams, iso, isoOrNull, Ok } from '../../../../shared/api/common.ts'
import {
  LoginBody,
  LoginResponse,
  NewApiTokenBody,
  NewApiTokenResponse,
  PasswordBody,
  TokenView,
  UserView,
} from '../../../../shared/api/people.ts'
import { hashPassword, verifySecret } from '../../../store/secrets.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { newToken, who } from '../../auth.ts'
import { ApiError, notFound } from '../../errors.ts'
import { userView } from '../../views.ts'

const tag = ['auth']
const errors = errorResponses(400, 401, 403, 404, 429)

// Verified against when the login is unknown, so a wrong login costs as long as a wrong
// password and response times do not tell which logins exist.
const decoyHash = hashPassword('decoy password of no one')

/** Login, logout, who am I, own password, API tokens. */
export async function authRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx
  const tokenView = (t: Awaited<ReturnType<typeof store.listTokens>>[number]) => ({
    id: t.id,
    kind: t.kind,
    name: t.name,
    created_at: iso(t.createdAt),
    expires_at: isoOrNull(t.expiresAt),
    last_used_at: isoOrNull(t.lastUsedAt),
  })

  app.post(
    '/auth/login',
    {
      schema: {
        tags: tag,
        summary: 'Sign in with login and password; returns a session token',
        security: [],
        body: LoginBody,
        response: { 200: LoginResponse, ...errors },
      },
      config: {
        rateLimit: {
          max: ctx.config.loginRateLimit.max,
          timeWindow: ctx.config.loginRateLimit.windowMs,
          // After parsing, so the key can include the login.
          hook: 'preValidation',
          // Per address and login: guessing one person's password is slow, and one
          // farmer's typos do not lock out the cooperative's office.
          keyGenerator: (req) =>
            `${req.ip}|${String((req.body as { login?: unknown } | undefined)?.login ?? '').toLowerCase()}`,
        },
      },
    },
    async (req) => {
      const user = await store.userByLogin(req.body.login)
      const ok = user?.passwordHash
        ? await verifySecret(req.body.password, user.passwordHash)
        : await verifySecret(req.body.password, await decoyHash).then(() => false)
      if (!user || !ok || user.disabledAt !== null) {
        req.log.warn({ login: req.body.login }, 'login refused')
        throw new ApiError('unauthenticated', 'wrong login or password')
      }
      const t = newToken('session')
      const expiresAt = ctx.now() + ctx.config.sessionTtlMs
      await store.createToken({
        id: t.id,
        userId: user.id,
        kind: 'session',
        name: `session ${req.headers['user-agent']?.slice(0, 60) ?? ''}`.trim(),
        tokenHash: t.hash,
        expiresAt,
      })
      req.log.info({ userId: user.id }, 'signed in')
      return { token: t.token, expires_at: iso(expiresAt), user: await userView(store, user) }
    },
  )

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: tag,
        summary: 'Ends the session (or revokes the API token) used for this request',
        response: { 200: Ok, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      await store.revokeToken(p.token.id, ctx.now())
      return { ok: true as const }
    },
  )

  app.get(
    '/auth/me',
    {
      schema: {
        tags: tag,
        summary: 'The signed-in person, their role and farms',
        response: { 200: UserView, ...errors },
      },
    },
    async (req) => userView(store, who(req).user),
  )

  app.post(
    '/auth/password',
    {
      schema: {
        tags: tag,
        summary: 'Changes your own password; your other sessions end',
        body: PasswordBody,
        response: { 200: Ok, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const current = await store.userByLogin(p.user.login)
      if (
        !current?.passwordHash ||
        !(await verifySecret(req.body.current_password, current.passwordHash))
      )
        throw new ApiError('forbidden', 'current_password is wrong')
      await store.setUserPassword(p.user.id, await hashPassword(req.body.new_password))
      for (const t of await store.listTokens(p.user.id))
        if (t.kind === 'session' && t.id !== p.token.id) await store.revokeToken(t.id, ctx.now())
      return { ok: true as const }
    },
  )

  app.get(
    '/auth/tokens',
    {
      schema: {
        tags: tag,
        summary: 'Your live sessions and API tokens (never the tokens themselves)',
        response: { 200: z.array(TokenView), ...errors },
      },
    },
    async (req) => (await store.listTokens(who(req).user.id)).map(tokenView),
  )

  app.post(
    '/auth/tokens',
    {
      schema: {
        tags: tag,
        summary: 'Creates an API token for scripts or Grafana; shown only in this answer',
        body: NewApiTokenBody,
        response: { 201: NewApiTokenResponse, ...errors },
      },
    },
    async (req, reply) => {
      const p = who(req)
      const t = newToken('api')
      const token = await store.createToken({
        id: t.id,
        userId: p.user.id,
        kind: 'api',
        name: req.body.name,
        tokenHash: t.hash,
        expiresAt: req.body.expires_in_days
          ? ctx.now() + req.body.expires_in_days * 86_400_000
          : null,
      })
      return reply.code(201).send({ ...tokenView(token), token: t.token })
    },
  )

  app.delete(
    '/auth/tokens/:id',
    {
      schema: {
        tags: tag,
        summary: 'Revokes one of your sessions or API tokens',
        params: IdParams,
        response: { 200: Ok, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const mine = (await store.listTokens(p.user.id)).some((t) => t.id === req.params.id)
      if (!mine || !(await store.revokeToken(req.params.id, ctx.now())))
        throw notFound(`token ${req.params.id}`)
      return { ok: true as const }
    },
  )
}
