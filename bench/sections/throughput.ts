import { cleanupAll } from '../lib/children.ts'
import { createFixture } from '../lib/fixture.ts'
import { countKindPoints } from '../lib/influx.ts'
import { measureSustained, type Sustained } from '../lib/measure.ts'
import {
  type BenchContext,
  type Figure,
  figure,
  type SectionResult,
  usageFigures,
} from '../lib/report.ts'
import {
  type Broker,
  influxCounter,
  startBroker,
  startOurs,
  startReference,
  startSubscriber,
  sustainedOn,
} from './setups.ts'

/**
 * Items 1 and 2 of the issue, per broker: the raw broker (publisher → subscriber), the
 * reference pipeline, and Tani with the default rule pack — the same publisher at the
 * same offered rate, one after the other — and Tani's rate as a ratio of the reference's.
 */

/** Offered by the publisher: above what any of the pipelines sustains here. */
export const OFFERED_PER_SECOND = 40_000

const summary = (s: Sustained) => ({
  perSecond: s.perSecond,
  windowSeconds: s.windowSeconds,
  offered: s.offered,
  load: s.load,
  arrived: s.arrived,
  lost: s.lost,
  catchUpSeconds: s.catchUpSeconds,
  pausedShare: s.pausedShare,
  usage: s.usage,
})

async function raw(
  broker: Broker,
  ctx: BenchContext,
  o: { clean?: boolean; durationMs?: number } = {},
): Promise<Sustained> {
  const fixture = await createFixture(ctx.devices, `raw-${broker}`)
  const b = await startBroker(broker, fixture)
  const sub = await startSubscriber('count', broker, fixture, b.mqttUrl, undefined, o.clean)
  return measureSustained({
    fixture,
    mqttUrl: b.mqttUrl,
    count: async () => sub.latest()?.received ?? 0,
    progress: async () => sub.latest()?.received ?? 0,
    pids: { [broker]: b.pid, subscriber: sub.child.pid },
    ratePerSecond: OFFERED_PER_SECOND,
    durationMs: o.durationMs ?? ctx.durationMs,
    log: ctx.log,
  })
}

async function reference(broker: Broker, ctx: BenchContext): Promise<Sustained> {
  const pipe = await startReference(broker, ctx.devices)
  return measureSustained({
    fixture: pipe.fixture,
    mqttUrl: pipe.mqttUrl,
    count: influxCounter(pipe.influx),
    progress: async () => pipe.subscriber?.latest()?.written ?? 0,
    pids: pipe.pids,
    ratePerSecond: OFFERED_PER_SECOND,
    durationMs: ctx.durationMs,
    log: ctx.log,
  })
}

async function ours(shape: 'embedded' | 'external', ctx: BenchContext) {
  const profileDir = ctx.cpuProfileDir ? `${ctx.cpuProfileDir}/${shape}` : null
  const pipe = await startOurs(shape, ctx.devices, { cpuProfileDir: profileDir })
  const s = await measureSustained({
    ...sustainedOn(pipe),
    ratePerSecond: OFFERED_PER_SECOND,
    durationMs: ctx.durationMs,
    log: ctx.log,
  })
  // Both points of every reading: the kind's measurement holds as many as device_health.
  const kindPoints = await countKindPoints(pipe.influx)
  const metrics = await pipe.tani?.metrics()
  return { ...s, kindPoints, metrics }
}

export async function throughput(ctx: BenchContext, broker: Broker): Promise<SectionResult> {
  const section = broker === 'aedes' ? 'ingest, embedded aedes' : 'ingest, external Mosquitto'
  const shape = broker === 'aedes' ? 'embedded' : 'external'
  const details: Record<string, unknown> = {
    offeredPerSecond: OFFERED_PER_SECOND,
    devices: ctx.devices,
  }
  const figures: Figure[] = []
  ctx.log(`${section}: raw broker`)
  const r = await raw(broker, ctx).finally(cleanupAll)
  details.rawBroker = summary(r)
  figures.push(figure(section, `raw ${broker} pub→sub (persistent session)`, r.perSecond, 'msg/s'))
  if (broker === 'aedes') {
    // What aedes does without LevelDB in the path: a clean-session subscriber (shorter).
    ctx.log(`${section}: raw broker, clean session`)
    const clean = await raw(broker, ctx, { clean: true, durationMs: ctx.durationMs / 3 }).finally(
      cleanupAll,
    )
    details.rawBrokerCleanSession = summary(clean)
    figures.push(figure(section, 'raw aedes pub→sub (clean session)', clean.perSecond, 'msg/s'))
  }
  ctx.log(`${section}: reference pipeline`)
  const ref = await reference(broker, ctx).finally(cleanupAll)
  details.reference = summary(ref)
  figures.push(figure(section, 'reference pipeline stored', ref.perSecond, 'readings/s'))
  ctx.log(`${section}: Tani with the default rule pack`)
  const t = await ours(shape, ctx).finally(cleanupAll)
  details.tani = { ...summary(t), kindPoints: t.kindPoints, metrics: t.metrics }
  const ratio = ref.perSecond > 0 ? Math.round((t.perSecond / ref.perSecond) * 100) / 100 : null
  figures.push(
    figure(
      section,
      `Tani stored (${ctx.devices / 1000}k devices, rules on)`,
      t.perSecond,
      'readings/s',
      {
        target: '≥ 30,000',
        pass: (v) => v >= 30_000,
      },
    ),
    figure(section, 'Tani / reference', ratio, '×', { target: '≥ 0.8', pass: (v) => v >= 0.8 }),
    figure(
      section,
      'Tani / raw broker',
      r.perSecond > 0 ? Math.round((t.perSecond / r.perSecond) * 100) / 100 : null,
      '×',
    ),
    figure(section, 'acknowledged by broker, not stored', t.lost, 'readings', {
      target: '0',
      pass: (v) => v === 0,
    }),
    figure(
      section,
      'both points of each reading',
      t.kindPoints === t.arrived ? 'yes' : `${t.kindPoints} of ${t.arrived}`,
      '',
    ),
    ...usageFigures(section, t.usage),
    ...usageFigures(`${section} (reference)`, ref.usage),
  )
  return { section, figures, details }
}
