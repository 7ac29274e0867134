import { createECDH, randomBytes } from 'node:crypto'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type NotificationPayload, PushSubscriptionInput } from '../../../shared/push.ts'
import {
  type ApiRequest,
  type BrowserHandle,
  type DashboardServer,
  openPushPage,
  type PushPage,
  type ShownNotification,
  serveDashboard,
  startBrowser,
} from '../../harness/browser.ts'

/**
 * dashboards/push/sw.js in a real Chromium. Pushes go in through DevTools
 * (ServiceWorker.deliverPushMessage: the push event the browser raises for a push service's
 * message, once decrypted); what the farmer would see is read back with getNotifications().
 * Functions given to evaluate() run in the browser; the objects they touch are typed here
 * (the tsconfig has no DOM library).
 */
type Notice = ShownNotification & { close(): void }
type WindowLike = { url: string; focus(): Promise<unknown> }
type Clients = {
  matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowLike[]>
  openWindow(url: string): Promise<unknown>
}
type SubscribeOptions = { userVisibleOnly: boolean; applicationServerKey: ArrayBuffer }
type WorkerScope = {
  registration: { getNotifications(filter: { tag: string }): Promise<Notice[]> }
  clients: Clients
  taniPush: {
    openAlert(notification: Notice, clients: Clients): Promise<unknown>
    resubscribe(
      old: { options: { applicationServerKey: ArrayBuffer } },
      pushManager: { subscribe(options: SubscribeOptions): Promise<{ toJSON(): unknown }> },
    ): Promise<unknown>
  }
}

const firing: NotificationPayload = {
  v: 1,
  type: 'alert',
  lang: 'vi',
  title: 'Ao A1: oxy hòa tan thấp (2,4 mg/L)',
  body: 'Oxy sẽ xuống dưới 2 mg/L trước 4 giờ sáng. Bật máy sục khí ngay.',
  tag: 'al-pond-a1-do',
  url: '/alerts/al-pond-a1-do',
  silent: false,
  require_interaction: true,
  alert_id: 'al-pond-a1-do',
  state: 'firing',
  severity: 'critical',
  farm_id: 'farm-a',
  site_id: 'pond-a1',
  device_id: 'do-probe-7',
  reading_ts: '2025-06-14T20:40:00.000Z',
  alert_ids: [],
}
const resolved: NotificationPayload = {
  ...firing,
  title: 'Ao A1: oxy hòa tan đã bình thường',
  body: 'Oxy hòa tan đã trở lại 5,1 mg/L.',
  silent: true,
  require_interaction: false,
  state: 'resolved',
  reading_ts: '2025-06-14T22:10:00.000Z',
}
const trapAlert: NotificationPayload = {
  ...firing,
  title: 'Bẫy T3: rầy nâu tăng mạnh',
  body: '42 con trong 24 giờ qua.',
  tag: 'al-trap-t3',
  url: '/alerts/al-trap-t3',
  require_interaction: false,
  alert_id: 'al-trap-t3',
  severity: 'warning',
}

let server: DashboardServer
let chromium: BrowserHandle
let context: BrowserContext
let phone: PushPage
const apiCalls: ApiRequest[] = []
const vapid = createECDH('prime256v1')
vapid.generateKeys()

/** Polls until the notifications on screen satisfy `check`, then returns them. */
async function shownWhen(check: (list: ShownNotification[]) => boolean) {
  await expect.poll(async () => check(await phone.shown()), { timeout: 5_000 }).toBe(true)
  return phone.shown()
}
const push = (payload: NotificationPayload | string) =>
  phone.deliver(typeof payload === 'string' ? payload : JSON.stringify(payload))

beforeAll(async () => {
  server = await serveDashboard({
    api: (req) => {
      apiCalls.push(req)
      if (req.url === '/push/vapid-public-key') {
        return { status: 200, json: { public_key: vapid.getPublicKey().toString('base64url') } }
      }
      return { status: 201, json: {} }
    },
  })
  chromium = await startBrowser()
  context = await chromium.browser.newContext()
  await context.grantPermissions(['notifications'], { origin: server.origin })
  phone = await openPushPage(context, server.origin)
})

afterAll(async () => {
  await chromium?.close()
  await server?.close()
})

beforeEach(async () => {
  apiCalls.length = 0
  await phone.clear()
})

