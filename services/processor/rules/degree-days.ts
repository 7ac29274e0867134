import type { Reading } from '../../../shared/index.ts'
import type { Device } from '../../store/repository.ts'
import { accumulateDegreeDays, detectBiofix, PEST_PRESETS } from './derived.ts'
import { localDate } from './local-time.ts'

/**
 * Degree-days per farm and pest, as pest-monitoring services compute them: daily
 * minimum and maximum air temperature from the farm's weather stations, accumulated
 * (single-sine, Baskerville & Emin 1969) between the pest's development thresholds since
 * the biofix — a date the agronomist set for the farm, or else the first sustained catch
 * of that pest in the farm's light traps (two nights running with 20 or more). Offered to rules as `degree_days.<species>` on the
 * farm's weather-station readings; complete days only.
 */
export const BIOFIX_CATCH = { threshold: 20, consecutiveNights: 2 }
const KEPT_DAYS = 120

type FarmDays = {
  temps: Map<string, { minC: number; maxC: number }>
  catches: Map<string, Map<string, number>>
  biofix: Map<string, string>
  /**
   * The last answer of `metrics`: it sums every complete day since the biofix, and is
   * asked on every weather reading, while the complete days change only when a late
   * reading lands on one of them (or a biofix is found).
   */
  last: {
    today: string
    setBiofix: Record<string, string>
    out: ReadonlyMap<string, number>
  } | null
}

const dateIn = localDate
const NO_BIOFIX: Record<string, string> = Object.freeze({}) as Record<string, string>

/** The local date of the evening a night's catch belongs to (noon to noon). */
const nightOf = (ts: number, timeZone: string) => dateIn(ts - 12 * 3_600_000, timeZone)

export function createDegreeDays() {
  const farms = new Map<string, FarmDays>()
  const farmOf = (id: string) => {
    let f = farms.get(id)
    if (!f) {
      f = { temps: new Map(), catches: new Map(), biofix: new Map(), last: null }
      farms.set(id, f)
    }
    return f
  }
  const trim = <V>(m: Map<string, V>) => {
    if (m.size <= KEPT_DAYS) return
    for (const k of [...m.keys()].sort().slice(0, m.size - KEPT_DAYS)) m.delete(k)
  }

  return {
    /** Takes in what a reading tells about the farm's temperatures and catches. */
    observe(device: Device, reading: Reading, timeZone: string) {
      const farm = farmOf(device.farmId)
      const r = reading as Reading & { air_temp_c?: number; counts?: Record<string, number> }
      if (device.kind === 'env_sensor' && typeof r.air_temp_c === 'number') {
        const date = dateIn(r.ts, timeZone)
        if (farm.last && date < farm.last.today) farm.last = null
        const day = farm.temps.get(date)
        farm.temps.set(
          date,
          day
            ? { minC: Math.min(day.minC, r.air_temp_c), maxC: Math.max(day.maxC, r.air_temp_c) }
            : { minC: r.air_temp_c, maxC: r.air_temp_c },
        )
        trim(farm.temps)
      }
      if (device.kind === 'pest_trap' && r.counts) {
        for (const [species, n] of Object.entries(r.counts)) {
          if (!(species in PEST_PRESETS) || farm.biofix.has(species)) continue
          const nights = farm.catches.get(species) ?? new Map<string, number>()
          const night = nightOf(r.ts, timeZone)
          nights.set(night, (nights.get(night) ?? 0) + n)
          farm.catches.set(species, nights)
          const biofix = detectBiofix(
            [...nights].sort().map(([date, count]) => ({ date, count })),
            BIOFIX_CATCH,
          )
          if (biofix) {
            farm.biofix.set(species, biofix)
            farm.last = null
          }
        }
      }
    },
    /** `degree_days.<species>` for the farm, up to the last complete day before `ts`. */
    metrics(
      farmId: string,
      ts: number,
      timeZone: string,
      setBiofix: Record<string, string> = NO_BIOFIX,
    ): ReadonlyMap<string, number> {
      const out = new Map<string, number>()
      const farm = farms.get(farmId)
      if (!farm) return out
      const today = dateIn(ts, timeZone)
      const last = farm.last
      if (last && last.today === today && last.setBiofix === setBiofix) return last.out
      const days = [...farm.temps]
        .filter(([date]) => date < today)
        .map(([date, t]) => ({ date, ...t }))
      // A date the agronomist set wins over the one detected from the traps.
      const biofix = new Map([...farm.biofix, ...Object.entries(setBiofix)])
      for (const [species, biofixDate] of biofix) {
        const preset = PEST_PRESETS[species as keyof typeof PEST_PRESETS]
        if (!preset) continue
        const series = accumulateDegreeDays(days, {
          lowerC: preset.lowerC,
          upperC: preset.upperC,
          biofixDate,
          method: 'single-sine',
        })
        out.set(`degree_days.${species}`, series.at(-1)?.cumulative ?? 0)
      }
      farm.last = { today, setBiofix, out }
      return out
    },
    biofixOf: (farmId: string, species: string) => farms.get(farmId)?.biofix.get(species) ?? null,
  }
}
