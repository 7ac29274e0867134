import { readFileSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { HealthReport } from '../../services/ops/server.ts'
import { type Child, freePort, spawnNode, waitFor } from './children.ts'
import type { Fixture } from './fixture.ts'
import type { BenchInflux } from './influx.ts'

const START_SCRIPT = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string }
  }
).scripts.start.split(/\s+/)

/** The Node flags of `npm start` (package.json), read from there so the two cannot drift. */
export const START_FLAGS = START_SCRIPT.filter((word) => word.startsWith('--'))

/** The environment `npm start` sets before `node` (MALLOC_ARENA_MAX), likewise. */
export const START_ENV: Record<string, string> = Object.fromEntries(
  START_SCRIPT.slice(0, START_SCRIPT.indexOf('node')).flatMap((word) => {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word)
    return m ? [[m[1], m[2]]] : []
  }),
)

/**
 * Tani itself, as an operator runs it: `npm start` (`node services/main.ts` with the
 * start script's flags and environment) with its configuration in the environment, in a child process of its own so its CPU and memory are its own.
 *   embedded  — the embedded aedes broker and the processor in one process;
 *   processor — the processor alone, against an external broker (`mqttUrl`);
 *   broker    — the embedded broker alone (the reference pipeline's and the drain's aedes).
 * Logging is at warn: nothing is logged per message.
 */
export type TaniShape = 'embedded' | 'processor' | 'broker'

export type TaniChild = {
  child: Child
  pid: number
  /** The broker's URL (embedded and broker shapes). */
  mqttUrl: string | null
  /** tani_processor_* and tani_broker_* values from /metrics. */
  metrics(): Promise<Record<string, number>>
  /** Heap and RSS after a full GC (needs `probe: true`). */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>
  stop(): Promise<void>
}

const MAIN = new URL('../../services/main.ts', import.meta.url).pathname
const PROBE = new URL('./memory-probe.ts', import.meta.url).pathname

export async function startTani(o: {
  fixture: Fixture
  shape: TaniShape
  influx?: BenchInflux
  /** The external broker, for the processor shape. */
  mqttUrl?: string
  probe?: boolean
  /**
   * Ready when its last service has started (default), or as soon as /health answers:
   * a processor reconnecting to a long queue gets its SUBACK only after the queue.
   */
  ready?: 'started' | 'listening'
  /** Write a CPU profile (node --cpu-prof) here when the process exits. */
  cpuProfileDir?: string
  /** More Node flags (e.g. --heapsnapshot-signal=SIGUSR2 instead of `probe`). */
  nodeArgs?: string[]
}): Promise<TaniChild> {
  const [mqttPort, opsPort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const probeFile = join(o.fixture.dataDir, `probe-${opsPort}.json`)
  const services = { embedded: 'broker,processor', processor: 'processor', broker: 'broker' }
  const env: Record<string, string> = {
    ...START_ENV,
    TANI_SERVICES: services[o.shape],
    TANI_DATA_DIR: o.fixture.dataDir,
    LOG_LEVEL: 'warn',
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(mqttPort),
    MQTT_WS_PORT: '',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: String(opsPort),
    API_PORT: String(apiPort),
    PROCESSOR_SECRET: o.fixture.processorSecret,
    BENCH_PROBE_FILE: probeFile,
  }
  if (o.influx) {
    env.INFLUX_URL = o.influx.url
    env.INFLUX_API = 'v1'
    env.INFLUX_DATABASE = o.influx.database
  }
  if (o.shape === 'processor') {
    if (!o.mqttUrl) throw new Error('the processor shape needs the external broker URL')
    env.MQTT_URL = o.mqttUrl
  }
  const nodeArgs: string[] = [...START_FLAGS, ...(o.nodeArgs ?? [])]
  if (o.probe) {
    nodeArgs.push('--expose-gc', '--import', PROBE)
    // The probe reads the main thread's heap: the processor runs there too, so that one
    // heap holds all of Tani's state (the default puts it in a worker thread of its own).
    env.PROCESSOR_THREAD = 'false'
  }
  if (o.cpuProfileDir) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', o.cpuProfileDir)
  const child = spawnNode(`tani-${o.shape}`, MAIN, { env, nodeArgs })
  const ops = `http://127.0.0.1:${opsPort}`
  const last = o.shape === 'broker' ? 'broker' : 'processor'
  await waitFor(
    async () => {
      if (!child.running())
        throw new Error(`tani (${o.shape}) exited at start: ${child.stderrTail()}`)
      // /health answers before every service has started: wait for the last one's check.
      const res = await fetch(`${ops}/health`).catch(() => null)
      const health = (await res?.json().catch(() => null)) as HealthReport | null
      if (o.ready === 'listening') return res ? true : null
      return res?.status === 200 && health?.checks[last] ? true : null
    },
    `tani (${o.shape}) to be healthy`,
    60_000,
    200,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; stderr: ${child.stderrTail()}`)
  })
  let probes = 0
  return {
    child,
    pid: child.pid,
    mqttUrl: o.shape === 'processor' ? null : `mqtt://127.0.0.1:${mqttPort}`,
    async metrics() {
      const text = await (await fetch(`${ops}/metrics`)).text()
      const out: Record<string, number> = {}
      for (const line of text.split('\n')) {
        const m = /^(tani_(?:processor|broker)_[a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line)
        if (m) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2])
      }
      return out
    },
    async memoryAfterGc() {
      const want = ++probes
      child.signal('SIGUSR2')
      return waitFor(
        async () => {
          const text = await readFile(probeFile, 'utf8').catch(() => null)
          const m = text ? (JSON.parse(text) as NodeJS.MemoryUsage & { n: number }) : null
          return m && m.n >= want ? m : null
        },
        'the memory probe',
        10_000,
        50,
      )
    },
    async stop() {
      await child.stop(30_000)
      await rm(probeFile, { force: true })
    },
  }
}
