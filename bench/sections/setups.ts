import { type Child, spawnNode } from '../lib/children.ts'
import { createFixture, type Fixture } from '../lib/fixture.ts'
import { type BenchInflux, countReadings, startBenchInflux } from '../lib/influx.ts'
import { startBenchMosquitto } from '../lib/mosquitto.ts'
import { startTani, type TaniChild } from '../lib/services.ts'
import type { ReferenceLine, ReferenceOptions } from '../reference-pipeline.ts'

/**
 * The deployments the sections measure, each started fresh (own store, own influxd,
 * own broker) so no section inherits another's data, sessions or queues.
 */
export type Broker = 'aedes' | 'mosquitto'

export type Pipe = {
  fixture: Fixture
  influx: BenchInflux
  mqttUrl: string
  /** Processes measured, by name. */
  pids: Record<string, number>
  tani: TaniChild | null
  /** The reference pipeline's subscriber, when that is what runs. */
  subscriber?: Subscriber
}

/** The broker alone: mosquitto, or Tani's embedded aedes as its own process. */
export async function startBroker(broker: Broker, fixture: Fixture, influx?: BenchInflux) {
  if (broker === 'mosquitto') {
    const m = await startBenchMosquitto()
    return { mqttUrl: m.url, pid: m.pid, tani: null }
  }
  const tani = await startTani({ fixture, shape: 'broker', influx })
  return { mqttUrl: tani.mqttUrl as string, pid: tani.pid, tani }
}

/** Tani: one process with the embedded broker, or the processor against Mosquitto. */
export async function startOurs(
  shape: 'embedded' | 'external',
  devices: number,
  o: { probe?: boolean; cpuProfileDir?: string | null } = {},
): Promise<Pipe> {
  const fixture = await createFixture(devices, `ours-${shape}`)
  const influx = await startBenchInflux()
  const common = { fixture, influx, probe: o.probe, cpuProfileDir: o.cpuProfileDir ?? undefined }
  if (shape === 'embedded') {
    const tani = await startTani({ ...common, shape: 'embedded' })
    return {
      fixture,
      influx,
      mqttUrl: tani.mqttUrl as string,
      pids: { 'tani (broker+processor)': tani.pid, influxd: influx.pid },
      tani,
    }
  }
  const broker = await startBroker('mosquitto', fixture)
  const tani = await startTani({ ...common, shape: 'processor', mqttUrl: broker.mqttUrl })
  return {
    fixture,
    influx,
    mqttUrl: broker.mqttUrl,
    pids: { mosquitto: broker.pid, 'tani processor': tani.pid, influxd: influx.pid },
    tani,
  }
}

export type Subscriber = { child: Child; latest(): ReferenceLine | null }

/** The reference pipeline (or, with mode 'count', a counting subscriber) as a child. */
export async function startSubscriber(
  mode: ReferenceOptions['mode'],
  broker: Broker,
  fixture: Fixture,
  mqttUrl: string,
  influx?: BenchInflux,
  clean = false,
): Promise<Subscriber> {
  const options: ReferenceOptions = {
    mode,
    clean,
    mqttUrl,
    clientId: `bench-${mode}`,
    influxUrl: influx?.url,
    database: influx?.database,
    ...(broker === 'aedes' ? fixture.subscriber : {}),
  }
  let latest: ReferenceLine | null = null
  let subscribed: () => void = () => {}
  const ready = new Promise<void>((r) => {
    subscribed = r
  })
  const child = spawnNode(
    `subscriber-${mode}`,
    new URL('../reference-pipeline.ts', import.meta.url).pathname,
    {
      env: { BENCH_REF: JSON.stringify(options) },
      onLine: (l) => {
        latest = JSON.parse(l) as ReferenceLine
        subscribed()
      },
    },
  )
  // The first line comes after the SUBACK: readings published before it would not be queued.
  await Promise.race([
    ready,
    new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error(`subscriber did not subscribe: ${child.stderrTail()}`)),
        20_000,
      ),
    ),
  ])
  return { child, latest: () => latest }
}

/** The reference pipeline on a broker: same store, influxd and devices as ours. */
export async function startReference(broker: Broker, devices: number): Promise<Pipe> {
  const fixture = await createFixture(devices, `reference-${broker}`)
  const influx = await startBenchInflux()
  const b = await startBroker(broker, fixture, influx)
  const sub = await startSubscriber('pipeline', broker, fixture, b.mqttUrl, influx)
  return {
    fixture,
    influx,
    mqttUrl: b.mqttUrl,
    pids: { [broker]: b.pid, 'reference subscriber': sub.child.pid, influxd: influx.pid },
    tani: b.tani,
    subscriber: sub,
  }
}

export const influxCounter = (influx: BenchInflux) => () => countReadings(influx)

/** The processor's own count of stored readings: cheap, for pacing the publisher only. */
export const storedMetric = (pipe: Pipe) => async () =>
  (await pipe.tani?.metrics())?.tani_processor_readings_stored_total ?? 0

/** What `measureSustained` needs of Tani's pipe: counted in InfluxDB, paced by the processor. */
export const sustainedOn = (pipe: Pipe) => ({
  fixture: pipe.fixture,
  mqttUrl: pipe.mqttUrl,
  count: influxCounter(pipe.influx),
  progress: storedMetric(pipe),
  pids: pipe.pids,
})
