import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { cleanupAll } from './lib/children.ts'
import { mosquittoVersion } from './lib/mosquitto.ts'
import { type ProfileSummary, profilesIn, summarizeProfileFile } from './lib/profile-summary.ts'
import { type BenchContext, type SectionResult, table } from './lib/report.ts'
import { alertSection } from './sections/alerts.ts'
import { drain } from './sections/drain.ts'
import { overload } from './sections/overload.ts'
import { scale, soak } from './sections/scale.ts'
import { throughput } from './sections/throughput.ts'

/**
 * `npm run bench`: end-to-end throughput, drain, overload, alert latency, scale and soak,
 * next to the raw broker and a minimal reference pipeline measured in the same run.
 * Prints a table, writes JSON (--out). See README "Benchmarks".
 */
const USAGE = `Usage: npm run bench -- [options]
  --quick              smoke run: 10 s windows, 1k/5k devices, 20 s soak
  --only <a,b,...>     sections: ingest-aedes, ingest-mosquitto, drain, overload, alerts, scale, soak
  --duration <s>       sustained window of the throughput and overload sections (default 60)
  --soak <s>           length of the no-growth run (default 60; the issue's figure is 600)
  --profile            write CPU profiles of Tani (node --cpu-prof) to bench/results/profiles
  --out <file>         JSON results (default bench/results/latest.json)`

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    duration: { type: 'string' },
    soak: { type: 'string' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/latest.json' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const sections: Record<string, (ctx: BenchContext) => Promise<SectionResult>> = {
  'ingest-aedes': (ctx) => throughput(ctx, 'aedes'),
  'ingest-mosquitto': (ctx) => throughput(ctx, 'mosquitto'),
  drain,
  overload,
  alerts: alertSection,
  scale,
  soak,
}
const only = values.only?.split(',').map((s) => s.trim()) ?? Object.keys(sections)
for (const name of only)
  if (!sections[name]) {
    process.stderr.write(`unknown section "${name}"\n${USAGE}\n`)
    process.exit(2)
  }

const started = Date.now()
const log = (s: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${s}\n`)
const quick = values.quick
const profileDir = values.profile
  ? `bench/results/profiles/${new Date().toISOString().replace(/[:.]/g, '-')}`
  : null
const ctx: BenchContext = {
  quick,
  durationMs: Number(values.duration ?? (quick ? 10 : 60)) * 1000,
  soakMs: Number(values.soak ?? (quick ? 20 : 60)) * 1000,
  devices: quick ? 5_000 : 10_000,
  scaleDevices: quick ? [1_000, 5_000] : [1_000, 10_000, 50_000],
  cpuProfileDir: profileDir,
  log,
  earlier: [],
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(cmd, args, { encoding: 'utf8' }))?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/** The newest source file of what is measured: with no commit id at hand, it dates the code. */
function newestSource(dirs: string[]): string {
  let newest = 0
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name)
      if (e.isDirectory()) walk(path)
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  for (const d of dirs) walk(d)
  return new Date(newest).toISOString()
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  influxd: version('influxd', ['version'], /InfluxDB (v\S+)/),
  mosquitto: mosquittoVersion(),
  date: new Date().toISOString(),
  sourcesModified: newestSource(['services', 'shared', 'firmware-sim']),
}

let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  log('interrupted: stopping everything')
  cleanupAll().finally(() => process.exit(130))
})

log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`)
if (profileDir) mkdirSync(profileDir, { recursive: true })
for (const name of only) {
  const run = sections[name] as (ctx: BenchContext) => Promise<SectionResult>
  log(`— ${name}`)
  let result: SectionResult
  try {
    result = await run(ctx)
  } catch (err) {
    log(`${name} failed: ${(err as Error).stack ?? err}`)
    result = { section: name, figures: [], details: {}, error: (err as Error).message }
  } finally {
    await cleanupAll()
  }
  ctx.earlier.push(result)
  if (interrupted) break
}

// CPU profiles of Tani (--profile: ingest and drain sections): where its time went.
const profiles: Record<string, ProfileSummary> = {}
if (profileDir)
  for (const dir of readdirSync(profileDir))
    for (const file of profilesIn(`${profileDir}/${dir}`))
      profiles[file] = summarizeProfileFile(file, 12)
const profileText = Object.entries(profiles)
  .map(
    ([file, p]) =>
      `${file}\n${p.functions.map((f) => `  ${String(f.percent).padStart(5)} %  ${f.fn} [${f.area}]`).join('\n')}`,
  )
  .join('\n')

// The code measured must be one version: say so when it changed under the run.
const sourcesAtEnd = newestSource(['services', 'shared', 'firmware-sim'])
const changed = sourcesAtEnd !== machine.sourcesModified
if (changed) log(`WARNING: sources changed during the run (${sourcesAtEnd}); figures mix versions`)

const output = {
  machine,
  options: { quick, durationS: ctx.durationMs / 1000, soakS: ctx.soakMs / 1000, sections: only },
  elapsedS: Math.round((Date.now() - started) / 1000),
  sourcesChangedDuringRun: changed,
  figures: ctx.earlier.flatMap((r) => r.figures),
  sections: ctx.earlier,
  cpuProfiles: profiles,
}
mkdirSync(dirname(values.out), { recursive: true })
writeFileSync(values.out, `${JSON.stringify(output, null, 2)}\n`)
process.stdout.write(
  `\nTani benchmarks — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, Node ${machine.node}, influxd ${machine.influxd}, Mosquitto ${machine.mosquitto}, ${machine.date}; sources of ${machine.sourcesModified}${changed ? ' (CHANGED during the run)' : ''}\n\n${table(ctx.earlier)}\n${profileText ? `\nCPU profiles (self time):\n${profileText}\n` : ''}\nJSON: ${values.out} (${output.elapsedS} s)\n`,
)
process.exit(ctx.earlier.some((r) => r.error) ? 1 : 0)
