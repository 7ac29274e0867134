// First: before anything loads mqtt-packet (see quiet-debug.ts).
import '../quiet-debug.ts'
import { once } from 'node:events'
import { getHeapStatistics } from 'node:v8'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { createLogger, type Logger } from '../log.ts'
import { openSqliteStore } from '../store/sqlite-store.ts'
import {
  type Processor,
  type ProcessorConfig,
  type ProcessorStats,
  startProcessor,
} from './index.ts'

/**
 * The processor in a worker thread of the process that runs the embedded broker: aedes
 * and the processor each get a core of a two-core gateway instead of sharing one event
 * loop, so a burst of rule evaluation does not hold up the broker's PUBACKs to devices
 * (nor the broker the processor). They still talk only over MQTT (loopback); the worker
 * opens its own connection to the SQLite store (WAL mode, busy timeout).
 */

type ThreadData = { config: ProcessorConfig; dbPath: string; logLevel: string }

/** Main thread → worker. */
type Command =
  | { type: 'stop'; drainTimeoutMs?: number }
  | { type: 'reloadRules'; id: number }
  | { type: 'memory'; id: number }
/** Worker → main thread. */
type Report =
  | { type: 'started'; stats: ProcessorStats }
  | { type: 'failed'; message: string }
  | { type: 'stats'; stats: ProcessorStats }
  | { type: 'done'; id: number; error?: string; heapUsed?: number }
  | { type: 'stopped' }

const STATS_EVERY_MS = 250

export type ThreadedProcessor = Processor & {
  /** The worker's heap in use after a full collection (when Node runs with --expose-gc). */
  heapUsedAfterGc(): Promise<number>
}

export async function startProcessorThread(
  config: ProcessorConfig,
  opts: { dbPath: string; logLevel: string },
  log: Logger,
): Promise<ThreadedProcessor> {
  const data: ThreadData = { config, dbPath: opts.dbPath, logLevel: opts.logLevel }
  const worker = new Worker(new URL(import.meta.url), { workerData: data })
  let latest: ProcessorStats | null = null
  let stopping = false
  let nextId = 0
  const waiting = new Map<number, (r: Extract<Report, { type: 'done' }>) => void>()
  const request = (command: Command & { id: number }) =>
    new Promise<Extract<Report, { type: 'done' }>>((resolve) => {
      waiting.set(command.id, resolve)
      worker.postMessage(command)
    })

  const started = new Promise<void>((resolve, reject) => {
    worker.on('message', (r: Report) => {
      if (r.type === 'started') {
        latest = r.stats
        resolve()
      } else if (r.type === 'failed') reject(new Error(r.message))
      else if (r.type === 'stats') latest = r.stats
      else if (r.type === 'done') {
        waiting.get(r.id)?.(r)
        waiting.delete(r.id)
      }
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`processor thread exited with ${code}`)))
  })
  try {
    await started
  } catch (err) {
    await worker.terminate()
    throw err
  }
  // A processor that dies must not leave the broker taking readings nobody stores: the
  // process exits, and its supervisor (systemd, Docker) starts it again.
  worker.on('error', (err) => {
    log.fatal({ err: err.message }, 'processor thread failed; exiting')
    process.exit(1)
  })
  worker.on('exit', (code) => {
    if (stopping) return
    log.fatal({ code }, 'processor thread exited; exiting')
    process.exit(1)
  })

  return {
    stats: () => latest as ProcessorStats,
    async reloadRules() {
      const r = await request({ type: 'reloadRules', id: ++nextId })
      if (r.error) throw new Error(r.error)
    },
    async heapUsedAfterGc() {
      return (await request({ type: 'memory', id: ++nextId })).heapUsed ?? 0
    },
    async stop(drainTimeoutMs?: number) {
      if (stopping) return
      stopping = true
      const exited = once(worker, 'exit')
      worker.postMessage({ type: 'stop', drainTimeoutMs } satisfies Command)
      // The worker stops its processor (draining what is under way) and exits; one that
      // does not is ended after the drain time and a margin.
      const limit = (drainTimeoutMs ?? 10_000) + 10_000
      let timer: NodeJS.Timeout | undefined
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, limit)))])
      clearTimeout(timer)
      await worker.terminate()
    },
  }
}

async function runInWorker(port: NonNullable<typeof parentPort>, data: ThreadData) {
  const log = createLogger(data.logLevel).child({ thread: 'processor' })
  const store = openSqliteStore(data.dbPath)
  let processor: Processor
  try {
    processor = await startProcessor(data.config, { store, log })
  } catch (err) {
    await store.close()
    port.postMessage({ type: 'failed', message: (err as Error).message } satisfies Report)
    return
  }
  const p = processor
  port.postMessage({ type: 'started', stats: p.stats() } satisfies Report)
  const ticker = setInterval(
    () => port.postMessage({ type: 'stats', stats: p.stats() } satisfies Report),
    STATS_EVERY_MS,
  )
  const gc = (globalThis as { gc?: () => void }).gc
  port.on('message', (c: Command) => {
    if (c.type === 'stop') {
      clearInterval(ticker)
      void p
        .stop(c.drainTimeoutMs)
        .catch((err: Error) => log.error({ err: err.message }, 'processor stop failed'))
        .then(() => store.close())
        // Ends this thread only (in a worker, process.exit stops the worker).
        .finally(() => process.exit(0))
    } else if (c.type === 'reloadRules')
      p.reloadRules().then(
        () => port.postMessage({ type: 'done', id: c.id } satisfies Report),
        (err: Error) => port.postMessage({ type: 'done', id: c.id, error: err.message }),
      )
    else if (c.type === 'memory') {
      gc?.()
      gc?.()
      port.postMessage({
        type: 'done',
        id: c.id,
        heapUsed: getHeapStatistics().used_heap_size,
      } satisfies Report)
    }
  })
}

if (!isMainThread && parentPort && (workerData as ThreadData | undefined)?.config)
  void runInWorker(parentPort, workerData as ThreadData)
