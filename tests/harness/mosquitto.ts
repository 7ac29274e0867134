import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accepts, freePort } from './ports.ts'

/**
 * Debian's Mosquitto on a free loopback port with its own config, for the processor's
 * external-broker case. Anonymous access: the ACL case is the embedded broker's.
 */
/**
 * A loopback Mosquitto's configuration: anonymous, no persistence, a subscriber may hold
 * as many QoS 1 messages in flight as it can take. `maxQueued` 0: a persistent session's
 * queue is unbounded (in messages and bytes).
 */
export function mosquittoConfig(port: number, maxQueued: number): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    `max_queued_messages ${maxQueued}`,
    ...(maxQueued === 0 ? ['max_queued_bytes 0'] : []),
    'max_inflight_messages 0',
    'log_dest stderr',
    'log_type error',
  ].join('\n')
}

export type MosquittoHandle = { url: string; port: number; stop(): Promise<void> }

export async function startMosquitto(): Promise<MosquittoHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'tani-mosquitto-'))
  for (let attempt = 0; ; attempt++) {
    // Mosquitto cannot listen on port 0 and report it, so a free port is chosen first;
    // if another process takes it meanwhile, try again.
    const port = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    await writeFile(conf, mosquittoConfig(port, 100_000))
    let stderr = ''
    const child: ChildProcess = spawn('mosquitto', ['-c', conf], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString()
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const kill = () => child.kill('SIGKILL')
    process.once('exit', kill)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && child.exitCode === null && !(await accepts(port)))
      await new Promise((r) => setTimeout(r, 50))
    if (child.exitCode === null && (await accepts(port))) {
      return {
        url: `mqtt://127.0.0.1:${port}`,
        port,
        async stop() {
          process.removeListener('exit', kill)
          child.kill('SIGTERM')
          await exited
          await rm(dir, { recursive: true, force: true })
        },
      }
    }
    kill()
    await exited
    if (attempt >= 3) {
      await rm(dir, { recursive: true, force: true })
      throw new Error(
        `mosquitto did not start (install it with apt-get install -y mosquitto): ${stderr}`,
      )
    }
  }
}
