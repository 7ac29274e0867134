import { topics } from '../../shared/index.ts'
import {
  createInfluxQuery,
  createInfluxWriter,
  type InfluxConfig,
  isRetriableWriteError,
  retryDelayMs,
} from '../influx/client.ts'
import type { Logger } from '../log.ts'
import type { Store } from '../store/repository.ts'
import { createAlertSink } from './alert-sink.ts'
import { alertEventLine } from './line-protocol.ts'
import { createMqttSource, type MessageSource } from './mqtt-source.ts'
import { createDeviceDirectory, createPipeline, type PipelineStats } from './pipeline.ts'
import { dueReminders } from './reminders.ts'
import { createRuleEngine } from './rules/engine.ts'
import { rebuildDegreeDays, rebuildWindows } from './rules/rebuild.ts'
import { createWriteBatcher } from './write-batcher.ts'

export type ProcessorConfig = {
  mqttUrl: string
  username: string
  password: string
  influx: InfluxConfig
  /** Messages held unacknowledged at most: the processor's memory bound. */
  maxInflight: number
  /** Payload bytes held unacknowledged at most (default 32 MiB). */
  maxInflightBytes?: number
  flushMs: number
  /** Lines per InfluxDB write at most (a batch grows past it only while a write is under way). */
  batchLines?: number
  lateAfterMs: number
  /** How often the rules are re-read from the store. */
  rulesRefreshMs?: number
  /** How often silent devices and due reminders are looked for. */
  silenceCheckMs?: number
}

export type ProcessorStats = PipelineStats & {
  inflight: number
  inflightBytes: number
  writeRetries: number
  /** InfluxDB writes that succeeded, and the lines they carried. */
  writes: number
  linesWritten: number
  pendingLines: number
  alertsPublished: number
  connected: boolean
}

export type Processor = {
  stats(): ProcessorStats
  /** Re-reads the rules from the store now. */
  reloadRules(): Promise<void>
  stop(drainTimeoutMs?: number): Promise<void>
}

