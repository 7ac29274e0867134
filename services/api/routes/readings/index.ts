import { z } from 'zod'
import { errorResponses, IdParams, iso } from '../../../../shared/api/common.ts'
import {
  FarmLatestQuery,
  LatestReadingView,
  SeriesQuery,
  SeriesResponse,
} from '../../../../shared/api/devices.ts'
import { deviceKinds } from '../../../../shared/readings.ts'
import { ReadingsQueryError, readingSeries, storedMetrics } from '../../../influx/readings.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { visibleFarm, who } from '../../auth.ts'
import { visibleDevice } from '../../device-views.ts'
import { invalid } from '../../errors.ts'
import { influxFailure } from '../../influx-errors.ts'
import { latestValues } from '../../latest-readings.ts'

const tag = ['readings']
const errors = errorResponses(400, 401, 403, 404, 429, 503)
const DAY_MS = 86_400_000

/** Readings for dashboards, from InfluxDB: latest values, and series aggregated per interval. */
export async function readingRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx

  /** Runs an InfluxDB query; a failure to reach it is a 503 that says so. */
  async function fromInflux<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      if (err instanceof ReadingsQueryError) {
        const field = /^every:|intervals/.test(err.message) ? 'querystring.every' : 'querystring'
        throw invalid(field, err.message.replace(/^every: /, ''))
      }
      throw influxFailure(err)
    }
  }

  app.get(
    '/devices/:id/readings/latest',
    {
      schema: {
        tags: tag,
        summary: "A device's latest value of each metric, and when each was measured",
        params: IdParams,
        response: { 200: LatestReadingView, ...errors },
      },
    },
    async (req) => {
      const d = await visibleDevice(store, who(req), req.params.id)
      const [latest] = await fromInflux(() =>
        latestValues(ctx.influx, { kind: d.kind, deviceId: d.id }),
      )
      return latest ?? { device_id: d.id, kind: d.kind, ts: null, values: {}, measured_at: {} }
    },
  )

  app.get(
    '/devices/:id/readings',
    {
      schema: {
        tags: tag,
        summary:
          'One metric of a device over time, aggregated per interval (mean, min, max or count); the last 24 hours unless from/to say otherwise',
        params: IdParams,
        querystring: SeriesQuery,
        response: { 200: SeriesResponse, ...errors },
      },
    },
    async (req) => {
      const d = await visibleDevice(store, who(req), req.params.id)
      const q = req.query
      const metrics = storedMetrics[d.kind]
      if (!metrics.includes(q.metric))
        throw invalid(
          'querystring.metric',
          `${q.metric} is not a metric of ${d.kind} devices; use one of ${metrics.join(', ')}`,
        )
      if (q.species && d.kind !== 'pest_trap')
        throw invalid(
          'querystring.species',
          `only pest traps count species; ${d.id} is a ${d.kind}`,
        )
      const to = q.to ?? ctx.now()
      const from = q.from ?? to - DAY_MS
      if (!(from < to)) throw invalid('querystring.from', 'from must come before to')
      const points = await fromInflux(() =>
        readingSeries(ctx.influx, {
          kind: d.kind,
          deviceId: d.id,
          metric: q.metric,
          from,
          to,
          every: q.every,
          aggregate: q.aggregate,
          ...(q.species ? { species: q.species } : {}),
        }),
      )
      return {
        device_id: d.id,
        kind: d.kind,
        metric: q.metric,
        aggregate: q.aggregate,
        every: q.every,
        from: iso(from),
        to: iso(to),
        species: q.species ?? null,
        points: points.map((p) => ({ ts: iso(p.ts), value: p.value })),
      }
    },
  )

  app.get(
    '/farms/:id/readings/latest',
    {
      schema: {
        tags: tag,
        summary: 'The latest values of each device of a farm (one kind, or all)',
        params: IdParams,
        querystring: FarmLatestQuery,
        response: { 200: z.array(LatestReadingView), ...errors },
      },
    },
    async (req) => {
      const farm = await visibleFarm(store, who(req), req.params.id)
      const kinds = req.query.kind ? [req.query.kind] : deviceKinds
      const all = await fromInflux(() =>
        Promise.all(kinds.map((kind) => latestValues(ctx.influx, { kind, farmId: farm.id }))),
      )
      return all.flat()
    },
  )
}
