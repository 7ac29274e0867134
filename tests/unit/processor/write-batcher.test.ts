import { describe, expect, it } from 'vitest'
import { createLogger } from '../../../services/log.ts'
import {
  createWriteBatcher,
  type WriteCompletion,
} from '../../../services/processor/write-batcher.ts'

/**
 * The batcher's scheduling on a writer whose writes finish when the test says so, so
 * the order of writes and completions can be observed exactly.
 */
const log = createLogger('silent')

function controlledWriter(opts: { refuse?: (line: string) => boolean } = {}) {
  const calls: { lines: string[]; finish(): void; fail(err: Error): void }[] = []
  return {
    calls,
    writer: {
      writeBody(body: string) {
        const lines = body.split('\n')
        return new Promise<void>((resolve, reject) => {
          calls.push({
            lines,
            finish: () => {
              const bad = opts.refuse && lines.find(opts.refuse)
              if (bad) reject(Object.assign(new Error(`bad line: ${bad}`), { statusCode: 400 }))
              else resolve()
            },
            fail: reject,
          })
        })
      },
    },
  }
}

const turn = () => new Promise((r) => setImmediate(r))
const settle = async () => {
  for (let i = 0; i < 5; i++) await turn()
}

function setup(opts: { maxLines?: number; flushMs?: number; maxWrites?: number } = {}) {
  const w = controlledWriter({ refuse: (l) => l.includes('bad') })
  const events: string[] = []
  const batcher = createWriteBatcher({
    writer: w.writer,
    maxLines: opts.maxLines ?? 1000,
    flushMs: opts.flushMs ?? 0,
    maxWrites: opts.maxWrites,
    isRetriable: (err) => (err as { statusCode?: number }).statusCode !== 400,
    retryDelayMs: () => 1,
    log,
  })
  const job = (name: string, lines = [name]): [string[], WriteCompletion] => [
    lines,
    {
      onWritten: () => {
        events.push(`written ${name}`)
      },
      onRejected: (reason) => {
        events.push(`rejected ${name}: ${reason}`)
      },
    },
  ]
  return { ...w, events, batcher, job }
}