describe('service worker: push messages become notifications', () => {
  it('shows a critical Vietnamese alert with its title, body, tag and link, kept on screen', async () => {
    await push(firing)
    const [n, ...others] = await shownWhen((list) => list.length > 0)
    expect(others).toEqual([])
    expect(n).toMatchObject({
      title: firing.title,
      body: firing.body,
      tag: 'al-pond-a1-do',
      data: { url: '/alerts/al-pond-a1-do', alert_id: 'al-pond-a1-do' },
      requireInteraction: true,
      silent: false,
      renotify: true,
      lang: 'vi',
      // Event time of the reading, not the time the push arrived.
      timestamp: Date.parse('2025-06-14T20:40:00.000Z'),
    })
    expect(n?.icon).toBe(`${server.origin}/push/icon-192.png`)
    expect(n?.badge).toBe(`${server.origin}/push/badge-72.png`)
  })

  it('replaces the firing notification when the same alert resolves, silently', async () => {
    await push(firing)
    await shownWhen((list) => list.length === 1)
    await push(resolved)
    const list = await shownWhen((l) => l.some((n) => n.body === resolved.body))
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({
      tag: 'al-pond-a1-do',
      title: resolved.title,
      silent: true,
      renotify: false,
      requireInteraction: false,
    })
  })

  it('adds a second notification for a different alert', async () => {
    await push(firing)
    await push(trapAlert)
    const list = await shownWhen((l) => l.length === 2)
    expect(list.map((n) => n.tag).sort()).toEqual(['al-pond-a1-do', 'al-trap-t3'])
    expect(list.find((n) => n.tag === 'al-trap-t3')?.body).toBe(trapAlert.body)
  })

  it('shows a generic notification for a push it cannot read, rather than nothing', async () => {
    await push('not json: 0xDEADBEEF')
    await push(JSON.stringify({ v: 1, body: 'no title' }))
    const list = await shownWhen((l) => l.length === 2)
    for (const n of list) {
      expect(n).toMatchObject({ title: 'Tani: new alert', tag: '', data: { url: '/' } })
      expect(n.body).not.toBe('')
    }
  })
})

describe('service worker: clicks and subscription changes', () => {
  // Chromium lets a worker call clients.openWindow() and focus() only while it handles a
  // real notification click, which neither DevTools nor Playwright can raise. So the
  // click handler runs on a real notification with `clients` watched: matchAll is the
  // browser's own, openWindow and focus are recorded.
  async function click(tag: string): Promise<string[][]> {
    const worker = await phone.worker()
    return worker.evaluate(async (alertTag) => {
      const sw = globalThis as unknown as WorkerScope
      const [notification] = await sw.registration.getNotifications({ tag: alertTag })
      if (!notification) throw new Error(`no notification with tag ${alertTag}`)
      const calls: string[][] = []
      const clients: Clients = {
        matchAll: async (options) =>
          (await sw.clients.matchAll(options)).map((w) => ({
            url: w.url,
            focus: async () => calls.push(['focus', w.url]),
          })),
        openWindow: async (url) => calls.push(['openWindow', url]),
      }
      await sw.taniPush.openAlert(notification, clients)
      return calls
    }, tag)
  }

  it('on click, closes the notification and opens the alert page', async () => {
    await push(firing)
    await shownWhen((list) => list.length === 1)
    expect(await click('al-pond-a1-do')).toEqual([
      ['openWindow', `${server.origin}/alerts/al-pond-a1-do`],
    ])
    await shownWhen((list) => list.length === 0)
  })

  it('on click, focuses a window already showing the alert instead of opening another', async () => {
    const alertPage = await context.newPage()
    await alertPage.goto(`${server.origin}/alerts/al-trap-t3`)
    try {
      await push(trapAlert)
      await shownWhen((list) => list.length === 1)
      expect(await click('al-trap-t3')).toEqual([['focus', `${server.origin}/alerts/al-trap-t3`]])
    } finally {
      await alertPage.close()
    }
  })

  it('re-subscribes with the same key and posts the new subscription when it changes', async () => {
    const vapidKey = [...vapid.getPublicKey()]
    const renewed = { endpoint: 'https://push.example/renewed', keys: { p256dh: 'p', auth: 'a' } }
    const worker = await phone.worker()
    const usedKey = await worker.evaluate(
      async ({ keyBytes, subscription }) => {
        const sw = globalThis as unknown as WorkerScope
        let used: number[] = []
        const old = { options: { applicationServerKey: new Uint8Array(keyBytes).buffer } }
        await sw.taniPush.resubscribe(old, {
          subscribe: async (options) => {
            if (!options.userVisibleOnly) throw new Error('userVisibleOnly must be true')
            used = [...new Uint8Array(options.applicationServerKey)]
            return { toJSON: () => subscription }
          },
        })
        return used
      },
      { keyBytes: vapidKey, subscription: renewed },
    )
    expect(usedKey).toEqual(vapidKey)
    const post = apiCalls.find((c) => c.url === '/push/subscriptions')
    expect(post?.method).toBe('POST')
    expect(post?.headers['content-type']).toBe('application/json')
    expect(JSON.parse(post?.body ?? 'null')).toEqual(renewed)
  })
})

