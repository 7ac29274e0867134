import { Counter, Gauge, type Registry } from 'prom-client'
import type { BrokerStats } from './index.ts'

/** Prometheus metrics read from the broker at each scrape. */
export function registerBrokerMetrics(registry: Registry, stats: () => BrokerStats): void {
  new Gauge({
    name: 'tani_broker_connected_clients',
    help: 'MQTT clients connected now',
    registers: [registry],
    collect() {
      this.set(stats().connectedClients)
    },
  })
  const refused = new Map<string, number>()
  new Counter({
    name: 'tani_broker_refused_total',
    help: 'Connections, publishes and subscriptions refused by authentication or the ACL',
    labelNames: ['what'],
    registers: [registry],
    collect() {
      const s = stats()
      for (const [what, n] of [
        ['connection', s.refusedConnections],
        ['publish', s.refusedPublishes],
        ['subscription', s.refusedSubscriptions],
      ] as const) {
        const before = refused.get(what) ?? 0
        if (n > before) this.inc({ what }, n - before)
        refused.set(what, n)
      }
    },
  })
}
