/**
 * A tiny seeded pseudo-random number generator for the firmware simulator. Not for
 * cryptography: it only has to make simulated readings reproducible for a given seed.
 */

/** mulberry32: a 32-bit state PRNG; returns a function yielding floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Hashes strings and numbers into a 32-bit seed (FNV-1a over the parts, then a final
 * avalanche), so that each device gets its own stream from one simulation seed.
 */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5
  for (const part of parts) {
    const s = `${typeof part}:${part}|`
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i)
      h = Math.imul(h, 0x01000193)
    }
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export type Rng = {
  /** Uniform float in [0, 1). */
  next(): number
  /** Uniform float in [min, max). */
  float(min: number, max: number): number
  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number
  /** True with probability p. */
  chance(p: number): boolean
  /** Normally distributed value (Box–Muller). */
  normal(mean?: number, sd?: number): number
  /** Poisson-distributed count with the given mean. */
  poisson(mean: number): number
  /** Exponentially distributed value with the given mean. */
  exponential(mean: number): number
}

export function createRng(seed: number): Rng {
  const next = mulberry32(seed)
  let spareNormal: number | undefined
  const normal = (mean = 0, sd = 1): number => {
    if (spareNormal !== undefined) {
      const z = spareNormal
      spareNormal = undefined
      return mean + sd * z
    }
    // 1 - next() is in (0, 1], so the logarithm is finite.
    const u = 1 - next()
    const v = next()
    const r = Math.sqrt(-2 * Math.log(u))
    spareNormal = r * Math.sin(2 * Math.PI * v)
    return mean + sd * r * Math.cos(2 * Math.PI * v)
  }
  return {
    next,
    float: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor((max - min + 1) * next()),
    chance: (p) => next() < p,
    normal,
    poisson: (mean) => {
      if (!(mean > 0)) return 0
      if (mean > 50) return Math.max(0, Math.round(normal(mean, Math.sqrt(mean))))
      // Knuth: multiply uniforms until the product drops below e^-mean.
      const limit = Math.exp(-mean)
      let k = 0
      let p = next()
      while (p > limit) {
        k++
        p *= next()
      }
      return k
    },
    exponential: (mean) => -mean * Math.log(1 - next()),
  }
}
