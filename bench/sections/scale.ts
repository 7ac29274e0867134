import { defaultRules } from '../../deploy/rules/default-rules.ts'
import { windowSpanMs } from '../../services/processor/rules/engine.ts'
import { cleanupAll, sleep, waitFor } from '../lib/children.ts'
import { countReadings } from '../lib/influx.ts'
import { runLoad } from '../lib/load.ts'
import { measureSustained } from '../lib/measure.ts'
import { memoryOf, round } from '../lib/proc.ts'
import { type BenchContext, type Figure, figure, type SectionResult } from '../lib/report.ts'
import { type Pipe, startOurs, sustainedOn } from './setups.ts'

/**
 * Item 6, and the no-growth run. Tani in one process (embedded broker) with N devices
 * registered and the rule pack on: every device sends one reading, everything is
 * stored, the process idles 5 s, and its memory is read after a full GC (heap) and from
 * /proc (RSS); then the sustained rate with N devices. The cost of a device is the
 * difference between N and the smallest N, per device. The embedded broker holds
 * nothing per device here (they publish through a gateway account), so the difference
 * is the processor's: its device cache, rule state and windows.
 */

const MB = 1024 * 1024
/** One reading per device, at about the pace Tani stores them. */
const SEED_RATE = 2_000
const SEED_CONNECTIONS = 4

async function everyDeviceOnce(pipe: Pipe): Promise<number> {
  const n = pipe.fixture.deviceCount
  const load = runLoad(pipe.fixture, {
    mqttUrl: pipe.mqttUrl,
    ratePerSecond: SEED_RATE,
    durationMs: (n / SEED_RATE) * 1000 + 300,
    connections: SEED_CONNECTIONS,
    // Room for every device's reading in flight: a publish the broker has not acknowledged
    // yet must not make the sender skip a device.
    maxInflight: Math.ceil(n / SEED_CONNECTIONS) + 1000,
  })
  const done = await load.done
  if (done.behind > 0 || done.sent < n)
    throw new Error(`only ${done.sent} of ${n} devices sent a reading (${done.behind} behind)`)
  await allStored(pipe, done.acknowledged, 'every seed reading in InfluxDB', 300_000)
  return done.acknowledged
}

/** Waits until InfluxDB holds at least `n` readings; how many it holds then. */
function allStored(pipe: Pipe, n: number, what: string, timeoutMs: number): Promise<number> {
  return waitFor(
    async () => {
      const stored = await countReadings(pipe.influx)
      return stored >= n ? stored : null
    },
    what,
    timeoutMs,
    500,
  )
}

async function idleMemory(pipe: Pipe) {
  await sleep(5_000)
  const rssMb = memoryOf(pipe.tani?.pid ?? 0)?.rssMb ?? 0
  const m = await (pipe.tani as NonNullable<Pipe['tani']>).memoryAfterGc()
  return {
    heapUsedMb: round(m.heapUsed / MB, 1),
    rssAfterGcMb: round(m.rss / MB, 1),
    rssMb: round(rssMb, 1),
  }
}

export async function scale(ctx: BenchContext): Promise<SectionResult> {
  const section = 'scale'
  const figures: Figure[] = []
  const rows: {
    devices: number
    heapUsedMb: number
    rssAfterGcMb: number
    rssMb: number
    perSecond: number
    peakRssMb: number
  }[] = []
  for (const devices of ctx.scaleDevices) {
    ctx.log(`scale: ${devices} devices`)
    const pipe = await startOurs('embedded', devices, { probe: true })
    try {
      await everyDeviceOnce(pipe)
      const idle = await idleMemory(pipe)
      const s = await measureSustained({
        ...sustainedOn(pipe),
        ratePerSecond: 40_000,
        durationMs: ctx.quick ? 8_000 : 15_000,
        log: ctx.log,
      })
      const peakRssMb = s.usage['tani (broker+processor)']?.hwmMb ?? 0
      rows.push({ devices, ...idle, perSecond: s.perSecond, peakRssMb })
    } finally {
      await cleanupAll()
    }
  }
  const base = rows[0]
  for (const r of rows) {
    const k = `${r.devices / 1000}k devices`
    figures.push(
      figure(
        section,
        `${k}: stored`,
        r.perSecond,
        'readings/s',
        r.devices === 10_000 ? { target: '≥ 30,000', pass: (v) => v >= 30_000 } : undefined,
      ),
      figure(section, `${k}: idle heap after GC / RSS`, `${r.heapUsedMb} / ${r.rssMb}`, 'MB'),
    )
    if (base && r !== base) {
      const perDevice = (mb: number, baseMb: number) =>
        round(((mb - baseMb) * 1024) / (r.devices - base.devices), 2)
      figures.push(
        figure(
          section,
          `${k}: heap per idle device (vs ${base.devices / 1000}k)`,
          perDevice(r.heapUsedMb, base.heapUsedMb),
          'KiB',
          {
            target: '< 1',
            pass: (v) => v < 1,
          },
        ),
        figure(
          section,
          `${k}: RSS per idle device (after GC, vs ${base.devices / 1000}k)`,
          perDevice(r.rssAfterGcMb, base.rssAfterGcMb),
          'KiB',
          {
            target: '< 1',
            pass: (v) => v < 1,
          },
        ),
      )
    }
  }
  return { section, figures, details: { rows } }
}

