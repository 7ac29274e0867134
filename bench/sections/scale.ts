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
  await waitFor(
    async () => ((await countReadings(pipe.influx)) >= done.acknowledged ? true : null),
    'every seed reading in InfluxDB',
    300_000,
    500,
  )
  return done.acknowledged
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
 * The no-growth run: ctx.devices devices, each reporting every 60 s (a field interval),
 * for `soakMs`; heap after a full GC and RSS every tenth of the run. Growth is judged
 * from the 20 % mark to the end, so start-up and the first readings of each device
 * (caches filling) do not count; windows still grow with each reading by design.
 */
export async function soak(ctx: BenchContext): Promise<SectionResult> {
  const section = 'soak'
  const devices = ctx.devices
  const pipe = await startOurs('embedded', devices, { probe: true })
  await everyDeviceOnce(pipe)
  const rate = Math.max(1, Math.round(devices / 60))
  ctx.log(`soak: ${devices} devices at ${rate}/s for ${ctx.soakMs / 1000} s`)
  const load = runLoad(pipe.fixture, {
    mqttUrl: pipe.mqttUrl,
    ratePerSecond: rate,
    durationMs: ctx.soakMs,
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
  await cleanupAll()
  const from = marks[1] as (typeof marks)[number]
  const to = marks.at(-1) as (typeof marks)[number]
  const growth = round(to.heapUsedMb - from.heapUsedMb, 1)
  const allowed = Math.max(2, from.heapUsedMb * 0.05)
  const figures: Figure[] = [
    figure(
      section,
      `heap after GC, ${from.s} s → ${to.s} s (${devices / 1000}k devices, ${rate}/s)`,
      `${from.heapUsedMb} → ${to.heapUsedMb}`,
      'MB',
    ),
    figure(section, 'heap growth over the run', growth, 'MB', {
      target: `≤ ${round(allowed, 1)} (5 %)`,
      pass: (v) => v <= allowed,
    }),
    figure(section, 'RSS after GC, start → end', `${from.rssMb} → ${to.rssMb}`, 'MB'),
  ]
  return { section, figures, details: { devices, rate, marks, load: done } }
}
