/**
 * The API's error catalogue: a stable code and an HTTP status each. Messages say what was
 * wrong and what to do; the code is what clients branch on.
 */
export const errorCodes = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const
export type ErrorCode = keyof typeof errorCodes

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly fields?: { field: string; message: string }[]
  constructor(code: ErrorCode, message: string, fields?: { field: string; message: string }[]) {
    super(message)
    this.code = code
    this.statusCode = errorCodes[code]
    this.fields = fields
  }
}

export const notFound = (what: string) => new ApiError('not_found', `${what} does not exist`)
export const forbidden = (message: string) => new ApiError('forbidden', message)
export const invalid = (field: string, message: string) =>
  new ApiError('invalid_request', `${field}: ${message}`, [{ field, message }])
