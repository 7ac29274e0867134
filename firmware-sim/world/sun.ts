/** Sunlight at the farm: solar elevation, clear-sky irradiance and the cloud transmittance. */
import { localDate, localHour } from './time.ts'

const RAD = Math.PI / 180

/**
 * Sine of the solar elevation. Declination after Cooper (1969), equation of time after
 * Spencer (1971). The farm's longitude is taken as its time zone's meridian (105°E for
 * UTC+7, which the Mekong delta sits on), so clock time plus the equation of time is solar time.
 */
export function sinSolarElevation(
  tMs: number,
  utcOffsetMinutes: number,
  latitudeDeg: number,
): number {
  const { dayOfYear } = localDate(tMs, utcOffsetMinutes)
  const declination = 23.45 * RAD * Math.sin(((2 * Math.PI) / 365) * (284 + dayOfYear))
  const b = ((2 * Math.PI) / 364) * (dayOfYear - 81)
  const equationOfTimeH = (9.87 * Math.sin(2 * b) - 7.53 * Math.cos(b) - 1.5 * Math.sin(b)) / 60
  const solarHour = localHour(tMs, utcOffsetMinutes) + equationOfTimeH
  const hourAngle = 15 * RAD * (solarHour - 12)
  const lat = latitudeDeg * RAD
  return (
    Math.sin(lat) * Math.sin(declination) +
    Math.cos(lat) * Math.cos(declination) * Math.cos(hourAngle)
  )
}

/** Global horizontal irradiance under a clear sky, W/m² (Haurwitz 1945). */
export function clearSkyIrradiance(sinElevation: number): number {
  if (sinElevation <= 0.01) return 0
  return 1098 * sinElevation * Math.exp(-0.057 / sinElevation)
}

/** Fraction of clear-sky irradiance reaching the ground under cloud cover 0..1 (Kasten & Czeplak 1980). */
export function cloudTransmittance(cover: number): number {
  return 1 - 0.75 * cover ** 3.4
}
