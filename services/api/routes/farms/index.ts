import { z } from 'zod'
import { errorResponses, IdParams } from '../../../../shared/api/common.ts'
import {
  FarmSiteParams,
  FarmView,
  NewFarmBody,
  NewSiteBody,
  SitePatchBody,
  SiteView,
  UserView,
} from '../../../../shared/api/people.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { requireRole, visibleFarm, who } from '../../auth.ts'
import { ApiError, notFound } from '../../errors.ts'
import { farmView, siteView, userView } from '../../views.ts'

const tag = ['farms']
const errors = errorResponses(400, 401, 403, 404, 409, 429)

/** Farms of the caller's cooperative, their sites (fields, ponds) and people. */
export async function farmRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx

  app.get(
    '/farms',
    {
      schema: {
        tags: tag,
        summary: 'The farms you may see, with their sites',
        response: { 200: z.array(FarmView), ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const farms = await store.listFarms({ cooperativeId: p.user.cooperativeId })
      return Promise.all(farms.filter((f) => p.farmIds.has(f.id)).map((f) => farmView(store, f)))
    },
  )

  app.post(
    '/farms',
    {
      schema: {
        tags: tag,
        summary: 'Adds a farm to your cooperative',
        body: NewFarmBody,
        response: { 201: FarmView, ...errors },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, ['admin'], 'add farms')
      if (await store.getFarm(req.body.id))
        throw new ApiError('conflict', `farm id ${req.body.id} is taken; choose another`)
      const farm = await store.createFarm({ ...req.body, cooperativeId: p.user.cooperativeId })
      return reply.code(201).send(await farmView(store, farm))
    },
  )

  app.get(
    '/farms/:id',
    {
      schema: {
        tags: tag,
        summary: 'One farm with its sites',
        params: IdParams,
        response: { 200: FarmView, ...errors },
      },
    },
    async (req) => farmView(store, await visibleFarm(store, who(req), req.params.id)),
  )

  app.get(
    '/farms/:id/members',
    {
      schema: {
        tags: tag,
        summary: 'The people who belong to a farm',
        params: IdParams,
        response: { 200: z.array(UserView), ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, ['admin', 'technician', 'agronomist'], "list a farm's people")
      await visibleFarm(store, p, req.params.id)
      return Promise.all((await store.farmMembers(req.params.id)).map((u) => userView(store, u)))
    },
  )

  app.post(
    '/farms/:id/sites',
    {
      schema: {
        tags: tag,
        summary: 'Adds a site (field, pond…) to a farm',
        params: IdParams,
        body: NewSiteBody,
        response: { 201: SiteView, ...errors },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, ['admin', 'technician'], 'add sites')
      const farm = await visibleFarm(store, p, req.params.id)
      if (await store.getSite(req.body.id))
        throw new ApiError('conflict', `site id ${req.body.id} is taken; choose another`)
      const site = await store.createSite({ ...req.body, farmId: farm.id })
      return reply.code(201).send(siteView(site))
    },
  )

  app.patch(
    '/farms/:id/sites/:siteId',
    {
      schema: {
        tags: tag,
        summary: "Replaces a site's tags (crop, stock, crop stage) that rules can be scoped by",
        params: FarmSiteParams,
        body: SitePatchBody,
        response: { 200: SiteView, ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, ['admin', 'technician', 'agronomist'], 'change sites')
      await visibleFarm(store, p, req.params.id)
      const site = await store.getSite(req.params.siteId)
      if (!site || site.farmId !== req.params.id)
        throw notFound(`site ${req.params.siteId} of farm ${req.params.id}`)
      await store.setSiteTags(site.id, req.body.tags)
      return siteView({ ...site, tags: req.body.tags })
    },
  )
}
