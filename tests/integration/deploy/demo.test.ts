import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/** The README's main command, minus the installs: readings reach InfluxDB; Ctrl-C stops all. */
const root = join(import.meta.dirname, '../../..')

describe('the demo (npm run demo)', () => {
  it('shows readings arriving in InfluxDB and stops cleanly on Ctrl-C', async () => {
    const data = await mkdtemp(join(tmpdir(), 'tani-demo-'))
    const child = spawn(process.execPath, ['deploy/demo.ts', '--interval', '0.5'], {
      cwd: root,
      env: {
        ...process.env,
        TANI_DATA_DIR: data,
        TANI_DEMO_REPORT_MS: '1000',
        // Free ports, whatever else runs on this machine.
        MQTT_PORT: '0',
        MQTT_WS_PORT: '0',
        OPS_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString()
    })
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)))
    try {
      const deadline = Date.now() + 45_000
      const stored = () =>
        Number(
          /readings in InfluxDB (\d+)/.exec(
            out
              .split('\n')
              .filter((l) => l.includes('readings in InfluxDB'))
              .at(-1) ?? '',
          )?.[1] ?? 0,
        )
      while (stored() < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
      expect(out).toMatch(/Tani is running/)
      expect(out).toMatch(/InfluxDB 1\.x {5}http:\/\/127\.0\.0\.1:\d+ {3}database "tani"/)
      expect(stored()).toBeGreaterThanOrEqual(10)
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      expect(out).toMatch(/Stopped\. Simulator: sent \d+, acknowledged \d+, failed 0\./)
    } finally {
      child.kill('SIGKILL')
      await rm(data, { recursive: true, force: true })
    }
  }, 90_000)
})
