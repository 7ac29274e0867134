import { createHmac, timingSafeEqual } from 'node:crypto'
import type { NotificationLocale, WebhookBody } from '../../shared/push.ts'
import { parseRetryAfter, type SendOutcome } from './outcome.ts'

/**
 * The webhook channel: a cooperative's own receiver (an SMS gateway, a chat bot) gets each
 * call as JSON, signed like Stripe and Slack sign theirs: HMAC-SHA256 with the webhook's
 * secret (its characters as UTF-8 bytes) over `<timestamp>.<raw body>`, sent as
 *
 *   x-tani-timestamp: 1764000000          (Unix seconds)
 *   x-tani-signature: v1=<64 hex digits>
 *
 * Signing the timestamp with the body lets a receiver refuse a replayed old call.
 */

export type WebhookSignature = { 'x-tani-timestamp': string; 'x-tani-signature': string }
export type WebhookTarget = { url: string; secret: string }
export type WebhookSender = {
  send(webhook: WebhookTarget, body: WebhookBody): Promise<SendOutcome>
}

const hmac = (secret: string, timestamp: string, body: string) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')

export function signWebhook(secret: string, body: string, timestampS: number): WebhookSignature {
  const timestamp = String(Math.floor(timestampS))
  return {
    'x-tani-timestamp': timestamp,
    'x-tani-signature': `v1=${hmac(secret, timestamp, body)}`,
  }
}

type HeaderBag = Headers | Readonly<Record<string, string | string[] | undefined>>

function header(headers: HeaderBag, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name)
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
  const value = key === undefined ? undefined : headers[key]
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null)
}

/**
 * For receivers: true when the call was signed with `secret` less than `toleranceS`
 * (default 300) seconds from now. Check the raw body, before parsing it. An SMS gateway
 * in Node would do:
 *
 *   http.createServer((req, res) => { let raw = ''
 *     req.on('data', (c) => (raw += c)).on('end', () => {
 *       if (!verifyWebhook(SECRET, raw, req.headers)) return res.writeHead(401).end()
 *       sendSms(JSON.parse(raw).notification.body); res.writeHead(204).end()
 *   }) })
 */
export function verifyWebhook(
  secret: string,
  body: string,
  headers: HeaderBag,
  opts: { toleranceS?: number; nowS?: number } = {},
): boolean {
  const timestamp = header(headers, 'x-tani-timestamp')
  const signature = header(headers, 'x-tani-signature')
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false
  const nowS = opts.nowS ?? Date.now() / 1000
  if (Math.abs(nowS - Number(timestamp)) > (opts.toleranceS ?? 300)) return false
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex')
  // Several `v1=` entries (comma-separated) let a receiver accept an old and a new secret.
  return signature.split(',').some((part) => {
    const m = /^\s*v1=([0-9a-f]{64})\s*$/i.exec(part)
    return m?.[1] !== undefined && timingSafeEqual(Buffer.from(m[1], 'hex'), expected)
  })
}

export function createWebhookSender(
  opts: { timeoutMs?: number; fetch?: typeof fetch; now?: () => number } = {},
): WebhookSender {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const doFetch = opts.fetch ?? fetch
  const now = opts.now ?? Date.now

  return {
    async send(webhook, body) {
      const where = originOf(webhook.url)
      const raw = JSON.stringify(body)
      const signal = AbortSignal.timeout(timeoutMs)
      let res: Response
      try {
        res = await doFetch(webhook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'tani-notifier',
            ...signWebhook(webhook.secret, raw, now() / 1000),
          },
          body: raw,
          // A redirect would re-send the signed body somewhere the cooperative did not name.
          redirect: 'manual',
          signal,
        })
      } catch (err) {
        const timedOut =
          err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
        const detail = timedOut
          ? `${where} did not answer within ${timeoutMs} ms`
          : `cannot reach ${where}: ${transportError(err)}`
        return { kind: 'retry', status: null, retryAfterMs: null, detail }
      }
      return outcomeOf(res, where, webhook.secret, now())
    },
  }
}

async function outcomeOf(
  res: Response,
  where: string,
  secret: string,
  nowMs: number,
): Promise<SendOutcome> {
  const status = res.status
  if (status >= 200 && status < 300) {
    await res.body?.cancel().catch(() => {})
    return { kind: 'sent', status }
  }
  const said = await snippet(res, secret)
  const answered = `${where} answered ${status}${said ? `: ${said}` : ''}`
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), nowMs)
    return { kind: 'retry', status, retryAfterMs, detail: answered }
  }
  if (status >= 300 && status < 400) {
    const to = res.headers.get('location')
    const detail = `${answered}; redirects are not followed: set the webhook to ${to ? `the final URL (${originOf(to, where)}…)` : 'its final URL'}`
    return { kind: 'failed', status, detail }
  }
  // Not 'gone': a webhook is the cooperative's configuration, not a browser's subscription;
  // it stays until an admin fixes or deletes it.
  if (status === 404 || status === 410) {
    const detail = `${answered}; the webhook URL no longer exists there: an admin of the cooperative should correct or delete the webhook (it is kept, not removed)`
    return { kind: 'failed', status, detail }
  }
  return { kind: 'failed', status, detail: answered }
}

/** The start of a refusal's body, for the detail; the secret blanked should a receiver echo it. */
async function snippet(res: Response, secret: string): Promise<string> {
  try {
    const text = (await res.text()).slice(0, 2000)
    return text.replaceAll(secret, '[secret]').replace(/\s+/g, ' ').trim().slice(0, 200)
  } catch {
    return ''
  }
}

/** Only the origin goes into details and logs: a path or query may carry the gateway's key. */
function originOf(url: string, base?: string): string {
  try {
    return new URL(url, base).origin
  } catch {
    return 'the webhook URL'
  }
}

function transportError(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message
  // fetch's own messages may quote the whole URL; keep to its kind.
  return err instanceof Error ? err.name : 'network error'
}

const testMessage: Record<NotificationLocale, { title: string; body: string }> = {
  vi: { title: 'Tani: thử webhook', body: 'Tin nhắn thử từ Tani: webhook của bạn hoạt động.' },
  id: { title: 'Tani: uji webhook', body: 'Pesan uji dari Tani: webhook Anda berfungsi.' },
  en: { title: 'Tani: webhook test', body: 'Test message from Tani: your webhook works.' },
}

/** What POST /webhooks/:id/test sends: a call a receiver can show, tied to no alert. */
export function webhookTestBody(lang: NotificationLocale, nowMs: number): WebhookBody {
  return {
    v: 1,
    type: 'test',
    reason: 'test',
    sent_at: new Date(nowMs).toISOString(),
    notification: {
      v: 1,
      type: 'alert',
      lang,
      ...testMessage[lang],
      tag: 'webhook-test',
      url: '/',
      silent: true,
      require_interaction: false,
      alert_id: null,
      state: null,
      severity: null,
      farm_id: null,
      site_id: null,
      device_id: null,
      reading_ts: null,
      alert_ids: [],
    },
  }
}
