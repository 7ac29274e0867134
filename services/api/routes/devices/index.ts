import { ErrorBody, errorResponses, IdParams } from '../../../../shared/api/common.ts'
import {
  BatchBody,
  BatchResponse,
  DevicePatchBody,
  DeviceQuery,
  DeviceView,
  FleetQuery,
  FleetResponse,
  NewDeviceBody,
  ProvisionedDeviceView,
} from '../../../../shared/api/devices.ts'
import { parseDuration } from '../../../../shared/duration.ts'
import { generateSecret, hashSecret } from '../../../store/secrets.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { requireRole, visibleFarm, who } from '../../auth.ts'
import {
  candidatesFromCsv,
  candidatesFromJson,
  checkBatch,
  registerAll,
  registryProblems,
} from '../../device-batch.ts'
import { deviceView, liveViews, provisionedView, visibleDevice } from '../../device-views.ts'
import { ApiError, invalid } from '../../errors.ts'

const tag = ['devices']
const errors = errorResponses(400, 401, 403, 404, 409, 429)
const provisioners = ['admin', 'technician'] as const
/** Set on fleet answers made without InfluxDB: the live fields are missing. */
const LIVE_HEADER = 'x-live-data'

/**
 * The device registry the broker authenticates against: registering (one, or a CSV batch),
 * secrets (shown once, stored hashed, rotated), revocation, and the fleet view.
 */
