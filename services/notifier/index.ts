import type { Counter, Registry } from 'prom-client'
import { AlertEvent, topics } from '../../shared/index.ts'
import type { Logger } from '../log.ts'
import { createMqttSource, type SourceMessage } from '../processor/mqtt-source.ts'
import type { Store } from '../store/repository.ts'
import { createDeliveryWorker } from './delivery.ts'
import { escalations } from './escalation.ts'
import { registerNotifierMetrics } from './metrics.ts'
import { planDeliveries } from './router.ts'
import { loadVapidKeys } from './vapid.ts'
import { createPushSender } from './web-push-sender.ts'
import { createWebhookSender } from './webhook.ts'

/**
 * The push service: consumes alert events from alerts/+ (QoS 1, persistent session),
 * plans who hears of each (router.ts) and queues the sends in the store's outbox before
 * acknowledging the event, so a crash loses nothing; the delivery worker sends them.
 */

const KEEP_FINISHED_MS = 30 * 24 * 3_600_000

export type NotifierConfig = {
  mqttUrl: string
  username: string
  password: string
  /** Where the dashboards live, for the deep link in each notification. */
  baseUrl: string
  vapid: { publicKey?: string; privateKey?: string; subject: string }
  /** A critical alert nobody acknowledged by then goes to the technicians and webhooks. */
  escalateAfterMs: number
  /** How often the outbox is looked at for due sends (it is also run after each event). */
  deliveryIntervalMs?: number
  /** How often open alerts are checked for escalation. */
  escalationCheckMs?: number
  maxInflight?: number
  now?: () => number
}

export type Notifier = {
  /** The VAPID public key pages subscribe with. */
  vapidPublicKey: string
  stats(): NotifierStats
  /** Runs one delivery pass now (tests, and after events). */
  deliverNow(): Promise<number>
  stop(): Promise<void>
}

export type NotifierStats = {
  events: number
  rejected: number
  planned: number
  connected: boolean
}

export async function startNotifier(
  config: NotifierConfig,
  deps: { store: Store; log: Logger; registry?: Registry },
): Promise<Notifier> {
  const log = deps.log.child({ module: 'notifier' })
  const now = config.now ?? Date.now
  const vapid = await loadVapidKeys(deps.store, config.vapid)
  const stats = { events: 0, rejected: 0, planned: 0 }
  let outcomes: Counter<'channel' | 'outcome'> | null = null
  const worker = createDeliveryWorker({
    store: deps.store,
    push: createPushSender({ vapid }),
    webhook: createWebhookSender(),
    log,
    baseUrl: config.baseUrl,
    now,
    onOutcome: (channel, outcome) => outcomes?.inc({ channel, outcome }),
  })
  const kick = () => {
    worker.runOnce().catch((e: Error) => log.error({ err: e.message }, 'delivery pass failed'))
  }

  async function handle(m: SourceMessage) {
    let event: AlertEvent
    try {
      event = AlertEvent.parse(JSON.parse(m.payload.toString('utf8')))
      if (topics.farmAlerts(event.farm_id) !== m.topic)
        throw new Error(`farm_id ${event.farm_id} does not match the topic ${m.topic}`)
    } catch (err) {
      // Kept with its reason, and acknowledged: a bad event must not block the good ones.
      stats.rejected++
      const reason = err instanceof Error ? err.message.slice(0, 500) : String(err)
      log.warn({ topic: m.topic, reason }, 'alert event rejected')
      await deps.store.quarantine({
        receivedAt: m.receivedAt,
        topic: m.topic,
        deviceId: null,
        reason: 'invalid',
        detail: `notifier: ${reason}`,
        payload: m.payload,
        payloadBytes: m.payload.length,
      })
      m.ack()
      return
    }
    stats.events++
    const items = await planDeliveries(
      { store: deps.store, baseUrl: config.baseUrl, now: now() },
      event,
    )
    stats.planned += await deps.store.enqueueNotifications(items)
    m.ack()
    kick()
  }

  const source = createMqttSource({
    url: config.mqttUrl,
    username: config.username,
    password: config.password,
    clientId: config.username,
    topics: [topics.allFarmAlerts],
    maxInflight: config.maxInflight ?? 100,
    log,
  })
  await source.start((m) => {
    handle(m).catch((err: Error) =>
      // Not acknowledged: the broker delivers it again (after a reconnect or restart).
      log.error({ topic: m.topic, err: err.message }, 'could not queue notifications'),
    )
  })

  const deliveryTimer = setInterval(kick, config.deliveryIntervalMs ?? 1000)
  deliveryTimer.unref()
  const escalationTimer = setInterval(() => {
    escalations({
      store: deps.store,
      baseUrl: config.baseUrl,
      now: now(),
      escalateAfterMs: config.escalateAfterMs,
    })
      .then(async (found) => {
        for (const { alert, items } of found) {
          const added = await deps.store.enqueueNotifications(items)
          await deps.store.markEscalated(alert.alertId, now())
          if (added)
            log.info({ alertId: alert.alertId, sends: added }, 'unacknowledged alert escalated')
        }
        if (found.length) kick()
      })
      .catch((e: Error) => log.error({ err: e.message }, 'escalation check failed'))
  }, config.escalationCheckMs ?? 30_000)
  escalationTimer.unref()
  // Finished sends are kept a while as dedupe keys (an event redelivered days later after a
  // broker restore still sends nothing), then forgotten so the outbox stays small.
  const pruneTimer = setInterval(() => {
    deps.store
      .pruneNotifications(now() - KEEP_FINISHED_MS)
      .catch((e: Error) => log.error({ err: e.message }, 'outbox prune failed'))
  }, 3_600_000)
  pruneTimer.unref()
  if (deps.registry)
    outcomes = registerNotifierMetrics(deps.registry, () => ({
      ...stats,
      connected: source.connected(),
    }))
  log.info({ mqtt: config.mqttUrl }, 'notifier started')

  return {
    vapidPublicKey: vapid.publicKey,
    stats: () => ({ ...stats, connected: source.connected() }),
    deliverNow: () => worker.runOnce(),
    async stop() {
      clearInterval(deliveryTimer)
      clearInterval(escalationTimer)
      clearInterval(pruneTimer)
      source.pause()
      await source.close()
      await worker.runOnce().catch(() => 0)
      log.info(stats, 'notifier stopped')
    },
  }
}
