/**
 * Farm-local clock readings for rules (times of day, local dates), without building an
 * Intl.DateTimeFormat per reading: building one took ~60 % of the processor's CPU at 10k
 * devices (bench profile). A zone's UTC offset is read once per zone and 15-minute slot —
 * offsets only change at transitions, which fall on 15-minute boundaries of UTC.
 */

import { memoize } from '../../../shared/memo.ts'

const SLOT_MS = 15 * 60_000
const DAY_MS = 24 * 3_600_000
const MAX_SLOTS_PER_ZONE = 20_000

const formatters = new Map<string, Intl.DateTimeFormat>()
const offsets = new Map<string, Map<number, number>>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    // Throws a RangeError for an unknown zone, as the callers expect.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, f)
  }
  return f
}

export type LocalParts = { year: number; month: number; day: number; wall: number }

/** The wall-clock time of `ts` in the zone, read as if UTC, from the formatter itself. */
function formattedWall(ts: number, timeZone: string): number {
  const parts: Record<string, number> = {}
  for (const p of formatterFor(timeZone).formatToParts(new Date(ts)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value)
  return Date.UTC(
    parts.year ?? Number.NaN,
    (parts.month ?? Number.NaN) - 1,
    parts.day ?? Number.NaN,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  )
}

const computeOffset = (ts: number, timeZone: string): number =>
  formattedWall(ts, timeZone) - Math.floor(ts / 1000) * 1000

/** Local calendar date of `ts` in the zone, and its wall-clock time read as if UTC. */
export function localParts(ts: number, timeZone: string): LocalParts {
  const wall = Math.floor(ts / 1000) * 1000 + zoneOffsetMs(ts, timeZone)
  const d = new Date(wall)
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), wall }
}

/** The zone's UTC offset at `ts`, ms east of UTC. */
export function zoneOffsetMs(ts: number, timeZone: string): number {
  let slots = offsets.get(timeZone)
  if (!slots) {
    slots = new Map()
    offsets.set(timeZone, slots)
  }
  const slot = Math.floor(ts / SLOT_MS) * SLOT_MS
  let offset = slots.get(slot)
  if (offset === undefined) {
    offset = computeOffset(slot, timeZone)
    if (slots.size >= MAX_SLOTS_PER_ZONE) slots.clear()
    slots.set(slot, offset)
  }
  return offset
}

/** Minutes since local midnight. */
export function localMinutes(ts: number, timeZone: string): number {
  const local = ts + zoneOffsetMs(ts, timeZone)
  return Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / 60_000)
}

/** YYYY-MM-DD of a local day number, kept: degree-days ask with every weather reading. */
const dateOfDay = memoize((day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10), 4096)

/** Local date, YYYY-MM-DD. */
export const localDate = (ts: number, timeZone: string): string =>
  dateOfDay(Math.floor((ts + zoneOffsetMs(ts, timeZone)) / DAY_MS))

/** Local time of day, HH:MM. */
export const localHHMM = (ts: number, timeZone: string): string =>
  new Date(ts + zoneOffsetMs(ts, timeZone)).toISOString().slice(11, 16)
