import type { Logger } from '../log.ts'

/**
 * Collects the line-protocol lines of many messages and writes them in batches. A job's
 * `onWritten` runs only after its lines are in InfluxDB, and jobs complete in the order
 * they were added. Retriable failures (network, 429, 5xx) are retried with back-off for
 * as long as it takes — the jobs stay unacknowledged meanwhile, and the source's window
 * stops the inflow. A batch InfluxDB rejects (400) is split, so that only the message
 * whose lines are bad ends up in `onRejected`.
 *
 * Batching is group commit: with no write under way, what is pending goes out after
 * `flushMs` (0: on the next turn of the event loop); while a write is under way, lines
 * gather and go out the moment it returns — so under load a batch is whatever arrived
 * during the previous write, and no time is spent waiting on a timer. A full batch
 * (`maxLines`) goes out at once, up to `maxWrites` writes at a time. Completions (rule
 * evaluation, acknowledgements) run while the next batch is being written, and yield to
 * the event loop now and then so that the write and new messages are not held up.
 */
export type WriteJob = {
  lines: string[]
  onWritten(): Promise<void> | void
  onRejected(reason: string): Promise<void> | void
}

export type LineWriter = { write(lines: string[]): Promise<void> }

export type WriteBatcherOptions = {
  writer: LineWriter
  maxLines: number
  flushMs: number
  /** Writes under way at once at most (default 2). */
  maxWrites?: number
  isRetriable(err: unknown): boolean
  retryDelayMs(err: unknown, attempt: number): number
  log: Logger
}

/** A job's outcome: undefined when written, else InfluxDB's reason for refusing it. */
type Outcome = string | undefined

/** Completions run this long at most before letting the event loop turn. */
const COMPLETION_SLICE_MS = 10

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

export function createWriteBatcher(opts: WriteBatcherOptions) {
  const log = opts.log.child({ module: 'write-batcher' })
  const maxWrites = Math.max(1, opts.maxWrites ?? 2)
  let pending: WriteJob[] = []
  let pendingLines = 0
  let timer: { cancel(): void } | null = null
  let writes = 0
  /** Batches written or being written whose jobs have not all completed, oldest first. */
  let completing = 0
  let completions: Promise<void> = Promise.resolve()
  let idle: (() => void)[] = []
  let closed = false
  let aborted = false
  const stats = { batches: 0, lines: 0, retries: 0, rejectedJobs: 0 }

  const abortController = new AbortController()
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms)
      abortController.signal.addEventListener('abort', () => {
        clearTimeout(t)
        resolve()
      })
    })

  async function writeWithRetry(
    lines: string[],
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    for (let attempt = 1; ; attempt++) {
      if (aborted) throw new Error('write batcher aborted')
      try {
        await opts.writer.write(lines)
        return { ok: true }
      } catch (err) {
        if (!opts.isRetriable(err)) return { ok: false, reason: (err as Error).message }
        stats.retries++
        const delay = opts.retryDelayMs(err, attempt)
        log.warn(
          { attempt, delayMs: delay, err: (err as Error).message },
          'InfluxDB write failed; retrying',
        )
        await sleep(delay)
      }
    }
  }

  /** Writes the jobs' lines; on a refusal, halves until the refused jobs are found. */
  async function writeJobs(jobs: WriteJob[]): Promise<Outcome[]> {
    const lines = jobs.length === 1 ? (jobs[0] as WriteJob).lines : jobs.flatMap((j) => j.lines)
    const result = await writeWithRetry(lines)
    if (result.ok) {
      stats.batches++
      stats.lines += lines.length
      return new Array<Outcome>(jobs.length).fill(undefined)
    }
    if (jobs.length === 1) {
      stats.rejectedJobs++
      return [result.reason]
    }
    // The rest is written again (idempotent: same series and time).
    const mid = Math.ceil(jobs.length / 2)
    const left = await writeJobs(jobs.slice(0, mid))
    return left.concat(await writeJobs(jobs.slice(mid)))
  }

  async function complete(jobs: WriteJob[], outcomes: Outcome[]) {
    let sliceStart = performance.now()
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as WriteJob
      const reason = outcomes[i]
      try {
        // Awaited only when it returns a promise: most completions are synchronous.
        const done = reason === undefined ? job.onWritten() : job.onRejected(reason)
        if (done) await done
      } catch (err) {
        // A failing callback (store down) must not stop the completions after it.
        log.error({ err: (err as Error).message }, 'write completion failed')
      }
      if (performance.now() - sliceStart > COMPLETION_SLICE_MS) {
        await nextTurn()
        sliceStart = performance.now()
      }
    }
  }

  function settle() {
    if (writes > 0 || completing > 0 || pending.length > 0 || timer) return
    const waiting = idle
    idle = []
    for (const resolve of waiting) resolve()
  }

  function flush() {
    timer?.cancel()
    timer = null
    if (pending.length === 0 || writes >= maxWrites) return
    const jobs = pending
    pending = []
    pendingLines = 0
    writes++
    completing++
    const written = writeJobs(jobs).finally(() => {
      writes--
      // Group commit: what gathered during this write goes out now, before the
      // completions below start using the CPU.
      if (pending.length > 0) flush()
    })
    completions = completions
      .then(async () => {
        let outcomes: Outcome[]
        try {
          outcomes = await written
        } catch (err) {
          // Aborted: the jobs stay unacknowledged and their messages are delivered again.
          log.warn({ err: (err as Error).message, jobs: jobs.length }, 'batch not written')
          return
        }
        await complete(jobs, outcomes)
      })
      .finally(() => {
        completing--
        settle()
      })
  }

  function schedule() {
    if (writes >= maxWrites) return
    if (pendingLines >= opts.maxLines) return flush()
    // A write is under way: its return sends what gathers meanwhile.
    if (writes > 0 || timer) return
    if (opts.flushMs > 0) {
      const t = setTimeout(flush, opts.flushMs)
      timer = { cancel: () => clearTimeout(t) }
    } else {
      const t = setImmediate(flush)
      timer = { cancel: () => clearImmediate(t) }
    }
  }

  return {
    add(job: WriteJob) {
      if (closed) throw new Error('write batcher is closed')
      pending.push(job)
      pendingLines += job.lines.length
      schedule()
    },
    stats: () => ({ ...stats, pendingLines, writes }),
    /**
     * Gives up on what is not written yet (their messages stay unacknowledged, so the
     * source delivers them again). For a stop that cannot wait for InfluxDB.
     */
    abort() {
      aborted = true
      closed = true
      abortController.abort()
      timer?.cancel()
      timer = null
      pending = []
      pendingLines = 0
      settle()
    },
    /** Writes everything pending; resolves when every job has completed. */
    async close(): Promise<void> {
      closed = true
      flush()
      await new Promise<void>((resolve) => {
        idle.push(resolve)
        settle()
      })
    },
  }
}

export type WriteBatcher = ReturnType<typeof createWriteBatcher>
