import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Notifier, startNotifier } from '../../../services/notifier/index.ts'
import { verifyWebhook } from '../../../services/notifier/webhook.ts'
import { registerDevices, rotateServiceAccount } from '../../../services/store/provisioning.ts'
import { type AlertEvent, NotificationPayload, Rule, WebhookBody } from '../../../shared/index.ts'
import { alertEvent } from '../../harness/alert-event.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'
import { type PushService, startPushService } from '../../harness/push-service.ts'
import { eventually, lowOxygenRule, type Stack, startStack } from '../../harness/stack.ts'

/**
 * The notifier on a real broker and store, pushing to a loopback push service that
 * decrypts what arrives (aes128gcm) and verifies the VAPID signature, as a browser's
 * push service would.
 */
let stack: Stack
let w: ApiWorld
let push: PushService
let notifier: Notifier | null = null
let bus: MqttClient
let notifierSecret: string
let offsetMs = 0
const now = () => Date.now() + offsetMs
const BASE = 'https://tani.example/app'

async function startTestNotifier() {
  notifier = await startNotifier(
    {
      mqttUrl: stack.mqttUrl,
      username: 'notifier',
      password: notifierSecret,
      baseUrl: BASE,
      vapid: { subject: 'mailto:ops@tani.example' },
      escalateAfterMs: 10 * 60_000,
      escalationCheckMs: 100,
      deliveryIntervalMs: 50,
      now,
    },
    { store: stack.store, log: stack.log },
  )
  return notifier
}

/** A browser subscription of a person, registered in the store. */
async function subscribe(userId: string, name: string) {
  const browser = push.subscribe(name)
  await stack.store.upsertPushSubscription({
    id: `ps-${name}`,
    userId,
    endpoint: browser.subscription.endpoint,
    p256dh: browser.subscription.keys.p256dh,
    auth: browser.subscription.keys.auth,
    userAgent: 'test',
  })
  return browser
}

let n = 0
function event(over: Partial<AlertEvent> = {}): AlertEvent {
  n++
  return alertEvent(
    {
      alert_id: `al-test-${n}`,
      seq: n,
      message: 'Oxygen in Pond A1 is 2.4 mg/L (below 3)',
      ...over,
    },
    now() - 1000,
  )
}
const publish = (e: AlertEvent | string) =>
  bus.publishAsync(
    `alerts/${typeof e === 'string' ? 'farm-a' : e.farm_id}`,
    typeof e === 'string' ? e : JSON.stringify(e),
    { qos: 1 },
  )
const payloads = (name: string) =>
  push.received
    .filter((r) => r.name === name && r.payload !== null)
    .map((r) => NotificationPayload.parse(JSON.parse(r.payload as string)))

beforeAll(async () => {
  stack = await startStack()
  w = await startApiWorld({ store: stack.store, influx: stack.influx })
  push = await startPushService()
  notifierSecret = await rotateServiceAccount(stack.store, 'notifier', 'notifier')
  bus = await stack.connectService('alert-publisher', 'processor')
  await startTestNotifier()
})
afterAll(async () => {
  await notifier?.stop()
  await push?.stop()
  await w?.close()
  await stack?.stop()
})
beforeEach(() => {
  offsetMs = 0
})

