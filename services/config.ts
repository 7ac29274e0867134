import { z } from 'zod'

/**
 * Configuration, parsed once at start-up from the environment and frozen. Services get
 * the slice they need passed in; nothing below reads `process.env`.
 */
const port = z.coerce.number().int().min(0).max(65535)
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

export const ConfigSchema = z.object({
  TANI_SERVICES: z
    .string()
    .default('broker,processor,api,notifier')
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(['broker', 'processor', 'api', 'notifier'])).min(1)),
  TANI_DATA_DIR: z.string().default('data'),
  TANI_DB: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  MQTT_HOST: z.string().default('0.0.0.0'),
  /** /health and /metrics of this process; 0 picks a free port, empty disables. */
  OPS_HOST: z.string().default('0.0.0.0'),
  OPS_PORT: z.union([z.literal('').transform(() => null), port]).default(9464),
  MQTT_PORT: port.default(1883),
  /** MQTT over WebSocket (path /mqtt); 0 picks a free port, empty disables. */
  MQTT_WS_PORT: z.union([z.literal('').transform(() => null), port]).default(8083),
  /** Where the processor connects; defaults to the embedded broker. */
  MQTT_URL: z.string().url().optional(),
  PROCESSOR_USERNAME: z.string().default('processor'),
  /** Needed when the processor runs without the embedded broker. */
  PROCESSOR_SECRET: z.string().min(16, 'use at least 16 random characters').optional(),

  /** The HTTP API (and its /docs); 0 picks a free port. */
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: port.default(8080),
  /** Behind a reverse proxy: take the client address from X-Forwarded-For (rate limits). */
  API_TRUST_PROXY: bool.default(false),
  /** Largest request body, bytes. */
  API_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** How long a dashboard session lasts, hours. */
  API_SESSION_HOURS: z.coerce
    .number()
    .min(0.1)
    .max(24 * 90)
    .default(12),
  /** Login attempts per address and login per minute. */
  API_LOGIN_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  /** Changes (POST, PUT, PATCH, DELETE) per token or address per minute. */
  API_WRITES_PER_MINUTE: z.coerce.number().int().min(1).default(120),

  /** Where people open the dashboards: deep links in notifications start here. */
  PUBLIC_URL: z.string().url().default('http://localhost:8080'),
  NOTIFIER_USERNAME: z.string().default('notifier'),
  /** Needed when the notifier runs without the embedded broker. */
  NOTIFIER_SECRET: z.string().min(16, 'use at least 16 random characters').optional(),
  /** VAPID keys (base64url); generated on first start and kept in the store when absent. */
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  /** How push services reach the operator (RFC 8292): mailto: or https:. */
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)/, 'a mailto: or https: URL')
    .default('mailto:ops@tani.example'),
  /** Minutes before an unacknowledged critical alert goes to the technicians and webhooks. */
  NOTIFIER_ESCALATE_AFTER_MIN: z.coerce.number().min(1).default(15),

  INFLUX_URL: z.string().url().default('http://127.0.0.1:8086'),
  INFLUX_API: z.enum(['auto', 'v1', 'v2']).default('auto'),
  INFLUX_DATABASE: z.string().default('tani'),
  INFLUX_RETENTION_POLICY: z.string().optional(),
  INFLUX_ORG: z.string().optional(),
  INFLUX_BUCKET: z.string().optional(),
  INFLUX_TOKEN: z.string().optional(),
  INFLUX_USERNAME: z.string().optional(),
  INFLUX_PASSWORD: z.string().optional(),
  /** Create the v1 database at start (InfluxDB 1.x only). */
  INFLUX_CREATE_DATABASE: bool.default(true),
  /**
   * Gzip write bodies. Worth it over a slow link to a distant InfluxDB; next to it,
   * compressing costs more CPU and memory than it saves.
   */
  INFLUX_GZIP: bool.default(false),

  /**
   * How far the JS heap may grow past what a full collection left, % (V8's own choice,
   * up to 300 %, when 0). Bounds the memory a busy processor holds in garbage.
   */
  HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(300).default(50),
  /**
   * Readings the processor holds unacknowledged at most (its memory bound). A message is
   * acknowledged once its InfluxDB write returns, so the window also caps the batch size:
   * with InfluxDB slow to answer on a busy machine (50–70 ms a write), 2,000 left the
   * processor idle a sixth of the time.
   */
  PROCESSOR_MAX_INFLIGHT: z.coerce.number().int().min(1).max(100_000).default(4000),
  /** Payload bytes the processor holds unacknowledged at most. */
  PROCESSOR_MAX_INFLIGHT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(32 * 1024 * 1024),
  /**
   * How long the first lines wait for company when no InfluxDB write is under way, ms
   * (0: the next turn of the event loop). Under load batches form while a write is under
   * way and this does not apply.
   */
  PROCESSOR_FLUSH_MS: z.coerce.number().int().min(0).max(10_000).default(10),
  /**
   * Run the processor in a worker thread: `auto` does when this process also runs the
   * embedded broker (each then has a core of its own).
   */
  PROCESSOR_THREAD: z.enum(['auto', 'true', 'false']).default('auto'),
  /** Readings older than this when they arrive raise alerts marked late, ms. */
  PROCESSOR_LATE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(15 * 60 * 1000),
})

export type Config = Readonly<z.infer<typeof ConfigSchema>> & { dbPath: string }

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`invalid configuration in the environment:\n${lines.join('\n')}`)
  }
  const c = parsed.data
  return Object.freeze({ ...c, dbPath: c.TANI_DB ?? `${c.TANI_DATA_DIR}/tani.db` })
}
