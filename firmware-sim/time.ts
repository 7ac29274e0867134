/**
 * Time expressions of scenario files: durations ("90s", "10m", "1d6h"), and moments —
 * relative to the scenario start ("+36h"), on a local day ("day 2 05:30", day 1 being the
 * start's local date), or absolute ISO 8601 with a zone.
 */
import { parseDuration, UNIT_MS } from '../shared/duration.ts'

export { parseDuration, parseSignedDuration } from '../shared/duration.ts'

const LOCAL_DAY = /^day\s*(\d+)\s+(\d{1,2}):(\d{2})$/i

/** Resolves a moment to epoch ms, given the scenario start and the farm's UTC offset. */
export function parseMoment(text: string, startMs: number, utcOffsetMinutes: number): number {
  const t = text.trim()
  if (t.startsWith('+')) return startMs + parseDuration(t.slice(1))
  const local = LOCAL_DAY.exec(t)
  if (local) {
    const [, day, hh, mm] = local
    const offsetMs = utcOffsetMinutes * 60_000
    const startLocal = new Date(startMs + offsetMs)
    const midnightLocal = Date.UTC(
      startLocal.getUTCFullYear(),
      startLocal.getUTCMonth(),
      startLocal.getUTCDate(),
    )
    if (Number(hh) > 23 || Number(mm) > 59) throw new Error(`"${text}": hours 0–23, minutes 0–59`)
    return (
      midnightLocal -
      offsetMs +
      (Number(day) - 1) * UNIT_MS.d +
      Number(hh) * UNIT_MS.h +
      Number(mm) * UNIT_MS.m
    )
  }
  const abs = Date.parse(t)
  if (/\d{4}-\d{2}-\d{2}T/.test(t) && !Number.isNaN(abs)) return abs
  throw new Error(`"${text}" is not a moment; write +6h, "day 2 05:30" or an ISO 8601 time`)
}
