/**
 * The scenario's event log and the questions the physics asks of it: which event of a kind
 * is active at a time, and where events start or stop inside an integration step.
 */
import type { WorldEvent } from './types.ts'

type EventOf<T extends WorldEvent['type']> = Extract<WorldEvent, { type: T }>
type WindowEvent = Exclude<WorldEvent, { type: 'outbreak' }>

const endOf = (e: WindowEvent): number => e.toMs ?? Number.POSITIVE_INFINITY
const isActive = (e: WindowEvent, tMs: number): boolean => e.fromMs <= tMs && tMs < endOf(e)
const siteOf = (e: WorldEvent): string | undefined => ('siteId' in e ? e.siteId : undefined)

export type EventLog = {
  add(event: WorldEvent): void
  /** The last-added event of this kind active at tMs (for the site, if given). */
  active<T extends WindowEvent['type']>(
    type: T,
    tMs: number,
    siteId?: string,
  ): EventOf<T> | undefined
  /** All events of this kind active at tMs (for the site, if given). */
  allActive<T extends WindowEvent['type']>(type: T, tMs: number, siteId?: string): EventOf<T>[]
  /** Outbreaks of a site, in the order added. */
  outbreaks(siteId: string): EventOf<'outbreak'>[]
  /** Starts and ends of events of these kinds strictly inside (aMs, bMs). */
  breakpoints(types: WindowEvent['type'][], aMs: number, bMs: number, siteId?: string): number[]
}

export function createEventLog(): EventLog {
  const events: WorldEvent[] = []
  const windows = (type: WindowEvent['type'], siteId: string | undefined): WindowEvent[] =>
    events.filter(
      (e): e is WindowEvent => e.type === type && (siteId === undefined || siteOf(e) === siteId),
    )
  return {
    add(event) {
      events.push(event)
    },
    active(type, tMs, siteId) {
      const list = windows(type, siteId)
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i]
        if (e && isActive(e, tMs)) return e as EventOf<typeof type>
      }
      return undefined
    },
    allActive(type, tMs, siteId) {
      return windows(type, siteId).filter((e) => isActive(e, tMs)) as EventOf<typeof type>[]
    },
    outbreaks(siteId) {
      return events.filter(
        (e): e is EventOf<'outbreak'> => e.type === 'outbreak' && e.siteId === siteId,
      )
    },
    breakpoints(types, aMs, bMs, siteId) {
      const out: number[] = []
      for (const type of types) {
        for (const e of windows(type, siteId)) {
          if (e.fromMs > aMs && e.fromMs < bMs) out.push(e.fromMs)
          const end = endOf(e)
          if (end > aMs && end < bMs) out.push(end)
        }
      }
      return out
    },
  }
}
