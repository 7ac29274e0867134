import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { createLogger } from '../services/log.ts'
import { openSqliteStore } from '../services/store/sqlite-store.ts'
import { CliError } from './cli-error.ts'
import { provisionScenario } from './provision.ts'
import { type Run, runScenario } from './runner.ts'
import { loadScenario, ScenarioError } from './scenario.ts'

export const SCENARIO_DIR = join(import.meta.dirname, 'scenarios')

export function listScenarios(): string[] {
  return existsSync(SCENARIO_DIR)
    ? readdirSync(SCENARIO_DIR)
        .filter((f) => f.endsWith('.json'))
        .map((f) => basename(f, '.json'))
        .sort()
    : []
}

export const SCENARIO_USAGE = `Usage: npm run sim -- scenario <file|name> [options]

Plays a scenario file (see firmware-sim/README.md) against the broker: the farm's
physics in simulated time, its devices' readings, and the events it lists.

Options:
      --mqtt-url <url>         broker (default mqtt://127.0.0.1:1883)
      --speed <x|max>          simulated seconds per real second (default 60);
                               max: as fast as the broker acknowledges
      --start <time|latest>    move the scenario to another start (ISO 8601 with a
                               zone); latest: the last day it fits before now, at the
                               same local time (the default with --register)
      --register               register the farm, sites and devices in the store first
                               (store: --db, or TANI_DB, default data/tani.db)
      --credentials <file>     device secrets (written by --register; default
                               data/sim-<farm>-credentials.json)
      --network-server <n:s>   account for LoRaWAN devices' uplinks (with --register
                               one is created)
      --log-level <level>      debug, info, warn, error (default warn)
  -h, --help

Ready scenarios (by name): ${listScenarios().join(', ')}`

function scenarioPath(arg: string): string {
  if (existsSync(arg)) return arg
  const named = join(SCENARIO_DIR, `${arg}.json`)
  if (existsSync(named)) return named
  throw new CliError(
    `no scenario file or ready scenario "${arg}"; ready ones: ${listScenarios().join(', ')}`,
  )
}

const say = (line: string) => process.stderr.write(`firmware-sim: ${line}\n`)

export async function scenarioMain(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  function parse(a: string[]) {
    return parseArgs({
      args: a,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        'mqtt-url': { type: 'string', default: 'mqtt://127.0.0.1:1883' },
        speed: { type: 'string', default: '60' },
        register: { type: 'boolean', default: false },
        start: { type: 'string' },
        db: { type: 'string' },
        credentials: { type: 'string' },
        'network-server': { type: 'string' },
        'log-level': { type: 'string', default: 'warn' },
      },
    })
  }
  try {
    parsed = parse(args)
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun with --help for usage.`)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${SCENARIO_USAGE}\n`)
    return 0
  }
  const file = positionals[0]
  if (!file) throw new CliError(`give a scenario file or name\n${SCENARIO_USAGE}`)
  const speed = values.speed === 'max' ? 'max' : Number(values.speed)
  if (speed !== 'max' && !(speed > 0))
    throw new CliError(`--speed: a positive number or max, got "${values.speed}"`)
  let scenario: Awaited<ReturnType<typeof loadScenario>>
  try {
    // Registered runs feed a live system: keep them in the past, after earlier runs.
    const start = values.start ?? (values.register ? 'latest' : undefined)
    scenario = await loadScenario(scenarioPath(file), { start })
  } catch (err) {
    if (err instanceof ScenarioError) throw new CliError(err.message)
    throw err
  }
  const credentialsFile =
    values.credentials ?? join('data', `sim-${scenario.farm.id}-credentials.json`)
  let secrets: Record<string, string> = {}
  let networkServer: { username: string; password: string } | undefined
  if (values.register) {
    const store = openSqliteStore(values.db ?? process.env.TANI_DB ?? 'data/tani.db')
    try {
      const creds = await provisionScenario(store, scenario, credentialsFile)
      secrets = creds.secrets
      networkServer = creds.networkServer ?? undefined
    } catch (err) {
      throw new CliError(`cannot register the scenario: ${(err as Error).message}`)
    } finally {
      await store.close()
    }
    say(
      `registered farm ${scenario.farm.id} and ${scenario.devices.length} device(s); secrets in ${credentialsFile}`,
    )
  } else {
    if (!existsSync(credentialsFile))
      throw new CliError(
        `${credentialsFile} not found: run once with --register, or give --credentials`,
      )
    secrets = (
      JSON.parse(readFileSync(credentialsFile, 'utf8')) as { secrets: Record<string, string> }
    ).secrets
  }
  if (values['network-server']) {
    const [username, password] = values['network-server'].split(':')
    if (!username || !password) throw new CliError('--network-server: NAME:SECRET')
    networkServer = { username, password }
  }
  const log = createLogger(values['log-level'] as string, process.stderr).child({
    module: 'firmware-sim',
  })
  say(
    `${scenario.name}: ${scenario.devices.length} device(s), ${scenario.events.length} event(s), ` +
      `${new Date(scenario.startMs).toISOString()} + ${scenario.duration} at ${speed === 'max' ? 'full speed' : `×${speed}`}`,
  )
  const run: Run = runScenario({
    scenario,
    mqttUrl: values['mqtt-url'] as string,
    secrets,
    networkServer,
    speed: speed === 'max' ? 'max' : speed * 1,
    log,
  })
  const realStart = Date.now()
  const line = () => {
    const s = run.stats()
    const faults = Object.entries(s.faults)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
    return (
      `${Math.round((Date.now() - realStart) / 1000)}s simulated ${new Date(run.now()).toISOString()} ` +
      `sent=${s.sent} acked=${s.acknowledged} failed=${s.failed} backlogged=${s.backlogged} ` +
      `duplicates=${s.duplicates} refused=${s.refused}${faults ? ` faults: ${faults}` : ''}`
    )
  }
  const progress = setInterval(() => say(line()), 5000)
  let interrupted = false
  const onSignal = () => {
    if (interrupted) process.exit(130)
    interrupted = true
    say('stopping…')
    void run.stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const result = await run.done
  await run.stop()
  clearInterval(progress)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  say(`${interrupted ? 'stopped' : 'finished'}: ${line()}`)
  return result.failed > 0 ? 1 : 0
}
