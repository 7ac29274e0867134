import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { mosquittoConfig } from '../../tests/harness/mosquitto.ts'
import { accepts } from '../../tests/harness/ports.ts'
import { freePort, sleep, spawnChild, tempDir } from './children.ts'

/**
 * Debian's Mosquitto for the external-broker shape, configured as in the integration
 * tests (tests/harness/mosquitto.ts) except that the queue of a persistent session is
 * unbounded: the drain and overload sections queue hundreds of thousands of readings,
 * and a capped queue would drop them at the broker, not in Tani.
 */
export type BenchMosquitto = { url: string; pid: number }

export async function startBenchMosquitto(): Promise<BenchMosquitto> {
  const dir = await tempDir('mosquitto')
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  await writeFile(conf, mosquittoConfig(port, 0))
  const child = spawnChild('mosquitto', 'mosquitto', { args: ['-c', conf] })
  const deadline = Date.now() + 10_000
  while (!(await accepts(port))) {
    if (Date.now() > deadline) throw new Error(`mosquitto did not start: ${child.stderrTail()}`)
    await sleep(50)
  }
  return { url: `mqtt://127.0.0.1:${port}`, pid: child.pid }
}

export function mosquittoVersion(): string {
  try {
    const out = execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: 'pipe' })
    return /version (\S+)/.exec(out)?.[1] ?? 'unknown'
  } catch (err) {
    // `mosquitto -h` exits 3 after printing its usage.
    const out = String((err as { stdout?: string }).stdout ?? '')
    return /version (\S+)/.exec(out)?.[1] ?? 'unknown'
  }
}
