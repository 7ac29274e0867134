import SwaggerParser from '@apidevtools/swagger-parser'
import type { OpenAPIV3 } from 'openapi-types'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'

let w: ApiWorld
let doc: OpenAPIV3.Document
beforeAll(async () => {
  w = await startApiWorld()
  const res = await w.call('GET', '/docs/json')
  expect(res.statusCode).toBe(200)
  doc = res.json()
})
afterAll(() => w.close())

/** fastify writes `/devices/:id`, OpenAPI `/devices/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

describe('OpenAPI document at /docs', () => {
  it('is a valid OpenAPI 3 document', async () => {
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy()
    expect(doc.openapi).toMatch(/^3\./)
  })

  it('lists every route the API serves, each with a summary and its error answers', () => {
    const routes = w.app.routeTable
    expect(routes.length).toBeGreaterThan(30)
    const missing: string[] = []
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase() as OpenAPIV3.HttpMethods]
      if (!op) {
        missing.push(`${r.method} ${r.url}`)
        continue
      }
      expect(op.summary, `${r.method} ${r.url} summary`).toBeTruthy()
      const needsAuth = !(Array.isArray(op.security) && op.security.length === 0)
      if (needsAuth) expect(Object.keys(op.responses), `${r.method} ${r.url}`).toContain('401')
    }
    expect(missing).toEqual([])
  })

  it('documents request bodies from the shared zod schemas, with their constraints', () => {
    const body = doc.paths['/users']?.post?.requestBody as OpenAPIV3.RequestBodyObject
    const schema = body.content['application/json']?.schema as OpenAPIV3.SchemaObject
    const role = schema.properties?.role as OpenAPIV3.SchemaObject
    expect(role.enum).toEqual(['admin', 'technician', 'agronomist', 'farmer'])
    expect(schema.required).toEqual(expect.arrayContaining(['login', 'name', 'role']))
  })

  it('serves a browsable page', async () => {
    const res = await w.call('GET', '/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/html/)
  })
})
