import { readFileSync } from 'node:fs'

/**
 * CPU and memory of one process from /proc (Linux): CPU is utime+stime (clock ticks,
 * fields 14 and 15 of /proc/<pid>/stat) over wall time, so 100 % is one core; peak
 * memory is the kernel's high-water mark (VmHWM) and the highest VmRSS sampled.
 */

// USER_HZ is 100 on every Linux architecture Node runs on.
const TICKS_PER_SECOND = 100

export type ProcUsage = {
  /** Mean CPU over the window, % of one core. */
  cpuPercent: number
  /** Highest VmRSS sampled in the window, MB. */
  rssPeakMb: number
  /** VmHWM at the end of the window: the process's peak RSS since it started, MB. */
  hwmMb: number
  /** VmRSS at the end of the window, MB. */
  rssEndMb: number
}

export function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces; fields are counted after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

export function memoryOf(pid: number): { rssMb: number; hwmMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
    const rssMb = kb('VmRSS') / 1024
    const hwmMb = kb('VmHWM') / 1024
    // A process that has exited but not been reaped yet has no Vm* lines.
    return Number.isFinite(rssMb) && Number.isFinite(hwmMb) ? { rssMb, hwmMb } : null
  } catch {
    return null
  }
}

/** Watches a set of processes from now until `stop()`; samples RSS every `everyMs`. */
export function sampleProcesses(pids: Record<string, number>, everyMs = 500) {
  const start = Date.now()
  const first: Record<string, number> = {}
  const peak: Record<string, number> = {}
  const last: Record<string, { rssMb: number; hwmMb: number }> = {}
  const lastTicks: Record<string, number> = {}
  const series: { t: number; rssMb: Record<string, number> }[] = []
  const sample = () => {
    const row: Record<string, number> = {}
    for (const [name, pid] of Object.entries(pids)) {
      const m = memoryOf(pid)
      const ticks = cpuTicks(pid)
      if (ticks !== null) lastTicks[name] = ticks
      if (!m) continue
      last[name] = m
      peak[name] = Math.max(peak[name] ?? 0, m.rssMb)
      row[name] = m.rssMb
    }
    series.push({ t: Date.now() - start, rssMb: row })
  }
  for (const [name, pid] of Object.entries(pids)) first[name] = cpuTicks(pid) ?? 0
  sample()
  const timer = setInterval(sample, everyMs)
  return {
    /** RSS samples so far (for plots and the overload check). */
    series: () => series,
    stop(): Record<string, ProcUsage> {
      clearInterval(timer)
      sample()
      const seconds = (Date.now() - start) / 1000
      const out: Record<string, ProcUsage> = {}
      for (const name of Object.keys(pids)) {
        const ticks = (lastTicks[name] ?? 0) - (first[name] ?? 0)
        out[name] = {
          cpuPercent: round((ticks / TICKS_PER_SECOND / seconds) * 100, 0),
          rssPeakMb: round(peak[name] ?? 0, 1),
          hwmMb: round(last[name]?.hwmMb ?? 0, 1),
          rssEndMb: round(last[name]?.rssMb ?? 0, 1),
        }
      }
      return out
    },
  }
}

export const round = (x: number, digits = 0) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
