declare module 'aedes-persistence-level' {
  import type { Readable } from 'node:stream'

  /** An aedes persistence backed by a LevelDB instance (callback-style facade). */
  export interface LevelPersistence {
    setup(broker: unknown): Promise<void>
    destroy(cb?: () => void): Promise<void> | undefined
    outgoingUpdate(client: { id: string }, packet: unknown): Promise<unknown>
    outgoingEnqueueCombi(subs: unknown, packet: unknown): Promise<unknown>
    /** The retained messages matching any of the patterns (aedes reads it on SUBSCRIBE). */
    createRetainedStreamCombi(patterns: string[]): Readable
  }
  /** A ClassicLevel, or services/broker/coalescing-level.ts's LevelLike in front of one. */
  export default function aedesPersistenceLevel(
    db: import('../services/broker/coalescing-level.ts').LevelLike,
  ): LevelPersistence
}