describe('web push from alert events', () => {
  it('sends a critical and a warning alert raised by the processor, encrypted, signed and localised', async () => {
    const farmer = await subscribe('u-farmer', 'farmer-phone')
    await stack.store.putRule(Rule.parse(lowOxygenRule))
    await stack.store.putRule(
      Rule.parse({
        ...lowOxygenRule,
        id: 'do-low',
        severity: 'warning',
        condition: { ...lowOxygenRule.condition, value: 4, clear: 5 },
      }),
    )
    await stack.processor?.reloadRules()
    const [device] = await registerDevices(stack.store, {
      farmId: 'farm-a',
      siteId: 'pond-a1',
      kind: 'pond_sensor',
      ids: ['pond-a1-probe'],
    })
    const probe = await stack.connectDevice(device as { id: string; secret: string })
    await probe.publishAsync(
      'devices/pond-a1-probe/up',
      JSON.stringify({
        kind: 'pond_sensor',
        ts: now(),
        seq: 1,
        battery_pct: 80,
        rssi_dbm: -90,
        dissolved_oxygen_mg_l: 2.4,
      }),
      { qos: 1 },
    )
    const critical = await push.waitFor(
      (r) => r.name === 'farmer-phone' && r.headers.urgency === 'high',
      10_000,
    )
    const warning = await push.waitFor(
      (r) => r.name === 'farmer-phone' && r.headers.urgency === 'normal',
      10_000,
    )
    for (const r of [critical, warning]) {
      expect(r.vapid.valid, r.vapid.problems.join('; ')).toBe(true)
      expect(r.vapid.claims?.aud).toBe(push.url)
      expect(r.vapid.publicKey).toBe(notifier?.vapidPublicKey)
      expect(r.headers.contentEncoding).toBe('aes128gcm')
      expect(r.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/)
    }
    // Critical keeps trying for hours; a warning is useless after an hour.
    expect(Number(critical.headers.ttl)).toBeGreaterThan(5 * 3600)
    expect(Number(warning.headers.ttl)).toBeLessThanOrEqual(3600)
    const shown = NotificationPayload.parse(JSON.parse(critical.payload as string))
    expect(shown).toMatchObject({
      lang: 'vi',
      severity: 'critical',
      state: 'firing',
      require_interaction: true,
    })
    expect(shown.title).toMatch(/Oxy hòa tan/)
    expect(shown.body).toMatch(/2,4 mg\/L/)
    expect(shown.url).toBe(`${BASE}/alerts/${shown.alert_id}`)
    expect(farmer.decrypt(critical.body)).toBe(critical.payload)
    // The alert's history shows the delivery.
    const deliveries = await stack.store.alertDeliveries(shown.alert_id as string)
    expect(deliveries.some((d) => d.channel === 'web-push' && d.status === 'sent')).toBe(true)
  })

  it('sends the same (alert, state) to a browser once, however often the event comes', async () => {
    await subscribe('u-farmer-b', 'farmer-b-phone')
    const e = event({ farm_id: 'farm-b', site_id: 'field-b1', alert_id: 'al-dup' })
    await publish(e)
    await publish(e)
    await publish({ ...e, emitted_at: new Date().toISOString() })
    await push.waitFor((r) => r.name === 'farmer-b-phone', 5000)
    await new Promise((r) => setTimeout(r, 500))
    expect(payloads('farmer-b-phone').filter((p) => p.alert_id === 'al-dup')).toHaveLength(1)
    await publish({ ...e, state: 'resolved' })
    await eventually(
      () => payloads('farmer-b-phone').map((p) => p.state),
      (s) => s.includes('resolved'),
      'the resolved update',
    )
  })

  it('removes a subscription the push service says is gone (410)', async () => {
    await subscribe('u-farmer', 'old-phone')
    push.respondWith('old-phone', { status: 410 })
    await publish(event())
    await push.waitFor((r) => r.name === 'old-phone' && r.status === 410, 5000)
    await eventually(
      () => stack.store.getPushSubscription('ps-old-phone'),
      (s) => s === null,
      'the subscription removed',
    )
  })

  it('retries a 429 no sooner than its Retry-After', async () => {
    await subscribe('u-farmer', 'busy-phone')
    push.respondWith('busy-phone', { status: 429, headers: { 'retry-after': '2' } })
    const e = event()
    await publish(e)
    const first = await push.waitFor((r) => r.name === 'busy-phone' && r.status === 429, 5000)
    const second = await push.waitFor(
      (r) => r.name === 'busy-phone' && r.status === 201 && r.receivedAtMs > first.receivedAtMs,
      8000,
    )
    expect(second.receivedAtMs - first.receivedAtMs).toBeGreaterThanOrEqual(2000)
    expect(NotificationPayload.parse(JSON.parse(second.payload as string)).alert_id).toBe(
      e.alert_id,
    )
  })

  it('rejects a malformed event with its reason and still delivers the next one', async () => {
    await subscribe('u-farmer', 'steady-phone')
    await publish('{"v":1,"alert_id":"broken"}')
    await publish('not json at all')
    const good = event()
    await publish(good)
    await push.waitFor(
      (r) => r.name === 'steady-phone' && (r.payload ?? '').includes(good.alert_id),
      5000,
    )
    const set = await stack.store.listQuarantine({ reason: 'invalid' })
    expect(
      set
        .filter((q) => q.topic === 'alerts/farm-a')
        .map((q) => q.detail)
        .join('\n'),
    ).toMatch(/notifier: /)
    expect(notifier?.stats().rejected).toBeGreaterThanOrEqual(2)
  })
})

