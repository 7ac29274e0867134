import type { FaultMode, Scenario } from './scenario.ts'
import type { SensorDevice, SimReading } from './sensors.ts'
import type { Link } from './transport.ts'

export type SentReading = { deviceId: string; seq: number; ts: number; duplicate: boolean }

export type RunStats = {
  /** Readings handed to the broker (duplicates included), acknowledged, failed. */
  sent: number
  acknowledged: number
  failed: number
  duplicates: number
  /** Readings kept while offline, and sent later in batches. */
  backlogged: number
  /** Readings a full device memory had to drop. */
  backlogDropped: number
  faults: Partial<Record<FaultMode, number>>
  refused: number
  /** Device links connected now (LoRaWAN devices share their network server's). */
  connected: number
  simulatedMs: number
}

/** One simulated device while a scenario plays. */
export type Sim = {
  spec: Scenario['devices'][number]
  sensor: SensorDevice
  link: Link
  online: boolean
  backlog: SimReading[]
  skewMs: number
  duplicateProbability: number
  fCnt: number
  last: SimReading | null
}
