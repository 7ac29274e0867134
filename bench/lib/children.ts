import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/**
 * Everything the bench starts is registered here and stopped by `cleanupAll()` — at the
 * end of each section, on error, and on Ctrl-C. Children that outlive a crash of this
 * process are killed from its 'exit' handler.
 */

const cleanups: (() => Promise<void>)[] = []
const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

/** Runs the registered cleanups, newest first; never throws. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop() as () => Promise<void>
    await fn().catch((err: Error) =>
      process.stderr.write(`bench: cleanup failed: ${err.message}\n`),
    )
  }
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tani-bench-${prefix}-`))
  onCleanup(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export { freePort } from '../../tests/harness/ports.ts'

export type Child = {
  name: string
  pid: number
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  running(): boolean
  /** Last lines of stderr, for error messages. */
  stderrTail(): string
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  signal(sig: NodeJS.Signals): void
}

export type SpawnOptions = {
  args?: string[]
  env?: Record<string, string>
  /** Called with each stdout line. */
  onLine?: (line: string) => void
  /** Stops with the section (default true). */
  managed?: boolean
}

export function spawnChild(name: string, command: string, opts: SpawnOptions = {}): Child {
  const child = spawn(command, opts.args ?? [], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  })
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`)
  live.add(child)
  const tail: string[] = []
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => {
    tail.push(l)
    if (tail.length > 30) tail.shift()
  })
  const stdout = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  stdout.on('line', (l) => opts.onLine?.(l))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child)
      resolve(code)
    }),
  )
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  const handle: Child = {
    name,
    pid: child.pid,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
    stderrTail: () => tail.join('\n'),
    stop,
    signal: (sig) => child.kill(sig),
  }
  if (opts.managed !== false) onCleanup(() => stop())
  return handle
}

/** A TypeScript entry run by this Node (the repo's Node 24), with extra Node flags. */
export function spawnNode(
  name: string,
  script: string,
  opts: SpawnOptions & { nodeArgs?: string[] } = {},
): Child {
  return spawnChild(name, process.execPath, {
    ...opts,
    args: [...(opts.nodeArgs ?? []), script, ...(opts.args ?? [])],
  })
}

/** Polls `probe` until it returns non-null; throws with `what` after `timeoutMs`, or what `probe` throws. */
export async function waitFor<T>(
  probe: () => Promise<T | null> | T | null,
  what: string,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== null) return v
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
