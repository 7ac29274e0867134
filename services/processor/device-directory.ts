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
/** A cached `null` (no such device) is an answer; this is "nothing held". */
const NOT_HELD = Symbol('not held')

type Cached<V> = {
  /** The answer, loading it when it is not held or too old. */
  get(key: string): Promise<V>
  /** The answer when held and fresh, without waiting (the common case per message). */
  peek(key: string): V | undefined
}

/**
 * A loader whose answers are kept for at most `ttlMs` (the registry changes rarely;
 * revocations take effect within it). Two generations instead of a timestamp per entry:
 * answers go into the current one, which becomes the previous one after half the TTL;
 * the previous one is dropped once its oldest answer is `ttlMs` old. A device gone quiet
 * so leaves the cache, and a held answer costs a map slot, nothing more.
 */
function cachedLoader<V>(ttlMs: number, load: (key: string) => Promise<V>): Cached<V> {
  let current = new Map<string, V>()
  let currentSince = Date.now()
  let previous = new Map<string, V>()
  let previousSince = currentSince
  function held(key: string): V | typeof NOT_HELD {
    const now = Date.now()
    if (now - currentSince >= ttlMs / 2) {
      previous = current
      previousSince = currentSince
      current = new Map()
      currentSince = now
    }
    if (previous.size > 0 && now - previousSince >= ttlMs) previous = new Map()
    // Answers are never undefined (an unknown device is held as null): one lookup each.
    const fresh = current.get(key)
    if (fresh !== undefined) return fresh
    const older = previous.get(key)
    return older === undefined ? NOT_HELD : older
  }
  return {
    peek: (key) => {
      const value = held(key)
      return value === NOT_HELD ? undefined : value
    },
    async get(key) {
      const value = held(key)
      if (value !== NOT_HELD) return value
      const loaded = await load(key)
      if (current.size >= MAX_CACHED) current = new Map()
      current.set(key, loaded)
      return loaded
    },
  }
}

/**
 * One copy of each farm id, site id and kind however many devices carry it: each row read
 * from SQLite brings its own copies, and with tens of thousands of devices held they add
 * up. The device's id is the one the cache is keyed by.
 */
function sharingStrings() {
  const held = new Map<string, string>()
  const one = <S extends string>(s: S): S => {
    const known = held.get(s)
    if (known !== undefined) return known as S
    if (held.size > MAX_CACHED) held.clear()
    held.set(s, s)
    return s
  }
  return (id: string, d: Device | null): Device | null =>
    d && {
      ...d,
      id,
      farmId: one(d.farmId),
      siteId: d.siteId === null ? null : one(d.siteId),
      kind: one(d.kind),
    }
}

export function createDeviceDirectory(store: Store, ttlMs = 30_000): DeviceDirectory {
  const shared = sharingStrings()
  const device = cachedLoader(ttlMs, async (id) => shared(id, await store.getDevice(id)))
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
