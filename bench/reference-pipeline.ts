import mqtt from 'mqtt'

/**
 * The reference the issue compares Tani with: one plain mqtt.js subscriber (QoS 1,
 * persistent session like the processor's, PUBACK on receipt as mqtt.js does by
 * default) → JSON.parse → line protocol → POST /write in batches of 5,000 lines or
 * 100 ms, one write at a time. No registry, no validation, no rules, no backpressure.
 * With `mode: 'count'` it only counts messages: the raw broker's pub→sub rate.
 * Options come as JSON in BENCH_REF; it prints `{ t, received, written }` every second.
 */
export type ReferenceOptions = {
  mode: 'pipeline' | 'count'
  mqttUrl: string
  username?: string
  password?: string
  clientId: string
  /** A clean session instead of a persistent one (default false, as the processor's). */
  clean?: boolean
  influxUrl?: string
  database?: string
}

export type ReferenceLine = { t: number; received: number; written: number }

const MAX_LINES = 5000
const FLUSH_MS = 100

const opts = JSON.parse(process.env.BENCH_REF ?? '{}') as ReferenceOptions
let received = 0
let written = 0
/** Two lines per reading. */
let batch: string[] = []
let writing = false
let timer: NodeJS.Timeout | null = null

/** The same two points per reading as Tani writes: the kind's measurement and device_health. */
function linesOf(deviceId: string, r: Record<string, unknown>): string {
  const ts = r.ts as number
  const seq = `seq=${r.seq as number}i`
  let fields = seq
  for (const k in r) {
    const v = r[k]
    if (
      typeof v === 'number' &&
      k !== 'ts' &&
      k !== 'seq' &&
      k !== 'battery_pct' &&
      k !== 'rssi_dbm'
    )
      fields += `,${k}=${v}`
  }
  const counts = r.counts as Record<string, number> | undefined
  if (counts) for (const s in counts) fields += `,count_${s}=${counts[s]}i`
  const health = `device_health,device=${deviceId},kind=${r.kind as string} battery_pct=${r.battery_pct as number},rssi_dbm=${r.rssi_dbm as number},${seq} ${ts}`
  return `${r.kind as string},device=${deviceId} ${fields} ${ts}\n${health}`
}

async function flush() {
  if (timer) clearTimeout(timer)
  timer = null
  if (writing || batch.length === 0) return
  writing = true
  const lines = batch
  batch = []
  const url = `${opts.influxUrl}/write?db=${encodeURIComponent(opts.database ?? '')}&precision=ms`
  for (;;) {
    try {
      const res = await fetch(url, { method: 'POST', body: lines.join('\n') })
      await res.body?.cancel()
      if (res.status === 204) break
      process.stderr.write(`reference: /write answered ${res.status}\n`)
    } catch (err) {
      process.stderr.write(`reference: /write failed: ${(err as Error).message}\n`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  written += lines.length
  writing = false
  if (batch.length * 2 >= MAX_LINES) void flush()
  else if (batch.length > 0) timer = setTimeout(() => void flush(), FLUSH_MS)
}

const client = mqtt.connect(opts.mqttUrl, {
  clientId: opts.clientId,
  username: opts.username,
  password: opts.password,
  clean: opts.clean ?? false,
  protocolVersion: 4,
  reconnectPeriod: 1000,
})
client.on('connect', () => {
  client.subscribe('devices/+/up', { qos: 1 }, (err) => {
    if (err) process.stderr.write(`reference: subscribe failed: ${err.message}\n`)
    else process.stdout.write(`${JSON.stringify({ t: Date.now(), received, written })}\n`)
  })
})
client.on('error', (err) => process.stderr.write(`reference: ${err.message}\n`))
client.on('message', (topic, payload) => {
  received++
  if (opts.mode === 'count') return
  const deviceId = topic.slice(8, topic.length - 3)
  batch.push(linesOf(deviceId, JSON.parse(payload.toString()) as Record<string, unknown>))
  if (batch.length * 2 >= MAX_LINES) void flush()
  else if (!timer && !writing) timer = setTimeout(() => void flush(), FLUSH_MS)
})
setInterval(
  () => process.stdout.write(`${JSON.stringify({ t: Date.now(), received, written })}\n`),
  1000,
)
process.on('SIGTERM', () => {
  client.end(false, {}, () => process.exit(0))
  setTimeout(() => process.exit(0), 3000).unref()
})
