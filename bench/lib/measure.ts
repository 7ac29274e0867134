import { sleep } from './children.ts'
import type { Fixture } from './fixture.ts'
import { runLoad } from './load.ts'
import type { LoadLine } from './load-child.ts'
import { type ProcUsage, round, sampleProcesses } from './proc.ts'

/**
 * The sustained-rate measurement every throughput section shares. A publisher offers a
 * fixed rate, above what the pipeline keeps up with, for `durationMs`; the count of
 * what arrived at the end of the pipe (points in InfluxDB, or messages at a subscriber)
 * is read at 20 % and at 90 % of the run, and the rate is the difference over the time
 * between. CPU is averaged over the same window.
 *
 * Sustained means the backlog stays bounded: the publisher is paused (SIGSTOP) while
 * more than `maxBacklog` acknowledged readings have not come out of the pipe yet (read
 * from a cheap progress counter every 200 ms), and resumed under half of it. So the pipe
 * is never idle, the broker's queue never runs away, and after the publisher stops the
 * count is followed until it holds every reading the broker acknowledged.
 */
export type Counter = () => Promise<number>

export type Sustained = {
  /** Readings per second arriving at the end of the pipe, in the window. */
  perSecond: number
  windowSeconds: number
  offered: number
  load: Pick<LoadLine, 'sent' | 'acknowledged' | 'failed' | 'behind' | 'achievedPerSecond'>
  /** What the pipe holds at the end, counted from the start of the run. */
  arrived: number
  /** Acknowledged by the broker and never arrived. */
  lost: number
  /** Why the wait for the tail ended early: the deadline, or no progress for 15 s. */
  unfinished: 'deadline' | 'stalled' | null
  /** From the publisher's last reading until the count held everything (or gave up), s. */
  catchUpSeconds: number
  usage: Record<string, ProcUsage>
  /** Share of the run the publisher was paused because the backlog was full. */
  pausedShare: number
  /** RSS samples (MB) over the whole run, every 500 ms, per process. */
  rss: { t: number; rssMb: Record<string, number> }[]
}

export async function measureSustained(o: {
  fixture: Fixture
  mqttUrl: string
  count: Counter
  /** A cheap count of what came out of the pipe (the processor's metric, the subscriber's report): gating only. */
  progress: Counter
  /** Acknowledged readings not yet out of the pipe before the publisher is paused (default 40,000). */
  maxBacklog?: number
  pids: Record<string, number>
  ratePerSecond: number
  durationMs: number
  /** How long to wait, at most, for the tail after the publisher stops. */
  catchUpMs?: number
  connections?: number
  log: (s: string) => void
}): Promise<Sustained> {
  const before = await o.count()
  const progressBefore = await o.progress()
  const maxBacklog = o.maxBacklog ?? 40_000
  const load = runLoad(o.fixture, {
    mqttUrl: o.mqttUrl,
    ratePerSecond: o.ratePerSecond,
    durationMs: o.durationMs,
    connections: o.connections,
  })
  const all = sampleProcesses({ ...o.pids, load: load.child.pid }, 500)
  const started = Date.now()
  let paused = false
  let pausedSince = 0
  let pausedMs = 0
  const resume = () => {
    if (!paused) return
    load.child.signal('SIGCONT')
    paused = false
    pausedMs += Date.now() - pausedSince
  }
  let gating = true
  const gate = setInterval(async () => {
    const l = load.latest()
    if (!gating || !l) return
    const backlog = l.acknowledged - ((await o.progress().catch(() => 0)) - progressBefore)
    if (!gating) return
    if (Date.now() - started >= o.durationMs) resume()
    else if (!paused && backlog > maxBacklog) {
      load.child.signal('SIGSTOP')
      paused = true
      pausedSince = Date.now()
    } else if (paused && backlog < maxBacklog / 2) resume()
  }, 200)
  const stopGating = () => {
    gating = false
    clearInterval(gate)
    resume()
  }
  const progress = setInterval(() => {
    const l = load.latest()
    if (l) o.log(`  ${Math.round((Date.now() - started) / 1000)}s acked ${l.acknowledged}`)
  }, 10_000)
  try {
    await sleep(o.durationMs * 0.2)
    const c0 = await o.count()
    const t0 = Date.now()
    const window = sampleProcesses({ ...o.pids, load: load.child.pid }, 500)
    await sleep(Math.max(0, started + o.durationMs * 0.9 - Date.now()))
    const c1 = await o.count()
    const t1 = Date.now()
    const usage = window.stop()
    await sleep(Math.max(0, started + o.durationMs - Date.now()))
    stopGating()
    const pausedShare = pausedMs / (Date.now() - started)
    const done = await load.done
    const publisherStopped = Date.now()
    const expected = before + done.acknowledged
    let arrived = await o.count()
    let lastMove = Date.now()
    const deadline = Date.now() + (o.catchUpMs ?? 180_000)
    while (arrived < expected && Date.now() < deadline && Date.now() - lastMove < 15_000) {
      await sleep(500)
      const n = await o.count()
      if (n > arrived) lastMove = Date.now()
      arrived = n
    }
    const whole = all.stop()
    // Peak memory is the whole run's (the tail after the publisher included).
    for (const [name, u] of Object.entries(usage)) {
      const w = whole[name]
      if (w) Object.assign(u, { rssPeakMb: Math.max(u.rssPeakMb, w.rssPeakMb), hwmMb: w.hwmMb })
    }
    return {
      perSecond: Math.round((c1 - c0) / ((t1 - t0) / 1000)),
      windowSeconds: round((t1 - t0) / 1000, 1),
      offered: o.ratePerSecond,
      load: {
        sent: done.sent,
        acknowledged: done.acknowledged,
        failed: done.failed,
        behind: done.behind,
        achievedPerSecond: done.achievedPerSecond,
      },
      arrived: arrived - before,
      lost: Math.max(0, expected - arrived),
      unfinished: arrived >= expected ? null : Date.now() >= deadline ? 'deadline' : 'stalled',
      catchUpSeconds: round((Date.now() - publisherStopped) / 1000, 1),
      pausedShare: round(pausedShare, 2),
      usage,
      rss: all.series(),
    }
  } finally {
    stopGating()
    clearInterval(progress)
    all.stop()
    await load.child.stop()
  }
}
