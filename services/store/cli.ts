import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { DeviceKind, isValidId, Rule } from '../../shared/index.ts'
import { PEOPLE_HELP, PeopleUsageError, runPeopleCommand } from './cli-people.ts'
import { ProvisioningError, registerDevices, rotateServiceAccount } from './provisioning.ts'
import { type QuarantineReason, type SiteKind, type Store, serviceRoles } from './repository.ts'
import { openSqliteStore } from './sqlite-store.ts'

const HELP = `tani — control-plane administration

Usage: npm run tani -- <command> [options]      (store: --db, or TANI_DB, default data/tani.db)

${PEOPLE_HELP}  farm create --id ID --name NAME [--tz Asia/Ho_Chi_Minh] [--cooperative COOP (default: default)]
  farm list
  farm biofix FARM SPECIES DATE|clear   set a pest's biofix (YYYY-MM-DD, farm time) for degree-days
  site add --farm FARM --id ID --name NAME [--kind pond|field|orchard|greenhouse|other] [--lat N --lon N]
  site list --farm FARM
  site tag SITE KEY=VALUE [KEY=VALUE …]   e.g. crop_stage=tillering (replaces the site's tags)
  device register --farm FARM --kind KIND [--site SITE] [--count N | --id ID] [--name PREFIX]
                  [--dev-eui HEX] [--out FILE] [--mqtt-url URL]
      Prints each device's MQTT secret once (only its hash is stored). --out also writes
      them, with the broker URL, to FILE (mode 0600) for the simulator (firmware-sim).
      KIND: ${DeviceKind.options.join(', ')}
  device list [--farm FARM]
  device revoke ID
  service-account create NAME [--role processor|notifier|api|network-server|gateway]   prints a new secret
  rule add --file RULE.json       add or replace a rule (JSON, see shared/rules.ts)
  rule list
  alert list                      open (firing) alerts
  alert ack ALERT_ID --by NAME     acknowledge: reminders stop
  quarantine list [--reason REASON] [--limit N]
  quarantine stats
`

class UsageError extends Error {}

function describeCondition(c: Rule['condition']): string {
  switch (c.type) {
    case 'threshold':
      return `${c.metric} ${c.op} ${c.value}${c.for ? ` for ${c.for}` : ''}`
    case 'rate_of_change':
      return `${c.metric} ${c.direction} faster than ${c.per_hour}/h over ${c.window}`
    case 'projection':
      return `${c.metric} projected ${c.op} ${c.bound} by ${c.by} (${c.fit}, from ${c.from})`
    case 'trend':
      return `${c.metric} ${c.direction} over ${c.per_day}${c.relative ? '×100 %' : ''}/day over ${c.window}${c.bucket ? ` (${c.bucket})` : ''}`
    case 'deviation':
      return `${c.metric} ${c.op} ${c.percent} % of its ${c.window} median`
    case 'range':
      return `${c.metric} spread over ${c.max_spread} in ${c.window}`
    case 'sanity':
      return `${c.metric} sanity (${[c.stuck_for && `stuck ${c.stuck_for}`, c.min_std_dev && `σ < ${c.min_std_dev}`].filter(Boolean).join(', ')})`
    case 'no_data':
      return `silent for ${[c.after, c.missed_readings && `${c.missed_readings} readings`].filter(Boolean).join(' and ')}`
  }
}

