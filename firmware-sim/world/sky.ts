/**
 * The random sky of each local day: background cloud cover, warm/cool and humid/dry day
 * offsets, and rain showers. Every day is drawn from its own seeded stream, so the sky at any
 * time is a pure function of the seed and the time, whatever order the world is stepped in.
 */
import { createRng, hashSeed } from '../random.ts'
import { clamp, DAY_MS, HOUR_MS, localDate, MINUTE_MS } from './time.ts'

export type Shower = { fromMs: number; toMs: number; mmPerHour: number }

export type SkyDay = {
  /** Mekong delta wet season, May–November. */
  wet: boolean
  /** Background cloud cover 0..1 (without showers). */
  cover: number
  /** Day-to-day offsets of air temperature and dew point, °C. */
  tempOffsetC: number
  dewOffsetC: number
  showers: Shower[]
}

/**
 * Convective afternoon storms on ~55 % of wet-season days (13:00–19:00 start, ~1 h, ~12 mm/h
 * mean) and occasional light pre-dawn rain; together ~8 mm/day, in line with the delta's
 * ~1,600 mm falling mostly May–November. Dry-season showers are rare.
 */
function drawDay(seed: number, day: number, utcOffsetMinutes: number): SkyDay {
  const rng = createRng(hashSeed(seed, 'sky', day))
  const dayStartMs = day * DAY_MS - utcOffsetMinutes * MINUTE_MS
  const { month } = localDate(dayStartMs + 12 * HOUR_MS, utcOffsetMinutes)
  const wet = month >= 5 && month <= 11
  const cover = wet ? clamp(rng.normal(0.45, 0.2), 0.05, 0.9) : clamp(rng.normal(0.2, 0.15), 0, 0.7)
  const tempOffsetC = rng.normal(0, 0.6)
  const dewOffsetC = rng.normal(0, 0.5)
  const showers: Shower[] = []
  if (rng.chance(wet ? 0.55 : 0.08)) {
    const startH = rng.float(13, 19)
    const durationH = clamp(rng.exponential(1.2), 0.3, 3)
    const fromMs = dayStartMs + startH * HOUR_MS
    showers.push({
      fromMs,
      toMs: fromMs + durationH * HOUR_MS,
      mmPerHour: clamp(rng.exponential(12), 2, 60),
    })
  }
  if (rng.chance(wet ? 0.15 : 0.03)) {
    const fromMs = dayStartMs + rng.float(0, 5) * HOUR_MS
    showers.push({
      fromMs,
      toMs: fromMs + rng.float(1, 3) * HOUR_MS,
      mmPerHour: clamp(rng.exponential(3), 0.5, 10),
    })
  }
  return { wet, cover, tempOffsetC, dewOffsetC, showers }
}

export type Sky = {
  day(day: number): SkyDay
}

export function createSky(seed: number, utcOffsetMinutes: number): Sky {
  const cache = new Map<number, SkyDay>()
  return {
    day(day) {
      let d = cache.get(day)
      if (!d) {
        d = drawDay(seed, day, utcOffsetMinutes)
        cache.set(day, d)
      }
      return d
    },
  }
}
