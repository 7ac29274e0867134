/**
 * The light traps' catch record: a running total per 5-minute cell for each site and species,
 * so memory grows with time and not with the number of insects. Catch times inside a cell are
 * regenerated from their seed when a query window cuts through it.
 */
import { catchTimes } from './pests.ts'
import { STEP_MS } from './time.ts'

export type TrapLog = {
  /** Records the catch of a committed cell; cells arrive in order. */
  commit(siteId: string, species: string, cell: number, count: number): void
  /** Catches before tMs, given the count already drawn for the cell being integrated. */
  countBefore(siteId: string, species: string, tMs: number, pendingCount: number): number
}

export function createTrapLog(seed: number, startMs: number): TrapLog {
  /** cumulative[k]: catches in cells before k. */
  const cumulative = new Map<string, number[]>()
  const key = (siteId: string, species: string) => `${siteId}\u0000${species}`

  const below = (siteId: string, species: string, cell: number, count: number, tMs: number) => {
    if (count === 0) return 0
    const cellStartMs = startMs + cell * STEP_MS
    const times = catchTimes(seed, siteId, species, cell, cellStartMs, STEP_MS, count)
    let n = 0
    for (const t of times) if (t < tMs) n++
    return n
  }

  return {
    commit(siteId, species, cell, count) {
      const k = key(siteId, species)
      const sums = cumulative.get(k) ?? [0]
      cumulative.set(k, sums)
      // A species that arrived mid-run caught nothing in the cells before it.
      while (sums.length < cell + 1) sums.push(sums.at(-1) ?? 0)
      sums.push((sums[cell] ?? 0) + count)
    },
    countBefore(siteId, species, tMs, pendingCount) {
      if (tMs <= startMs) return 0
      const sums = cumulative.get(key(siteId, species)) ?? [0]
      const committed = sums.length - 1
      const cell = Math.floor((tMs - startMs) / STEP_MS)
      if (cell < committed) {
        const base = sums[cell] ?? 0
        return base + below(siteId, species, cell, (sums[cell + 1] ?? base) - base, tMs)
      }
      return (sums[committed] ?? 0) + below(siteId, species, cell, pendingCount, tMs)
    },
  }
}
