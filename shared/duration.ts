import { z } from 'zod'
import { memoize } from './memo.ts'

/**
 * Durations as people write them in rules and scenario files: "90s", "10m", "2h", "1d6h".
 */
export const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
type Unit = keyof typeof UNIT_MS
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/

/**
 * "1d6h30m" → ms; throws with the offending text otherwise. Kept by text: the rule engine
 * reads its rules' durations ("6h", "30m") for every reading it judges.
 */
export const parseDuration = memoize(parseUncached)

function parseUncached(text: string): number {
  const t = text.trim()
  let rest = t
  let total = 0
  if (rest === '') throw new Error('empty duration')
  while (rest.length > 0) {
    const m = DURATION.exec(rest)
    if (!m) throw new Error(`"${text}" is not a duration; write e.g. 90s, 10m, 6h, 1d6h`)
    total += Number(m[1]) * UNIT_MS[m[2] as Unit]
    rest = rest.slice(m[0].length)
  }
  return total
}

/** "-7h" → negative ms (for clock skew). */
export function parseSignedDuration(text: string): number {
  const t = text.trim()
  if (t.startsWith('-')) return -parseDuration(t.slice(1))
  return parseDuration(t.startsWith('+') ? t.slice(1) : t)
}

/** A duration in a document: kept as written, checked here. */
export const DurationText = z.string().superRefine((text, ctx) => {
  try {
    if (parseDuration(text) <= 0)
      ctx.addIssue({ code: 'custom', message: 'a duration must be longer than zero' })
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
})