export async function deviceRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  )
  const live = (log: { warn(obj: object, msg: string): void }) => ({ influx: ctx.influx, log })

  app.post(
    '/devices',
    {
      schema: {
        tags: tag,
        summary: 'Registers a device; returns its MQTT secret, shown only this once',
        body: NewDeviceBody,
        response: { 201: ProvisionedDeviceView, ...errors },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, provisioners, 'register devices')
      await visibleFarm(store, p, req.body.farm_id)
      const problems = await registryProblems(store, p, 'body', req.body)
      if (problems.length > 0) {
        const invalidOnes = problems.filter((x) => x.kind === 'invalid')
        const shown = invalidOnes.length > 0 ? invalidOnes : problems
        throw new ApiError(
          invalidOnes.length > 0 ? 'invalid_request' : 'conflict',
          shown.map((x) => `${x.field}: ${x.message}`).join('; '),
          shown.map(({ field, message }) => ({ field, message })),
        )
      }
      const [d] = await registerAll(store, [req.body], 'body')
      if (!d) throw new Error('registration returned no device')
      req.log.info({ deviceId: d.id, farmId: d.farmId, by: p.user.id }, 'device registered')
      const view = deviceView(d, null, { liveAvailable: true, now: ctx.now(), silentAfterMs: 0 })
      return reply.code(201).send(provisionedView(view, d.secret))
    },
  )

  app.post(
    '/devices/batch',
    {
      schema: {
        tags: tag,
        summary:
          'Registers many devices from CSV (or JSON); all or none: any bad row registers nothing and the answer lists each bad row and column',
        consumes: ['text/csv', 'application/json'],
        body: BatchBody,
        response: { 201: BatchResponse, ...errors, 413: ErrorBody },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, provisioners, 'register devices')
      const body = req.body
      const candidates =
        typeof body === 'string' ? candidatesFromCsv(body) : candidatesFromJson(body.devices)
      const checked = await checkBatch(store, p, candidates)
      const now = ctx.now()
      const out = (await registerAll(store, checked, 'batch')).map((registered) =>
        provisionedView(
          deviceView(registered, null, { liveAvailable: true, now, silentAfterMs: 0 }),
          registered.secret,
        ),
      )
      req.log.info({ devices: out.length, by: p.user.id }, 'devices registered in a batch')
      return reply.code(201).send({ devices: out })
    },
  )

  app.get(
    '/devices',
    {
      schema: {
        tags: tag,
        summary:
          'The fleet: devices of the farms you may see, with last seen, battery, signal, firmware and status',
        querystring: FleetQuery,
        response: { 200: FleetResponse, ...errors },
      },
    },
    async (req, reply) => {
      const p = who(req)
      const q = req.query
      const farmIds = q.farm_id
        ? [(await visibleFarm(store, p, q.farm_id)).id]
        : [...p.farmIds].sort()
      const devices = (await Promise.all(farmIds.map((farmId) => store.listDevices({ farmId }))))
        .flat()
        .filter((d) => !q.kind || d.kind === q.kind)
      const fleet = await liveViews(
        live(req.log),
        devices,
        { farmIds },
        { now: ctx.now(), silentAfterMs: parseDuration(q.silent_after) },
      )
      if (!fleet.liveAvailable) reply.header(LIVE_HEADER, 'unavailable')
      return {
        devices: fleet.views.filter((v) => !q.status || v.status === q.status),
        live_data: fleet.liveAvailable ? 'available' : 'unavailable',
        ...(fleet.message ? { message: fleet.message } : {}),
      } as const
    },
  )

  async function oneView(
    req: { log: { warn(obj: object, msg: string): void } },
    id: string,
    silentAfter = '2h',
  ) {
    const d = await store.getDevice(id)
    if (!d) throw new Error(`device ${id} vanished`)
    const { views, liveAvailable } = await liveViews(
      live(req.log),
      [d],
      { deviceId: id },
      { now: ctx.now(), silentAfterMs: parseDuration(silentAfter) },
    )
    return { view: views[0] as DeviceView, liveAvailable }
  }

  app.get(
    '/devices/:id',
    {
      schema: {
        tags: tag,
        summary:
          'One device with its live state (header X-Live-Data: unavailable when InfluxDB did not answer)',
        params: IdParams,
        querystring: DeviceQuery,
        response: { 200: DeviceView, ...errors },
      },
    },
    async (req, reply) => {
      await visibleDevice(store, who(req), req.params.id)
      const { view, liveAvailable } = await oneView(req, req.params.id, req.query.silent_after)
      if (!liveAvailable) reply.header(LIVE_HEADER, 'unavailable')
      return view
    },
  )

  app.patch(
    '/devices/:id',
    {
      schema: {
        tags: tag,
        summary: 'Renames a device or moves it to another site of its farm',
        params: IdParams,
        body: DevicePatchBody,
        response: { 200: DeviceView, ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, provisioners, 'change devices')
      const d = await visibleDevice(store, p, req.params.id)
      const { name, site_id } = req.body
      if (site_id) {
        const site = await store.getSite(site_id)
        if (!site || site.farmId !== d.farmId)
          throw invalid('body.site_id', `site ${site_id} is not one of farm ${d.farmId}'s sites`)
      }
      await store.updateDevice(d.id, { name, siteId: site_id })
      return (await oneView(req, d.id)).view
    },
  )

  app.post(
    '/devices/:id/rotate-secret',
    {
      schema: {
        tags: tag,
        summary:
          'Gives a device a new MQTT secret, shown only this once; the old one stops working and its connection is closed',
        params: IdParams,
        response: { 200: ProvisionedDeviceView, ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, provisioners, "rotate devices' secrets")
      const d = await visibleDevice(store, p, req.params.id)
      const secret = generateSecret()
      if (
        d.revokedAt !== null ||
        !(await store.setDeviceSecretHash(d.id, await hashSecret(secret)))
      )
        throw new ApiError('conflict', `device ${d.id} is revoked; register a new device instead`)
      ctx.onDeviceRevoked?.(d.id)
      req.log.info({ deviceId: d.id, by: p.user.id }, 'device secret rotated')
      return provisionedView((await oneView(req, d.id)).view, secret)
    },
  )

  app.post(
    '/devices/:id/revoke',
    {
      schema: {
        tags: tag,
        summary:
          'Revokes a device: its secret stops working at once and an open connection is closed; it stays in the fleet as revoked',
        params: IdParams,
        response: { 200: DeviceView, ...errors },
      },
    },
    async (req) => {
      const p = requireRole(req, provisioners, 'revoke devices')
      const d = await visibleDevice(store, p, req.params.id)
      if (d.revokedAt !== null || !(await store.revokeDevice(d.id)))
        throw new ApiError('conflict', `device ${d.id} is already revoked`)
      ctx.onDeviceRevoked?.(d.id)
      req.log.info({ deviceId: d.id, by: p.user.id }, 'device revoked')
      return (await oneView(req, d.id)).view
    },
  )
}
