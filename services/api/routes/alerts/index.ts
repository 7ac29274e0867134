import type { ApiApp, RouteContext } from '../../app.ts'

export async function alertRoutes(_app: ApiApp, _ctx: RouteContext) {}
