import type { ApiApp, RouteContext } from '../../app.ts'

export async function ruleRoutes(_app: ApiApp, _ctx: RouteContext) {}
