import { CsvError, parse } from 'csv-parse/sync'
import type { z } from 'zod'
import { batchColumns, MAX_BATCH_DEVICES, NewDeviceBody } from '../../shared/api/devices.ts'
import {
  type ProvisionedDevice,
  ProvisioningError,
  provisionDevices,
} from '../store/provisioning.ts'
import type { Store } from '../store/repository.ts'
import type { Principal } from './auth.ts'
import { ApiError } from './errors.ts'

/**
 * Checking and registering new devices, one or a batch. A batch is checked whole before
 * anything is registered, so a file with one bad row registers nothing and the answer
 * lists every bad row and column at once.
 */

/** One device to register, with what to call it in messages ("row 3", "body"). */
export type Candidate = { label: string; raw: Record<string, unknown>; extraCells?: string }
export type Problem = {
  field: string
  message: string
  kind: 'invalid' | 'forbidden' | 'not_found' | 'conflict'
}

const tooMany = (n: number) =>
  new ApiError(
    'payload_too_large',
    `a batch holds at most ${MAX_BATCH_DEVICES} devices; this one has ${n}: split it`,
  )
const bodyError = (message: string) =>
  new ApiError('invalid_request', `body: ${message}`, [{ field: 'body', message }])

/** CSV rows, numbered as a spreadsheet shows them (the header is row 1). */
export function candidatesFromCsv(text: string): Candidate[] {
  let records: { record: string[]; info: { lines: number } }[]
  try {
    records = parse(text, {
      info: true,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as typeof records
  } catch (err) {
    if (err instanceof CsvError) throw bodyError(`the CSV does not parse: ${err.message}`)
    throw err
  }
  const [head, ...rows] = records
  if (!head)
    throw bodyError(`the CSV is empty; start with the header row ${batchColumns.join(',')}`)
  const columns = head.record.map((c) => c.toLowerCase())
  const known: readonly string[] = batchColumns
  const problems = [
    ...columns.filter((c) => !known.includes(c)).map((c) => `unknown column "${c}"`),
    ...columns.filter((c, i) => columns.indexOf(c) !== i).map((c) => `column ${c} appears twice`),
    ...['kind', 'farm_id'].filter((c) => !columns.includes(c)).map((c) => `column ${c} is missing`),
  ]
  if (problems.length > 0)
    throw new ApiError(
      'invalid_request',
      `header: ${problems.join('; ')}; the columns are ${batchColumns.join(',')}`,
      problems.map((message) => ({ field: 'header', message })),
    )
  if (rows.length === 0) throw bodyError('the CSV has no devices under its header row')
  if (rows.length > MAX_BATCH_DEVICES) throw tooMany(rows.length)
  return rows.map(({ record, info }) => {
    const raw: Record<string, unknown> = {}
    columns.forEach((c, i) => {
      raw[c] = record[i]
    })
    const extraCells =
      record.length > columns.length
        ? `${record.length} cells but the header has ${columns.length} columns`
        : undefined
    return { label: `row ${info.lines}`, raw, ...(extraCells ? { extraCells } : {}) }
  })
}

export function candidatesFromJson(devices: Record<string, unknown>[]): Candidate[] {
  if (devices.length === 0) throw bodyError('devices is empty: send at least one device')
  if (devices.length > MAX_BATCH_DEVICES) throw tooMany(devices.length)
  return devices.map((raw, i) => ({ label: `body.devices.${i}`, raw }))
}

/** Empty cells and nulls mean "not given". */
const given = (raw: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== '' && v !== null))

const issues = (label: string, error: z.ZodError): Problem[] =>
  error.issues.map((i) => ({
    field: [label, ...i.path.map(String)].join('.'),
    message: i.message,
    kind: 'invalid',
  }))

/** What is wrong with one device against the registry, as fields of `label`. */
export async function registryProblems(
  store: Store,
  p: Principal,
  label: string,
  d: NewDeviceBody,
): Promise<Problem[]> {
  const out: Problem[] = []
  const at = (column: string) => `${label}.${column}`
  const farm = await store.getFarm(d.farm_id)
  if (!farm || farm.cooperativeId !== p.user.cooperativeId || !p.farmIds.has(farm.id)) {
    out.push(
      farm
        ? {
            field: at('farm_id'),
            message: `you do not have access to farm ${d.farm_id}`,
            kind: 'forbidden',
          }
        : { field: at('farm_id'), message: `farm ${d.farm_id} does not exist`, kind: 'not_found' },
    )
    return out
  }
  if (d.site_id) {
    const site = await store.getSite(d.site_id)
    if (!site || site.farmId !== d.farm_id)
      out.push({
        field: at('site_id'),
        message: `site ${d.site_id} is not one of farm ${d.farm_id}'s sites (GET /farms/${d.farm_id} lists them)`,
        kind: 'invalid',
      })
  }
  if (d.id && (await store.getDevice(d.id)))
    out.push({
      field: at('id'),
      message: `device ${d.id} is already registered; choose another id or leave it out`,
      kind: 'conflict',
    })
  if (d.dev_eui) {
    const holder = await store.getDeviceByDevEui(d.dev_eui)
    if (holder)
      out.push({
        field: at('dev_eui'),
        // Another cooperative's device ids are none of the caller's business.
        message: `DevEUI ${d.dev_eui} is already registered to ${p.farmIds.has(holder.farmId) ? `device ${holder.id}` : 'another device'}`,
        kind: 'conflict',
      })
  }
  return out
}

/** Checks every candidate; returns them all, or throws one error listing every problem. */
export async function checkBatch(
  store: Store,
  p: Principal,
  candidates: Candidate[],
): Promise<NewDeviceBody[]> {
  const problems: Problem[] = []
  const ok: NewDeviceBody[] = []
  const ids = new Map<string, string>()
  const euis = new Map<string, string>()
  for (const c of candidates) {
    if (c.extraCells) {
      problems.push({ field: c.label, message: `has ${c.extraCells}`, kind: 'invalid' })
      continue
    }
    const parsed = NewDeviceBody.safeParse(given(c.raw))
    if (!parsed.success) {
      problems.push(...issues(c.label, parsed.error))
      continue
    }
    const d = parsed.data
    problems.push(...(await registryProblems(store, p, c.label, d)))
    const twice = (seen: Map<string, string>, key: string | undefined, column: string) => {
      if (!key) return
      const first = seen.get(key)
      if (first)
        problems.push({
          field: `${c.label}.${column}`,
          message: `${key} is also in ${first}`,
          kind: 'invalid',
        })
      else seen.set(key, c.label)
    }
    twice(ids, d.id, 'id')
    twice(euis, d.dev_eui?.toLowerCase(), 'dev_eui')
    ok.push(d)
  }
  if (problems.length === 0) return ok
  const forbidden = problems.some((x) => x.kind === 'forbidden')
  const message = problems.map((x) => `${x.field}: ${x.message}`).join('; ')
  throw new ApiError(
    forbidden ? 'forbidden' : 'invalid_request',
    `nothing was registered; fix these and send the whole batch again: ${message}`,
    problems.map(({ field, message }) => ({ field, message })),
  )
}

/** Registers checked devices, all or none, through the same code as the CLI. */
export async function registerAll(
  store: Store,
  devices: readonly NewDeviceBody[],
  where: 'body' | 'batch',
): Promise<ProvisionedDevice[]> {
  try {
    return await provisionDevices(
      store,
      devices.map((d) => ({
        farmId: d.farm_id,
        siteId: d.site_id ?? null,
        kind: d.kind,
        id: d.id,
        name: d.name,
        devEui: d.dev_eui ?? null,
      })),
    )
  } catch (err) {
    if (!(err instanceof ProvisioningError)) throw err
    // Checked just before; these are races with another registration, or what the checks missed.
    if (/already registered|meanwhile/.test(err.message))
      throw new ApiError('conflict', err.message)
    const column = /DevEUI/.test(err.message)
      ? 'dev_eui'
      : /site/.test(err.message)
        ? 'site_id'
        : 'id'
    const field = `${where}.${column}`
    throw new ApiError('invalid_request', `${field}: ${err.message}`, [
      { field, message: err.message },
    ])
  }
}
