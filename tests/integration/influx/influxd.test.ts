import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createInfluxQuery,
  createInfluxWriter,
  detectApi,
  InfluxWriteError,
  isRetriableWriteError,
} from '../../../services/influx/client.ts'
import {
  createDatabase,
  type InfluxdHandle,
  startInfluxd,
} from '../../../services/influx/influxd.ts'
import { createLogger } from '../../../services/log.ts'

const log = createLogger('silent')
const DB = 'tani_test'
let influxd: InfluxdHandle | undefined

function influxdPids(configDir: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', `influxd run -config ${configDir}`])
      .toString()
      .trim()
      .split('\n')
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

beforeAll(async () => {
  influxd = await startInfluxd({ log })
  await createDatabase(influxd.url, DB)
})

afterAll(async () => {
  await influxd?.stop()
})

describe('influxd 1.x end to end', () => {
  it('runs on loopback on the port it reports', async () => {
    if (!influxd) throw new Error('influxd not started')
    expect(influxd.url).toBe(`http://127.0.0.1:${influxd.port}`)
    expect(influxd.port).not.toBe(8086)
    const res = await fetch(`${influxd.url}/ping`)
    expect(res.status).toBe(204)
    expect(await detectApi(influxd.url)).toBe('v1')
  })

  it('writes with api auto and reads back with epoch ms and bound parameters', async () => {
    if (!influxd) throw new Error('influxd not started')
    const writer = await createInfluxWriter({ url: influxd.url, api: 'auto', database: DB }, log)
    expect(writer.api).toBe('v1')
    await writer.write([
      'm,zone=a moisture=0.31,count=1i 1700000000000',
      'm,zone=b moisture=0.29,count=2i 1700000000123',
      'm,zone=a moisture=0.35,count=3i 1700000060000',
    ])
    await writer.close()

    const query = createInfluxQuery({ url: influxd.url, api: 'auto', database: DB })
    const all = await query.query('SELECT * FROM m')
    expect(all).toEqual([
      {
        name: 'm',
        columns: ['time', 'count', 'moisture', 'zone'],
        values: [
          [1700000000000, 1, 0.31, 'a'],
          [1700000000123, 2, 0.29, 'b'],
          [1700000060000, 3, 0.35, 'a'],
        ],
      },
    ])

    const bound = await query.query(
      'SELECT moisture FROM m WHERE zone = $zone AND "count" >= $min GROUP BY zone',
      { zone: 'a', min: 2 },
    )
    expect(bound).toEqual([
      {
        name: 'm',
        tags: { zone: 'a' },
        columns: ['time', 'moisture'],
        values: [[1700000060000, 0.35]],
      },
    ])

    // several statements are flattened into one list of series
    const two = await query.query('SELECT count(moisture) FROM m; SHOW MEASUREMENTS')
    expect(two.map((s) => s.name)).toEqual(['m', 'measurements'])
  })

  it('surfaces statement errors with the server text', async () => {
    if (!influxd) throw new Error('influxd not started')
    const query = createInfluxQuery({ url: influxd.url, api: 'v1', database: DB })
    await expect(query.query('SELECT * FROM m WHERE zone = $missing')).rejects.toThrow(
      /missing parameter: missing/,
    )
    await expect(query.query('SELECT * FROM m; SELECT nope(')).rejects.toThrow(
      /error parsing query/,
    )
  })

  it('rejects a field type conflict with a permanent error carrying the server message', async () => {
    if (!influxd) throw new Error('influxd not started')
    const writer = await createInfluxWriter({ url: influxd.url, api: 'v1', database: DB }, log)
    const err = await writer
      .write(['m,zone=c moisture="wet" 1700000120000'])
      .catch((e: unknown) => e)
    await writer.close()
    expect(err).toBeInstanceOf(InfluxWriteError)
    const writeErr = err as InfluxWriteError
    expect(writeErr.statusCode).toBe(400)
    expect(writeErr.message).toContain('partial write: field type conflict')
    expect(isRetriableWriteError(err)).toBe(false)
  })

  it('keeps data in a caller-owned dataDir across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tani-influx-persist-'))
    try {
      const first = await startInfluxd({ dataDir: dir, log })
      await createDatabase(first.url, 'keep')
      const writer = await createInfluxWriter({ url: first.url, api: 'v1', database: 'keep' }, log)
      await writer.write(['p v=42 1700000000000'])
      await writer.close()
      await first.stop()
      expect(existsSync(join(dir, 'data'))).toBe(true)

      const second = await startInfluxd({ dataDir: dir, log })
      try {
        const rows = await createInfluxQuery({
          url: second.url,
          api: 'v1',
          database: 'keep',
        }).query('SELECT v FROM p')
        expect(rows[0]?.values).toEqual([[1700000000000, 42]])
      } finally {
        await second.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('says how to install influxd when it is not on PATH', async () => {
    const path = process.env.PATH
    process.env.PATH = '/nonexistent'
    try {
      await expect(startInfluxd()).rejects.toThrow('install it with apt-get install -y influxdb')
    } finally {
      process.env.PATH = path
    }
  })

  it('stop() ends the process and removes the temp dir; later writes fail retriably', async () => {
    const own = await startInfluxd({ log })
    await createDatabase(own.url, DB)
    expect(influxdPids(own.dataDir)).toHaveLength(1)
    const writer = await createInfluxWriter({ url: own.url, api: 'v1', database: DB }, log)
    await writer.write(['m v=1 1700000000000'])

    await own.stop()
    expect(influxdPids(own.dataDir)).toEqual([])
    expect(existsSync(own.dataDir)).toBe(false)

    const err = await writer.write(['m v=2 1700000001000']).catch((e: unknown) => e)
    await writer.close()
    expect(err).toBeInstanceOf(InfluxWriteError)
    expect((err as InfluxWriteError).statusCode).toBeUndefined()
    expect(isRetriableWriteError(err)).toBe(true)
  })
})
