import { describe, expect, it } from 'vitest'
import { startSimulation } from '../../../firmware-sim/simulator.ts'

// Port 1 on the loopback refuses connections: no broker is involved here (the
// broker round trips are covered by the integration tests).
const NO_BROKER = 'mqtt://127.0.0.1:1'

describe('startSimulation without a broker', () => {
  it('validates its options', () => {
    const devices = [{ id: 'p1', kind: 'pond_sensor' as const, secret: 's' }]
    expect(() => startSimulation({ mqttUrl: NO_BROKER, devices, intervalMs: 0 })).toThrow(
      /intervalMs/,
    )
    expect(() =>
      startSimulation({ mqttUrl: NO_BROKER, devices: [...devices, ...devices], intervalMs: 1000 }),
    ).toThrow(/listed twice/)
  })

  it('runs the simulated clock at the given speed and stops promptly', async () => {
    const sim = startSimulation({
      mqttUrl: NO_BROKER,
      devices: [{ id: 'p1', kind: 'pond_sensor', secret: 's' }],
      intervalMs: 1000,
      startTime: Date.UTC(2025, 0, 1),
      speed: 3600,
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(sim.now()).toBeGreaterThan(Date.UTC(2025, 0, 1) + 60_000)
    await expect(sim.publishNow('nope')).rejects.toThrow(/unknown device/)
    const waiting = sim.publishNow('p1')
    const started = Date.now()
    await sim.stop()
    expect(Date.now() - started).toBeLessThan(2000)
    await expect(waiting).rejects.toThrow(/stopping/)
    await sim.ready
    expect(sim.stats()).toEqual({ sent: 0, acknowledged: 0, failed: 0, connected: 0, refused: 0 })
  })
})
