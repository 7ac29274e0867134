/**
 * Weather over the farm: cloud cover and rain (random sky plus scenario events), sunlight,
 * air temperature and humidity. Only air temperature and the rain total carry state; the
 * rest is a function of time.
 */
import type { EventLog } from './events.ts'
import type { Sky } from './sky.ts'
import { clearSkyIrradiance, cloudTransmittance, sinSolarElevation } from './sun.ts'
import { clamp, HOUR_MS, localDay, localHour, relax } from './time.ts'

export type WeatherVars = { airTempC: number; rainTotalMm: number }

/** A daily curve: -1 at `minHour`, +1 at `maxHour`, half cosines on the way up and down. */
export function diurnal(hour: number, minHour: number, maxHour: number): number {
  const rise = maxHour - minHour
  const sinceMin = (((hour - minHour) % 24) + 24) % 24
  if (sinceMin < rise) return -Math.cos((Math.PI * sinceMin) / rise)
  return Math.cos((Math.PI * (sinceMin - rise)) / (24 - rise))
}

/** Saturation vapour pressure over water, hPa (Magnus form, Alduchov & Eskridge 1996). */
export function saturationVapourHpa(tempC: number): number {
  return 6.1094 * Math.exp((17.625 * tempC) / (tempC + 243.04))
}

/** Air temperature relaxes toward its target with this lag, so the maximum comes ~15:00. */
const AIR_LAG_H = 1

export type Weather = ReturnType<typeof createWeather>

export function createWeather(
  sky: Sky,
  events: EventLog,
  utcOffsetMinutes: number,
  latitudeDeg: number,
) {
  const dayOf = (tMs: number) => sky.day(localDay(tMs, utcOffsetMinutes))

  const stormCloud = (tMs: number): number => {
    let cloud = 0
    const day = localDay(tMs, utcOffsetMinutes)
    for (const d of [day - 1, day, day + 1]) {
      for (const s of sky.day(d).showers) {
        // Cumulus builds an hour before the shower and clears an hour after it.
        const before = (s.fromMs - tMs) / HOUR_MS
        const after = (tMs - s.toMs) / HOUR_MS
        cloud = Math.max(cloud, clamp(2 - 2 * Math.max(before, after, 0.5), 0, 1))
      }
    }
    return cloud
  }

  const randomRain = (tMs: number): number => {
    if (events.active('cloud_cover', tMs)) return 0 // an explicit sky replaces the random one
    let rate = 0
    for (const s of dayOf(tMs).showers) if (s.fromMs <= tMs && tMs < s.toMs) rate += s.mmPerHour
    return rate
  }

  const rainRate = (tMs: number): number => {
    let rate = randomRain(tMs)
    for (const e of events.allActive('rain', tMs)) rate += e.mmPerHour
    return rate
  }

  const cloudCover = (tMs: number): number => {
    const explicit = events.active('cloud_cover', tMs)
    if (explicit) return clamp(explicit.cover, 0, 1)
    const hour = localHour(tMs, utcOffsetMinutes)
    const day = localDay(tMs, utcOffsetMinutes)
    // Background cover interpolated between local noons, so it never jumps at midnight.
    const [a, b, f] =
      hour < 12 ? [day - 1, day, (hour + 12) / 24] : [day, day + 1, (hour - 12) / 24]
    const base = sky.day(a).cover * (1 - f) + sky.day(b).cover * f
    let cover = Math.max(base, 0.95 * stormCloud(tMs))
    if (events.allActive('rain', tMs).length > 0) cover = Math.max(cover, 0.9)
    return cover
  }

  const irradiance = (tMs: number): number =>
    clearSkyIrradiance(sinSolarElevation(tMs, utcOffsetMinutes, latitudeDeg)) *
    cloudTransmittance(cloudCover(tMs))

  /**
   * Air temperature the weather pushes toward: ~25 °C at dawn and ~33 °C mid-afternoon on a
   * clear wet-season day (dry season dawn ~23 °C); clouds flatten the afternoon rise and
   * rain cools by up to 3 °C.
   */
  const airTempTarget = (tMs: number): number => {
    const d = dayOf(tMs)
    const min = (d.wet ? 25 : 23) + d.tempOffsetC
    const cover = cloudCover(tMs)
    const range = 8 * (0.35 + 0.65 * cloudTransmittance(cover))
    const shape = (diurnal(localHour(tMs, utcOffsetMinutes), 6, 14) + 1) / 2
    const rainCooling = 3 * Math.min(1, rainRate(tMs) / 10)
    return min + range * shape - rainCooling + 0.8 * cover * (1 - shape)
  }

  /**
   * Dew point: the humid delta air sits just below the night minimum (~0.8 °C in the wet
   * season, so ~95 % RH before dawn; ~3 °C in the dry season); near-saturated in rain.
   */
  const dewPointC = (tMs: number, airTempC: number): number => {
    if (rainRate(tMs) > 0.5) return airTempC - 0.4
    const d = dayOf(tMs)
    const nightMin = (d.wet ? 25 : 23) + d.tempOffsetC
    const td = nightMin - (d.wet ? 0.8 : 3) + 0.4 * d.dewOffsetC
    return Math.min(td, airTempC - 0.2)
  }

  const relHumidityPct = (tMs: number, airTempC: number): number =>
    clamp(
      (100 * saturationVapourHpa(dewPointC(tMs, airTempC))) / saturationVapourHpa(airTempC),
      0,
      100,
    )

  /** Rain depth, mm, over [aMs, bMs]: exact, as rain is piecewise constant in time. */
  const rainDepth = (aMs: number, bMs: number): number => {
    if (bMs <= aMs) return 0
    const cuts = [aMs, bMs, ...events.breakpoints(['rain', 'cloud_cover'], aMs, bMs)]
    for (let day = localDay(aMs, utcOffsetMinutes); day <= localDay(bMs, utcOffsetMinutes); day++) {
      for (const s of sky.day(day).showers) {
        if (s.fromMs > aMs && s.fromMs < bMs) cuts.push(s.fromMs)
        if (s.toMs > aMs && s.toMs < bMs) cuts.push(s.toMs)
      }
    }
    cuts.sort((x, y) => x - y)
    let mm = 0
    for (let i = 1; i < cuts.length; i++) {
      const lo = cuts[i - 1] ?? aMs
      const hi = cuts[i] ?? bMs
      if (hi > lo) mm += (rainRate((lo + hi) / 2) * (hi - lo)) / HOUR_MS
    }
    return mm
  }

  const initial = (tMs: number): WeatherVars => ({ airTempC: airTempTarget(tMs), rainTotalMm: 0 })

  /** Advances from t0Ms by dtMs; forcing is taken at `midMs`, the middle of the grid cell. */
  const step = (v: WeatherVars, t0Ms: number, dtMs: number, midMs: number): WeatherVars => ({
    airTempC: relax(v.airTempC, airTempTarget(midMs), AIR_LAG_H, dtMs / HOUR_MS),
    rainTotalMm: v.rainTotalMm + rainDepth(t0Ms, t0Ms + dtMs),
  })

  return { cloudCover, rainRate, rainDepth, irradiance, relHumidityPct, initial, step }
}
