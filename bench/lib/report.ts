/**
 * What each section hands back: figures for the table (with a target where the issue
 * sets one) and the details that go to the JSON file only.
 */
export type Figure = {
  section: string
  label: string
  value: number | string | null
  unit: string
  target?: string
  /** null when there is a target but no figure to judge (section skipped or failed). */
  pass?: boolean | null
}

export type SectionResult = {
  section: string
  figures: Figure[]
  details: Record<string, unknown>
  error?: string
}

export type BenchContext = {
  quick: boolean
  durationMs: number
  soakMs: number
  /** Devices in the ingest sections (the issue's 10k). */
  devices: number
  scaleDevices: number[]
  cpuProfileDir: string | null
  log: (s: string) => void
  /** Figures of sections that ran before (the alert section reads the ingest rate). */
  earlier: SectionResult[]
}

export function figure(
  section: string,
  label: string,
  value: number | string | null,
  unit: string,
  check?: { target: string; pass: (v: number) => boolean },
): Figure {
  const f: Figure = { section, label, value, unit }
  if (check) {
    f.target = check.target
    f.pass = typeof value === 'number' ? check.pass(value) : null
  }
  return f
}

const fmt = (v: Figure['value']) =>
  v === null ? '—' : typeof v === 'number' ? v.toLocaleString('en-US') : v

/** A plain-text table: figure, value, target, verdict. Also valid Markdown. */
export function table(results: SectionResult[]): string {
  const rows: string[][] = [['Section', 'Figure', 'Value', 'Target', '']]
  for (const r of results) {
    if (r.error) rows.push([r.section, 'error', r.error.slice(0, 80), '', 'FAIL'])
    for (const f of r.figures)
      rows.push([
        f.section,
        f.label,
        `${fmt(f.value)}${f.unit && f.value !== null ? ` ${f.unit}` : ''}`,
        f.target ?? '',
        f.pass === undefined ? '' : f.pass === null ? 'n/a' : f.pass ? 'pass' : 'FAIL',
      ])
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`
  return [line(rows[0] ?? []), sep, ...rows.slice(1).map(line)].join('\n')
}

export function usageFigures(
  section: string,
  usage: Record<string, { cpuPercent: number; hwmMb: number }>,
): Figure[] {
  return Object.entries(usage).flatMap(([name, u]) => [
    figure(section, `${name} CPU`, u.cpuPercent, '% of a core'),
    figure(section, `${name} peak RSS`, u.hwmMb, 'MB'),
  ])
}
