import type { ApiApp, RouteContext } from '../../app.ts'

export async function opsRoutes(_app: ApiApp, _ctx: RouteContext) {}
