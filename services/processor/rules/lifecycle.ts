import { parseDuration } from '../../../shared/duration.ts'
import type { AlertEvent, Rule } from '../../../shared/index.ts'

/**
 * The life of one (rule, device) alert: ok → pending (condition met, `for` not yet) →
 * firing → resolved, in the device's time. One alert at a time per pair; its id is fixed
 * when it starts (pending or firing) so every event of it carries the same id.
 */
export type PairState = {
  phase: 'ok' | 'pending' | 'firing'
  alertId: string | null
  startedAt: number | null
  pendingSince: number | null
  lastTs: number
  /** When the alert last started firing (for the flapping guard). */
  starts: number[]
  /** Since when the condition has been clear while a flapping alert waits to settle. */
  clearSince: number | null
}

export const newPair = (): PairState => ({
  phase: 'ok',
  alertId: null,
  startedAt: null,
  pendingSince: null,
  lastTs: Number.NEGATIVE_INFINITY,
  starts: [],
  clearSince: null,
})

export function step(
  state: PairState,
  judged: { breached: boolean; cleared: boolean },
  ts: number,
  rule: Rule,
  holdForMs: number,
  newId: (startTs: number) => string,
): AlertEvent['state'] | null {
  if (state.phase === 'firing') {
    if (!judged.cleared) {
      state.clearSince = null
      return null
    }
    const guard = rule.flap_guard
    if (guard) {
      const within = parseDuration(guard.within)
      state.starts = state.starts.filter((t) => ts - t <= within)
      if (state.starts.length >= guard.changes) {
        state.clearSince ??= ts
        if (ts - state.clearSince < parseDuration(guard.settle)) return null
      }
    }
    state.phase = 'ok'
    state.clearSince = null
    return 'resolved'
  }
  if (!judged.breached) {
    const wasPending = state.phase === 'pending'
    state.phase = 'ok'
    state.pendingSince = null
    // A pending alert that never fired ends quietly, with the same id.
    return wasPending ? 'resolved' : null
  }
  if (state.phase === 'ok') {
    state.pendingSince = ts
    state.alertId = newId(ts)
    state.startedAt = ts
  }
  if (ts - (state.pendingSince ?? ts) >= holdForMs) {
    state.phase = 'firing'
    state.starts.push(ts)
    return 'firing'
  }
  if (state.phase === 'ok') {
    state.phase = 'pending'
    return 'pending'
  }
  return null
}
