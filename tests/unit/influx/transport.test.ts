import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { InfluxDB, type WritePrecisionType } from '@influxdata/influxdb-client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  apiFromVersion,
  createInfluxWriter,
  createV1Transport,
  detectApi,
  InfluxWriteError,
  isRetriableWriteError,
  parseRetryAfter,
  retryDelayMs,
  rewriteWritePath,
} from '../../../services/influx/client.ts'
import { createLogger } from '../../../services/log.ts'

type Recorded = { method: string; url: string; headers: IncomingHttpHeaders; body: string }
type Reply = { status: number; headers?: Record<string, string>; body?: string }

const log = createLogger('silent')
let server: Server
let url: string
const requests: Recorded[] = []
let reply: Reply = { status: 204 }

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const body =
        req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString()
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      res.writeHead(reply.status, { 'X-Influxdb-Version': '1.8.10', ...reply.headers })
      res.end(reply.body)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  server.close()
})

beforeEach(() => {
  requests.length = 0
  reply = { status: 204 }
})

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}

describe('rewriteWritePath', () => {
  it('maps the v2 write path to the v1 one', () => {
    expect(
      rewriteWritePath('/api/v2/write?org=o&bucket=b&precision=ms', {
        database: 'tani',
        retentionPolicy: 'autogen',
      }),
    ).toBe('/write?db=tani&rp=autogen&precision=ms')
    expect(rewriteWritePath('/api/v2/write?org=&bucket=x&precision=ns', { database: 'a b' })).toBe(
      '/write?db=a%20b&precision=n',
    )
  })

  it('leaves other paths alone', () => {
    expect(rewriteWritePath('/ping', { database: 'tani' })).toBe('/ping')
    expect(rewriteWritePath('/api/v2/query?org=o', { database: 'tani' })).toBe(
      '/api/v2/query?org=o',
    )
  })
})

