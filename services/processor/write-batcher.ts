import type { Logger } from '../log.ts'

/**
 * Collects the line-protocol lines of many messages and writes them in batches, one
 * batch at a time, in arrival order. A job's `onWritten` runs only after its lines are
 * in InfluxDB. Retriable failures (network, 429, 5xx) are retried with back-off for as
 * long as it takes — the jobs stay unacknowledged meanwhile, and the source's window
 * stops the inflow. A batch InfluxDB rejects (400) is split, so that only the message
 * whose lines are bad ends up in `onRejected`.
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
  isRetriable(err: unknown): boolean
  retryDelayMs(err: unknown, attempt: number): number
  log: Logger
}

export function createWriteBatcher(opts: WriteBatcherOptions) {
  const log = opts.log.child({ module: 'write-batcher' })
  let pending: WriteJob[] = []
  let pendingLines = 0
  let timer: NodeJS.Timeout | null = null
  let writing: Promise<void> | null = null
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

  async function writeJobs(jobs: WriteJob[]): Promise<void> {
    const lines = jobs.flatMap((j) => j.lines)
    const result = await writeWithRetry(lines)
    if (result.ok) {
      stats.batches++
      stats.lines += lines.length
      for (const j of jobs) await j.onWritten()
      return
    }
    if (jobs.length === 1) {
      stats.rejectedJobs++
      await (jobs[0] as WriteJob).onRejected(result.reason)
      return
    }
    // Split to find the message(s) InfluxDB refuses; the rest is written again (idempotent).
    const mid = Math.ceil(jobs.length / 2)
    await writeJobs(jobs.slice(0, mid))
    await writeJobs(jobs.slice(mid))
  }

  async function drain(): Promise<void> {
    while (pending.length > 0) {
      const jobs = pending
      pending = []
      pendingLines = 0
      try {
        await writeJobs(jobs)
      } catch (err) {
        // A failing callback (store down) must not stop ingestion of the next batch.
        log.error({ err: (err as Error).message }, 'batch completion failed')
      }
    }
  }

  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer)
      timer = null
    }
    if (!writing) {
      writing = drain().finally(() => {
        writing = null
        if (pending.length > 0) schedule()
      })
    }
    return writing
  }

  function schedule() {
    if (pendingLines >= opts.maxLines) {
      if (!writing) void flush()
      return
    }
    if (!timer && !writing) timer = setTimeout(() => void flush(), opts.flushMs)
  }

  return {
    add(job: WriteJob) {
      if (closed) throw new Error('write batcher is closed')
      pending.push(job)
      pendingLines += job.lines.length
      schedule()
    },
    stats: () => ({ ...stats, pendingLines }),
    /**
     * Gives up on what is not written yet (their messages stay unacknowledged, so the
     * source delivers them again). For a stop that cannot wait for InfluxDB.
     */
    abort() {
      aborted = true
      closed = true
      abortController.abort()
      pending = []
      pendingLines = 0
    },
    /** Writes everything pending; resolves when done. */
    async close(): Promise<void> {
      closed = true
      while (pending.length > 0 || writing) {
        if (writing) await writing
        else await flush()
      }
    },
  }
}

export type WriteBatcher = ReturnType<typeof createWriteBatcher>
