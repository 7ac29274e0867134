import type { ApiApp, RouteContext } from '../../app.ts'

export async function readingRoutes(_app: ApiApp, _ctx: RouteContext) {}
