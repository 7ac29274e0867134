import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { createLogger } from '../services/log.ts'
import { CliError } from './cli-error.ts'
import { parseDevicesFile } from './devices-file.ts'
import { type LoadStats, startLoad } from './load.ts'
import { parseDuration } from './time.ts'

export const LOAD_USAGE = `Usage: npm run sim -- load --devices <file> --rate <n> [options]

Publishes valid readings from many registered devices at a target aggregate rate and
reports what was sent, acknowledged and failed.

Options:
  -d, --devices <file>        devices file (ids, kinds; secrets for per-device connections)
      --rate <n>              readings per second, all devices together
      --duration <d>          how long (default 60s; e.g. 90s, 5m)
      --gateway <name:secret> publish over a few connections of a gateway account
      --connections <n>       gateway connections (default 4)
      --mqtt-url <url>        broker (default: the file's mqttUrl)
  -h, --help`

const say = (line: string) => process.stderr.write(`firmware-sim: ${line}\n`)
const fmt = (s: LoadStats) =>
  `${Math.round(s.elapsedMs / 1000)}s sent=${s.sent} acked=${s.acknowledged} failed=${s.failed} behind=${s.behind} rate=${s.achievedPerSecond}/s`

export async function loadMain(args: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values']
  function parse(a: string[]) {
    return parseArgs({
      args: a,
      options: {
        help: { type: 'boolean', short: 'h' },
        devices: { type: 'string', short: 'd' },
        rate: { type: 'string' },
        duration: { type: 'string', default: '60s' },
        gateway: { type: 'string' },
        connections: { type: 'string', default: '4' },
        'mqtt-url': { type: 'string' },
      },
    })
  }
  try {
    values = parse(args).values
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun with --help for usage.`)
  }
  if (values.help) {
    process.stdout.write(`${LOAD_USAGE}\n`)
    return 0
  }
  if (!values.devices) throw new CliError('--devices <file> is required')
  const rate = Number(values.rate)
  if (!(rate > 0))
    throw new CliError(`--rate: a positive number of readings per second, got "${values.rate}"`)
  let durationMs: number
  try {
    durationMs = parseDuration(values.duration as string)
  } catch (err) {
    throw new CliError(`--duration: ${(err as Error).message}`)
  }
  const file = parseDevicesFile(await readFile(values.devices, 'utf8'), values.devices)
  const mqttUrl = values['mqtt-url'] ?? file.mqttUrl
  if (!mqttUrl) throw new CliError('no broker URL: give --mqtt-url or mqttUrl in the devices file')
  let via: Parameters<typeof startLoad>[0]['via'] = { perDevice: true }
  if (values.gateway) {
    const [username, password] = values.gateway.split(':')
    const connections = Number(values.connections)
    if (!username || !password) throw new CliError('--gateway: NAME:SECRET')
    if (!Number.isInteger(connections) || connections < 1)
      throw new CliError('--connections: a whole number ≥ 1')
    via = { gateway: { username, password }, connections }
  }
  say(`${file.devices.length} device(s) → ${mqttUrl} at ${rate}/s for ${values.duration}`)
  const load = startLoad({
    mqttUrl,
    devices: file.devices,
    ratePerSecond: rate,
    durationMs,
    via,
    log: createLogger('warn', process.stderr),
    onProgress: (s) => say(fmt(s)),
  })
  const onSignal = () => void load.stop()
  process.on('SIGINT', onSignal)
  const result = await load.done
  process.off('SIGINT', onSignal)
  say(`summary: ${fmt(result)}`)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  return result.failed > 0 ? 1 : 0
}
