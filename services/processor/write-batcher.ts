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
 * (`maxLines`) goes out at once, up to `maxWrites` writes at a time; one request carries
 * `maxLines` lines at most (more only when one job has more). Completions (rule
 * evaluation, acknowledgements) run while the next batch is being written, and yield to
 * the event loop now and then so that the write and new messages are not held up.
 *
 * Lines are copied into the batch's byte buffer as they are added. A line is built from
 * many small strings, and kept as a string until its write returns (tens of ms, while
 * thousands of messages arrive) it survived young-generation collections and was copied
 * by each: that copying was a fifth of the processor's time in the drain bench. In the
 * buffer, outside V8's heap, waiting costs the collector nothing.
 */
export type WriteCompletion = {
  onWritten(): Promise<void> | void
  onRejected(reason: string): Promise<void> | void
}

/** One request's body: lines separated by `\n`. */
export type LineWriter = { writeBody(body: string): Promise<void> }

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

const NEWLINE = 0x0a
const WRITTEN = { ok: true } as const
const MIN_BATCH_BYTES = 64 * 1024

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * The lines of some jobs, back to back in one buffer; job k's lines end at byte
 * `byteEnds[k]` (after its last newline) and at line `lineEnds[k]`.
 */
class Batch {
  buf: Buffer
  bytes = 0
  lines = 0
  readonly completions: WriteCompletion[] = []
  readonly byteEnds: number[] = []
  readonly lineEnds: number[] = []

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(MIN_BATCH_BYTES, capacity))
  }

  add(lines: readonly string[], done: WriteCompletion) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      const room = line.length * 3 + 1
      if (this.bytes + room > this.buf.length) this.grow(room)
      this.bytes += this.buf.write(line, this.bytes)
      this.buf[this.bytes++] = NEWLINE
    }
    this.lines += lines.length
    this.completions.push(done)
    this.byteEnds.push(this.bytes)
    this.lineEnds.push(this.lines)
  }

  private grow(room: number) {
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.bytes + room))
    this.buf.copy(bigger, 0, 0, this.bytes)
    this.buf = bigger
  }

  byteStart(job: number): number {
    return job === 0 ? 0 : (this.byteEnds[job - 1] as number)
  }

  lineStart(job: number): number {
    return job === 0 ? 0 : (this.lineEnds[job - 1] as number)
  }

  /** Jobs `from` … `to - 1` as one request body (without the last newline). */
  body(from: number, to: number): string {
    return this.buf.toString('utf8', this.byteStart(from), (this.byteEnds[to - 1] as number) - 1)
  }
}

export function createWriteBatcher(opts: WriteBatcherOptions) {
  const log = opts.log.child({ module: 'write-batcher' })
  const maxWrites = Math.max(1, opts.maxWrites ?? 2)
  let pending: Batch | null = null
  /** The size of the last batch, for the next one's first buffer. */
  let lastBatchBytes = 0
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
    body: string,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    for (let attempt = 1; ; attempt++) {
      if (aborted) throw new Error('write batcher aborted')
      try {
        await opts.writer.writeBody(body)
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

  /**
   * Writes jobs `from` … `to - 1` of the batch, `maxLines` lines a request (a request
   * holds whole jobs); on a refusal, halves until the refused jobs are found and sets
   * their outcomes. The rest is written again: idempotent (same series and time).
   */
  async function writeJobs(b: Batch, from: number, to: number, outcomes: Outcome[]) {
    let i = from
    while (i < to) {
      let j = i + 1
      const first = b.lineStart(i)
      while (j < to && (b.lineEnds[j] as number) - first <= opts.maxLines) j++
      const lines = (b.lineEnds[j - 1] as number) - first
      const result = lines === 0 ? WRITTEN : await writeWithRetry(b.body(i, j))
      if (result.ok) {
        if (lines > 0) stats.batches++
        stats.lines += lines
      } else if (j - i === 1) {
        stats.rejectedJobs++
        outcomes[i] = result.reason
      } else {
        const mid = i + Math.ceil((j - i) / 2)
        await writeJobs(b, i, mid, outcomes)
        await writeJobs(b, mid, j, outcomes)
      }
      i = j
    }
  }

  async function complete(jobs: readonly WriteCompletion[], outcomes: readonly Outcome[]) {
    let sliceStart = performance.now()
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as WriteCompletion
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
    if (writes > 0 || completing > 0 || pending || timer) return
    const waiting = idle
    idle = []
    for (const resolve of waiting) resolve()
  }

  function flush() {
    timer?.cancel()
    timer = null
    if (!pending || writes >= maxWrites) return
    const batch = pending
    pending = null
    lastBatchBytes = batch.bytes
    writes++
    completing++
    const jobs = batch.completions
    const outcomes = new Array<Outcome>(jobs.length).fill(undefined)
    const written = writeJobs(batch, 0, jobs.length, outcomes).finally(() => {
      writes--
      // Group commit: what gathered during this write goes out now, before the
      // completions below start using the CPU.
      if (pending) flush()
    })
    completions = completions
      .then(async () => {
        try {
          await written
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
    if ((pending?.lines ?? 0) >= opts.maxLines) return flush()
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
    /** Queues `lines` for InfluxDB; `done` hears how it went, in the order jobs were added. */
    add(lines: readonly string[], done: WriteCompletion) {
      if (closed) throw new Error('write batcher is closed')
      if (!pending) pending = new Batch(lastBatchBytes)
      pending.add(lines, done)
      schedule()
    },
    stats: () => ({ ...stats, pendingLines: pending?.lines ?? 0, writes }),
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
      pending = null
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
