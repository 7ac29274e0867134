import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../../../services/config.ts'

/**
 * No Docker engine here, so the compose file is checked rather than run: every Tani
 * service's environment must be a configuration the services accept.
 */
type Service = { environment?: Record<string, string>; profiles?: string[]; entrypoint?: string[] }
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>
}

const substitute = (v: string) =>
  String(v).replace(/\$\{(\w+)(?::?[-?][^}]*)?\}/g, (_m, name: string) =>
    name.endsWith('_SECRET')
      ? 'a-secret-of-enough-length'
      : name.endsWith('_URL')
        ? 'http://localhost:8080'
        : name === 'VAPID_SUBJECT'
          ? 'mailto:ops@tani.example'
          : 'x',
  )

describe('docker-compose.yml', () => {
  it('runs broker, processor, API and notifier from the same image with configurations the services accept', () => {
    for (const name of ['broker', 'processor', 'api', 'notifier']) {
      const env = Object.fromEntries(
        Object.entries(compose.services[name]?.environment ?? {}).map(([k, v]) => [
          k,
          substitute(v),
        ]),
      )
      const config = loadConfig(env)
      expect(config.TANI_SERVICES).toEqual([name])
      for (const key of Object.keys(env)) expect(Object.keys(ConfigSchema.shape)).toContain(key)
    }
    expect(compose.services.processor?.environment?.INFLUX_API).toBe('v2')
  })

  it('keeps the simulator behind the demo profile', () => {
    expect(compose.services.simulator?.profiles).toEqual(['demo'])
    expect(compose.services.simulator?.entrypoint).toEqual(['node', 'firmware-sim/cli.ts'])
  })
})