function need(values: Record<string, unknown>, name: string): string {
  const given = values[name]
  const v = Array.isArray(given) ? given[0] : given
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`)
  return v
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)'
  const keys = Object.keys(rows[0] as object)
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k] ?? '').length)))
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(width[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [fmt(keys), ...rows.map((r) => fmt(keys.map((k) => String(r[k] ?? ''))))].join('\n')
}

export async function runCli(
  argv: string[],
  out: (s: string) => void,
  store: Store,
): Promise<void> {
  const [group, action, ...rest] = argv
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      tz: { type: 'string', default: 'Asia/Ho_Chi_Minh' },
      farm: { type: 'string', multiple: true },
      site: { type: 'string' },
      kind: { type: 'string' },
      lat: { type: 'string' },
      lon: { type: 'string' },
      count: { type: 'string' },
      'dev-eui': { type: 'string' },
      out: { type: 'string' },
      'mqtt-url': { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      role: { type: 'string' },
      file: { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
      limit: { type: 'string', default: '20' },
      cooperative: { type: 'string' },
      login: { type: 'string' },
      locale: { type: 'string' },
    },
  })
  const cmd = `${group ?? ''} ${action ?? ''}`.trim()
  if (await runPeopleCommand(cmd, values, positionals, out, store)) return
  switch (cmd) {
    case 'farm create': {
      const id = need(values, 'id')
      if (!isValidId(id)) throw new UsageError('--id: letters, digits, dot, dash or underscore')
      const tz = values.tz as string
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz })
      } catch {
        throw new UsageError(
          `--tz: unknown time zone ${tz} (use an IANA name like Asia/Ho_Chi_Minh)`,
        )
      }
      if (await store.getFarm(id)) throw new UsageError(`farm ${id} exists already`)
      const cooperativeId = values.cooperative
      if (cooperativeId && !(await store.getCooperative(cooperativeId)))
        throw new UsageError(`no cooperative ${cooperativeId}; create it with: cooperative create`)
      const farm = await store.createFarm({
        id,
        name: need(values, 'name'),
        timezone: tz,
        cooperativeId,
      })
      out(`farm ${farm.id} created (${farm.name}, ${farm.timezone})`)
      return
    }
    case 'farm biofix': {
      const [farmId, species, date] = positionals
      if (!farmId || !species || !date) throw new UsageError('farm biofix FARM SPECIES DATE|clear')
      if (date !== 'clear' && !/^\d{4}-\d{2}-\d{2}$/.test(date))
        throw new UsageError(`"${date}": the biofix is a date, YYYY-MM-DD (or clear)`)
      const ok = await store.setFarmBiofix(farmId, species, date === 'clear' ? null : date)
      out(ok ? `farm ${farmId}: ${species} biofix ${date}` : `no farm ${farmId}`)
      return
    }
    case 'farm list':
      out(
        table(
          (await store.listFarms()).map((f) => ({ id: f.id, name: f.name, timezone: f.timezone })),
        ),
      )
      return
    case 'site add': {
      const farmId = need(values, 'farm')
      const id = need(values, 'id')
      if (!isValidId(id)) throw new UsageError('--id: letters, digits, dot, dash or underscore')
      if (!(await store.getFarm(farmId))) throw new UsageError(`farm ${farmId} does not exist`)
      const kind = z
        .enum(['pond', 'field', 'orchard', 'greenhouse', 'other'])
        .safeParse(values.kind ?? 'field')
      if (!kind.success) throw new UsageError('--kind: pond, field, orchard, greenhouse or other')
      const num = (v: unknown, name: string, lim: number) => {
        if (v === undefined) return null
        const n = Number(v)
        if (!Number.isFinite(n) || Math.abs(n) > lim)
          throw new UsageError(`--${name}: a number within ±${lim}`)
        return n
      }
      await store.createSite({
        id,
        farmId,
        name: need(values, 'name'),
        kind: kind.data as SiteKind,
        latitude: num(values.lat, 'lat', 90),
        longitude: num(values.lon, 'lon', 180),
      })
      out(`site ${id} added to farm ${farmId}`)
      return
    }
    case 'site tag': {
      const [siteId, ...pairs] = positionals
      if (!siteId || pairs.length === 0)
        throw new UsageError('site tag SITE KEY=VALUE [KEY=VALUE …]')
      const tags: Record<string, string> = {}
      for (const p of pairs) {
        const m = /^([a-z][a-z0-9_]*)=(.+)$/.exec(p)
        if (!m)
          throw new UsageError(
            `"${p}": tags are key=value, keys in snake_case (crop_stage=tillering)`,
          )
        tags[m[1] as string] = m[2] as string
      }
      out(
        (await store.setSiteTags(siteId, tags))
          ? `site ${siteId} tagged ${JSON.stringify(tags)}`
          : `no site ${siteId}`,
      )
      return
    }
    case 'site list':
      out(
        table(
          (await store.listSites(need(values, 'farm'))) as unknown as Record<string, unknown>[],
        ),
      )
      return
    case 'device register': {
      const kind = DeviceKind.safeParse(values.kind)
      if (!kind.success) throw new UsageError(`--kind: one of ${DeviceKind.options.join(', ')}`)
      const count = values.count === undefined ? 1 : Number(values.count)
      if (!Number.isInteger(count) || count < 1 || count > 10_000)
        throw new UsageError('--count: a whole number from 1 to 10000')
      const devices = await registerDevices(store, {
        farmId: need(values, 'farm'),
        siteId: (values.site as string | undefined) ?? null,
        kind: kind.data,
        count,
        ids: values.id ? [values.id as string] : undefined,
        namePrefix: values.name as string | undefined,
        devEui: (values['dev-eui'] as string | undefined) ?? null,
      })
      out(
        table(
          devices.map((d) => ({
            device: d.id,
            kind: d.kind,
            farm: d.farmId,
            site: d.siteId,
            secret: d.secret,
          })),
        ),
      )
      out(
        '\nThese secrets are shown once. Devices connect with client id = username = device id, password = secret.',
      )
      if (values.out) {
        const file = values.out as string
        const existing = (() => {
          try {
            return JSON.parse(readFileSync(file, 'utf8')).devices as unknown[]
          } catch {
            return []
          }
        })()
        const entries = devices.map((d) => ({ id: d.id, kind: d.kind, secret: d.secret }))
        writeFileSync(
          file,
          `${JSON.stringify({ mqttUrl: values['mqtt-url'], devices: [...existing, ...entries] }, null, 2)}\n`,
          { mode: 0o600 },
        )
        chmodSync(file, 0o600)
        out(`credentials written to ${file}`)
      }
      return
    }
    case 'device list': {
      const devices = await store.listDevices(
        values.farm?.[0] ? { farmId: values.farm[0] } : undefined,
      )
      out(
        table(
          devices.map((d) => ({
            id: d.id,
            kind: d.kind,
            farm: d.farmId,
            site: d.siteId ?? '',
            name: d.name,
            dev_eui: d.devEui ?? '',
            revoked: d.revokedAt ? new Date(d.revokedAt).toISOString() : '',
          })),
        ),
      )
      return
    }
    case 'device revoke': {
      const id = positionals[0] ?? need(values, 'id')
      out(
        (await store.revokeDevice(id))
          ? `device ${id} revoked`
          : `device ${id} not found or already revoked`,
      )
      return
    }
    case 'service-account create': {
      const name = positionals[0] ?? need(values, 'name')
      const role = z.enum(serviceRoles).safeParse(values.role ?? 'processor')
      if (!role.success) throw new UsageError(`--role: one of ${serviceRoles.join(', ')}`)
      const secret = await rotateServiceAccount(store, name, role.data)
      out(`service account ${name} (${role.data}); secret, shown once:\n${secret}`)
      return
    }
    case 'rule add': {
      const file = need(values, 'file')
      const parsed = Rule.safeParse(JSON.parse(readFileSync(file, 'utf8')))
      if (!parsed.success)
        throw new UsageError(
          `rule in ${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        )
      await store.putRule(parsed.data)
      out(`rule ${parsed.data.id} v${parsed.data.version} saved`)
      return
    }
    case 'rule list':
      out(
        table(
          (await store.listRules()).map((r) => ({
            id: r.id,
            version: r.version,
            enabled: r.enabled,
            severity: r.severity,
            kind: r.scope.kind,
            condition: describeCondition(r.condition),
          })),
        ),
      )
      return
    case 'alert list':
      out(
        table(
          (await store.openAlerts()).map((a) => ({
            alert: a.alertId,
            rule: a.ruleId,
            device: a.deviceId,
            since: new Date(a.startedAt).toISOString(),
            acknowledged: a.acknowledgedBy
              ? `${a.acknowledgedBy} ${new Date(a.acknowledgedAt ?? 0).toISOString()}`
              : '',
            reminders: a.reminders,
          })),
        ),
      )
      return
    case 'alert ack': {
      const id = positionals[0] ?? need(values, 'id')
      const by = need(values, 'by')
      out(
        (await store.acknowledgeAlert(id, by))
          ? `alert ${id} acknowledged by ${by}`
          : `alert ${id} is not open, or was acknowledged already`,
      )
      return
    }
    case 'quarantine list': {
      const entries = await store.listQuarantine({
        reason: values.reason as QuarantineReason | undefined,
        limit: Number(values.limit),
      })
      out(
        table(
          entries.map((e) => ({
            id: e.id,
            received: new Date(e.receivedAt).toISOString(),
            device: e.deviceId ?? '',
            reason: e.reason,
            bytes: e.payloadBytes,
            detail: e.detail.slice(0, 120),
          })),
        ),
      )
      return
    }
    case 'quarantine stats':
      out(
        table(
          Object.entries(await store.countQuarantine()).map(([reason, n]) => ({
            reason,
            messages: n,
          })),
        ),
      )
      return
    default:
      throw new UsageError(cmd ? `unknown command: ${cmd}` : 'no command given')
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP)
    process.exit(argv.length === 0 ? 2 : 0)
  }
  const dbFlag = argv.indexOf('--db')
  const dbPath =
    dbFlag >= 0
      ? argv.splice(dbFlag, 2)[1]
      : (process.env.TANI_DB ?? `${process.env.TANI_DATA_DIR ?? 'data'}/tani.db`)
  const store = openSqliteStore(dbPath ?? 'data/tani.db')
  runCli(argv, (s) => process.stdout.write(`${s}\n`), store)
    .then(() => store.close())
    .catch(async (err: Error) => {
      await store.close()
      const known =
        err instanceof UsageError ||
        err instanceof ProvisioningError ||
        err instanceof PeopleUsageError
      process.stderr.write(`tani: ${known ? err.message : err.stack}\n`)
      if (err instanceof UsageError || err instanceof PeopleUsageError)
        process.stderr.write('run with --help for usage\n')
      process.exit(known ? 2 : 1)
    })
}
