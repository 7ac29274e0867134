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
}

const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh'

const MAX_CACHED = 200_000

export function createDeviceDirectory(store: Store, ttlMs = 30_000): DeviceDirectory {
  const byId = new Map<string, { device: Device | null; until: number }>()
  const byEui = new Map<string, { device: Device | null; until: number }>()
  const sites = new Map<string, { name: string; until: number }>()
  const zones = new Map<string, { zone: string; until: number }>()
  const biofixes = new Map<string, { biofix: Record<string, string>; until: number }>()
  const tags = new Map<string, { tags: Record<string, string>; until: number }>()

  async function cached(
    cache: typeof byId,
    key: string,
    load: () => Promise<Device | null>,
  ): Promise<Device | null> {
    const now = Date.now()
    const hit = cache.get(key)
    if (hit && hit.until > now) return hit.device
    const device = await load()
    if (cache.size > MAX_CACHED) cache.clear()
    cache.set(key, { device, until: now + ttlMs })
    return device
  }

  return {
    async siteName(siteId) {
      if (!siteId) return ''
      const now = Date.now()
      const hit = sites.get(siteId)
      if (hit && hit.until > now) return hit.name
      const name = (await store.getSite(siteId))?.name ?? siteId
      sites.set(siteId, { name, until: now + ttlMs })
      return name
    },
    async siteTags(siteId) {
      if (!siteId) return {}
      const now = Date.now()
      const hit = tags.get(siteId)
      if (hit && hit.until > now) return hit.tags
      const t = (await store.getSite(siteId))?.tags ?? {}
      tags.set(siteId, { tags: t, until: now + ttlMs })
      return t
    },
    async farmBiofix(farmId) {
      const now = Date.now()
      const hit = biofixes.get(farmId)
      if (hit && hit.until > now) return hit.biofix
      const biofix = (await store.getFarm(farmId))?.biofix ?? {}
      biofixes.set(farmId, { biofix, until: now + ttlMs })
      return biofix
    },
    async farmTimeZone(farmId) {
      const now = Date.now()
      const hit = zones.get(farmId)
      if (hit && hit.until > now) return hit.zone
      const zone = (await store.getFarm(farmId))?.timezone ?? DEFAULT_TIME_ZONE
      zones.set(farmId, { zone, until: now + ttlMs })
      return zone
    },
    get: (id) => cached(byId, id, () => store.getDevice(id)),
    byDevEui(devEui) {
      const key = devEui.toLowerCase()
      return cached(byEui, key, () => store.getDeviceByDevEui(key))
    },
  }
}
