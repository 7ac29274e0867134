import { Counter, Gauge, type Registry } from 'prom-client'
import { countersFrom } from '../ops/server.ts'
import type { NotifierStats } from './index.ts'

/** The notifier's metrics; returns the per-outcome counter the delivery worker feeds. */
export function registerNotifierMetrics(registry: Registry, stats: () => NotifierStats) {
  const counter = countersFrom(registry, stats)
  counter('tani_notifier_alert_events_total', 'Alert events taken from the bus', (s) => s.events)
  counter(
    'tani_notifier_alert_events_rejected_total',
    'Malformed alert events set aside',
    (s) => s.rejected,
  )
  counter('tani_notifier_sends_planned_total', 'Sends queued in the outbox', (s) => s.planned)
  new Gauge({
    name: 'tani_notifier_connected',
    help: '1 while the notifier is connected to the MQTT broker',
    registers: [registry],
    collect() {
      this.set(stats().connected ? 1 : 0)
    },
  })
  return new Counter({
    name: 'tani_notifier_sends_total',
    help: 'Sends by channel (push, webhook) and outcome (sent, retry, gone, failed, expired)',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  })
}
