import { type ChildProcess, spawn } from 'node:child_process'
import { constants as fsConstants, rmSync, writeFileSync } from 'node:fs'
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { Logger } from '../log.ts'

export type InfluxdHandle = {
  url: string
  port: number
  dataDir: string
  stop(): Promise<void>
}

export type StartInfluxdOptions = {
  /** Keep data here across runs; when omitted a temp folder is used and removed on stop(). */
  dataDir?: string
  log?: Logger
  /** How long to wait for `/ping` to answer 204. */
  timeoutMs?: number
}

const STDERR_TAIL_LINES = 40

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      await access(candidate, fsConstants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

async function runningInfluxdPid(pidPath: string): Promise<number | undefined> {
  let pid: number
  try {
    pid = Number((await readFile(pidPath, 'utf8')).trim())
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    // A stale file may name a recycled pid; only a live influxd counts.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.includes('influxd') ? pid : undefined
  } catch {
    return undefined
  }
}

function tomlString(value: string): string {
  return JSON.stringify(value)
}

function renderConfig(dir: string): string {
  // Port 0 everywhere: the kernel picks free ports, so parallel runs never race for them.
  // The HTTP port is read back from influxd's "Listening on HTTP" log line, which is why
  // logging stays at info level; it is filtered on our side instead.
  return `reporting-enabled = false
bind-address = "127.0.0.1:0"

[meta]
  dir = ${tomlString(join(dir, 'meta'))}
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = ${tomlString(join(dir, 'data'))}
  wal-dir = ${tomlString(join(dir, 'wal'))}
  index-version = "inmem"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:0"
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true

[continuous_queries]
  enabled = false
  log-enabled = false
`
}

function childEnv(): NodeJS.ProcessEnv {
  // influxd lets INFLUXDB_* variables override the config file (e.g. INFLUXDB_HTTP_BIND_ADDRESS).
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('INFLUXDB_')) env[key] = value
  }
  return env
}