export async function startProcessor(
  config: ProcessorConfig,
  deps: { store: Store; log: Logger },
): Promise<Processor> {
  const log = deps.log.child({ module: 'processor' })
  const writer = await createInfluxWriter(config.influx, log)
  const batcher = createWriteBatcher({
    writer,
    maxLines: config.batchLines ?? 5000,
    flushMs: config.flushMs,
    isRetriable: isRetriableWriteError,
    retryDelayMs,
    log,
  })

  const rules = createRuleEngine()
  let rulesRevision = ''
  async function reloadRules() {
    const revision = await deps.store.rulesRevision()
    if (revision === rulesRevision) return
    rulesRevision = revision
    rules.setRules(await deps.store.listRules())
    log.info({ rules: rules.rules().filter((r) => r.enabled).length }, 'rules loaded')
  }
  await reloadRules()
  rules.restore(await deps.store.openAlerts())
  const directory = createDeviceDirectory(deps.store)
  try {
    const influxQuery = createInfluxQuery(config.influx)
    await rebuildWindows(rules, influxQuery, log)
    await rebuildDegreeDays(rules, influxQuery, directory, log)
  } catch (err) {
    // InfluxDB away at start: the windows fill up again from new readings.
    log.warn({ err: (err as Error).message }, 'could not rebuild rule windows from InfluxDB')
  }

  const alerts = await createAlertSink({
    url: config.mqttUrl,
    username: config.username,
    password: config.password,
    store: deps.store,
    log,
    record: (events) => {
      try {
        batcher.add(events.map(alertEventLine), {
          onWritten: () => {},
          onRejected: (reason) => log.warn({ reason }, 'alert events not recorded in InfluxDB'),
        })
      } catch (err) {
        // Stopping: the store keeps the events; the InfluxDB copy is a convenience.
        log.warn({ err: (err as Error).message }, 'alert events not recorded in InfluxDB')
      }
    },
  })

  // No-data rules and reminders run on the clock: a silent device sends nothing to react to.
  async function clockTick(now: number) {
    const silent = rules.checkSilence(now)
    if (silent.length) await alerts.emit(silent, (e) => rules.startedAtOf(e))
    for (const reminder of dueReminders(await deps.store.openAlerts(), rules.rules(), now)) {
      await alerts.emit([reminder], () => now)
      await deps.store.recordReminder(reminder.alert_id, now)
    }
  }

  // Acknowledgements and hand resolutions (API, CLI) are announced on the bus, so the
  // notifier stops escalating; a hand-resolved alert is also dropped from rule state.
  async function announceHumanActions(now: number) {
    for (const a of await deps.store.unannouncedAcknowledgements()) {
      if (a.state === 'firing')
        await alerts.announce({
          ...a.lastEvent,
          state: 'acknowledged',
          acknowledged_by: a.acknowledgedBy ?? undefined,
          reminder: 0,
          emitted_at: new Date(now).toISOString(),
        })
      await deps.store.markAcknowledgementAnnounced(a.alertId)
    }
    for (const a of await deps.store.unannouncedResolutions()) {
      rules.forget(a.ruleId, a.deviceId)
      // The store made the resolution the alert's last event (in the outbox): send it now.
      alerts.resend(a.lastEvent)
      await deps.store.markResolutionAnnounced(a.alertId)
    }
  }
  const rulesTimer = setInterval(() => {
    reloadRules().catch((e: Error) => log.error({ err: e.message }, 'could not reload rules'))
    announceHumanActions(Date.now()).catch((e: Error) =>
      log.error({ err: e.message }, 'could not announce acknowledgements and resolutions'),
    )
  }, config.rulesRefreshMs ?? 5000)
  rulesTimer.unref()
  const silenceTimer = setInterval(() => {
    clockTick(Date.now()).catch((e: Error) =>
      log.error({ err: e.message }, 'clock-driven alert check failed'),
    )
  }, config.silenceCheckMs ?? 30_000)
  silenceTimer.unref()

  const pipeline = createPipeline({
    store: deps.store,
    devices: directory,
    batcher,
    rules,
    alerts,
    lateAfterMs: config.lateAfterMs,
    log,
  })

  const source: MessageSource = createMqttSource({
    url: config.mqttUrl,
    username: config.username,
    password: config.password,
    clientId: config.username,
    topics: [topics.allDeviceUp, topics.allDeviceStatus, topics.allChirpstackUp, topics.allTtsUp],
    maxInflight: config.maxInflight,
    maxInflightBytes: config.maxInflightBytes,
    log,
  })
  try {
    await source.start((m) => void pipeline.handle(m))
  } catch (err) {
    clearInterval(rulesTimer)
    clearInterval(silenceTimer)
    await alerts.close()
    await writer.close()
    throw err
  }
  log.info(
    { mqtt: config.mqttUrl, influx: config.influx.url, api: writer.api },
    'processor started',
  )

  return {
    stats: () => {
      const written = batcher.stats()
      return {
        ...pipeline.stats(),
        inflight: source.inflight(),
        inflightBytes: source.inflightBytes(),
        writeRetries: written.retries,
        writes: written.batches,
        linesWritten: written.lines,
        pendingLines: written.pendingLines,
        connected: source.connected(),
        alertsPublished: alerts.published(),
      }
    },
    reloadRules,
    async stop(drainTimeoutMs = 10_000) {
      clearInterval(rulesTimer)
      clearInterval(silenceTimer)
      // Take no more messages, finish the ones under way (their PUBACKs go out), then
      // leave. If InfluxDB is away, stop anyway: what was not written stays
      // unacknowledged and the broker delivers it again.
      source.pause()
      pipeline.close()
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        batcher.close(),
        new Promise((r) => {
          timer = setTimeout(r, drainTimeoutMs)
        }),
      ])
      clearTimeout(timer)
      batcher.abort()
      await source.close()
      await alerts.close()
      await writer.close()
      log.info(pipeline.stats(), 'processor stopped')
    },
  }
}
