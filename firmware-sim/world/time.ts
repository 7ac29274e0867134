/** Time helpers for the world: constants and the farm's local clock. */

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS
/** The integrator's grid: every internal step is at most this long. */
export const STEP_MS = 5 * MINUTE_MS

/** Local clock hour, [0, 24). */
export function localHour(tMs: number, utcOffsetMinutes: number): number {
  const h = ((tMs + utcOffsetMinutes * MINUTE_MS) / HOUR_MS) % 24
  return h < 0 ? h + 24 : h
}

/** Index of the local calendar day (days since 1970-01-01 local). */
export function localDay(tMs: number, utcOffsetMinutes: number): number {
  return Math.floor((tMs + utcOffsetMinutes * MINUTE_MS) / DAY_MS)
}

/** Day of year 1..366 and month 1..12 of the local date. */
export function localDate(
  tMs: number,
  utcOffsetMinutes: number,
): { dayOfYear: number; month: number } {
  const d = new Date(tMs + utcOffsetMinutes * MINUTE_MS)
  const jan1 = Date.UTC(d.getUTCFullYear(), 0, 1)
  return {
    dayOfYear: Math.floor((d.getTime() - jan1) / DAY_MS) + 1,
    month: d.getUTCMonth() + 1,
  }
}

export const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))

/** Value after `dtH` hours of first-order relaxation toward `target` with time constant `tauH`. */
export function relax(value: number, target: number, tauH: number, dtH: number): number {
  return target + (value - target) * Math.exp(-dtH / tauH)
}
