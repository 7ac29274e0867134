import { createWorld, type SiteSpec, type World } from '../../../../firmware-sim/world/index.ts'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR
/** Local midnight (UTC+7) starting 2 June 2025, in the Mekong wet season. */
export const START = Date.UTC(2025, 5, 1, 17, 0)
/** Epoch ms of local `hour` on day `day` (0 = the first day). */
export const at = (day: number, hour: number): number => START + day * DAY + hour * HOUR

export function makeWorld(sites: SiteSpec[], seed = 42): World {
  return createWorld({ seed, startMs: START, utcOffsetMinutes: 420, latitudeDeg: 10, sites })
}

/** Clear sky (which also keeps random showers away) for `days` days from the start. */
export function clearSky(world: World, days: number): void {
  world.addEvent({ type: 'cloud_cover', fromMs: START, toMs: at(days, 0), cover: 0 })
}

/** Advances to each time and collects `read()`. */
export function sample<T>(world: World, times: number[], read: () => T): T[] {
  return times.map((t) => {
    world.advanceTo(t)
    return read()
  })
}

export const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = []
  for (let t = from; t <= to; t += step) out.push(t)
  return out
}