/** logfmt value of `key` in one influxd log line. */
function logField(line: string, key: string): string | undefined {
  const match = new RegExp(`(?:^| )${key}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(line)
  const raw = match?.[1]
  if (raw === undefined) return undefined
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit)
      resolve(false)
    }, ms)
    const onExit = (): void => {
      clearTimeout(timer)
      resolve(true)
    }
    child.once('exit', onExit)
  })
}

async function ping(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) })
    await res.body?.cancel()
    return res.status === 204
  } catch {
    return false
  }
}

/**
 * Starts Debian's influxd 1.x with its own config in a throw-away folder (or `dataDir`),
 * listening on 127.0.0.1 only, and resolves once `/ping` answers.
 */
export async function startInfluxd(opts: StartInfluxdOptions = {}): Promise<InfluxdHandle> {
  const log = opts.log
  const timeoutMs = opts.timeoutMs ?? 20_000
  const bin = await findOnPath('influxd')
  if (bin === undefined) {
    throw new Error('influxd not found on PATH: install it with apt-get install -y influxdb')
  }

  const ownsDir = opts.dataDir === undefined
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'tani-influxd-')))
  await mkdir(dataDir, { recursive: true })
  // influxd 1.6 takes no lock on its data folder: a second instance on the same dataDir starts
  // happily and the two corrupt each other, so keep our own pid file.
  const pidPath = join(dataDir, 'influxd.pid')
  const holder = await runningInfluxdPid(pidPath)
  if (holder !== undefined) {
    throw new Error(`another influxd (pid ${holder}) is already using ${dataDir}`)
  }
  const configPath = join(dataDir, 'influxd.conf')
  await writeFile(configPath, renderConfig(dataDir))

  // A process group of its own: Ctrl-C in a terminal signals the whole foreground group,
  // and influxd must outlive the processor's last writes (its owner stops it after them).
  const child = spawn(bin, ['run', '-config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: childEnv(),
    detached: true,
  })

  // If this process dies without calling stop(): 'exit' covers normal exits and uncaught
  // errors; the watchdog covers being killed by a signal (e.g. a test runner killing a worker),
  // because its stdin pipe closes when we die.
  const killOnExit = (): void => {
    child.kill('SIGKILL')
    if (ownsDir) {
      try {
        rmSync(dataDir, { recursive: true, force: true })
      } catch {}
    }
  }
  process.on('exit', killOnExit)
  let watchdog: ChildProcess | undefined
  if (child.pid !== undefined) {
    const script =
      'while read -r _; do :; done; kill -KILL "$1" 2>/dev/null; [ -n "$2" ] && sleep 0.2 && rm -rf "$2"'
    const args = ['-c', script, 'sh', String(child.pid), ownsDir ? dataDir : '']
    watchdog = spawn('/bin/sh', args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
    watchdog.on('error', () => {})
    watchdog.unref()
    const stdin = watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null
    stdin?.unref?.()
  }
  const stopWatchdog = (): void => {
    if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) {
      watchdog.kill('SIGKILL')
    }
  }

  // Sync on purpose: no await may sit between spawn() and the listeners below.
  if (child.pid !== undefined) writeFileSync(pidPath, `${child.pid}\n`)

  const tail: string[] = []
  let partial = ''
  let onHttpPort: ((port: number) => void) | undefined
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line === '') continue
      tail.push(line)
      if (tail.length > STDERR_TAIL_LINES) tail.shift()
      const lvl = logField(line, 'lvl')
      if (lvl === 'warn' || lvl === 'error') log?.warn({ influxd: line }, 'influxd')
      if (logField(line, 'msg') === 'Listening on HTTP') {
        const addr = logField(line, 'addr') ?? ''
        const port = Number(addr.slice(addr.lastIndexOf(':') + 1))
        if (Number.isInteger(port) && port > 0) onHttpPort?.(port)
      }
    }
  })

  let exited = false
  child.on('error', (err) => log?.error({ err }, 'influxd process error'))
  child.on('exit', () => {
    exited = true
    stopWatchdog()
    process.off('exit', killOnExit)
  })

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopWatchdog()
      if (!exited && child.pid !== undefined) {
        child.kill('SIGTERM')
        if (!(await waitForExit(child, 5000))) {
          log?.warn('influxd did not stop after SIGTERM, killing it')
          child.kill('SIGKILL')
          await waitForExit(child, 5000)
        }
      }
      process.off('exit', killOnExit)
      if (ownsDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 5 })
      else await rm(pidPath, { force: true })
    })()
    return stopping
  }

  const describeFailure = (why: string): Error =>
    new Error(`influxd ${why}; stderr tail:\n${[...tail, partial].join('\n').trim()}`)

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(describeFailure(`did not report its HTTP port within ${timeoutMs} ms`)),
        timeoutMs,
      )
      onHttpPort = (p) => {
        clearTimeout(timer)
        resolve(p)
      }
      child.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(describeFailure(`exited during startup (code ${code}, signal ${signal})`))
      })
    })
    const url = `http://127.0.0.1:${port}`
    const deadline = Date.now() + timeoutMs
    while (!(await ping(url))) {
      if (exited) throw describeFailure('exited during startup')
      if (Date.now() > deadline)
        throw describeFailure(`did not answer /ping within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
    log?.info({ url, dataDir, pid: child.pid }, 'influxd started')
    return { url, port, dataDir, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** `CREATE DATABASE` through InfluxQL (idempotent in InfluxDB 1.x). */
export async function createDatabase(url: string, db: string): Promise<void> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `CREATE DATABASE ${quoteIdentifier(db)}` }),
  })
  const text = await res.text()
  let error: string | undefined
  try {
    const body = JSON.parse(text) as { error?: string; results?: { error?: string }[] }
    error = body.error ?? body.results?.find((r) => r.error !== undefined)?.error
  } catch {
    if (!res.ok) error = text
  }
  if (!res.ok || error !== undefined) {
    throw new Error(`CREATE DATABASE ${db} failed (HTTP ${res.status}): ${error ?? text}`)
  }
}
