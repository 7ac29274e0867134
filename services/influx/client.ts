import {
  type ChunkCombiner,
  type CommunicationObserver,
  canRetryHttpCall,
  HttpError,
  InfluxDB,
  type ResponseStartedFn,
  type SendOptions,
  type Transport,
} from '@influxdata/influxdb-client'
import type { Logger } from '../log.ts'

export type InfluxApi = 'v1' | 'v2'

export type InfluxConfig = {
  url: string
  api: 'auto' | InfluxApi
  /** v1 database; for v2/v3 also the InfluxQL (DBRP) database name and the default bucket. */
  database: string
  retentionPolicy?: string
  org?: string
  bucket?: string
  token?: string
  username?: string
  password?: string
  /** Per-request timeout, 10 s by default. */
  timeoutMs?: number
  /** Gzip write bodies of 1 kB and more (off by default). */
  gzip?: boolean
}

export type InfluxWriter = {
  api: InfluxApi
  /** One attempt; rejects with an {@link InfluxWriteError}. Retrying is the caller's job. */
  write(lines: string[]): Promise<void>
  /** One request of lines already joined by `\n`; rejects like `write`. */
  writeBody(body: string): Promise<void>
  close(): Promise<void>
}

export type InfluxSeries = {
  name: string
  tags?: Record<string, string>
  columns: string[]
  values: unknown[][]
}

export type InfluxQuery = {
  query(influxql: string, params?: Record<string, string | number>): Promise<InfluxSeries[]>
}

const DEFAULT_TIMEOUT_MS = 10_000

function baseUrl(url: string): string {
  return url.replace(/\/+$/, '')
}

