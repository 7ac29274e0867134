import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Where a `node --cpu-prof` profile spends its time: self time per function and per
 * area (a package under node_modules, a folder of ours, Node's internals, GC), so the
 * bench can say what limits the processor. `node bench/lib/profile-summary.ts <dir|file>`.
 */
type ProfileNode = {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export type ProfileSummary = {
  totalMs: number
  /** Share of samples, %, by area. */
  areas: { area: string; percent: number }[]
  /** The functions with the most self time. */
  functions: { fn: string; area: string; percent: number }[]
}

function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'garbage collection'
  if (fn === '(idle)') return 'idle'
  if (fn === '(program)') return 'V8 / native (program)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1] as string
  const ours = /\/(services\/[^/]+|shared|firmware-sim)\//.exec(url)
  if (ours) return ours[1] as string
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  return url ? url : fn ? 'native' : '(unknown)'
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt)
    total += dt
  })
  const areas = new Map<string, number>()
  const fns = new Map<string, { area: string; us: number }>()
  for (const [id, us] of selfUs) {
    const f = byId.get(id)?.callFrame
    if (!f) continue
    const area = areaOf(f.url, f.functionName)
    areas.set(area, (areas.get(area) ?? 0) + us)
    const file = f.url.split('/').slice(-2).join('/')
    const key =
      `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim()
    const entry = fns.get(key) ?? { area, us: 0 }
    entry.us += us
    fns.set(key, entry)
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10
  return {
    totalMs: Math.round(total / 1000),
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, percent: pct(us) })),
    functions: [...fns]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, e]) => ({ fn, area: e.area, percent: pct(e.us) })),
  }
}

export function summarizeProfileFile(path: string, top?: number): ProfileSummary {
  return summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, top)
}

/** The .cpuprofile files in a folder. */
export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
  } catch {
    return []
  }
}

if (import.meta.main) {
  const target = process.argv[2]
  if (!target) throw new Error('usage: node bench/lib/profile-summary.ts <file.cpuprofile|dir>')
  const files = target.endsWith('.cpuprofile') ? [target] : profilesIn(target)
  for (const file of files) {
    const s = summarizeProfileFile(file, Number(process.argv[3] ?? 20))
    process.stdout.write(`${file} (${s.totalMs} ms sampled)\n  by area:\n`)
    for (const a of s.areas)
      process.stdout.write(`    ${String(a.percent).padStart(5)} %  ${a.area}\n`)
    process.stdout.write('  by function (self time):\n')
    for (const f of s.functions)
      process.stdout.write(`    ${String(f.percent).padStart(5)} %  ${f.fn}  [${f.area}]\n`)
  }
}
