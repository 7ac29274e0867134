import { z } from 'zod'
import { ID_PATTERN } from '../topics.ts'

/**
 * Building blocks of the HTTP API's contracts. Request schemas validate what comes in
 * (the 400 names the field), response schemas shape what goes out, and both give the
 * OpenAPI document served at /docs.
 */

export const Id = z
  .string()
  .regex(
    ID_PATTERN,
    'use 1–64 letters, digits, dot, dash or underscore, starting with a letter or digit',
  )

/** A time in requests: ISO 8601 with a zone ("2026-11-23T05:00:00Z", "…+07:00"). */
export const TimeParam = z.iso
  .datetime({
    offset: true,
    error: 'a date-time in ISO 8601 with a zone, e.g. 2026-11-23T05:00:00+07:00 or …Z',
  })
  .transform((s) => Date.parse(s))
  .describe('ISO 8601 date-time with a zone, e.g. 2026-11-23T05:00:00+07:00')

/** A time in responses, ISO 8601 UTC. */
export const Time = z.iso.datetime()
export const iso = (ms: number) => new Date(ms).toISOString()
export const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms))

export const ErrorBody = z.object({
  /** A stable code from the catalogue (services/api/errors.ts). */
  error: z.string(),
  /** What was wrong and what to do. */
  message: z.string(),
  /** For validation errors: each field at fault, e.g. "body.kind". */
  fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
})
export type ErrorBody = z.infer<typeof ErrorBody>

/** The error answers a route documents, all with the same body, e.g. `errorResponses(400, 401)`. */
export function errorResponses<C extends number>(...codes: C[]): Record<C, typeof ErrorBody> {
  return Object.fromEntries(codes.map((c) => [c, ErrorBody])) as Record<C, typeof ErrorBody>
}

export const IdParams = z.object({ id: Id })

export const roles = ['admin', 'technician', 'agronomist', 'farmer'] as const
export const Role = z.enum(roles)
export type Role = z.infer<typeof Role>

export const Locale = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'a language tag such as vi, id or en')
  .describe('Language of notifications and pages')

export const Ok = z.object({ ok: z.literal(true) })

export const TimeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}, 'an IANA time zone such as Asia/Ho_Chi_Minh')
