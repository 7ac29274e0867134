import { ErrorBody, iso } from '../../../../shared/api/common.ts'
import { BacktestBody, BacktestResponse } from '../../../../shared/api/rules.ts'
import { parseDuration } from '../../../../shared/duration.ts'
import type { Rule } from '../../../../shared/index.ts'
import type { InfluxQuery, InfluxSeries } from '../../../influx/client.ts'
import { createDeviceDirectory } from '../../../processor/device-directory.ts'
import { type BacktestDirectory, backtest } from '../../../processor/rules/backtest.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { requireRole } from '../../auth.ts'
import { ApiError, invalid } from '../../errors.ts'
import { checkScope, episodesOf, ownedBy } from '../../rule-changes.ts'

const DAY_MS = 86_400_000
/** About a season's quarter: enough to tune a rule, bounded so one request cannot scan years. */
const MAX_RANGE_DAYS = 92
/** The engine keeps at most 14 days of history per metric; more would not be judged. */
const MAX_WARM_UP_MS = 14 * DAY_MS

/** Technicians may backtest as well: it changes nothing and reads only their cooperative's data. */
const backtesters = ['admin', 'agronomist', 'technician'] as const

/**
 * Readings played before `from`, so the rule judges `from` as the live processor would
 * have: a judgement needs the condition's window (or hold) plus a night, and the
 * judgements just before `from` need theirs, hence twice that.
 */
function warmUpMs(c: Rule['condition']): number {
  const spans = [
    'window' in c ? parseDuration(c.window) : 0,
    c.type === 'sanity' && c.stuck_for ? parseDuration(c.stuck_for) : 0,
    c.type === 'threshold' && c.for ? parseDuration(c.for) : 0,
  ]
  return Math.min(MAX_WARM_UP_MS, 2 * (Math.max(...spans) + DAY_MS))
}

/**
 * POST /rules/backtest: a draft rule played over stored readings by the processor's own
 * engine (services/processor/rules/backtest.ts), on the caller's cooperative's devices only.
 */
export function backtestRoute(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx

  app.post(
    '/rules/backtest',
    {
      schema: {
        tags: ['rules'],
        summary:
          'When a draft rule would have fired and resolved on the stored readings (nothing is saved)',
        body: BacktestBody,
        response: {
          200: BacktestResponse,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req) => {
      const p = requireRole(req, backtesters, 'backtest rules')
      const { from, to } = req.body
      if (to <= from) throw invalid('body.to', 'must be after from')
      if (to - from > MAX_RANGE_DAYS * DAY_MS)
        throw invalid('body.to', `at most ${MAX_RANGE_DAYS} days after from; test a shorter range`)
      const rule = ownedBy(req.body.rule, p.user.cooperativeId)
      await checkScope(store, p.user.cooperativeId, rule.scope, 'body.rule.scope')

      const farms = await store.listFarms({ cooperativeId: p.user.cooperativeId })
      const ours = new Set<string>()
      for (const f of farms)
        for (const d of await store.listDevices({ farmId: f.id })) ours.add(d.id)
      // Other cooperatives' series are dropped as they arrive and their devices are unknown
      // to the replay: a backtest neither shows nor counts them.
      const inner = createDeviceDirectory(store)
      const devices: BacktestDirectory = {
        get: async (id) => (ours.has(id) ? inner.get(id) : null),
        ruleContext: (d) => inner.ruleContext(d),
      }
      const influx: InfluxQuery = {
        async query(q, params) {
          let series: InfluxSeries[]
          try {
            series = await ctx.influx.query(q, params)
          } catch (err) {
            req.log.warn({ err }, 'backtest: InfluxDB query failed')
            throw new ApiError(
              'unavailable',
              'the stored readings cannot be read now (InfluxDB does not answer); try again in a minute',
            )
          }
          return series.filter((s) => ours.has(s.tags?.device ?? ''))
        },
      }
      const result = await backtest({
        rule,
        from: from - (warmUpMs(rule.condition) - DAY_MS),
        to,
        influx,
        devices,
        farmIds: farms.map((f) => f.id),
      })
      return {
        from: iso(from),
        to: iso(to),
        events: result.events.filter((e) => Date.parse(e.reading_ts) >= from),
        episodes: episodesOf(result.events, from),
        readings: result.readings,
        devices: result.devices,
      }
    },
  )
}
