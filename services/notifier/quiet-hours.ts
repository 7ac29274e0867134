/**
 * Quiet hours ("22:00"–"05:30", local to the person or their farm): info and warning
 * alerts wait until the end and go out as one digest; critical ones never wait.
 */
export type QuietHours = { start: string; end: string }

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number)
  return (h ?? 0) * 60 + (m ?? 0)
}

/** Minutes since local midnight, and the epoch ms of that midnight, in `timeZone`. */
function localClock(nowMs: number, timeZone: string): { minutes: number; midnightMs: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(nowMs))
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0)
  const seconds = get('hour') * 3600 + get('minute') * 60 + get('second')
  const msIntoDay = seconds * 1000 + (nowMs % 1000)
  return { minutes: Math.floor(seconds / 60), midnightMs: nowMs - msIntoDay }
}

/** When the quiet hours around `nowMs` end (epoch ms), or null when it is not quiet now. */
export function quietUntil(nowMs: number, quiet: QuietHours, timeZone: string): number | null {
  const start = minutesOf(quiet.start)
  const end = minutesOf(quiet.end)
  if (start === end) return null
  const { minutes, midnightMs } = localClock(nowMs, timeZone)
  const inside = start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end
  if (!inside) return null
  // Past midnight already, or a same-day window: the end is today; else tomorrow.
  const endToday = midnightMs + end * 60_000
  return endToday > nowMs ? endToday : endToday + 24 * 3_600_000
}
