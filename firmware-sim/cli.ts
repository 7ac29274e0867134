/**
 * Command line of the firmware simulator: runs the devices listed in a devices file
 * (written by the registration CLI) against the broker until Ctrl-C.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { createLogger } from '../services/log.ts'
import { CliError } from './cli-error.ts'
import { LOAD_USAGE, loadMain } from './cli-load.ts'
import { SCENARIO_USAGE, scenarioMain } from './cli-scenario.ts'
import {
  type SimDevice,
  type Simulation,
  type SimulationStats,
  startSimulation,
} from './simulator.ts'

export const USAGE = `Usage: npm run sim -- [run] --devices <file> [options]
       npm run sim -- scenario <file|name> [options]   (see: scenario --help)
       npm run sim -- load --devices <file> --rate <n> [options]   (see: load --help)

Simulates Tani field devices: each device connects to the MQTT broker with its own
credentials, announces itself on devices/{id}/status and publishes one reading per
interval on devices/{id}/up. Progress goes to stderr every few seconds; Ctrl-C stops
the devices cleanly (status "stopped", then DISCONNECT) and prints a summary.

Options:
  -d, --devices <file>     devices file (JSON), as written by the registration CLI:
                           { "mqttUrl": "mqtt://127.0.0.1:1883",
                             "devices": [{ "id": "pond-1", "kind": "pond_sensor",
                                           "secret": "..." }] }
                           kinds: pest_trap, env_sensor, pond_sensor, irrigation_controller
      --mqtt-url <url>     broker URL; overrides the file's mqttUrl
  -i, --interval <s>       seconds between two readings of a device (default 10)
      --seed <n>           seed of the simulated readings (default 1)
      --speed <x>          simulated seconds per real second (default 1)
      --start <time>       simulated start time, ISO 8601 or epoch ms (default now)
      --duration <s>       stop after this many real seconds (default: until Ctrl-C)
      --log-level <level>  pino log level on stderr: debug, info, warn, error (default info)
  -h, --help               show this help

Exit status: 0 when stopped; 1 when a device was refused by the broker or a reading
failed; 2 for a usage or devices-file error.`

export { DevicesFile, formatPath, MqttUrl, parseDevicesFile } from './devices-file.ts'
export { CliError }

import { MqttUrl, parseDevicesFile } from './devices-file.ts'

export type CliOptions = {
  devicesFile: string
  mqttUrl: string | undefined
  intervalMs: number
  seed: number
  speed: number
  startTime: number | undefined
  durationMs: number | undefined
  logLevel: string
}

const positiveNumber = (name: string, value: string): number => {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new CliError(`--${name}: expected a positive number, got "${value}"`)
  }
  return n
}

/** Parses the arguments; `null` means help was asked for. */
export function parseCliArgs(args: string[]): CliOptions | null {
  let values: ReturnType<typeof parse>['values']
  function parse(a: string[]) {
    return parseArgs({
      args: a,
      allowPositionals: false,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        devices: { type: 'string', short: 'd' },
        'mqtt-url': { type: 'string' },
        interval: { type: 'string', short: 'i', default: '10' },
        seed: { type: 'string', default: '1' },
        speed: { type: 'string', default: '1' },
        start: { type: 'string' },
        duration: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
      },
    })
  }
  try {
    values = parse(args).values
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun with --help for usage.`)
  }
  if (values.help) return null
  if (!values.devices)
    throw new CliError('--devices <file> is required\nRun with --help for usage.')

  const seed = Number(values.seed)
  if (!Number.isInteger(seed))
    throw new CliError(`--seed: expected an integer, got "${values.seed}"`)

  let startTime: number | undefined
  if (values.start !== undefined) {
    startTime = /^\d+$/.test(values.start) ? Number(values.start) : Date.parse(values.start)
    if (!Number.isFinite(startTime)) {
      throw new CliError(`--start: expected ISO 8601 or epoch ms, got "${values.start}"`)
    }
  }
  const mqttUrl = values['mqtt-url']
  if (mqttUrl !== undefined && !MqttUrl.safeParse(mqttUrl).success) {
    throw new CliError(
      `--mqtt-url: expected a broker URL such as mqtt://127.0.0.1:1883, got "${mqttUrl}"`,
    )
  }
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
  const logLevel = values['log-level']
  if (!levels.includes(logLevel)) {
    throw new CliError(`--log-level: expected one of ${levels.join(', ')}, got "${logLevel}"`)
  }
  return {
    devicesFile: values.devices,
    mqttUrl,
    intervalMs: positiveNumber('interval', values.interval) * 1000,
    seed,
    speed: positiveNumber('speed', values.speed),
    startTime,
    durationMs:
      values.duration === undefined
        ? undefined
        : positiveNumber('duration', values.duration) * 1000,
    logLevel,
  }
}

