import diff from 'microdiff'
import { iso } from '../../shared/api/common.ts'
import type { BacktestEpisode, RuleDiffEntry, RuleVersionView } from '../../shared/api/rules.ts'
import type { AlertEvent, Rule } from '../../shared/index.ts'
import type { RuleVersion, Store } from '../store/repository.ts'
import type { Principal } from './auth.ts'
import { forbidden, invalid, notFound } from './errors.ts'

/** What rules routes share: who owns a rule, what a change changed, how history reads. */

export const ruleEditors = ['admin', 'agronomist'] as const

/**
 * The difference between two documents as microdiff entries (null: no rule). The version
 * number is left out: it changes every time and says nothing about what changed.
 */
export function ruleDiff(before: Rule | null, after: Rule | null): unknown[] {
  const plain = (r: Rule | null) => {
    if (!r) return {}
    const { version: _version, ...rest } = r
    return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>
  }
  return diff(plain(before), plain(after))
}

type StoredDiff = { type: RuleDiffEntry['type']; path: (string | number)[] } & {
  value?: unknown
  oldValue?: unknown
}

export function versionView(v: RuleVersion): RuleVersionView {
  return {
    version: v.version,
    change: v.change,
    author: v.author,
    at: iso(v.createdAt),
    diff: (v.diff as StoredDiff[]).map((d) => ({
      type: d.type,
      path: d.path,
      ...('value' in d ? { value: d.value } : {}),
      ...('oldValue' in d ? { old_value: d.oldValue } : {}),
    })),
    rule: v.document,
  }
}

export type OwnedRule = {
  /** The live rule; null when it was deleted. */
  current: Rule | null
  /** The live rule, or the last document of a deleted one. */
  document: Rule
  lastVersion: number
}

/**
 * A rule the caller may see: their cooperative's, or a platform-wide one. 404 when it never
 * existed, 403 when another cooperative's. Deleted rules are found through their history.
 */
export async function visibleRule(store: Store, p: Principal, id: string): Promise<OwnedRule> {
  const current = await store.getRule(id)
  const last = current ? null : (await store.listRuleVersions(id)).at(-1)
  const document = current ?? last?.document
  if (!document) throw notFound(`rule ${id}`)
  const owner = document.scope.cooperative_id
  if (owner !== undefined && owner !== p.user.cooperativeId)
    throw forbidden(`rule ${id} belongs to another cooperative`)
  return { current, document, lastVersion: current?.version ?? last?.version ?? 0 }
}

/** 403 for a platform-wide rule: cooperatives read those, operators change them. */
export function assertOwnRule(rule: OwnedRule) {
  if (rule.document.scope.cooperative_id === undefined)
    throw forbidden(
      `rule ${rule.document.id} is platform-wide and read-only for cooperatives; to adapt it, create your own rule with a new id (POST /rules)`,
    )
}

/** The live rule, or a 404 that says how to bring a deleted one back. */
export function liveRule(rule: OwnedRule): Rule {
  if (!rule.current)
    throw notFound(
      `rule ${rule.document.id} (deleted in version ${rule.lastVersion}; POST /rules/${rule.document.id}/rollback brings it back)`,
    )
  return rule.current
}

/**
 * Farms, sites and devices named in a scope must be the caller's cooperative's; the 400
 * names the field (`where` is e.g. "body.scope").
 */
export async function checkScope(
  store: Store,
  cooperativeId: string,
  scope: Rule['scope'],
  where: string,
) {
  const farms = new Set((await store.listFarms({ cooperativeId })).map((f) => f.id))
  const mine = "is not one of your cooperative's"
  for (const id of scope.farm_ids ?? [])
    if (!farms.has(id)) throw invalid(`${where}.farm_ids`, `farm ${id} ${mine} farms`)
  for (const id of scope.site_ids ?? []) {
    const site = await store.getSite(id)
    if (!site || !farms.has(site.farmId))
      throw invalid(`${where}.site_ids`, `site ${id} ${mine} sites`)
  }
  for (const id of scope.device_ids ?? []) {
    const device = await store.getDevice(id)
    if (!device || !farms.has(device.farmId))
      throw invalid(`${where}.device_ids`, `device ${id} ${mine} devices`)
  }
}

/** The document as the caller's cooperative's own. */
export const ownedBy = <R extends { scope: Rule['scope'] }>(rule: R, cooperativeId: string): R => ({
  ...rule,
  scope: { ...rule.scope, cooperative_id: cooperativeId },
})

/**
 * Alerts from firing to resolved, per device, from a backtest's events (oldest first).
 * Episodes over before `from` (seen only while warming up) are left out.
 */
export function episodesOf(events: readonly AlertEvent[], from: number): BacktestEpisode[] {
  const open = new Map<string, BacktestEpisode>()
  const out: BacktestEpisode[] = []
  for (const e of events) {
    if (e.state === 'firing' && e.reminder === 0) {
      const episode: BacktestEpisode = {
        alert_id: e.alert_id,
        device_id: e.device_id,
        farm_id: e.farm_id,
        site_id: e.site_id,
        fired_at: e.reading_ts,
        resolved_at: null,
        value: e.value,
        threshold: e.threshold,
      }
      open.set(e.alert_id, episode)
      out.push(episode)
    } else if (e.state === 'resolved') {
      const episode = open.get(e.alert_id)
      if (episode) episode.resolved_at = e.reading_ts
      open.delete(e.alert_id)
    }
  }
  return out
    .filter((x) => x.resolved_at === null || Date.parse(x.resolved_at) >= from)
    .sort((a, b) => a.device_id.localeCompare(b.device_id) || a.fired_at.localeCompare(b.fired_at))
}
