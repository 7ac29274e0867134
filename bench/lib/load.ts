import type { DeviceClock } from '../../firmware-sim/load.ts'
import { type Child, spawnNode } from './children.ts'
import type { Fixture } from './fixture.ts'
import type { LoadChildOptions, LoadLine } from './load-child.ts'

const LOAD_CHILD = new URL('./load-child.ts', import.meta.url).pathname

export type RunningLoad = {
  child: Child
  /** The last line the load child printed (null before its first second). */
  latest(): LoadLine | null
  /** The final report; rejects when the child fails. */
  done: Promise<LoadLine>
}

/**
 * Publishes valid readings for every device of the fixture through its gateway account:
 * `connections` MQTT connections, each with up to `maxInflight` unacknowledged QoS 1
 * publishes, at `ratePerSecond` offered (the sender falls behind when the broker does
 * not acknowledge fast enough; that shows as `behind`).
 */
export function runLoad(
  fixture: Pick<Fixture, 'devicesFile' | 'gateway'>,
  o: {
    mqttUrl: string
    ratePerSecond: number
    durationMs: number
    connections?: number
    maxInflight?: number
    /** The devices' clock (default: real time). */
    clock?: DeviceClock
  },
): RunningLoad {
  const options: LoadChildOptions = {
    mqttUrl: o.mqttUrl,
    devicesFile: fixture.devicesFile,
    ratePerSecond: o.ratePerSecond,
    durationMs: o.durationMs,
    gateway: fixture.gateway,
    connections: o.connections ?? 4,
    maxInflightPerConnection: o.maxInflight ?? 2000,
    clock: o.clock,
  }
  let latest: LoadLine | null = null
  let resolveDone: (l: LoadLine) => void = () => {}
  const reported = new Promise<LoadLine>((r) => {
    resolveDone = r
  })
  const child = spawnNode('load', LOAD_CHILD, {
    env: { BENCH_LOAD: JSON.stringify(options) },
    onLine: (line) => {
      if (!line.startsWith('{')) return
      latest = JSON.parse(line) as LoadLine
      if (latest.type === 'done') resolveDone(latest)
    },
  })
  const done = Promise.race([
    reported,
    child.exited.then(async (code) => {
      // The 'done' line may still be in the pipe when the exit event fires.
      await new Promise((r) => setTimeout(r, 200))
      if (latest?.type === 'done') return latest
      throw new Error(`load child exited (${code}) without a report: ${child.stderrTail()}`)
    }),
  ])
  return { child, latest: () => latest, done }
}
