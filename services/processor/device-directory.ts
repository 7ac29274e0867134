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

/** A loader whose answers are kept for `ttlMs` (the registry changes rarely; revocations within it). */
function cachedLoader<V>(
  ttlMs: number,
  load: (key: string) => Promise<V>,
): (key: string) => Promise<V> {
  const cache = new Map<string, { value: V; until: number }>()
  return async (key) => {
    const now = Date.now()
    const hit = cache.get(key)
    if (hit && hit.until > now) return hit.value
    const value = await load(key)
    if (cache.size > MAX_CACHED) cache.clear()
    cache.set(key, { value, until: now + ttlMs })
    return value
  }
}

export function createDeviceDirectory(store: Store, ttlMs = 30_000): DeviceDirectory {
  const device = cachedLoader(ttlMs, (id) => store.getDevice(id))
  const byEui = cachedLoader(ttlMs, (eui) => store.getDeviceByDevEui(eui))
  // One read per site and per farm serves every fact the rules need of it.
  const site = cachedLoader(ttlMs, (id) => store.getSite(id))
  const farm = cachedLoader(ttlMs, (id) => store.getFarm(id))

  const directory: DeviceDirectory = {
    async ruleContext(d) {
      return {
        siteName: (await directory.siteName(d.siteId)) || (d.siteId ?? ''),
        siteTags: await directory.siteTags(d.siteId),
        timeZone: await directory.farmTimeZone(d.farmId),
        biofix: await directory.farmBiofix(d.farmId),
        cooperativeId: (await farm(d.farmId))?.cooperativeId,
      }
    },
    siteName: async (siteId) => (siteId ? ((await site(siteId))?.name ?? siteId) : ''),
    siteTags: async (siteId) => (siteId ? ((await site(siteId))?.tags ?? {}) : {}),
    farmTimeZone: async (farmId) => (await farm(farmId))?.timezone ?? DEFAULT_TIME_ZONE,
    farmBiofix: async (farmId) => (await farm(farmId))?.biofix ?? {},
    get: device,
    byDevEui: (devEui) => byEui(devEui.toLowerCase()),
  }
  return directory
}
