import { cleanupAll, sleep } from '../lib/children.ts'
import { createFixture } from '../lib/fixture.ts'
import { countReadings, pointsAccepted, startBenchInflux } from '../lib/influx.ts'
import { runLoad } from '../lib/load.ts'
import { round, sampleProcesses } from '../lib/proc.ts'
import { type BenchContext, type Figure, figure, type SectionResult } from '../lib/report.ts'
import { startTani } from '../lib/services.ts'
import { type Broker, startBroker } from './setups.ts'

/**
 * Item 3, the drain ceiling: the processor subscribes once (so the broker keeps a
 * persistent session for it) and stops; a backlog of QoS 1 readings is published and
 * queued at the broker; then the processor starts and drains it. The rate is read from
 * influxd's own count of accepted points every 250 ms (see `pointsAccepted`), between
 * the moments 10 % and 90 % of the drain's points were stored; every reading must be
 * counted in InfluxDB at the end. On aedes the broker runs as its own process here
 * (`TANI_SERVICES=broker`), since the processor must be stopped while the broker goes on.
 */

/** The backlog: about 20 s of the sustained rate measured earlier, within bounds. */
export function backlogSize(ctx: BenchContext): number {
  const sustained = ctx.earlier
    .flatMap((r) => r.figures)
    .find((f) => f.label.startsWith('Tani stored') && typeof f.value === 'number')?.value as
    | number
    | undefined
  const [min, max] = ctx.quick ? [20_000, 100_000] : [50_000, 400_000]
  return Math.round(Math.min(max, Math.max(min, 20 * (sustained ?? 5_000))) / 1000) * 1000
}

async function drainOn(broker: Broker, ctx: BenchContext, backlog: number) {
  const fixture = await createFixture(ctx.devices, `drain-${broker}`)
  const influx = await startBenchInflux()
  const b = await startBroker(broker, fixture)
  const first = await startTani({ fixture, shape: 'processor', influx, mqttUrl: b.mqttUrl })
  await first.stop()
  ctx.log(`  publishing a backlog of ${backlog} readings to ${broker}`)
  const load = runLoad(fixture, { mqttUrl: b.mqttUrl, ratePerSecond: 40_000, durationMs: 600_000 })
  while ((load.latest()?.acknowledged ?? 0) < backlog && load.child.running()) await sleep(100)
  load.child.signal('SIGTERM')
  const published = await load.done
  const queued = published.acknowledged
  const started = Date.now()
  const tani = await startTani({
    fixture,
    shape: 'processor',
    influx,
    mqttUrl: b.mqttUrl,
    ready: 'listening',
    cpuProfileDir: ctx.cpuProfileDir ? `${ctx.cpuProfileDir}/drain-${broker}` : undefined,
  })
  const usage = sampleProcesses({
    [broker]: b.pid,
    'tani processor': tani.pid,
    influxd: influx.pid,
  })
  // The timeline is influxd's own count of accepted points (cheap); the share of the
  // backlog stored at a moment is its share of all the points the drain wrote, as the
  // load's mix of kinds (and so points per reading) is the same throughout. The readings
  // themselves are counted in InfluxDB at the end.
  const pointsBefore = await pointsAccepted(influx)
  const points: { t: number; p: number }[] = []
  let n = 0
  let p = 0
  let lastMove = Date.now()
  while (n < queued && Date.now() - lastMove < 20_000) {
    await sleep(250)
    const now = (await pointsAccepted(influx)) - pointsBefore
    points.push({ t: Date.now(), p: now })
    if (now > p) lastMove = Date.now()
    else if (now > 0) n = await countReadings(influx)
    p = now
  }
  n = await countReadings(influx)
  const allStoredS = round((Date.now() - started) / 1000, 1)
  const use = usage.stop()
  // Linear interpolation of the moment the points passed `share` of the drain's points.
  const crossing = (share: number) => {
    const target = share * p
    const k = points.findIndex((x) => x.p >= target)
    const a = points[k]
    const b = points[k - 1] ?? { t: started, p: 0 }
    if (!a) return null
    return b.t + ((target - b.p) / Math.max(1, a.p - b.p)) * (a.t - b.t)
  }
  const t10 = crossing(0.1)
  const t90 = crossing(0.9)
  const perSecond =
    t10 !== null && t90 !== null && t90 > t10 ? Math.round((0.8 * n) / ((t90 - t10) / 1000)) : null
  return { queued, stored: n, lost: Math.max(0, queued - n), perSecond, allStoredS, usage: use }
}

export async function drain(ctx: BenchContext): Promise<SectionResult> {
  const section = 'drain'
  const backlog = backlogSize(ctx)
  const figures: Figure[] = []
  const details: Record<string, unknown> = { backlog }
  for (const broker of ['mosquitto', 'aedes'] as const) {
    ctx.log(`drain: ${broker}`)
    const d = await drainOn(broker, ctx, backlog).finally(cleanupAll)
    details[broker] = d
    const label = broker === 'mosquitto' ? 'external Mosquitto' : 'aedes (own process)'
    figures.push(
      figure(
        section,
        `drain rate, ${label} (${Math.round(d.queued / 1000)}k queued)`,
        d.perSecond,
        'readings/s',
        {
          target: '≥ 50,000',
          pass: (v) => v >= 50_000,
        },
      ),
      figure(section, `all stored after processor start, ${label}`, d.allStoredS, 's'),
      figure(section, `queued, not stored, ${label}`, d.lost, 'readings', {
        target: '0',
        pass: (v) => v === 0,
      }),
      figure(
        section,
        `processor peak RSS, ${label}`,
        d.usage['tani processor']?.hwmMb ?? null,
        'MB',
      ),
    )
  }
  return { section, figures, details }
}
