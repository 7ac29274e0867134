import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Stack, startStack } from '../../harness/stack.ts'

/** The simulator's command line against the real broker and processor, as a user runs it. */
let stack: Stack
const root = join(import.meta.dirname, '../../..')

function sim(args: string[]) {
  const child = spawn(process.execPath, ['firmware-sim/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, TANI_DB: join(stack.dir, 'tani.db') },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString()
  })
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)))
  return { child, exited, stderr: () => stderr }
}

beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.stop()
})

describe('npm run sim -- scenario', () => {
  it('registers and plays a ready scenario at full speed, with a summary and exit status 0', async () => {
    const run = sim([
      'scenario',
      'duplicate-sends',
      '--register',
      '--speed',
      'max',
      '--mqtt-url',
      stack.mqttUrl,
      '--credentials',
      join(stack.dir, 'creds.json'),
    ])
    expect(await run.exited).toBe(0)
    expect(run.stderr()).toMatch(/registered farm sim-farm and 1 device/)
    expect(run.stderr()).toMatch(/finished: .*sent=\d+ acked=\d+ failed=0/)
    const sent = Number(/acked=(\d+)/.exec(run.stderr().split('finished:')[1] ?? '')?.[1])
    const duplicates = Number(
      /duplicates=(\d+)/.exec(run.stderr().split('finished:')[1] ?? '')?.[1],
    )
    await eventually(
      () => stack.count(`SELECT COUNT(seq) FROM pond_sensor WHERE device = 'pond-a-probe'`),
      (n) => n === sent - duplicates,
      'the scenario in InfluxDB',
    )
  })

  it('stops cleanly on Ctrl-C, saying what it sent', async () => {
    const run = sim([
      'scenario',
      'mekong-farm-day',
      '--register',
      '--speed',
      '600',
      '--mqtt-url',
      stack.mqttUrl,
      '--credentials',
      join(stack.dir, 'creds2.json'),
    ])
    await eventually(
      () => run.stderr(),
      (s) => s.includes('device(s), 1 event(s)'),
      'the run to start',
    )
    await new Promise((r) => setTimeout(r, 1500))
    run.child.kill('SIGINT')
    expect(await run.exited).toBe(0)
    expect(run.stderr()).toMatch(/stopping…/)
    expect(run.stderr()).toMatch(/stopped: .*failed=0/)
  })

  it('explains a bad scenario and exits 2', async () => {
    const run = sim(['scenario', 'no-such-scenario'])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toMatch(
      /no scenario file or ready scenario "no-such-scenario"; ready ones: .*cloudy-dawn-crash/,
    )
  })
})
