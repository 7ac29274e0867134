import { Counter, Gauge, type Registry } from 'prom-client'
import { countersFrom } from '../ops/server.ts'
import type { ProcessorStats } from './index.ts'

/** Prometheus metrics read from the processor's counters at each scrape. */
export function registerProcessorMetrics(registry: Registry, stats: () => ProcessorStats): void {
  const counter = countersFrom(registry, stats)
  counter('tani_processor_messages_received_total', 'MQTT messages received', (s) => s.received)
  counter(
    'tani_processor_readings_stored_total',
    'Readings written to InfluxDB',
    (s) => s.readingsStored,
  )
  counter(
    'tani_processor_statuses_stored_total',
    'Device status messages written',
    (s) => s.statusesStored,
  )
  counter('tani_processor_alert_events_total', 'Alert events raised', (s) => s.alertEvents)
  counter(
    'tani_processor_alert_events_published_total',
    'Alert events the broker acknowledged',
    (s) => s.alertsPublished,
  )
  counter('tani_processor_write_retries_total', 'InfluxDB writes retried', (s) => s.writeRetries)
  counter('tani_processor_influx_writes_total', 'InfluxDB writes that succeeded', (s) => s.writes)
  counter(
    'tani_processor_influx_lines_written_total',
    'Line-protocol lines InfluxDB accepted',
    (s) => s.linesWritten,
  )
  counter(
    'tani_processor_messages_retried_total',
    'Messages whose processing was tried again',
    (s) => s.retried,
  )
  const quarantinedBefore = new Map<string, number>()
  new Counter({
    name: 'tani_processor_messages_quarantined_total',
    help: 'Messages quarantined, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, n] of Object.entries(stats().quarantinedByReason)) {
        const before = quarantinedBefore.get(reason) ?? 0
        if (n > before) this.inc({ reason }, n - before)
        quarantinedBefore.set(reason, n)
      }
    },
  })
  new Gauge({
    name: 'tani_processor_inflight_messages',
    help: 'Messages received and not yet acknowledged',
    registers: [registry],
    collect() {
      this.set(stats().inflight)
    },
  })
  new Gauge({
    name: 'tani_processor_inflight_bytes',
    help: 'Payload bytes of the messages not yet acknowledged',
    registers: [registry],
    collect() {
      this.set(stats().inflightBytes)
    },
  })
  new Gauge({
    name: 'tani_processor_pending_lines',
    help: 'Line-protocol lines waiting for the next InfluxDB write',
    registers: [registry],
    collect() {
      this.set(stats().pendingLines)
    },
  })
}