const formatStats = (s: SimulationStats, devices: number): string =>
  `sent=${s.sent} acked=${s.acknowledged} failed=${s.failed} ` +
  `connected=${s.connected}/${devices} refused=${s.refused}`

const PROGRESS_EVERY_MS = 5_000

/** Runs the simulator; resolves with the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args
  if (command === 'scenario') return scenarioMain(rest)
  if (command === 'load') return loadMain(rest)
  if (command === 'run') return runMain(rest)
  return runMain(args)
}

export const HELP = { scenario: SCENARIO_USAGE, load: LOAD_USAGE }

async function runMain(args: string[]): Promise<number> {
  const opts = parseCliArgs(args)
  if (!opts) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  let text: string
  try {
    text = await readFile(opts.devicesFile, 'utf8')
  } catch (err) {
    throw new CliError(`${opts.devicesFile}: cannot read: ${(err as Error).message}`)
  }
  const file = parseDevicesFile(text, opts.devicesFile)
  const mqttUrl = opts.mqttUrl ?? file.mqttUrl
  if (!mqttUrl) {
    throw new CliError(
      `${opts.devicesFile}: mqttUrl: missing (give it in the file or with --mqtt-url)`,
    )
  }
  const devices: SimDevice[] = file.devices.map(({ id, kind, secret }) => ({ id, kind, secret }))
  const log = createLogger(opts.logLevel, process.stderr).child({ module: 'firmware-sim' })
  const say = (line: string) => process.stderr.write(`firmware-sim: ${line}\n`)

  say(
    `${devices.length} device(s) → ${mqttUrl}, a reading every ${opts.intervalMs / 1000} s` +
      `, seed ${opts.seed}, speed ×${opts.speed}`,
  )
  const realStart = Date.now()
  const sim: Simulation = startSimulation({
    mqttUrl,
    devices,
    intervalMs: opts.intervalMs,
    seed: opts.seed,
    speed: opts.speed,
    startTime: opts.startTime,
    log,
  })
  const elapsed = () => `${Math.round((Date.now() - realStart) / 1000)}s`

  return await new Promise<number>((resolve) => {
    let stopping = false
    const progress = setInterval(() => {
      say(
        `${elapsed()} ${formatStats(sim.stats(), devices.length)} (simulated ${new Date(sim.now()).toISOString()})`,
      )
    }, PROGRESS_EVERY_MS)
    const durationTimer =
      opts.durationMs === undefined
        ? undefined
        : setTimeout(() => shutdown('duration reached'), opts.durationMs)

    function shutdown(why: string): void {
      if (stopping) return
      stopping = true
      clearInterval(progress)
      clearTimeout(durationTimer)
      say(`${why}; stopping…`)
      sim
        .stop()
        .catch((err: unknown) => log.error({ err }, 'stop failed'))
        .then(() => {
          const s = sim.stats()
          say(
            `summary after ${elapsed()}: ${s.sent} reading(s) sent, ${s.acknowledged} acknowledged, ` +
              `${s.failed} failed; ${s.refused} of ${devices.length} device(s) refused by the broker`,
          )
          process.off('SIGINT', onSignal)
          process.off('SIGTERM', onSignal)
          resolve(s.refused > 0 || s.failed > 0 ? 1 : 0)
        })
    }
    function onSignal(signal: NodeJS.Signals): void {
      if (stopping) {
        say(`${signal} again; exiting without waiting`)
        process.exit(130)
      }
      shutdown(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)

    sim.ready.then(() => {
      const s = sim.stats()
      if (s.refused === devices.length) shutdown('the broker refused every device')
      else if (!stopping) say(`${elapsed()} ${formatStats(s, devices.length)}`)
    })
  })
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      if (err instanceof CliError) {
        process.stderr.write(`firmware-sim: ${err.message}\n`)
        process.exitCode = err.exitCode
      } else {
        process.stderr.write(
          `firmware-sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
        )
        process.exitCode = 1
      }
    },
  )
}