describe('the webhook channel', () => {
  it('takes a critical alert no push could deliver, signed so the gateway can trust it', async () => {
    const calls: { body: string; headers: IncomingHttpHeaders }[] = []
    const receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        calls.push({ body, headers: req.headers })
        res.writeHead(204).end()
      })
    })
    receiver.listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sms`
    const secret = 'a-webhook-secret-of-some-length'
    await stack.store.createWebhook({
      id: 'wh-sms',
      cooperativeId: 'mekong',
      url,
      secret,
      minSeverity: 'critical',
      events: 'escalations',
    })
    try {
      await subscribe('u-farmer', 'lost-phone')
      push.respondWith('lost-phone', { status: 410 })
      const e = event()
      await publish(e)
      const call = await eventually(
        () => calls.find((c) => c.body.includes(e.alert_id)),
        (c) => c !== undefined,
        'the webhook call',
      )
      const body = WebhookBody.parse(JSON.parse(call?.body ?? ''))
      expect(body).toMatchObject({ type: 'escalation', reason: 'push_failed' })
      expect(body.notification.alert_id).toBe(e.alert_id)
      expect(verifyWebhook(secret, call?.body ?? '', call?.headers ?? {})).toBe(true)
      expect(verifyWebhook('another secret', call?.body ?? '', call?.headers ?? {})).toBe(false)
    } finally {
      await stack.store.deleteWebhook('wh-sms')
      receiver.close()
    }
  })
})

describe('escalation, quiet hours and restarts', () => {
  it('escalates a critical alert nobody acknowledged to the technicians, not an acknowledged one', async () => {
    await subscribe('u-tech', 'tech-phone')
    const open = event({ alert_id: 'al-unacked' })
    const acked = event({ alert_id: 'al-acked' })
    for (const e of [open, acked]) await stack.store.saveAlertEvent(e, now() - 60_000)
    await stack.store.acknowledgeAlert('al-acked', 'farmer')
    offsetMs = 11 * 60_000 // past the 10-minute escalation time
    const r = await push.waitFor(
      (p) => p.name === 'tech-phone' && (p.payload ?? '').includes('al-unacked'),
      5000,
    )
    const shown = NotificationPayload.parse(JSON.parse(r.payload as string))
    expect(shown.type).toBe('escalation')
    expect(r.headers.urgency).toBe('high')
    await new Promise((res) => setTimeout(res, 400))
    expect(payloads('tech-phone').filter((p) => p.alert_id === 'al-acked')).toEqual([])
    expect(payloads('tech-phone').filter((p) => p.alert_id === 'al-unacked')).toHaveLength(1)
    for (const id of ['al-unacked', 'al-acked'])
      await stack.store.resolveAlertManually(id, 'test', 'done')
  })

  it('holds a warning during quiet hours and sends one very-low-urgency digest when they end', async () => {
    await subscribe('u-farmer-b', 'night-phone')
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Ho_Chi_Minh',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
    const [h, m] = local.format(new Date(now())).split(':').map(Number)
    const hhmm = (mins: number) =>
      `${String(Math.floor(mins / 60) % 24).padStart(2, '0')}:${String(mins % 60).padStart(2, '0')}`
    const minutes = (h ?? 0) * 60 + (m ?? 0)
    await stack.store.setNotificationPrefs({
      userId: 'u-farmer-b',
      farmIds: null,
      siteIds: null,
      minSeverity: 'info',
      quietHours: { start: hhmm(minutes + 1440 - 5), end: hhmm(minutes + 30) },
      timeZone: null,
    })
    const warnings = [1, 2, 3].map(() =>
      event({ farm_id: 'farm-b', site_id: 'field-b1', severity: 'warning' }),
    )
    for (const e of warnings) {
      await stack.store.saveAlertEvent(e, now())
      await publish(e)
    }
    const critical = event({ farm_id: 'farm-b', site_id: 'field-b1' })
    await publish(critical)
    // Critical alerts never wait.
    await push.waitFor(
      (r) => r.name === 'night-phone' && (r.payload ?? '').includes(critical.alert_id),
      5000,
    )
    await new Promise((res) => setTimeout(res, 400))
    expect(payloads('night-phone').filter((p) => p.severity === 'warning')).toEqual([])
    offsetMs = 31 * 60_000
    const digest = await push.waitFor(
      (r) => r.name === 'night-phone' && r.headers.urgency === 'very-low',
      5000,
    )
    const shown = NotificationPayload.parse(JSON.parse(digest.payload as string))
    expect(shown.type).toBe('digest')
    expect(shown.alert_ids.sort()).toEqual(warnings.map((e) => e.alert_id).sort())
    await stack.store.setNotificationPrefs({
      userId: 'u-farmer-b',
      farmIds: null,
      siteIds: null,
      minSeverity: 'info',
      quietHours: null,
      timeZone: null,
    })
  })

  it('loses no alert when it restarts in the middle of a burst', async () => {
    await subscribe('u-farmer', 'burst-phone')
    const burst = Array.from({ length: 40 }, () => event())
    const sending = (async () => {
      for (const e of burst) await publish(e)
    })()
    await push.waitFor((r) => r.name === 'burst-phone', 5000)
    await notifier?.stop()
    await sending
    await startTestNotifier()
    const ids = new Set(burst.map((e) => e.alert_id))
    await eventually(
      () =>
        new Set(
          payloads('burst-phone')
            .map((p) => p.alert_id)
            .filter((id) => ids.has(id ?? '')),
        ).size,
      (got) => got === burst.length,
      'every alert of the burst on the phone',
      15_000,
    )
    // And each exactly once.
    expect(payloads('burst-phone').filter((p) => ids.has(p.alert_id ?? ''))).toHaveLength(
      burst.length,
    )
  })
})
