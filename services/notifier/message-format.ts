import type { NotificationLocale } from '../../shared/push.ts'
import type { Severity } from '../../shared/rules.ts'
import {
  adviceCatalog,
  type ConditionKind,
  type Localized,
  metricCatalog,
  metricFamilies,
  type Op,
  speciesCatalog,
  unitSuffixes,
} from './message-catalog.ts'
import { phrases } from './message-phrases.ts'

/** Locale tags for Intl: vi and id write a decimal comma and a dot between thousands. */
const intlLocale: Record<NotificationLocale, string> = { vi: 'vi-VN', id: 'id-ID', en: 'en-GB' }

const numberFormats = new Map<NotificationLocale, Intl.NumberFormat>()

/**
 * At most two decimals, but two significant digits for small values, so 0.0042 mg/L of
 * ammonia is not shown as 0.
 */
export function formatNumber(n: number, lang: NotificationLocale): string {
  let f = numberFormats.get(lang)
  if (!f) {
    f = new Intl.NumberFormat(intlLocale[lang], {
      maximumFractionDigits: 2,
      maximumSignificantDigits: 2,
      roundingPriority: 'morePrecision',
    })
    numberFormats.set(lang, f)
  }
  return f.format(n)
}

const partsOf = (iso: string, lang: NotificationLocale, timeZone: string) => {
  const parts = new Intl.DateTimeFormat(intlLocale[lang], {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    day: '2-digit',
    month: '2-digit',
  }).formatToParts(new Date(iso))
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? ''
  return { hour: get('hour'), minute: get('minute'), date: `${get('day')}/${get('month')}` }
}

/** Indonesian writes times with a dot (04.15), as Intl does for id-ID. */
export const clockTime = (hhmm: string, lang: NotificationLocale) =>
  lang === 'id' ? hhmm.replace(':', '.') : hhmm

/** Local time of day, HH:MM (04.15 in Indonesian). */
export function localClock(iso: string, lang: NotificationLocale, timeZone: string): string {
  const at = partsOf(iso, lang, timeZone)
  return clockTime(`${at.hour}:${at.minute}`, lang)
}

/**
 * The reading's local time (HH:MM), with its date when it is not the day the alert was
 * emitted (a backlog, a device silent since yesterday).
 */
export function formatReadingTime(
  readingTs: string,
  emittedAt: string,
  lang: NotificationLocale,
  timeZone: string,
): string {
  const at = partsOf(readingTs, lang, timeZone)
  const time = clockTime(`${at.hour}:${at.minute}`, lang)
  if (at.date === partsOf(emittedAt, lang, timeZone).date) return time
  return fill(phrases[lang].dated, { time, date: at.date })
}

/** Replaces `{name}` placeholders; an unknown one becomes empty rather than leaking braces. */
export function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template
    .replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '')
    .replace(/ {2,}/g, ' ')
    .trim()
}

const capitalise = (s: string) => s.charAt(0).toLocaleUpperCase() + s.slice(1)

/** "Oxy hòa tan" → "oxy hòa tan" inside a sentence; "pH", "NH3", "TAN" stay as they are. */
export const midSentence = (s: string) =>
  /^\p{Lu}\p{Ll}/u.test(s) ? s.charAt(0).toLocaleLowerCase() + s.slice(1) : s

/** Cuts at a word boundary with an ellipsis, for phone-sized notifications. */
export function clamp(s: string, max: number): string {
  if (s.length <= max) return s
  const cut = s.slice(0, max - 1)
  const space = cut.lastIndexOf(' ')
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).replace(/[\s,.;:–-]+$/, '')}…`
}

const speciesName = (species: string, lang: NotificationLocale) =>
  speciesCatalog[species]?.[lang] ?? species.replaceAll('_', ' ')

export type MetricLabel = {
  /** As it opens a sentence. */
  name: string
  /** Appended to a number: ' mg/L', '%', '°C', or ''. */
  unit: string
  /** The headline of an upward threshold crossing, for trap catches and degree-days. */
  high: string | null
}

/** Name and unit of a metric; an unknown metric keeps its raw name (and its suffix's unit). */
export function metricLabel(metric: string, lang: NotificationLocale): MetricLabel {
  const suffixUnit = unitSuffixes.find(([suffix]) => metric.endsWith(suffix))?.[1][lang] ?? ''
  if (Object.hasOwn(metricCatalog, metric)) {
    const entry: { name: Localized; unit?: Localized; high?: Localized } =
      metricCatalog[metric as keyof typeof metricCatalog]
    return {
      name: entry.name[lang],
      unit: entry.unit?.[lang] ?? suffixUnit,
      high: entry.high?.[lang] ?? null,
    }
  }
  const [family = '', species] = metric.split('.')
  const fam = metricFamilies[family]
  if (fam && species) {
    const words = { species: speciesName(species, lang) }
    return {
      name: capitalise(fill(fam.name[lang], words)),
      unit: fam.unit[lang],
      high: fam.high[lang].replace('{species}', words.species),
    }
  }
  return { name: metric, unit: suffixUnit, high: null }
}

/** The metric's name in `lang` (the raw metric name when the catalogue does not know it). */
export const metricName = (metric: string, lang: NotificationLocale) =>
  metricLabel(metric, lang).name

/** What to do about it, or '' when nothing obvious applies. */
export function adviceFor(
  metric: string,
  kind: ConditionKind,
  op: Op,
  severity: Severity,
  lang: NotificationLocale,
): string {
  const family = metric.split('.')[0] ?? metric
  const keys = [`${family}.${kind}`, `*.${kind}`, `${family}.${op}.${severity}`, `${family}.${op}`]
  // Sanity and no-data alerts are about the device, not the water: no water advice.
  const usable = kind === 'sanity' || kind === 'no_data' ? keys.slice(0, 2) : keys
  for (const k of usable) {
    const advice = adviceCatalog[k]
    if (advice) return advice[lang]
  }
  return ''
}
