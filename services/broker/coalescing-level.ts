import type { ClassicLevel } from 'classic-level'

/**
 * The part of a LevelDB database that aedes-persistence-level uses, with the writes of
 * one event-loop turn coalesced into one batch.
 *
 * For each QoS 1 message to a persistent subscriber (the processor), the persistence
 * makes three puts, two gets and one batch of deletes, each its own call into LevelDB
 * on the thread pool; profiled under paced load, those calls took a third of the
 * embedded broker's main thread, and that thread was the pipeline's bottleneck. Here:
 *
 * - puts and deletes queue in call order and are written together as one batch at the end
 *   of the turn, or, while a batch is being written, when it is done; each call's promise
 *   settles when its batch is written, so aedes still acknowledges a PUBLISH only once the
 *   message is in LevelDB;
 * - gets see the queued and unwritten writes, and answer from a bounded cache of the last
 *   values written (a message's packet is read back within milliseconds of being written);
 * - `clear`, `values` and `close` wait for the writes queued before them.
 *
 * Only this object may write to the database, or the cache would be stale.
 */
export type LevelLike = {
  get(key: string, options?: unknown): Promise<Buffer | undefined>
  put(key: string, value: Buffer, options?: unknown): Promise<void>
  del(key: string): Promise<void>
  batch(): ChainedBatch
  batch(ops: Op[], options?: unknown): Promise<void>
  clear(range: Range): Promise<void>
  values(options: Range & Record<string, unknown>): AsyncIterable<Buffer>
  close(): Promise<void>
}

export type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }
type Range = { gt?: string; gte?: string; lt?: string; lte?: string }
type ChainedBatch = {
  put(key: string, value: Buffer): ChainedBatch
  del(key: string): ChainedBatch
  write(): Promise<void>
}

/** Written values kept for gets (a packet of ~300 bytes: ~6 MB at most). */
const CACHED_VALUES = 20_000
const DELETED = Symbol('deleted')
type Unwritten = { value: Buffer | typeof DELETED; batch: number }

function inRange(key: string, r: Range): boolean {
  return (
    (r.gt === undefined || key > r.gt) &&
    (r.gte === undefined || key >= r.gte) &&
    (r.lt === undefined || key < r.lt) &&
    (r.lte === undefined || key <= r.lte)
  )
}

export function coalescingLevel(
  db: ClassicLevel<string, Buffer>,
  opts: { cachedValues?: number } = {},
): LevelLike & { stats(): { batches: number; ops: number; cacheHits: number; reads: number } } {
  const maxCached = opts.cachedValues ?? CACHED_VALUES
  /** Written (or being written) values, newest last; deleted keys are removed. */
  const cache = new Map<string, Buffer>()
  /** Queued or being written, per key: what a get must answer until the batch is done. */
  const unwritten = new Map<string, Unwritten>()
  let queued: Op[] = []
  let settle: { resolve: () => void; reject: (e: Error) => void }[] = []
  let batchNo = 0
  /** Every write and every barrier runs after the previous one. */
  let chain: Promise<void> = Promise.resolve()
  let scheduled = false
  /** Batches on the chain not yet written; while there is one, writes wait and gather. */
  let writing = 0
  const counts = { batches: 0, ops: 0, cacheHits: 0, reads: 0 }

  function remember(key: string, value: Buffer) {
    cache.delete(key)
    cache.set(key, value)
    if (cache.size > maxCached) cache.delete(cache.keys().next().value as string)
  }

  function schedule(): void {
    if (scheduled || writing > 0 || queued.length === 0) return
    scheduled = true
    setImmediate(cut)
  }

  /** Moves the queued writes onto the chain as one batch. */
  function cut(): void {
    scheduled = false
    if (queued.length === 0) return
    writing++
    const ops = queued
    const waiting = settle
    const n = batchNo++
    queued = []
    settle = []
    const write = async () => {
      counts.batches++
      counts.ops += ops.length
      await db.batch(ops)
    }
    chain = chain.then(write).then(
      () => {
        for (const op of ops) if (unwritten.get(op.key)?.batch === n) unwritten.delete(op.key)
        for (const w of waiting) w.resolve()
      },
      (err: Error) => {
        // Not written: forget what the cache and the pending map say about these keys.
        for (const op of ops) {
          if (unwritten.get(op.key)?.batch === n) unwritten.delete(op.key)
          cache.delete(op.key)
        }
        for (const w of waiting) w.reject(err)
      },
    )
    void chain.then(() => {
      writing--
      schedule()
    })
  }

  function enqueue(ops: Op[]): Promise<void> {
    for (const op of ops) {
      queued.push(op)
      if (op.type === 'put') {
        unwritten.set(op.key, { value: op.value, batch: batchNo })
        remember(op.key, op.value)
      } else {
        unwritten.set(op.key, { value: DELETED, batch: batchNo })
        cache.delete(op.key)
      }
    }
    const done = new Promise<void>((resolve, reject) => settle.push({ resolve, reject }))
    schedule()
    return done
  }

  /** Runs `fn` after every write queued so far (and holds later writes until it is done). */
  function barrier<T>(fn: () => Promise<T>): Promise<T> {
    cut()
    const run = chain.then(fn)
    chain = run.then(
      () => {},
      () => {},
    )
    return run
  }

  function batch(): ChainedBatch
  function batch(ops: Op[], options?: unknown): Promise<void>
  function batch(ops?: Op[]): ChainedBatch | Promise<void> {
    if (ops) return enqueue(ops)
    const collected: Op[] = []
    const chained: ChainedBatch = {
      put: (key, value) => {
        collected.push({ type: 'put', key, value })
        return chained
      },
      del: (key) => {
        collected.push({ type: 'del', key })
        return chained
      },
      write: () => enqueue(collected),
    }
    return chained
  }

  return {
    async get(key) {
      counts.reads++
      const pending = unwritten.get(key)
      if (pending) {
        counts.cacheHits++
        return pending.value === DELETED ? undefined : pending.value
      }
      const held = cache.get(key)
      if (held) {
        counts.cacheHits++
        return held
      }
      return db.get(key)
    },
    put: (key, value) => enqueue([{ type: 'put', key, value }]),
    del: (key) => enqueue([{ type: 'del', key }]),
    batch,
    clear: (range) =>
      barrier(async () => {
        for (const key of [...cache.keys()]) if (inRange(key, range)) cache.delete(key)
        await db.clear(range)
      }),
    values(options) {
      const ready = barrier(async () => {})
      return {
        async *[Symbol.asyncIterator]() {
          await ready
          yield* db.values(options)
        },
      }
    },
    close: () =>
      barrier(async () => {
        cache.clear()
        await db.close()
      }),
    stats: () => ({ ...counts }),
  }
}
