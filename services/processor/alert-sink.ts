import mqtt, { type MqttClient } from 'mqtt'
import { type AlertEvent, topics } from '../../shared/index.ts'
import type { Logger } from '../log.ts'
import type { AlertRepository } from '../store/repository.ts'

/**
 * Publishes alert events on `alerts/{farmId}` with QoS 1. The store is the outbox: an
 * event is saved (durable) before the reading that caused it is acknowledged, and marked
 * published when the broker acknowledges the event. Unpublished events are sent again
 * at start-up and periodically, so a crash between the two loses nothing; the event's
 * id makes the repeat recognisable downstream.
 */
export type AlertSink = {
  /** Saves the events; resolves once they are durable (publishing continues in background). */
  emit(events: AlertEvent[], startedAt: (e: AlertEvent) => number): Promise<void>
  /**
   * Publishes an event without making it the alert's stored state (an acknowledgement:
   * the alert still fires). QoS 1; resolves when the broker has it.
   */
  announce(event: AlertEvent): Promise<void>
  /** Publishes a stored event now (rather than at the next outbox retry). */
  resend(event: AlertEvent): void
  published(): number
  close(): Promise<void>
}

export async function createAlertSink(opts: {
  url: string
  username: string
  password: string
  store: AlertRepository
  log: Logger
  retryIntervalMs?: number
  /** Also keeps each event as a point in InfluxDB (best effort: the store is the record). */
  record?(events: AlertEvent[]): void
}): Promise<AlertSink> {
  const log = opts.log.child({ module: 'alert-sink' })
  let publishedCount = 0
  const client: MqttClient = await mqtt.connectAsync(opts.url, {
    clientId: `${opts.username}-alerts-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    username: opts.username,
    password: opts.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1000,
  })
  client.on('error', (err) => log.error({ err: err.message }, 'MQTT error'))
  const inFlight = new Set<string>()

  function publish(event: AlertEvent) {
    const k = `${event.alert_id}:${event.state}`
    if (inFlight.has(k)) return
    inFlight.add(k)
    client.publish(topics.farmAlerts(event.farm_id), JSON.stringify(event), { qos: 1 }, (err) => {
      inFlight.delete(k)
      if (err)
        return log.warn(
          { alertId: event.alert_id, err: err.message },
          'alert publish failed; will retry',
        )
      publishedCount++
      Promise.all([
        opts.store.markPublished(event.alert_id, event.state),
        opts.store.recordDelivery({
          alertId: event.alert_id,
          channel: 'mqtt',
          target: topics.farmAlerts(event.farm_id),
          status: 'published',
          at: Date.now(),
          detail: event.reminder ? `${event.state}, reminder ${event.reminder}` : event.state,
        }),
      ]).catch((e: Error) => log.error({ err: e.message }, 'could not mark alert published'))
      log.info(
        {
          alertId: event.alert_id,
          state: event.state,
          deviceId: event.device_id,
          late: event.late,
        },
        'alert event published',
      )
    })
  }

  async function republish() {
    for (const e of await opts.store.unpublishedEvents()) publish(e)
  }
  await republish()
  const timer = setInterval(() => {
    republish().catch((e: Error) => log.error({ err: e.message }, 'republish failed'))
  }, opts.retryIntervalMs ?? 5000)
  timer.unref()

  return {
    async emit(events, startedAt) {
      for (const e of events) await opts.store.saveAlertEvent(e, startedAt(e))
      opts.record?.(events)
      for (const e of events) publish(e)
    },
    async announce(event) {
      const topic = topics.farmAlerts(event.farm_id)
      await client.publishAsync(topic, JSON.stringify(event), { qos: 1 })
      publishedCount++
      await opts.store.recordDelivery({
        alertId: event.alert_id,
        channel: 'mqtt',
        target: topic,
        status: 'published',
        at: Date.now(),
        detail: event.state,
      })
      opts.record?.([event])
    },
    resend: publish,
    published: () => publishedCount,
    async close() {
      clearInterval(timer)
      // Unacknowledged events stay unpublished in the outbox and go out at the next start,
      // so a broker that does not answer is not waited for.
      let timeout: NodeJS.Timeout | undefined
      await Promise.race([
        client.endAsync(false),
        new Promise<void>((resolve) => {
          timeout = setTimeout(() => client.end(true, {}, () => resolve()), 3000)
        }),
      ])
      clearTimeout(timeout)
    },
  }
}