/**
 * The no-growth run. Growth is only a leak once every look-back window has reached its
 * span: with devices on real time, a 10-minute run shows the 24 h and 5 d windows filling
 * by design. So the soak's devices run on a clock of their own, `SOAK_HISTORY_MS` of device
 * time in the first tenth of the run, and weeks of history by its end, which ends at now
 * (never ahead: readings from the future are quarantined). From then on every reading
 * pushes one out of its windows, and the heap after a full GC must stay flat. It is read
 * every tenth of the run; growth is judged from the 20 % mark to the end, so start-up
 * and the windows filling do not count.
 *
 * SOAK_DEVICES devices each report once a real second, about three hours of device time
 * apart at the 600 s soak: a window of a day holds a dozen points, of five days some
 * forty. Per-device memory at scale is the scale section's figure, not this one's.
 */
const SOAK_DEVICES = 1_000
const SOAK_HISTORY_MS = 8 * 24 * 3_600_000

export async function soak(ctx: BenchContext): Promise<SectionResult> {
  const section = 'soak'
  if (Math.max(...defaultRules().map((r) => windowSpanMs(r) ?? 0)) > SOAK_HISTORY_MS)
    throw new Error('a default rule looks back further than the soak fills its windows')
  const devices = SOAK_DEVICES
  const pipe = await startOurs('embedded', devices, { probe: true })
  const rate = devices
  const speed = Math.round(SOAK_HISTORY_MS / (ctx.soakMs / 10))
  // Ends a minute before now: the publisher's first seconds go to connecting.
  const clock = { startMs: Date.now() - 60_000 - speed * ctx.soakMs, speed }
  const days = round((speed * ctx.soakMs) / 86_400_000)
  ctx.log(
    `soak: ${devices} devices at ${rate}/s for ${ctx.soakMs / 1000} s, device clock ${speed}× (${days} days)`,
  )
  const load = runLoad(pipe.fixture, {
    mqttUrl: pipe.mqttUrl,
    ratePerSecond: rate,
    durationMs: ctx.soakMs,
    clock,
  })
  const started = Date.now()
  const marks: { s: number; heapUsedMb: number; rssMb: number }[] = []
  for (let k = 1; k <= 10; k++) {
    await sleep(Math.max(0, started + (ctx.soakMs * k) / 10 - Date.now()))
    const m = await (pipe.tani as NonNullable<Pipe['tani']>).memoryAfterGc()
    marks.push({
      s: round((Date.now() - started) / 1000),
      heapUsedMb: round(m.heapUsed / MB, 1),
      rssMb: round(m.rss / MB, 1),
    })
  }
  const done = await load.done
  const stored = await allStored(pipe, done.acknowledged, 'every soak reading in InfluxDB', 120_000)
  await cleanupAll()
  const from = marks[1] as (typeof marks)[number]
  const to = marks.at(-1) as (typeof marks)[number]
  const growth = round(to.heapUsedMb - from.heapUsedMb, 1)
  const allowed = Math.max(2, from.heapUsedMb * 0.05)
  const figures: Figure[] = [
    figure(
      section,
      `heap after GC, ${from.s} s → ${to.s} s (${devices / 1000}k devices, ${rate}/s, ${days} days of device time)`,
      `${from.heapUsedMb} → ${to.heapUsedMb}`,
      'MB',
    ),
    figure(section, 'heap growth over the run', growth, 'MB', {
      target: `≤ ${round(allowed, 1)} (5 %)`,
      pass: (v) => v <= allowed,
    }),
    figure(section, 'RSS after GC, start → end', `${from.rssMb} → ${to.rssMb}`, 'MB'),
    figure(section, 'readings acknowledged / stored', `${done.acknowledged} / ${stored}`, ''),
  ]
  return { section, figures, details: { devices, rate, clock, marks, load: done, stored } }
}