function authorizationHeader(config: {
  token?: string
  username?: string
  password?: string
}): string | undefined {
  if (config.token) return `Token ${config.token}`
  if (config.username !== undefined && config.username !== '') {
    const credentials = `${config.username}:${config.password ?? ''}`
    return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// API detection

/** Maps an `X-Influxdb-Version` value ("1.6.7~rc0", "v2.7.4", "3.0.1") to the write API to use. */
export function apiFromVersion(version: string): InfluxApi {
  const major = /^v?(\d+)\./.exec(version.trim())?.[1]
  return major === '1' ? 'v1' : 'v2'
}

export async function detectApi(url: string, token?: string): Promise<InfluxApi> {
  const headers: Record<string, string> = {}
  if (token) headers.authorization = `Token ${token}`
  const res = await fetch(`${baseUrl(url)}/ping`, {
    headers,
    signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS),
  })
  let version = res.headers.get('x-influxdb-version') ?? undefined
  const text = await res.text()
  if (version === undefined && text !== '') {
    try {
      const body = JSON.parse(text) as { version?: unknown }
      if (typeof body.version === 'string') version = body.version
    } catch {}
  }
  if (version === undefined || version === '') {
    throw new Error(
      `cannot detect the InfluxDB version at ${url}: GET /ping answered HTTP ${res.status} without X-Influxdb-Version`,
    )
  }
  return apiFromVersion(version)
}

// ---------------------------------------------------------------------------------------------
// v1 write transport

export type V1WriteTarget = {
  database: string
  retentionPolicy?: string
  username?: string
  password?: string
  token?: string
}

// InfluxDB 1.x silently treats an unknown precision (including "us" and "ns") as nanoseconds.
const V1_PRECISION: Record<string, string> = { ns: 'n', us: 'u', ms: 'ms', s: 's' }

/** Turns the client's `/api/v2/write?org=&bucket=&precision=` into 1.x's `/write?db=&rp=&precision=`. */
export function rewriteWritePath(path: string, target: V1WriteTarget): string {
  const queryStart = path.indexOf('?')
  const pathname = queryStart < 0 ? path : path.slice(0, queryStart)
  if (pathname !== '/api/v2/write') return path
  const v2 = new URLSearchParams(queryStart < 0 ? '' : path.slice(queryStart + 1))
  const parts = [`db=${encodeURIComponent(target.database)}`]
  if (target.retentionPolicy) parts.push(`rp=${encodeURIComponent(target.retentionPolicy)}`)
  const precision = v2.get('precision')
  if (precision !== null) {
    const v1 = V1_PRECISION[precision]
    if (v1 === undefined)
      throw new Error(`unsupported write precision for InfluxDB 1.x: ${precision}`)
    parts.push(`precision=${v1}`)
  }
  const consistency = v2.get('consistency')
  if (consistency !== null) parts.push(`consistency=${encodeURIComponent(consistency)}`)
  return `/write?${parts.join('&')}`
}

class V1WriteTransport implements Transport {
  readonly chunkCombiner: ChunkCombiner
  readonly #inner: Transport
  readonly #target: V1WriteTarget
  readonly #authorization: string | undefined

  constructor(inner: Transport, target: V1WriteTarget) {
    this.#inner = inner
    this.#target = target
    this.chunkCombiner = inner.chunkCombiner
    // Token auth is left to the inner transport; 1.x accepts "Token user:password" too.
    this.#authorization = target.token ? undefined : authorizationHeader(target)
  }

  #options(options: SendOptions): SendOptions {
    if (this.#authorization === undefined) return options
    return { ...options, headers: { ...options.headers, authorization: this.#authorization } }
  }

  send(
    path: string,
    requestBody: string,
    options: SendOptions,
    callbacks?: Partial<CommunicationObserver<Uint8Array>>,
  ): void {
    let rewritten: string
    try {
      rewritten = rewriteWritePath(path, this.#target)
    } catch (err) {
      callbacks?.error?.(err as Error)
      return
    }
    this.#inner.send(rewritten, requestBody, this.#options(options), callbacks)
  }

  request(
    path: string,
    requestBody: unknown,
    options: SendOptions,
    responseStarted?: ResponseStartedFn,
  ): Promise<unknown> {
    return this.#inner.request(
      rewriteWritePath(path, this.#target),
      requestBody,
      this.#options(options),
      responseStarted,
    )
  }

  iterate(
    path: string,
    requestBody: string,
    options: SendOptions,
  ): AsyncIterableIterator<Uint8Array> {
    return this.#inner.iterate(
      rewriteWritePath(path, this.#target),
      requestBody,
      this.#options(options),
    )
  }
}

/**
 * A {@link Transport} for `new InfluxDB({ url, transport })` that sends the WriteApi's v2 writes
 * to an InfluxDB 1.x `/write` endpoint, reusing the client's own Node transport underneath.
 */
export function createV1Transport(
  options: V1WriteTarget & { url: string; timeoutMs?: number },
): Transport {
  const inner = new InfluxDB({
    url: options.url,
    token: options.token,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  }).transport
  return new V1WriteTransport(inner, options)
}

// ---------------------------------------------------------------------------------------------
// write errors and retry policy

export class InfluxWriteError extends Error {
  /** HTTP status, undefined for network errors and timeouts. */
  readonly statusCode: number | undefined
  /** Node error code such as ECONNREFUSED, when the request never got an answer. */
  readonly code: string | undefined
  readonly retryAfterMs: number | undefined
  readonly retriable: boolean
  /** The server's own error text, e.g. `partial write: field type conflict: ...`. */
  readonly serverMessage: string | undefined

  constructor(
    message: string,
    details: {
      statusCode?: number
      code?: string
      retryAfterMs?: number
      retriable: boolean
      serverMessage?: string
      cause?: unknown
    },
  ) {
    super(message, { cause: details.cause })
    this.name = 'InfluxWriteError'
    this.statusCode = details.statusCode
    this.code = details.code
    this.retryAfterMs = details.retryAfterMs
    this.retriable = details.retriable
    this.serverMessage = details.serverMessage
  }
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * 404 counts as retriable: for writes it means "database/bucket not found", which an operator
 * can fix while we hold the messages, and dropping data would be worse. 400 (bad line protocol,
 * field type conflict, partial write), 401/403 and 413 are permanent.
 */
function isRetriableStatus(status: number): boolean {
  return status === 404 || status === 408 || status === 429 || status >= 500
}

/** Retry-After is seconds or an HTTP date (the client library reads it as milliseconds). */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined || raw.trim() === '') return undefined
  const trimmed = raw.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

function serverMessageOf(err: HttpError): string | undefined {
  const fromJson = (json: unknown): string | undefined => {
    if (typeof json !== 'object' || json === null) return undefined
    const record = json as Record<string, unknown>
    const value = record.error ?? record.message
    return typeof value === 'string' ? value : undefined
  }
  const fromParsed = fromJson(err.json)
  if (fromParsed !== undefined) return fromParsed
  if (err.body) {
    try {
      const parsed = fromJson(JSON.parse(err.body))
      if (parsed !== undefined) return parsed
    } catch {}
    return err.body
  }
  const header = err.headers?.['x-influxdb-error']
  return Array.isArray(header) ? header[0] : header
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') return code
  // fetch() wraps the socket error: TypeError('fetch failed', { cause })
  return 'cause' in err ? errorCode((err as { cause?: unknown }).cause) : undefined
}

/** Normalises whatever a write failed with into an {@link InfluxWriteError}. */
export function toInfluxWriteError(err: unknown): InfluxWriteError {
  if (err instanceof InfluxWriteError) return err
  if (err instanceof HttpError) {
    const serverMessage = serverMessageOf(err)
    const retryAfterMs = parseRetryAfter(err.headers?.['retry-after'])
    return new InfluxWriteError(
      `InfluxDB write failed (HTTP ${err.statusCode}): ${serverMessage ?? err.statusMessage ?? ''}`,
      {
        statusCode: err.statusCode,
        retryAfterMs,
        retriable: isRetriableStatus(err.statusCode),
        serverMessage,
        cause: err,
      },
    )
  }
  const code = errorCode(err)
  const message = err instanceof Error ? err.message : String(err)
  const retriable = (code !== undefined && NETWORK_ERROR_CODES.has(code)) || canRetryHttpCall(err)
  return new InfluxWriteError(`InfluxDB write failed: ${message}${code ? ` (${code})` : ''}`, {
    code,
    retriable,
    cause: err,
  })
}

/** True for network errors, timeouts, 404, 408, 429 and 5xx; false for 400 and friends. */
export function isRetriableWriteError(err: unknown): boolean {
  return toInfluxWriteError(err).retriable
}

const RETRY_BASE_MS = 1000
const RETRY_MAX_MS = 30_000
const RETRY_AFTER_MAX_MS = 10 * 60_000
const RETRY_AFTER_JITTER_MS = 250

/**
 * Delay before retry number `attempt` (1 = after the first failure): the server's Retry-After
 * when given, otherwise exponential back-off from 1 s to 30 s with "equal jitter" (between half
 * and all of the exponential step) so that several processors do not retry in lockstep.
 */
export function retryDelayMs(err: unknown, attempt: number): number {
  const retryAfter = toInfluxWriteError(err).retryAfterMs
  if (retryAfter !== undefined) {
    return (
      Math.min(retryAfter, RETRY_AFTER_MAX_MS) + Math.round(Math.random() * RETRY_AFTER_JITTER_MS)
    )
  }
  const step = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (Math.max(1, attempt) - 1))
  return Math.round(step / 2 + (Math.random() * step) / 2)
}

// ---------------------------------------------------------------------------------------------
// writer

// One request of `write` carries this many lines at most (the processor's batcher cuts its
// own requests and sends them through `writeBody`).
const WRITE_CHUNK_LINES = 5000

/**
 * Writes go straight through the client's transport (HTTP keep-alive, auth, the 1.x path
 * rewrite): Tani batches and retries itself, and the client's WriteApi spent a fifth of
 * the write step re-buffering lines and counting their UTF-8 bytes one by one.
 */
export async function createInfluxWriter(config: InfluxConfig, log: Logger): Promise<InfluxWriter> {
  const url = baseUrl(config.url)
  const api = config.api === 'auto' ? await detectApi(url, config.token) : config.api
  const timeout = config.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const client =
    api === 'v1'
      ? new InfluxDB({ url, transport: createV1Transport({ ...config, url, timeoutMs: timeout }) })
      : new InfluxDB({ url, token: config.token, timeout })
  const org = api === 'v1' ? '' : (config.org ?? '')
  const bucket = api === 'v1' ? config.database : (config.bucket ?? config.database)
  const path = `/api/v2/write?org=${encodeURIComponent(org)}&bucket=${encodeURIComponent(bucket)}&precision=ms`
  const options: SendOptions = {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    // The client would gzip every body over 1 kB.
    gzipThreshold: config.gzip ? 1000 : Number.MAX_SAFE_INTEGER,
  }
  log.info(
    { api, url, database: config.database, bucket: api === 'v2' ? bucket : undefined },
    'InfluxDB writer ready',
  )

  let closed = false
  async function writeBody(body: string): Promise<void> {
    if (closed) throw new Error('InfluxDB writer is closed')
    try {
      await client.transport.request(path, body, options)
    } catch (err) {
      throw toInfluxWriteError(err)
    }
  }
  return {
    api,
    writeBody,
    async write(lines: string[]): Promise<void> {
      if (closed) throw new Error('InfluxDB writer is closed')
      for (let start = 0; start < lines.length; start += WRITE_CHUNK_LINES)
        await writeBody(lines.slice(start, start + WRITE_CHUNK_LINES).join('\n'))
    },
    async close(): Promise<void> {
      closed = true
    },
  }
}

// ---------------------------------------------------------------------------------------------
// InfluxQL queries

export class InfluxQueryError extends Error {
  readonly statusCode: number | undefined

  constructor(message: string, statusCode?: number) {
    super(message)
    this.name = 'InfluxQueryError'
    this.statusCode = statusCode
  }
}

type RawSeries = {
  name?: string
  tags?: Record<string, string>
  columns?: string[]
  values?: unknown[][]
}
type RawResponse = {
  error?: string
  results?: { statement_id?: number; error?: string; series?: RawSeries[] }[]
}

const READ_ONLY = /^\s*(select|show)\b/i
const MAX_GET_URL_LENGTH = 8000

export function createInfluxQuery(config: InfluxConfig): InfluxQuery {
  const url = baseUrl(config.url)
  const authorization = authorizationHeader(config)
  const timeout = config.timeoutMs ?? DEFAULT_TIMEOUT_MS

  return {
    async query(influxql, params): Promise<InfluxSeries[]> {
      const search = new URLSearchParams({ q: influxql, db: config.database, epoch: 'ms' })
      if (config.retentionPolicy) search.set('rp', config.retentionPolicy)
      if (params !== undefined && Object.keys(params).length > 0) {
        search.set('params', JSON.stringify(params))
      }
      const headers: Record<string, string> = { accept: 'application/json' }
      if (authorization !== undefined) headers.authorization = authorization
      // 1.x refuses writes-by-query (CREATE, DROP, SELECT INTO) over GET.
      const encoded = search.toString()
      const useGet =
        READ_ONLY.test(influxql) &&
        !/\binto\b/i.test(influxql) &&
        encoded.length < MAX_GET_URL_LENGTH
      const res = useGet
        ? await fetch(`${url}/query?${encoded}`, { headers, signal: AbortSignal.timeout(timeout) })
        : await fetch(`${url}/query`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
            body: encoded,
            signal: AbortSignal.timeout(timeout),
          })
      const text = await res.text()
      let body: RawResponse
      try {
        body = JSON.parse(text) as RawResponse
      } catch {
        throw new InfluxQueryError(
          `InfluxQL query failed (HTTP ${res.status}): ${text.slice(0, 500)}`,
          res.status,
        )
      }
      if (!res.ok || body.error !== undefined) {
        throw new InfluxQueryError(
          `InfluxQL query failed (HTTP ${res.status}): ${body.error ?? text.slice(0, 500)}`,
          res.status,
        )
      }
      const series: InfluxSeries[] = []
      for (const result of body.results ?? []) {
        if (result.error !== undefined) {
          throw new InfluxQueryError(
            `InfluxQL statement ${result.statement_id ?? '?'} failed: ${result.error}`,
            res.status,
          )
        }
        for (const s of result.series ?? []) {
          const entry: InfluxSeries = {
            name: s.name ?? '',
            columns: s.columns ?? [],
            values: s.values ?? [],
          }
          if (s.tags !== undefined) entry.tags = s.tags
          series.push(entry)
        }
      }
      return series
    },
  }
}