describe('v1 transport against a real HTTP server', () => {
  const cases: [WritePrecisionType, string][] = [
    ['ns', 'n'],
    ['us', 'u'],
    ['ms', 'ms'],
    ['s', 's'],
  ]
  for (const [precision, v1] of cases) {
    it(`sends precision ${precision} as ${v1}`, async () => {
      const transport = createV1Transport({ url, database: 'farm', retentionPolicy: 'week' })
      const writeApi = new InfluxDB({ url, transport }).getWriteApi('org', 'bucket', precision, {
        flushInterval: 0,
        maxRetries: 0,
      })
      writeApi.writeRecord('m v=1 1')
      await writeApi.close()
      expect(requests).toHaveLength(1)
      expect(requests[0]?.url).toBe(`/write?db=farm&rp=week&precision=${v1}`)
      expect(requests[0]?.headers.authorization).toBeUndefined()
    })
  }

  it('writes through createInfluxWriter with basic auth, escaped db/rp and ms precision', async () => {
    const writer = await createInfluxWriter(
      {
        url,
        api: 'v1',
        database: 'farm db',
        retentionPolicy: 'one/week',
        username: 'tani',
        password: 'p@ss:word',
      },
      log,
    )
    expect(writer.api).toBe('v1')
    const lines = [
      'soil,zone=a moisture=0.31 1700000000000',
      'soil,zone=b moisture=0.29 1700000000001',
    ]
    await writer.write(lines)
    await writer.close()
    expect(requests).toHaveLength(1)
    const [req] = requests
    expect(req?.method).toBe('POST')
    expect(req?.url).toBe('/write?db=farm%20db&rp=one%2Fweek&precision=ms')
    expect(req?.headers.authorization).toBe(basic('tani', 'p@ss:word'))
    expect(req?.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(req?.body).toBe(lines.join('\n'))
  })

  it('omits rp and auth when not configured; api auto detects 1.x from /ping', async () => {
    const writer = await createInfluxWriter({ url, api: 'auto', database: 'tani' }, log)
    expect(writer.api).toBe('v1')
    await writer.write(['m v=1 1700000000000'])
    await writer.close()
    expect(requests.map((r) => r.url)).toEqual(['/ping', '/write?db=tani&precision=ms'])
    expect(requests[1]?.headers.authorization).toBeUndefined()
  })

  it('keeps the v2 path and token auth for api v2, bucket defaulting to database', async () => {
    const writer = await createInfluxWriter(
      { url, api: 'v2', database: 'tani', org: 'farm', token: 's3cret' },
      log,
    )
    await writer.write(['m v=1 1700000000000'])
    await writer.close()
    expect(requests[0]?.url).toBe('/api/v2/write?org=farm&bucket=tani&precision=ms')
    expect(requests[0]?.headers.authorization).toBe('Token s3cret')
  })

  it('sends large writes in several requests, in order', async () => {
    const writer = await createInfluxWriter({ url, api: 'v1', database: 'tani' }, log)
    const lines = Array.from({ length: 12_000 }, (_, i) => `m v=${i} ${1700000000000 + i}`)
    await writer.write(lines)
    await writer.close()
    expect(requests.length).toBeGreaterThan(1)
    expect(requests.flatMap((r) => r.body.split('\n'))).toEqual(lines)
  })

  it('rejects a 400 with a permanent error carrying status and server message', async () => {
    reply = {
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: 'partial write: field type conflict: dropped=1' }),
    }
    const writer = await createInfluxWriter({ url, api: 'v1', database: 'tani' }, log)
    const err = await writer.write(['m v="x" 1']).catch((e: unknown) => e)
    await writer.close()
    expect(err).toBeInstanceOf(InfluxWriteError)
    const writeErr = err as InfluxWriteError
    expect(writeErr.statusCode).toBe(400)
    expect(writeErr.serverMessage).toBe('partial write: field type conflict: dropped=1')
    expect(writeErr.message).toContain('partial write: field type conflict')
    expect(isRetriableWriteError(err)).toBe(false)
  })

  it('rejects a 503 with Retry-After as retriable and honours the header', async () => {
    reply = { status: 503, headers: { 'retry-after': '3' }, body: 'overloaded' }
    const writer = await createInfluxWriter({ url, api: 'v1', database: 'tani' }, log)
    const err = await writer.write(['m v=1 1']).catch((e: unknown) => e)
    await writer.close()
    expect(err).toBeInstanceOf(InfluxWriteError)
    expect((err as InfluxWriteError).statusCode).toBe(503)
    expect((err as InfluxWriteError).retryAfterMs).toBe(3000)
    expect(isRetriableWriteError(err)).toBe(true)
    const delay = retryDelayMs(err, 1)
    expect(delay).toBeGreaterThanOrEqual(3000)
    expect(delay).toBeLessThanOrEqual(3250)
  })

  it('treats 429 as retriable', async () => {
    reply = { status: 429, body: 'slow down' }
    const writer = await createInfluxWriter({ url, api: 'v1', database: 'tani' }, log)
    const err = await writer.write(['m v=1 1']).catch((e: unknown) => e)
    await writer.close()
    expect((err as InfluxWriteError).statusCode).toBe(429)
    expect(isRetriableWriteError(err)).toBe(true)
  })

  it('rejects with a retriable network error when nothing listens', async () => {
    const dead = createServer()
    dead.listen(0, '127.0.0.1')
    await once(dead, 'listening')
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`
    dead.close()
    await once(dead, 'close')
    const writer = await createInfluxWriter({ url: deadUrl, api: 'v1', database: 'tani' }, log)
    const err = await writer.write(['m v=1 1']).catch((e: unknown) => e)
    await writer.close()
    expect(err).toBeInstanceOf(InfluxWriteError)
    expect((err as InfluxWriteError).code).toBe('ECONNREFUSED')
    expect((err as InfluxWriteError).statusCode).toBeUndefined()
    expect(isRetriableWriteError(err)).toBe(true)
  })
})

describe('retry policy', () => {
  it('classifies errors', () => {
    const conn = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    expect(isRetriableWriteError(conn)).toBe(true)
    expect(isRetriableWriteError(new Error('something else'))).toBe(false)
    expect(
      isRetriableWriteError(new InfluxWriteError('x', { statusCode: 500, retriable: true })),
    ).toBe(true)
  })

  it('backs off exponentially with jitter, capped at 30 s', () => {
    for (let i = 0; i < 50; i++) {
      const first = retryDelayMs(new Error('x'), 1)
      expect(first).toBeGreaterThanOrEqual(500)
      expect(first).toBeLessThanOrEqual(1000)
      const third = retryDelayMs(new Error('x'), 3)
      expect(third).toBeGreaterThanOrEqual(2000)
      expect(third).toBeLessThanOrEqual(4000)
      const late = retryDelayMs(new Error('x'), 40)
      expect(late).toBeGreaterThanOrEqual(15_000)
      expect(late).toBeLessThanOrEqual(30_000)
    }
  })

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000)
    expect(parseRetryAfter('garbage', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })
})

describe('api detection', () => {
  it('maps versions', () => {
    expect(apiFromVersion('1.6.7~rc0')).toBe('v1')
    expect(apiFromVersion('1.11.8')).toBe('v1')
    expect(apiFromVersion('v2.7.4')).toBe('v2')
    expect(apiFromVersion('3.0.1')).toBe('v2')
  })

  it('reads X-Influxdb-Version from /ping', async () => {
    reply = { status: 204, headers: { 'X-Influxdb-Version': 'v2.7.4' } }
    expect(await detectApi(url)).toBe('v2')
    reply = { status: 204 }
    expect(await detectApi(url)).toBe('v1')
  })
})
