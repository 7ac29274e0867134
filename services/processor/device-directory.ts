import type { Device, Store } from '../store/repository.ts'

/** Caches the device registry (the processor reads it for every message). */
export type DeviceDirectory = {
  get(id: string): Promise<Device | null>
  /** The device with this LoRaWAN DevEUI (either case), or null. */
  byDevEui(devEui: string): Promise<Device | null>
  /** The site's name for messages ("Shrimp pond A"), or its id when unknown. */
  siteName(siteId: string | null): Promise<string>
  /** The site's tags (crop stage…), {} when none. */
  siteTags(siteId: string | null): Promise<Record<string, string>>
  /** The farm's IANA time zone (times of day in rules are the farm's). */
  farmTimeZone(farmId: string): Promise<string>
  /** Biofix dates set on the farm, per species. */
  farmBiofix(farmId: string): Promise<Record<string, string>>
  /** What rules need to know about a device's site and farm, in one call. */
  ruleContext(device: Device): Promise<RuleContext>
  /** The same when it is held and fresh, without waiting; else undefined. */
  peekRuleContext(device: Device): RuleContext | undefined
  /** `get` when the device is held and fresh, without waiting; else undefined. */
  peek(id: string): Device | null | undefined
}

export type RuleContext = {
  siteName: string
  siteTags: Record<string, string>
  timeZone: string
  biofix: Record<string, string>
  cooperativeId?: string
}

const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh'

const MAX_CACHED = 200_000

type Cached<V> = {
  /** The answer, loading it when it is not held or too old. */
  get(key: string): Promise<V>
  /** The answer when held and fresh, without waiting (the common case per message). */
  peek(key: string): V | undefined
}

/**
 * A loader whose answers are kept for `ttlMs` (the registry changes rarely; revocations
 * take effect within it). Expired answers are dropped on a sweep, so a device that went
 * quiet does not keep its registry row in memory.
 */
function cachedLoader<V>(ttlMs: number, load: (key: string) => Promise<V>): Cached<V> {
  const cache = new Map<string, { value: V; until: number }>()
  let nextSweep = Date.now() + ttlMs
  function sweep(now: number) {
    nextSweep = now + ttlMs
    for (const [key, entry] of cache) if (entry.until <= now) cache.delete(key)
  }
  const peek = (key: string) => {
    const hit = cache.get(key)
    return hit && hit.until > Date.now() ? hit.value : undefined
  }
  return {
    peek,
    async get(key) {
      const now = Date.now()
      const hit = cache.get(key)
      if (hit && hit.until > now) return hit.value
      const value = await load(key)
      if (now >= nextSweep) sweep(now)
      if (cache.size > MAX_CACHED) cache.clear()
      cache.set(key, { value, until: now + ttlMs })
      return value
    },
  }
}

export function createDeviceDirectory(store: Store, ttlMs = 30_000): DeviceDirectory {
  const device = cachedLoader(ttlMs, (id) => store.getDevice(id))
  const byEui = cachedLoader(ttlMs, (eui) => store.getDeviceByDevEui(eui))
  // One read per site and per farm serves every fact the rules need of it.
  const site = cachedLoader(ttlMs, (id) => store.getSite(id))
  const farm = cachedLoader(ttlMs, (id) => store.getFarm(id))
  // And one context object per site (or per farm, for devices without a site).
  const contexts = cachedLoader(ttlMs, async (key): Promise<RuleContext> => {
    const [farmId, siteId] = key.split('\u0000') as [string, string]
    return {
      siteName: (await directory.siteName(siteId || null)) || siteId,
      siteTags: await directory.siteTags(siteId || null),
      timeZone: await directory.farmTimeZone(farmId),
      biofix: await directory.farmBiofix(farmId),
      cooperativeId: (await farm.get(farmId))?.cooperativeId,
    }
  })
  const contextKey = (d: Device) => `${d.farmId}\u0000${d.siteId ?? ''}`

  const directory: DeviceDirectory = {
    ruleContext: (d) => contexts.get(contextKey(d)),
    peekRuleContext: (d) => contexts.peek(contextKey(d)),
    siteName: async (siteId) => (siteId ? ((await site.get(siteId))?.name ?? siteId) : ''),
    siteTags: async (siteId) => (siteId ? ((await site.get(siteId))?.tags ?? {}) : {}),
    farmTimeZone: async (farmId) => (await farm.get(farmId))?.timezone ?? DEFAULT_TIME_ZONE,
    farmBiofix: async (farmId) => (await farm.get(farmId))?.biofix ?? {},
    get: device.get,
    peek: device.peek,
    byDevEui: (devEui) => byEui.get(devEui.toLowerCase()),
  }
  return directory
}