describe('subscribe.js: turning alerts on', () => {
  type SubscribeScope = {
    taniSubscribe: {
      enablePush(o: { apiBase: string; token: string }): Promise<{ toJSON(): unknown }>
    }
    subscribedWith?: { userVisibleOnly: boolean; key: number[] }
    PushManager?: {
      prototype: {
        getSubscription(): Promise<unknown>
        subscribe(options: SubscribeOptions): Promise<unknown>
      }
    }
  }

  /** A page of `ctx` with subscribe.js loaded as globalThis.taniSubscribe. */
  async function subscribePage(ctx: BrowserContext): Promise<Page> {
    const p = await ctx.newPage()
    await p.goto(`${server.origin}/push/index.html`)
    const content = "import * as m from '/push/subscribe.js'; globalThis.taniSubscribe = m"
    await p.addScriptTag({ type: 'module', content })
    await p.waitForFunction(() => 'taniSubscribe' in globalThis)
    return p
  }

  /** Calls enablePush in `p`; its error, if it throws, as { name, code, message }. */
  function enablePush(p: Page) {
    return p.evaluate(async () => {
      const scope = globalThis as unknown as SubscribeScope
      try {
        return {
          subscription: (
            await scope.taniSubscribe.enablePush({ apiBase: '', token: 'tok-farmer' })
          ).toJSON(),
        }
      } catch (err) {
        const { name, code, message } = err as { name: string; code: string; message: string }
        return { error: { name, code, message } }
      }
    })
  }

  it('subscribes with the VAPID key from the API and posts the subscription with the token', async () => {
    // Chromium here cannot reach its push service (FCM), so subscribe() is played by the page.
    const browserKey = createECDH('prime256v1')
    browserKey.generateKeys()
    const subscription = {
      endpoint: 'https://fcm.googleapis.com/fcm/send/tani-test',
      expirationTime: null,
      keys: {
        p256dh: browserKey.getPublicKey().toString('base64url'),
        auth: randomBytes(16).toString('base64url'),
      },
    }
    const p = await subscribePage(context)
    await p.evaluate((sub) => {
      const scope = globalThis as unknown as SubscribeScope
      const proto = scope.PushManager?.prototype
      if (!proto) throw new Error('no PushManager')
      proto.getSubscription = async () => null
      proto.subscribe = async ({ userVisibleOnly, applicationServerKey }) => {
        scope.subscribedWith = { userVisibleOnly, key: [...new Uint8Array(applicationServerKey)] }
        return { ...sub, toJSON: () => sub, unsubscribe: async () => true }
      }
    }, subscription)
    expect(await enablePush(p)).toEqual({ subscription })
    const used = await p.evaluate(() => (globalThis as unknown as SubscribeScope).subscribedWith)
    expect(used).toEqual({ userVisibleOnly: true, key: [...vapid.getPublicKey()] })
    expect(apiCalls.map((c) => [c.method, c.url, c.headers.authorization])).toEqual([
      ['GET', '/push/vapid-public-key', 'Bearer tok-farmer'],
      ['POST', '/push/subscriptions', 'Bearer tok-farmer'],
    ])
    const posted = PushSubscriptionInput.parse(JSON.parse(apiCalls[1]?.body ?? 'null'))
    expect(posted).toEqual(subscription)
    await p.close()
  })

  it('says so clearly when notifications are blocked or push is unsupported', async () => {
    // A context without the notifications grant: headless Chromium answers the prompt "denied".
    const blocked = await chromium.browser.newContext()
    try {
      const denied = await enablePush(await subscribePage(blocked))
      expect(denied.error).toMatchObject({ name: 'PushSetupError', code: 'denied' })
      expect(denied.error?.message).toMatch(/Notifications are blocked.*site settings/)
    } finally {
      await blocked.close()
    }
    const p = await subscribePage(context)
    await p.evaluate(() => delete (globalThis as unknown as SubscribeScope).PushManager)
    const unsupported = await enablePush(p)
    expect(unsupported.error).toMatchObject({ code: 'unsupported' })
    expect(unsupported.error?.message).toMatch(/cannot receive push alerts/)
    expect(apiCalls).toEqual([])
    await p.close()
  })
})
