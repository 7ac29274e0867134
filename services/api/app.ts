import { fileURLToPath } from 'node:url'
import rateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify'
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import { Counter, Histogram, type Registry } from 'prom-client'
import type { InfluxQuery } from '../influx/client.ts'
import type { Logger } from '../log.ts'
import type { HealthChecks } from '../ops/server.ts'
import type { Store } from '../store/repository.ts'
import { bearerAuth, who } from './auth.ts'
import { ApiError } from './errors.ts'
import { alertRoutes } from './routes/alerts/index.ts'
import { authRoutes } from './routes/auth/index.ts'
import { deviceRoutes } from './routes/devices/index.ts'
import { farmRoutes } from './routes/farms/index.ts'
import { opsRoutes } from './routes/ops/index.ts'
import { pushRoutes } from './routes/push/index.ts'
import { readingRoutes } from './routes/readings/index.ts'
import { ruleRoutes } from './routes/rules/index.ts'
import { userRoutes } from './routes/users/index.ts'

/**
 * The HTTP API as a fastify instance (server.ts listens; tests call `inject`). Contracts
 * are the zod schemas in shared/api/: they validate requests, shape responses and make
 * the OpenAPI document at /docs.
 */

const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboards/push/', import.meta.url))

export type ApiConfig = {
  /** Largest request body, bytes (CSV batches of devices included). */
  bodyLimit: number
  sessionTtlMs: number
  /** Login attempts per client address and login name in `windowMs`. */
  loginRateLimit: { max: number; windowMs: number }
  /** Changes (POST, PUT, PATCH, DELETE) per token or address in `windowMs`. */
  writeRateLimit: { max: number; windowMs: number }
  trustProxy: boolean
}

export const defaultApiConfig: ApiConfig = {
  bodyLimit: 1024 * 1024,
  sessionTtlMs: 12 * 3_600_000,
  loginRateLimit: { max: 10, windowMs: 60_000 },
  writeRateLimit: { max: 120, windowMs: 60_000 },
  trustProxy: false,
}

export type ApiDeps = {
  store: Store
  influx: InfluxQuery
  log: Logger
  health: HealthChecks
  registry: Registry
  /** Told when a device is revoked, so an embedded broker can disconnect it at once. */
  onDeviceRevoked?: (deviceId: string) => void
  now?: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route the API serves (method, URL pattern), for checks against /docs. */
    routeTable: readonly { method: string; url: string }[]
  }
}

export type ApiApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>

/** What every route module gets. */
export type RouteContext = Required<Omit<ApiDeps, 'onDeviceRevoked'>> &
  Pick<ApiDeps, 'onDeviceRevoked'> & { config: ApiConfig }

const routeModules = [
  authRoutes,
  userRoutes,
  farmRoutes,
  deviceRoutes,
  ruleRoutes,
  alertRoutes,
  readingRoutes,
  opsRoutes,
  pushRoutes,
]

export async function buildApp(
  deps: ApiDeps,
  config: ApiConfig = defaultApiConfig,
): Promise<ApiApp> {
  const app = Fastify({
    loggerInstance: deps.log.child({ module: 'api' }) as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    // Request logs carry method, URL, status and time; never headers or bodies.
    trustProxy: config.trustProxy,
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  const ctx: RouteContext = { ...deps, now: deps.now ?? Date.now, config }

  const requests = new Counter({
    name: 'tani_api_requests_total',
    help: 'HTTP API requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [deps.registry],
  })
  const latency = new Histogram({
    name: 'tani_api_request_seconds',
    help: 'HTTP API response time by route',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [deps.registry],
  })
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    requests.inc({ route, method: req.method, status: reply.statusCode })
    latency.observe({ route, method: req.method }, reply.elapsedTime / 1000)
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tani API',
        version: '1',
        description:
          'Devices and their credentials, people and roles, rules with versions and backtest, alerts and readings of smart farms. Authenticate with `Authorization: Bearer <token>` (POST /auth/login, or an API token).',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  // The pages (dashboards/push: the alerts page, its service worker). A service worker
  // must come from the origin it serves, so the API's origin serves it.
  await app.register(fastifyStatic, {
    root: DASHBOARD_DIR,
    prefix: '/app/',
    setHeaders: (res, path) => {
      if (path.endsWith('sw.js')) res.header('Service-Worker-Allowed', '/app/')
    },
  })
  await app.register(rateLimit, {
    global: false,
    // Keyed by token when there is one (a cooperative behind one address is many people).
    keyGenerator: (req) => req.headers.authorization ?? req.ip,
    errorResponseBuilder: (_req, context) =>
      new ApiError(
        'rate_limited',
        `too many requests: at most ${context.max} per ${context.after}; try again in ${context.ttl < 1000 ? '1 second' : `${Math.ceil(context.ttl / 1000)} seconds`}`,
      ),
  })
  // Every change is rate-limited, with one budget per token across all write routes;
  // a route with its own limit (login) keeps just that one.
  const writeLimit = app.rateLimit({
    max: config.writeRateLimit.max,
    timeWindow: config.writeRateLimit.windowMs,
  })
  const routeTable: { method: string; url: string }[] = []
  app.decorate('routeTable', routeTable)
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat()
    for (const method of methods)
      if (method !== 'HEAD' && !route.url.startsWith('/docs') && !route.url.startsWith('/app'))
        routeTable.push({ method, url: route.url })
    const writes = methods.some((m) => !['GET', 'HEAD', 'OPTIONS'].includes(m))
    if (!writes || route.config?.rateLimit !== undefined) return
    route.onRequest = [route.onRequest ?? []].flat().concat(writeLimit)
  })
  app.decorateRequest('principal', null)
  app.addHook('onRequest', bearerAuth(deps.store, ctx.now))
  // Sign-in is checked before the request is validated: a caller without a token learns
  // that first, not what their body lacks. Public routes declare `security: []`.
  app.addHook('preValidation', async (req) => {
    const url = req.routeOptions.url
    if (!url || url.startsWith('/docs') || url.startsWith('/app')) return
    const security = (req.routeOptions.schema as { security?: unknown[] } | undefined)?.security
    if (Array.isArray(security) && security.length === 0) return
    who(req)
  })

  app.setErrorHandler((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'request'
      const fields = err.validation.map((v) => ({
        field: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'is not valid',
      }))
      return reply.code(400).send({
        error: 'invalid_request',
        message: fields.map((f) => `${f.field}: ${f.message}`).join('; '),
        fields,
      })
    }
    if (err instanceof ApiError)
      return reply.code(err.statusCode).send({
        error: err.code,
        message: err.message,
        ...(err.fields ? { fields: err.fields } : {}),
      })
    const e = err as Error & { statusCode?: number }
    const status = e.statusCode ?? 500
    if (status === 413)
      return reply.code(413).send({
        error: 'payload_too_large',
        message: `the request body is over ${config.bodyLimit} bytes; send less at once`,
      })
    if (status === 415)
      return reply.code(415).send({ error: 'unsupported_media_type', message: e.message })
    if (status >= 400 && status < 500)
      return reply.code(status).send({ error: 'invalid_request', message: e.message })
    req.log.error({ err }, 'request failed')
    return reply
      .code(500)
      .send({ error: 'internal', message: 'something went wrong on our side; it is logged' })
  })
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: 'not_found',
      message: `no route ${req.method} ${req.url.split('?')[0]}; the routes are listed at /docs`,
    }),
  )

  for (const routes of routeModules) await app.register(async (scope) => routes(scope, ctx))
  return app
}
