import { z } from 'zod'
import type { ApiApp, RouteContext } from '../../app.ts'

const tag = ['operations']

const HealthReport = z.object({
  ok: z.boolean(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
})

/**
 * Health and metrics for load balancers and Prometheus. Both answer without a token:
 * probes and scrapers carry none, and neither shows farm data (check errors name a
 * component and what is wrong, metrics are counts by route).
 */
export async function opsRoutes(app: ApiApp, ctx: RouteContext) {
  app.get(
    '/health',
    {
      schema: {
        tags: tag,
        summary: 'Checks the store, InfluxDB and the broker; 503 when one is failing',
        security: [],
        response: { 200: HealthReport, 503: HealthReport },
      },
    },
    async (_req, reply) => {
      const report = await ctx.health.run()
      return reply.code(report.ok ? 200 : 503).send(report)
    },
  )

  app.get(
    '/metrics',
    {
      schema: {
        tags: tag,
        summary: 'Prometheus metrics (text exposition format)',
        security: [],
        produces: ['text/plain'],
        response: { 200: z.string() },
      },
    },
    async (_req, reply) => reply.type(ctx.registry.contentType).send(await ctx.registry.metrics()),
  )
}
