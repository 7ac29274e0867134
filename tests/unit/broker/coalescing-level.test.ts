import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coalescingLevel } from '../../../services/broker/coalescing-level.ts'

/** The broker's LevelDB writer, against a real LevelDB in a temporary folder. */

let dir: string
let db: ClassicLevel<string, Buffer>
const b = (s: string) => Buffer.from(s)
const text = (v: Buffer | undefined) => v?.toString()

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tani-level-'))
  db = new ClassicLevel<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' })
  await db.open()
})
afterEach(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

/** What a fresh handle on the same folder reads: what is durably in LevelDB. */
async function onDisk(key: string): Promise<string | undefined> {
  await db.close()
  db = new ClassicLevel<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' })
  return text(await db.get(key))
}

describe('the coalescing LevelDB writer', () => {
  it('writes the puts and deletes of one turn as one batch, settled once written', async () => {
    const level = coalescingLevel(db)
    const writes = [
      level.put('a', b('1')),
      level.put('b', b('2')),
      level.del('a'),
      level.batch().put('c', b('3')).del('b').write(),
      level.batch([{ type: 'put', key: 'd', value: b('4') }]),
    ]
    await Promise.all(writes)
    expect(level.stats()).toMatchObject({ batches: 1, ops: 6 })
    expect(await db.get('a')).toBeUndefined()
    expect(await db.get('b')).toBeUndefined()
    expect(text(await db.get('c'))).toBe('3')
    expect(await onDisk('d')).toBe('4')
  })

  it('answers a get with the newest write, before and after it reaches the disk', async () => {
    const level = coalescingLevel(db)
    const first = level.put('k', b('old'))
    expect(text(await level.get('k'))).toBe('old')
    await first
    const second = level.put('k', b('new'))
    expect(text(await level.get('k'))).toBe('new')
    const gone = level.del('k')
    expect(await level.get('k')).toBeUndefined()
    await Promise.all([second, gone])
    expect(await level.get('k')).toBeUndefined()
    expect(await onDisk('k')).toBeUndefined()
  })

  it('keeps call order across batches: writes made during a write land after it', async () => {
    const level = coalescingLevel(db)
    const writes: Promise<void>[] = []
    for (let i = 0; i < 50; i++) {
      writes.push(level.put('counter', b(String(i))))
      await new Promise((r) => setImmediate(r))
    }
    await Promise.all(writes)
    expect(level.stats().batches).toBeGreaterThan(1)
    expect(await onDisk('counter')).toBe('49')
  })

  it('reads from LevelDB what it does not hold, and holds no more than it is allowed', async () => {
    await db.put('earlier', b('from disk'))
    const level = coalescingLevel(db, { cachedValues: 2 })
    await Promise.all([level.put('x', b('1')), level.put('y', b('2')), level.put('z', b('3'))])
    expect(text(await level.get('earlier'))).toBe('from disk')
    expect(text(await level.get('x'))).toBe('1')
    expect(text(await level.get('z'))).toBe('3')
    // 'earlier' and the evicted 'x' came from LevelDB; 'z' from memory.
    expect(level.stats()).toMatchObject({ reads: 3, cacheHits: 1 })
  })

  it('clears a range after the writes before it and before the writes after it', async () => {
    const level = coalescingLevel(db)
    void level.put('in:1', b('a'))
    void level.put('out', b('b'))
    const cleared = level.clear({ gte: 'in:', lt: 'in;' })
    const after = level.put('in:2', b('c'))
    await Promise.all([cleared, after])
    expect(await level.get('in:1')).toBeUndefined()
    expect(text(await level.get('in:2'))).toBe('c')
    expect(text(await level.get('out'))).toBe('b')
    expect(await onDisk('in:1')).toBeUndefined()
  })

  it('iterates over the writes queued before it', async () => {
    const level = coalescingLevel(db)
    void level.put('s:1', b('one'))
    void level.put('s:2', b('two'))
    void level.del('s:1')
    const seen: string[] = []
    for await (const v of level.values({ gte: 's:', lt: 's;' })) seen.push(v.toString())
    expect(seen).toEqual(['two'])
  })

  it('rejects every write of a batch LevelDB refuses, and forgets its values', async () => {
    const level = coalescingLevel(db)
    await db.close()
    const results = await Promise.allSettled([level.put('p', b('1')), level.del('q')])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    await db.open()
    expect(await level.get('p')).toBeUndefined()
  })
})
