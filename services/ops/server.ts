import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, collectDefaultMetrics, Registry } from 'prom-client'
import type { Logger } from '../log.ts'

/**
 * `/health` and `/metrics` (Prometheus) for the services running in this process.
 * Each service registers its checks and metrics; a check answers with nothing when all
 * is well, or a sentence saying what is wrong.
 */
export type HealthCheck = () => Promise<string | null> | string | null

/** The process's Prometheus registry, with Node's default metrics. */
export function createRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'tani_' })
  return registry
}

/**
 * Prometheus counters read from a service's running totals at each scrape: each is
 * advanced by the difference since the previous one.
 */
export function countersFrom<S>(registry: Registry, stats: () => S) {
  return (name: string, help: string, value: (s: S) => number) => {
    let previous = 0
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = value(stats())
        if (now > previous) this.inc(now - previous)
        previous = now
      },
    })
  }
}

export type Ops = {
  registry: Registry
  addCheck(name: string, check: HealthCheck): void
  port: number
  stop(): Promise<void>
}

export type HealthReport = { ok: boolean; checks: Record<string, { ok: boolean; error?: string }> }

/** A set of named checks, run together; the API's /health and this server share one. */
export function createHealthChecks() {
  const checks = new Map<string, HealthCheck>()
  async function run(): Promise<HealthReport> {
    const results: Record<string, { ok: boolean; error?: string }> = {}
    for (const [name, check] of checks) {
      try {
        const problem = await check()
        results[name] = problem ? { ok: false, error: problem } : { ok: true }
      } catch (err) {
        results[name] = { ok: false, error: (err as Error).message }
      }
    }
    return { ok: Object.values(results).every((r) => r.ok), checks: results }
  }
  return { add: (name: string, check: HealthCheck) => checks.set(name, check), run }
}
export type HealthChecks = ReturnType<typeof createHealthChecks>

export async function startOps(
  config: { host: string; port: number },
  deps: { log: Logger; registry?: Registry; health?: HealthChecks },
): Promise<Ops> {
  const log = deps.log.child({ module: 'ops' })
  const registry = deps.registry ?? createRegistry()
  const checks = deps.health ?? createHealthChecks()
  const health = checks.run

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end()
      return
    }
    if (path === '/health') {
      health().then((h) => {
        res
          .writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(h))
      })
      return
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      )
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('try /health or /metrics\n')
  })
  server.listen(config.port, config.host)
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  log.info({ port }, 'health and metrics listening')
  return {
    registry,
    port,
    addCheck: (name, check) => {
      checks.add(name, check)
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
