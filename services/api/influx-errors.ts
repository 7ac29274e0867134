import { InfluxQueryError } from '../influx/client.ts'
import { ApiError } from './errors.ts'

/** The reason in a failed fetch (ECONNREFUSED…), which `fetch failed` alone hides. */
export function influxReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err.cause as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? `${err.message}: ${code}` : err.message
}

/**
 * What the API answers when InfluxDB fails: a 503 the client may retry, unless InfluxDB
 * refused the query itself (HTTP 400), which is a bug of ours and stays a 500.
 */
export function influxFailure(err: unknown): Error {
  if (err instanceof ApiError) return err
  if (err instanceof InfluxQueryError && err.statusCode === 400) return err
  return new ApiError(
    'unavailable',
    `InfluxDB, where readings are kept, did not answer (${influxReason(err)}); try again shortly`,
  )
}
