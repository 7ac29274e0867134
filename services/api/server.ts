import type { AddressInfo } from 'node:net'
import { type ApiConfig, type ApiDeps, buildApp, defaultApiConfig } from './app.ts'

export type Api = { port: number; url: string; stop(): Promise<void> }

/** Builds the API and listens; `stop` closes it (connections included). */
export async function startApi(
  config: { host: string; port: number } & Partial<ApiConfig>,
  deps: ApiDeps,
): Promise<Api> {
  const { host, port, ...rest } = config
  const app = await buildApp(deps, { ...defaultApiConfig, ...rest })
  await app.listen({ host, port })
  const address = app.server.address() as AddressInfo
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`
  app.log.info({ url, docs: `${url}/docs` }, 'HTTP API listening')
  return {
    port: address.port,
    url,
    async stop() {
      await app.close()
    },
  }
}
