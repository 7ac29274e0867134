import type { DeviceKind } from './readings.ts'

/**
 * One-byte codes of the LoRaWAN payload codec (lorawan-codec.ts, README "LoRaWAN payload
 * codec"). Append only: a code, once given, keeps its meaning in every codec version, as
 * devices in the field keep sending it.
 */

export const kindCodes = {
  pest_trap: 1,
  env_sensor: 2,
  pond_sensor: 3,
  irrigation_controller: 4,
} as const satisfies Record<DeviceKind, number>

export const attractantCodes = {
  light_uv: 1,
  light_led: 2,
  pheromone: 3,
  sticky_card: 4,
} as const

/** Pests of Mekong-delta rice, fruit and vegetable farms that traps count. */
export const speciesCodes: Readonly<Record<string, number>> = {
  brown_planthopper: 1, // Nilaparvata lugens
  white_backed_planthopper: 2, // Sogatella furcifera
  small_brown_planthopper: 3, // Laodelphax striatellus
  green_leafhopper: 4, // Nephotettix virescens
  zigzag_leafhopper: 5, // Recilia dorsalis
  stem_borer: 6, // stem borers not told apart by the trap
  yellow_stem_borer: 7, // Scirpophaga incertulas
  striped_stem_borer: 8, // Chilo suppressalis
  pink_stem_borer: 9, // Sesamia inferens
  rice_leaf_folder: 10, // Cnaphalocrocis medinalis
  rice_bug: 11, // Leptocorisa oratorius
  fall_armyworm: 12, // Spodoptera frugiperda
  oriental_armyworm: 13, // Mythimna separata
  rice_gall_midge: 14, // Orseolia oryzae
  rice_black_bug: 15, // Scotinophara coarctata
  rice_hispa: 16, // Dicladispa armigera
  oriental_fruit_fly: 17, // Bactrocera dorsalis
  melon_fly: 18, // Zeugodacus cucurbitae
  diamondback_moth: 19, // Plutella xylostella
  beet_armyworm: 20, // Spodoptera exigua
  black_cutworm: 21, // Agrotis ipsilon
}

/** code → name, for decoding. */
export const invert = <T extends string>(table: Readonly<Record<T, number>>): Map<number, T> =>
  new Map(Object.entries(table).map(([name, code]) => [code as number, name as T]))
