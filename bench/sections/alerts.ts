import { existsSync } from 'node:fs'
import { type BenchContext, type Figure, figure, type SectionResult } from '../lib/report.ts'

/**
 * Item 5: alert latency at 10 % and 80 % of the sustained rate measured earlier in this
 * run (Tani embedded; Mosquitto's figure if that is all there is). The measurement is
 * bench/alert-latency.ts, which starts its own stack (broker, processor, notifier, a
 * loopback push endpoint) and the run's number of devices as background load. The
 * targets are about sustained load: the first 5 s are shown apart, as a warm-up.
 */
type Percentiles = { n: number; p50: number; p95: number; p99: number; max: number }
type AlertLatency = (opts: {
  ratePerSecond: number
  durationMs: number
  devices?: number
  log?: (s: string) => void
}) => Promise<{
  rate: number
  toBus: Percentiles
  toPush: Percentiles
  warmup: { toBus: Percentiles; toPush: Percentiles }
}>

const MODULE = new URL('../alert-latency.ts', import.meta.url)

export async function alertSection(ctx: BenchContext): Promise<SectionResult> {
  const section = 'alert latency'
  if (!existsSync(MODULE)) {
    ctx.log('alert latency: bench/alert-latency.ts is not there; skipped')
    return {
      section,
      figures: [figure(section, 'skipped: bench/alert-latency.ts missing', null, '')],
      details: {},
    }
  }
  const all = ctx.earlier.flatMap((r) => r.figures).filter((f) => f.label.startsWith('Tani stored'))
  const sustained = (all.find((f) => f.section.includes('embedded')) ?? all[0])?.value
  const base = typeof sustained === 'number' && sustained > 0 ? sustained : null
  if (base === null) ctx.log('alert latency: no sustained rate measured in this run; using 5,000/s')
  const { alertLatency } = (await import(MODULE.href)) as { alertLatency: AlertLatency }
  const figures: Figure[] = []
  const details: Record<string, unknown> = { sustainedPerSecond: base }
  for (const [share, limitMs] of [
    [0.1, 200],
    [0.8, 1000],
  ] as const) {
    const rate = Math.round(share * (base ?? 5_000))
    ctx.log(`alert latency at ${share * 100} % load (${rate}/s)`)
    const r = await alertLatency({
      ratePerSecond: rate,
      durationMs: ctx.quick ? 10_000 : 30_000,
      devices: ctx.devices,
      log: ctx.log,
    })
    details[`${share * 100}%`] = r
    const at = `${share * 100} % load (${rate}/s)`
    for (const [what, p] of [
      ['reading → alerts/{farm}', r.toBus],
      ['reading → push endpoint', r.toPush],
    ] as const)
      figures.push(
        figure(section, `${at}: ${what} p50 / p95`, `${p.p50} / ${p.p95}`, 'ms'),
        figure(section, `${at}: ${what} p99 (n=${p.n})`, p.p99, 'ms', {
          target: `< ${limitMs}`,
          pass: (v) => v < limitMs,
        }),
      )
    figures.push(
      figure(
        section,
        `${at}: reading → push endpoint, max of the first 5 s (warm-up, n=${r.warmup.toPush.n})`,
        r.warmup.toPush.max,
        'ms',
      ),
    )
  }
  return { section, figures, details }
}
