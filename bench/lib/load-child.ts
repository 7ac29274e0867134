import { readFileSync } from 'node:fs'
import {
  type DeviceClock,
  type LoadDevice,
  type LoadStats,
  startLoad,
} from '../../firmware-sim/load.ts'

/**
 * The simulator's load mode in a process of its own, so the publisher does not take the
 * event loop of what is measured. Options come as JSON in BENCH_LOAD; it prints a JSON
 * line every 200 ms (`progress`, so the bench can follow the backlog) and one at the end
 * (`done`). SIGTERM stops it early; the bench pauses it with SIGSTOP/SIGCONT.
 */
export type LoadChildOptions = {
  mqttUrl: string
  devicesFile: string
  ratePerSecond: number
  durationMs: number
  gateway: { username: string; password: string }
  connections: number
  maxInflightPerConnection: number
  clock?: DeviceClock
}

export type LoadLine = { type: 'progress' | 'done'; t: number } & LoadStats

const opts = JSON.parse(process.env.BENCH_LOAD ?? '{}') as LoadChildOptions
const { devices } = JSON.parse(readFileSync(opts.devicesFile, 'utf8')) as { devices: LoadDevice[] }
const say = (type: LoadLine['type'], s: LoadStats) =>
  process.stdout.write(`${JSON.stringify({ type, t: Date.now(), ...s })}\n`)

const load = startLoad({
  mqttUrl: opts.mqttUrl,
  devices,
  ratePerSecond: opts.ratePerSecond,
  durationMs: opts.durationMs,
  via: { gateway: opts.gateway, connections: opts.connections },
  maxInflightPerConnection: opts.maxInflightPerConnection,
  clock: opts.clock,
})
const ticker = setInterval(() => say('progress', load.stats()), 200)
process.on('SIGTERM', () => void load.stop())
load.done.then(
  (s) => {
    clearInterval(ticker)
    say('done', s)
    process.exit(0)
  },
  (err: Error) => {
    process.stderr.write(`load: ${err.message}\n`)
    process.exit(1)
  },
)
