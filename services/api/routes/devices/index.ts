import type { ApiApp, RouteContext } from '../../app.ts'

export async function deviceRoutes(_app: ApiApp, _ctx: RouteContext) {}
