import { cleanupAll } from '../lib/children.ts'
import { measureSustained } from '../lib/measure.ts'
import { type BenchContext, type Figure, figure, type SectionResult } from '../lib/report.ts'
import { startOurs, sustainedOn } from './setups.ts'

/**
 * Item 4: a publisher faster than the processor for the whole window, with no pacing, so
 * the backlog grows at the broker the whole time. The processor's RSS is sampled every
 * 500 ms; afterwards the bench waits until InfluxDB holds every reading the broker
 * acknowledged. Both shapes: against Mosquitto the processor is a process of its own;
 * embedded, the broker's queue lives in the same process (aedes keeps a persistent
 * session's queue in LevelDB).
 */

const PUBLISHER_MAX = 40_000

/**
 * Twice the sustained rate measured earlier on this shape (the publisher tops out near
 * 40k/s). Whether the publisher did outrun the processor is checked, not assumed.
 */
function offeredFor(ctx: BenchContext, shape: 'embedded' | 'external'): number {
  const section = shape === 'embedded' ? 'ingest, embedded aedes' : 'ingest, external Mosquitto'
  const sustained = ctx.earlier
    .flatMap((r) => r.figures)
    .find((f) => f.section === section && f.label.startsWith('Tani stored'))?.value
  const base = typeof sustained === 'number' && sustained > 0 ? sustained : 5_000
  return Math.min(PUBLISHER_MAX, Math.round((2 * base) / 100) * 100)
}

export async function overload(ctx: BenchContext): Promise<SectionResult> {
  const section = 'overload'
  const figures: Figure[] = []
  const details: Record<string, unknown> = {}
  for (const shape of ['external', 'embedded'] as const) {
    const offered = offeredFor(ctx, shape)
    ctx.log(`overload, ${shape}: ${offered}/s offered for ${ctx.durationMs / 1000} s`)
    const pipe = await startOurs(shape, ctx.devices)
    const processor = shape === 'external' ? 'tani processor' : 'tani (broker+processor)'
    let maxInflight = 0
    const inflight = setInterval(async () => {
      const m = await pipe.tani?.metrics().catch(() => null)
      maxInflight = Math.max(maxInflight, m?.tani_processor_inflight_messages ?? 0)
    }, 1000)
    const s = await measureSustained({
      ...sustainedOn(pipe),
      maxBacklog: Number.POSITIVE_INFINITY,
      ratePerSecond: offered,
      durationMs: ctx.durationMs,
      catchUpMs: ctx.quick ? 120_000 : 400_000,
      log: ctx.log,
    }).finally(() => clearInterval(inflight))
    await cleanupAll()
    const peak = s.usage[processor]?.hwmMb ?? null
    const label = shape === 'external' ? 'external Mosquitto' : 'embedded aedes'
    details[shape] = { ...s, maxInflight }
    // Outran: the processor stored clearly less than was published, and a backlog was left.
    const outran = s.perSecond < 0.9 * s.load.achievedPerSecond && s.catchUpSeconds > 2
    figures.push(
      figure(section, `publisher outran the processor, ${label}`, outran ? 'yes' : 'no', ''),
      figure(
        section,
        `publisher achieved / stored, ${label}`,
        `${s.load.achievedPerSecond.toLocaleString('en-US')} / ${s.perSecond.toLocaleString('en-US')}`,
        'readings/s',
      ),
      figure(section, `${processor} peak RSS, ${label}`, peak, 'MB', {
        target: '< 300',
        pass: (v) => v < 300,
      }),
      figure(section, `most messages in flight, ${label}`, maxInflight, 'messages'),
      figure(
        section,
        `QoS 1 readings lost${s.unfinished === 'deadline' ? ' (or not stored yet: wait ended)' : ''}, ${label}`,
        s.lost,
        'readings',
        {
          target: '0',
          pass: (v) => v === 0,
        },
      ),
      figure(
        section,
        `backlog stored after the publisher stopped, ${label}`,
        s.catchUpSeconds,
        's',
      ),
    )
    const broker = shape === 'external' ? s.usage.mosquitto : undefined
    if (broker) figures.push(figure(section, `mosquitto peak RSS, ${label}`, broker.hwmMb, 'MB'))
  }
  return { section, figures, details }
}
