/**
 * A drip line: a scheduled valve, the pump-and-emitter hydraulics (with leaks and clogged
 * emitters), first-order flow and pressure ramps, and the delivered volume. Integrated
 * exactly between breakpoints (schedule edges, leak and clog starts and ends).
 */
import type { EventLog } from './events.ts'
import { DAY_MS, HOUR_MS, localDay, localHour, MINUTE_MS } from './time.ts'
import type { IrrigationSpec, IrrigationState } from './types.ts'

export type IrrigationVars = {
  /** Flow through the emitters (the leak is added on top), L/min. */
  emitterFlowLMin: number
  pressureBar: number
  volumeTotalL: number
}

/** Flow and pressure approach their targets with this time constant once the valve opens. */
const RAMP_MIN = 1
/** Pump shut-off pressure relative to the operating point (a flat centrifugal curve). */
const SHUTOFF_OVER_NOMINAL = 1.25
/** Wetted soil around one emitter, m² (30 cm spacing × ~1.3 m wetted strip). */
const WETTED_M2_PER_EMITTER = 0.4

export type DripLine = ReturnType<typeof createDripLine>

export function createDripLine(
  siteId: string,
  spec: IrrigationSpec,
  events: EventLog,
  utcOffsetMinutes: number,
) {
  const qn = spec.nominalFlowLMin
  const pn = spec.nominalPressureBar
  // Default: 2 L/h emitters summing to the nominal flow.
  const emitters = spec.emitters ?? Math.max(1, Math.round((qn * 60) / 2))
  const wettedAreaM2 = emitters * WETTED_M2_PER_EMITTER

  const valveOpen = (tMs: number): boolean => {
    const h = localHour(tMs, utcOffsetMinutes)
    return spec.schedule.some((w) => (((h - w.startLocalHour) % 24) + 24) % 24 < w.durationMin / 60)
  }

  const leakLMin = (tMs: number): number =>
    events.allActive('leak', tMs, siteId).reduce((sum, e) => sum + Math.max(0, e.litresPerMin), 0)

  const clogFraction = (tMs: number): number =>
    Math.min(1, Math.max(0, events.active('clog', tMs, siteId)?.fraction ?? 0))

  /**
   * Operating point with the valve open. Pump: P = Ps − Rs·Q (through Pn at Qn). Emitters are
   * orifices, Q = Qn·(1 − clog)·√(P/Pn); the leak draws its own rate. With s = √(P/Pn):
   * Pn·s² + Rs·Qn·(1 − clog)·s − (Ps − Rs·leak) = 0.
   */
  const operatingPoint = (leak: number, clog: number) => {
    const ps = SHUTOFF_OVER_NOMINAL * pn
    const rs = (ps - pn) / qn
    const b = rs * qn * (1 - clog)
    const c = Math.max(0, ps - rs * leak)
    const s = (-b + Math.sqrt(b * b + 4 * pn * c)) / (2 * pn)
    return { emitterFlowLMin: qn * (1 - clog) * s, pressureBar: pn * s * s }
  }

  const scheduleEdges = (aMs: number, bMs: number): number[] => {
    const out: number[] = []
    for (let d = localDay(aMs, utcOffsetMinutes) - 1; d <= localDay(bMs, utcOffsetMinutes); d++) {
      const dayStartMs = d * DAY_MS - utcOffsetMinutes * MINUTE_MS
      for (const w of spec.schedule) {
        const from = dayStartMs + w.startLocalHour * HOUR_MS
        for (const edge of [from, from + w.durationMin * MINUTE_MS]) {
          if (edge > aMs && edge < bMs) out.push(edge)
        }
      }
    }
    return out
  }

  const initial = (): IrrigationVars => ({ emitterFlowLMin: 0, pressureBar: 0, volumeTotalL: 0 })

  /** Advances from t0Ms by dtMs; returns the new state and the litres the emitters delivered. */
  const step = (v: IrrigationVars, t0Ms: number, dtMs: number) => {
    const t1Ms = t0Ms + dtMs
    const cuts = [
      t0Ms,
      t1Ms,
      ...scheduleEdges(t0Ms, t1Ms),
      ...events.breakpoints(['leak', 'clog'], t0Ms, t1Ms, siteId),
    ].sort((x, y) => x - y)
    let { emitterFlowLMin, pressureBar, volumeTotalL } = v
    let emittedL = 0
    for (let i = 1; i < cuts.length; i++) {
      const lo = cuts[i - 1] ?? t0Ms
      const hi = cuts[i] ?? t1Ms
      if (hi <= lo) continue
      const mid = (lo + hi) / 2
      const minutes = (hi - lo) / MINUTE_MS
      const leak = leakLMin(mid)
      volumeTotalL += leak * minutes
      if (!valveOpen(mid)) {
        // A closed valve stops the emitters at once and the line drains.
        emitterFlowLMin = 0
        pressureBar = 0
        continue
      }
      const target = operatingPoint(leak, clogFraction(mid))
      const decay = Math.exp(-minutes / RAMP_MIN)
      const litres =
        target.emitterFlowLMin * minutes +
        (emitterFlowLMin - target.emitterFlowLMin) * RAMP_MIN * (1 - decay)
      emittedL += litres
      volumeTotalL += litres
      emitterFlowLMin = target.emitterFlowLMin + (emitterFlowLMin - target.emitterFlowLMin) * decay
      pressureBar = target.pressureBar + (pressureBar - target.pressureBar) * decay
    }
    return { vars: { emitterFlowLMin, pressureBar, volumeTotalL }, emittedL }
  }

  const state = (v: IrrigationVars, tMs: number): IrrigationState => {
    const open = valveOpen(tMs)
    return {
      valveOpen: open,
      flowLMin: (open ? v.emitterFlowLMin : 0) + leakLMin(tMs),
      pressureBar: open ? v.pressureBar : 0,
      volumeTotalL: v.volumeTotalL,
    }
  }

  /** Depth of water, mm, that `litres` from the emitters put on the wetted soil. */
  const depthMm = (litres: number): number => litres / wettedAreaM2

  return { initial, step, state, depthMm }
}