describe('write batcher', () => {
  it('gathers what arrives during a write and sends it the moment the write returns', async () => {
    const { calls, events, batcher, job } = setup()
    batcher.add(...job('a'))
    await settle()
    expect(calls.map((c) => c.lines)).toEqual([['a']])
    // While `a` is being written, more arrives: no second write yet (group commit).
    batcher.add(...job('b'))
    batcher.add(...job('c'))
    await settle()
    expect(calls).toHaveLength(1)
    calls[0]?.finish()
    await settle()
    expect(calls.map((c) => c.lines)).toEqual([['a'], ['b', 'c']])
    expect(events).toEqual(['written a'])
    calls[1]?.finish()
    await settle()
    expect(events).toEqual(['written a', 'written b', 'written c'])
  })

  it('waits flushMs for company when no write is under way', async () => {
    const { calls, batcher, job } = setup({ flushMs: 40 })
    batcher.add(...job('a'))
    await settle()
    expect(calls).toHaveLength(0)
    batcher.add(...job('b'))
    await new Promise((r) => setTimeout(r, 60))
    expect(calls.map((c) => c.lines)).toEqual([['a', 'b']])
  })

  it('sends a full batch at once, up to maxWrites writes at a time', async () => {
    const { calls, batcher, job } = setup({ maxLines: 2, maxWrites: 2 })
    batcher.add(...job('a'))
    await settle()
    batcher.add(...job('b'))
    batcher.add(...job('c'))
    batcher.add(...job('d'))
    batcher.add(...job('e'))
    await settle()
    // `a` alone, then b+c at once (full) as the second write; d+e wait for a slot.
    expect(calls.map((c) => c.lines)).toEqual([['a'], ['b', 'c']])
    calls[1]?.finish()
    await settle()
    expect(calls.map((c) => c.lines)).toEqual([['a'], ['b', 'c'], ['d', 'e']])
  })

  it('completes jobs in the order they were added, even when a later write returns first', async () => {
    const { calls, events, batcher, job } = setup({ maxLines: 2, maxWrites: 2 })
    batcher.add(...job('a', ['a1', 'a2']))
    batcher.add(...job('b', ['b1', 'b2']))
    await settle()
    expect(calls).toHaveLength(2)
    calls[1]?.finish()
    await settle()
    expect(events).toEqual([])
    calls[0]?.finish()
    await settle()
    expect(events).toEqual(['written a', 'written b'])
  })

  it('starts the next write before the previous batch completes', async () => {
    const { calls, batcher } = setup()
    let release: () => void = () => {}
    const slow = new Promise<void>((r) => {
      release = r
    })
    const order: string[] = []
    batcher.add(['a'], {
      onWritten: async () => {
        order.push('complete a: start')
        await slow
        order.push('complete a: end')
      },
      onRejected: () => {},
    })
    await settle()
    batcher.add(['b'], {
      onWritten: () => {
        order.push('complete b')
      },
      onRejected: () => {},
    })
    calls[0]?.finish()
    await settle()
    // `b` is on its way to InfluxDB while `a`'s completion is still running.
    expect(calls.map((c) => c.lines)).toEqual([['a'], ['b']])
    calls[1]?.finish()
    await settle()
    expect(order).toEqual(['complete a: start'])
    release()
    await settle()
    expect(order).toEqual(['complete a: start', 'complete a: end', 'complete b'])
  })

  it('splits a refused batch so only the job with the bad line is rejected', async () => {
    const { calls, events, batcher, job } = setup()
    batcher.add(...job('x'))
    await settle()
    batcher.add(...job('a'))
    batcher.add(...job('bad'))
    batcher.add(...job('c'))
    calls[0]?.finish()
    for (let i = 0; i < 10; i++) {
      await settle()
      for (const c of calls) c.finish()
    }
    await settle()
    expect(events).toEqual(['written x', 'written a', 'rejected bad: bad line: bad', 'written c'])
  })

  it('retries a write that failed for a passing reason, holding the completions after it', async () => {
    const { calls, events, batcher, job } = setup()
    batcher.add(...job('a'))
    await settle()
    calls[0]?.fail(Object.assign(new Error('503'), { statusCode: 503 }))
    await new Promise((r) => setTimeout(r, 10))
    expect(calls).toHaveLength(2)
    expect(events).toEqual([])
    calls[1]?.finish()
    await settle()
    expect(events).toEqual(['written a'])
    expect(batcher.stats().retries).toBe(1)
  })

  it('close writes what is pending and waits for every completion', async () => {
    const { calls, events, batcher, job } = setup({ flushMs: 10_000 })
    batcher.add(...job('a'))
    batcher.add(...job('b'))
    let closed = false
    const closing = batcher.close().then(() => {
      closed = true
    })
    await settle()
    expect(calls.map((c) => c.lines)).toEqual([['a', 'b']])
    expect(closed).toBe(false)
    calls[0]?.finish()
    await closing
    expect(events).toEqual(['written a', 'written b'])
    expect(() => batcher.add(...job('late'))).toThrow(/closed/)
  })

  it('cuts a large flush into requests of at most maxLines lines, each holding whole jobs', async () => {
    const { calls, events, batcher, job } = setup({ maxLines: 4, maxWrites: 1 })
    batcher.add(...job('a'))
    await settle()
    batcher.add(...job('b', ['b1', 'b2', 'b3']))
    batcher.add(...job('c', ['c1', 'c2']))
    batcher.add(...job('d', ['d1', 'd2', 'd3', 'd4', 'd5', 'd6']))
    batcher.add(...job('e'))
    calls[0]?.finish()
    for (let i = 0; i < 5; i++) {
      await settle()
      for (const c of calls) c.finish()
    }
    // b+c would be 5 lines; d alone is over the limit and goes on its own.
    expect(calls.map((c) => c.lines)).toEqual([
      ['a'],
      ['b1', 'b2', 'b3'],
      ['c1', 'c2'],
      ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'],
      ['e'],
    ])
    expect(events).toEqual(['written a', 'written b', 'written c', 'written d', 'written e'])
    expect(batcher.stats()).toMatchObject({ batches: 5, lines: 13, pendingLines: 0 })
  })

  it('sends lines of any script as UTF-8, byte for byte', async () => {
    const { calls, batcher, job } = setup()
    const lines = [
      'pond_sensor,site=Ao\\ tôm\\ Bến\\ Tre do=5.1 1',
      'alert_events,farm=f message="Oxy hòa tan thấp — 2.6 mg/L 🦐" 2',
    ]
    batcher.add(...job('vi', lines))
    await settle()
    expect(calls.map((c) => c.lines)).toEqual([lines])
  })

  it('completes a job without lines in its turn, without a request for it', async () => {
    const { calls, events, batcher, job } = setup({ flushMs: 10_000 })
    batcher.add(...job('empty', []))
    const closing = batcher.close()
    await settle()
    expect(calls).toHaveLength(0)
    await closing
    expect(events).toEqual(['written empty'])
  })
})
