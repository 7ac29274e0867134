declare module 'aedes-persistence-level' {
  import type { ClassicLevel } from 'classic-level'

  /** An aedes persistence backed by a LevelDB instance (callback-style facade). */
  export interface LevelPersistence {
    setup(broker: unknown): Promise<void>
    destroy(cb?: () => void): Promise<void> | undefined
  }
  export default function aedesPersistenceLevel(db: ClassicLevel<string, Buffer>): LevelPersistence
}
