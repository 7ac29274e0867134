import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import '../../../services/quiet-debug.ts'

type Logger = ((...args: unknown[]) => void) & { enabled: boolean; namespace: string }
type CreateDebug = ((ns: string) => Logger) & {
  enable(namespaces: string): void
  disable(): string
}

const here = createRequire(import.meta.url)
/** The `debug` that mqtt-packet requires, as mqtt.js and aedes each resolve it. */
const debugOf = (user: string) =>
  createRequire(createRequire(here.resolve(user)).resolve('mqtt-packet'))('debug') as CreateDebug

describe('quiet debug loggers for mqtt-packet', () => {
  it('gives a namespace that is off a logger that does nothing and gathers nothing', () => {
    for (const user of ['mqtt', 'aedes']) {
      const createDebug = debugOf(user)
      const log = createDebug('mqtt-packet:parser')
      expect(log.enabled).toBe(false)
      expect(log.namespace).toBe('mqtt-packet:parser')
      // No rest parameter: the call allocates no argument array.
      expect(log.toString()).not.toContain('...')
      expect(log('parse %o', { a: 1 })).toBeUndefined()
    }
  })

  it('gives a namespace that is on the real logger, through the package API on the wrapper', () => {
    const createDebug = debugOf('mqtt')
    const before = createDebug.disable()
    createDebug.enable('tani-test:*')
    try {
      const log = createDebug('tani-test:on')
      expect(log.enabled).toBe(true)
      expect(log.toString()).toContain('...args')
      expect(createDebug('tani-test-other').enabled).toBe(false)
    } finally {
      createDebug.disable()
      if (before) createDebug.enable(before)
    }
  })

  it('leaves mqtt-packet parsing packets as before', () => {
    const packet = here('mqtt-packet') as {
      parser(): { on(e: string, f: (p: unknown) => void): void; parse(b: Buffer): void }
      generate(p: object): Buffer
    }
    const parser = packet.parser()
    const got: unknown[] = []
    parser.on('packet', (p) => got.push(p))
    parser.parse(
      packet.generate({
        cmd: 'publish',
        topic: 'devices/x/up',
        payload: Buffer.from('{}'),
        qos: 1,
        messageId: 7,
      }),
    )
    expect(got).toMatchObject([{ cmd: 'publish', topic: 'devices/x/up', messageId: 7, qos: 1 }])
  })
})
