import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { errorResponses, IdParams } from '../../../../shared/api/common.ts'
import {
  NewUserBody,
  NewUserResponse,
  UserPatchBody,
  UserView,
} from '../../../../shared/api/people.ts'
import { hashPassword } from '../../../store/secrets.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import type { Principal } from '../../auth.ts'
import { requireRole, who } from '../../auth.ts'
import { ApiError, forbidden, notFound } from '../../errors.ts'
import { userView } from '../../views.ts'

const tag = ['people']
const errors = errorResponses(400, 401, 403, 404, 409, 429)
const staff = ['admin', 'technician', 'agronomist'] as const

/** Readable one-time passwords: 12 characters from 62, about 71 bits. */
const generatePassword = () => randomBytes(9).toString('base64url')

/** People of the caller's cooperative: admins add them and give them roles and farms. */
export async function userRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx

  async function checkFarms(p: Principal, farmIds: readonly string[]) {
    for (const id of farmIds) {
      const farm = await store.getFarm(id)
      if (!farm || farm.cooperativeId !== p.user.cooperativeId)
        throw new ApiError(
          'invalid_request',
          `farm_ids: farm ${id} is not one of your cooperative's farms`,
          [
            {
              field: 'body.farm_ids',
              message: `farm ${id} is not one of your cooperative's farms`,
            },
          ],
        )
    }
  }
  async function userOfCoop(p: Principal, id: string) {
    const u = await store.getUser(id)
    if (!u) throw notFound(`user ${id}`)
    if (u.cooperativeId !== p.user.cooperativeId)
      throw forbidden(`user ${id} is not in your cooperative`)
    return u
  }

  app.get(
    '/users',
    {
      schema: {
        tags: tag,
        summary: "The cooperative's people (admins, technicians and agronomists)",
        response: { 200: z.array(UserView), ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, staff, "list the cooperative's people")
      const users = await store.listUsers(p.user.cooperativeId)
      return Promise.all(users.map((u) => userView(store, u)))
    },
  )

  app.post(
    '/users',
    {
      schema: {
        tags: tag,
        summary: 'Adds a person with a role and farms; returns a generated password once',
        body: NewUserBody,
        response: { 201: NewUserResponse, ...errors },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, ['admin'], 'add people')
      const b = req.body
      if (await store.userByLogin(b.login))
        throw new ApiError('conflict', `login ${b.login} is taken; choose another`)
      const id = b.id ?? `u-${randomBytes(5).toString('hex')}`
      if (await store.getUser(id)) throw new ApiError('conflict', `user id ${id} is taken`)
      await checkFarms(p, b.farm_ids)
      const password = b.password ?? generatePassword()
      const user = await store.createUser({
        id,
        cooperativeId: p.user.cooperativeId,
        login: b.login,
        name: b.name,
        role: b.role,
        locale: b.locale,
        passwordHash: await hashPassword(password),
      })
      await store.setUserFarms(id, b.farm_ids)
      req.log.info({ userId: id, role: b.role, by: p.user.id }, 'person added')
      return reply
        .code(201)
        .send({ user: await userView(store, user), ...(b.password ? {} : { password }) })
    },
  )

  app.get(
    '/users/:id',
    {
      schema: {
        tags: tag,
        summary: 'One person (yourself, or anyone of your cooperative for staff)',
        params: IdParams,
        response: { 200: UserView, ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      if (req.params.id !== p.user.id) requireRole(req, staff, 'see other people')
      return userView(store, await userOfCoop(p, req.params.id))
    },
  )

  app.patch(
    '/users/:id',
    {
      schema: {
        tags: tag,
        summary: "Changes a person's name, role, language, farms, or disables them",
        params: IdParams,
        body: UserPatchBody,
        response: { 200: UserView, ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, ['admin'], 'change people')
      const target = await userOfCoop(p, req.params.id)
      const b = req.body
      if (target.id === p.user.id && (b.disabled || (b.role && b.role !== 'admin')))
        throw new ApiError('conflict', 'you cannot disable yourself or give up your own admin role')
      if (b.farm_ids) {
        await checkFarms(p, b.farm_ids)
        await store.setUserFarms(target.id, b.farm_ids)
      }
      const updated = await store.updateUser(target.id, {
        name: b.name,
        role: b.role,
        locale: b.locale,
        disabled: b.disabled,
      })
      if (!updated) throw notFound(`user ${req.params.id}`)
      return userView(store, updated)
    },
  )

  app.post(
    '/users/:id/password',
    {
      schema: {
        tags: tag,
        summary: "Resets a person's password; their sessions end; the new one is shown once",
        params: IdParams,
        response: { 200: z.object({ password: z.string() }), ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, ['admin'], "reset people's passwords")
      const target = await userOfCoop(p, req.params.id)
      const password = generatePassword()
      await store.setUserPassword(target.id, await hashPassword(password))
      for (const t of await store.listTokens(target.id))
        if (t.kind === 'session') await store.revokeToken(t.id, ctx.now())
      return { password }
    },
  )
}
