import type { FastifyRequest } from 'fastify'
import { z } from 'zod'
import { errorResponses, IdParams } from '../../../../shared/api/common.ts'
import {
  OptionalVersionQuery,
  RollbackBody,
  RuleQuery,
  RuleUpdateBody,
  RuleVersionParams,
  RuleVersionView,
} from '../../../../shared/api/rules.ts'
import { Rule } from '../../../../shared/index.ts'
import { type RuleChange, VersionConflictError } from '../../../store/repository.ts'
import type { ApiApp, RouteContext } from '../../app.ts'
import { type Principal, requireRole, who } from '../../auth.ts'
import { ApiError, invalid, notFound } from '../../errors.ts'
import {
  assertOwnRule,
  checkScope,
  liveRule,
  ownedBy,
  ruleDiff,
  ruleEditors,
  versionView,
  visibleRule,
} from '../../rule-changes.ts'
import { backtestRoute } from './backtest.ts'

const tag = ['rules']
const errors = errorResponses(400, 401, 403, 404, 409, 429)

/**
 * Rules of the caller's cooperative, each change a new version (author, time, diff) that
 * can be rolled back to. The processor re-reads the store's rules when they change, so a
 * change here applies within seconds, without a restart.
 */
export async function ruleRoutes(app: ApiApp, ctx: RouteContext) {
  const { store } = ctx

  async function commit(
    p: Principal,
    change: RuleChange,
    before: Rule | null,
    document: Rule,
    expectedVersion: number | undefined,
  ) {
    try {
      return await store.commitRuleChange({
        ruleId: document.id,
        change,
        author: p.user.login,
        document,
        diff: ruleDiff(before, change === 'delete' ? null : document),
        expectedVersion,
      })
    } catch (err) {
      if (err instanceof VersionConflictError) throw new ApiError('conflict', err.message)
      throw err
    }
  }

  /** The caller's own live rule, for a change: editors only, never a platform rule. */
  async function editableRule(req: FastifyRequest, id: string, action: string) {
    const p = requireRole(req, ruleEditors, action)
    const owned = await visibleRule(store, p, id)
    assertOwnRule(owned)
    return { p, owned }
  }

  app.get(
    '/rules',
    {
      schema: {
        tags: tag,
        summary: "Your cooperative's rules and the platform-wide ones",
        querystring: RuleQuery,
        response: { 200: z.array(Rule), ...errors },
      },
    },
    async (req) => {
      const p = who(req)
      const { kind, enabled } = req.query
      return (await store.listRules()).filter(
        (r) =>
          (r.scope.cooperative_id === undefined ||
            r.scope.cooperative_id === p.user.cooperativeId) &&
          (kind === undefined || r.scope.kind === kind) &&
          (enabled === undefined || r.enabled === enabled),
      )
    },
  )

  app.post(
    '/rules',
    {
      schema: {
        tags: tag,
        summary: 'Adds a rule for your cooperative (version 1)',
        body: Rule,
        response: { 201: Rule, ...errors },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, ruleEditors, 'change rules')
      const id = req.body.id
      // Ids are shared by every cooperative, and a deleted rule keeps its id for a rollback.
      if ((await store.getRule(id)) || (await store.listRuleVersions(id)).length > 0)
        throw new ApiError('conflict', `rule id ${id} is taken; choose another`)
      const document = ownedBy(req.body, p.user.cooperativeId)
      await checkScope(store, p.user.cooperativeId, document.scope, 'body.scope')
      const created = await commit(p, 'create', null, document, 0)
      req.log.info({ ruleId: id, by: p.user.id }, 'rule created')
      return reply.code(201).send(created.document)
    },
  )

  app.get(
    '/rules/:id',
    {
      schema: {
        tags: tag,
        summary: 'One rule as it stands',
        params: IdParams,
        response: { 200: Rule, ...errors },
      },
    },
    async (req) => liveRule(await visibleRule(store, who(req), req.params.id)),
  )

  app.put(
    '/rules/:id',
    {
      schema: {
        tags: tag,
        summary: 'Replaces a rule; send the version you edited (409 if it changed since)',
        params: IdParams,
        body: RuleUpdateBody,
        response: { 200: Rule, ...errors },
      },
    },
    async (req) => {
      const { p, owned } = await editableRule(req, req.params.id, 'change rules')
      const current = liveRule(owned)
      const { version, id, ...rest } = req.body
      if (id !== undefined && id !== current.id)
        throw invalid(
          'body.id',
          `is ${id} but the path names rule ${current.id}; ids do not change`,
        )
      if (version !== current.version)
        throw new ApiError(
          'conflict',
          `rule ${current.id} is at version ${current.version}, not ${version}: someone changed it; reload and apply your change again`,
        )
      const document = ownedBy({ ...rest, id: current.id, version }, p.user.cooperativeId)
      await checkScope(store, p.user.cooperativeId, document.scope, 'body.scope')
      if (ruleDiff(current, document).length === 0) return current
      return (await commit(p, 'update', current, document, version)).document
    },
  )

  for (const enabled of [true, false]) {
    const action = enabled ? 'enable' : 'disable'
    app.post(
      `/rules/:id/${action}`,
      {
        schema: {
          tags: tag,
          summary: enabled
            ? 'Turns a rule on (a new version); the processor applies it within seconds'
            : 'Turns a rule off (a new version); its open alerts are no longer judged',
          params: IdParams,
          querystring: OptionalVersionQuery,
          response: { 200: Rule, ...errors },
        },
      },
      async (req) => {
        const { p, owned } = await editableRule(req, req.params.id, `${action} rules`)
        const current = liveRule(owned)
        if (current.enabled === enabled) return current
        const document = { ...current, enabled }
        return (await commit(p, action, current, document, req.query.version)).document
      },
    )
  }

  app.delete(
    '/rules/:id',
    {
      schema: {
        tags: tag,
        summary: 'Deletes a rule; its history stays, and a rollback brings it back',
        params: IdParams,
        querystring: OptionalVersionQuery,
        response: { 200: RuleVersionView, ...errors },
      },
    },
    async (req) => {
      const { p, owned } = await editableRule(req, req.params.id, 'delete rules')
      const current = liveRule(owned)
      req.log.info({ ruleId: current.id, by: p.user.id }, 'rule deleted')
      return versionView(await commit(p, 'delete', current, current, req.query.version))
    },
  )

  app.get(
    '/rules/:id/versions',
    {
      schema: {
        tags: tag,
        summary: "A rule's history: each change with author, time and diff, oldest first",
        params: IdParams,
        response: { 200: z.array(RuleVersionView), ...errors },
      },
    },
    async (req) => {
      await visibleRule(store, who(req), req.params.id)
      return (await store.listRuleVersions(req.params.id)).map(versionView)
    },
  )

  app.get(
    '/rules/:id/versions/:version',
    {
      schema: {
        tags: tag,
        summary: 'One version of a rule',
        params: RuleVersionParams,
        response: { 200: RuleVersionView, ...errors },
      },
    },
    async (req) => {
      const { id, version } = req.params
      await visibleRule(store, who(req), id)
      const found = await store.getRuleVersion(id, version)
      if (!found) throw notFound(`version ${version} of rule ${id}`)
      return versionView(found)
    },
  )

  app.post(
    '/rules/:id/rollback',
    {
      schema: {
        tags: tag,
        summary: "Brings back an earlier version's document as a new version (undeletes, too)",
        params: IdParams,
        body: RollbackBody,
        response: { 200: RuleVersionView, ...errors },
      },
    },
    async (req) => {
      const { p, owned } = await editableRule(req, req.params.id, 'roll rules back')
      const target = await store.getRuleVersion(req.params.id, req.body.version)
      if (!target) throw notFound(`version ${req.body.version} of rule ${req.params.id}`)
      if (target.change === 'delete')
        throw invalid(
          'body.version',
          `version ${target.version} is the deletion; roll back to ${target.version - 1} for the rule as it was before it`,
        )
      const document = ownedBy(target.document, p.user.cooperativeId)
      const made = await commit(p, 'rollback', owned.current, document, owned.current?.version ?? 0)
      req.log.info({ ruleId: req.params.id, to: target.version, by: p.user.id }, 'rule rolled back')
      return versionView(made)
    },
  )

  backtestRoute(app, ctx)
}
