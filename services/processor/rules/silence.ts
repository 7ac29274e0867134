import { median } from 'simple-statistics'
import { parseDuration } from '../../../shared/duration.ts'
import type { NoDataCondition } from '../../../shared/index.ts'
import type { Device } from '../../store/repository.ts'

/**
 * When each device was last heard from, and how often it usually reports, for the
 * no-data condition. Silence is measured on the processor's clock (arrivals), since a
 * silent device sends no timestamps; the usual interval comes from the devices' own
 * timestamps (a backlog does not make a device look chatty).
 */
export type HeardFrom = {
  device: Device
  siteName: string
  siteTags: Record<string, string>
  cooperativeId?: string
  timeZone: string
  lastArrivalMs: number
  lastTs: number
  lastSeq: number
  /** The last few gaps between readings; null until there is one (an idle device has none). */
  gaps: number[] | null
}

const GAPS_KEPT = 8

export function createSilenceWatch() {
  const heard = new Map<string, HeardFrom>()
  return {
    seen(
      siteTags: Record<string, string>,
      cooperativeId: string | undefined,
      device: Device,
      reading: { ts: number; seq: number },
      arrivalMs: number,
      siteName: string,
      timeZone: string,
    ) {
      const h = heard.get(device.id)
      if (!h) {
        heard.set(device.id, {
          device,
          siteName,
          siteTags,
          cooperativeId,
          timeZone,
          lastArrivalMs: arrivalMs,
          lastTs: reading.ts,
          lastSeq: reading.seq,
          gaps: null,
        })
        return
      }
      h.device = device
      h.siteTags = siteTags
      h.cooperativeId = cooperativeId
      h.lastArrivalMs = Math.max(h.lastArrivalMs, arrivalMs)
      if (reading.ts > h.lastTs) {
        h.gaps ??= []
        h.gaps.push(reading.ts - h.lastTs)
        if (h.gaps.length > GAPS_KEPT) h.gaps.shift()
        h.lastTs = reading.ts
        h.lastSeq = reading.seq
      }
    },
    /** How long the device may stay silent under the condition; null while unknown. */
    limitMs(c: NoDataCondition, h: HeardFrom): number | null {
      const after = c.after ? parseDuration(c.after) : 0
      if (c.missed_readings === undefined) return after
      if (!h.gaps || h.gaps.length < 2) return c.after ? after : null
      return Math.max(after, c.missed_readings * median(h.gaps))
    },
    devices: () => heard.values(),
    get: (deviceId: string) => heard.get(deviceId),
  }
}
