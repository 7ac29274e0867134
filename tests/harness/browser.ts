import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
  type Worker,
} from 'playwright-core'

/**
 * A real Chromium for page and service-worker tests: Debian's `chromium` driven by
 * playwright-core (no downloaded browser), and a loopback server for dashboards/push/.
 */
export type BrowserHandle = { browser: Browser; close(): Promise<void> }

export const chromiumPath = '/usr/bin/chromium'

export async function startBrowser(opts: { executablePath?: string } = {}): Promise<BrowserHandle> {
  const executablePath = opts.executablePath ?? chromiumPath
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it with  apt-get install -y chromium  ` +
        '(deploy/ensure-deps.sh --tests does this)',
    )
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // No sandbox: test machines often run as root in containers. No background networking:
    // nothing here reaches the internet, and Chromium's own calls home would only wait.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  return { browser, close: () => browser.close() }
}

/** A request no file under /push/ answers, for tests that play the API on the same origin. */
export type ApiRequest = {
  method: string
  /** Path and query. */
  url: string
  headers: IncomingHttpHeaders
  body: string
}
export type ApiReply = { status: number; json?: unknown }
export type ApiHandler = (req: ApiRequest) => ApiReply | Promise<ApiReply>

export type DashboardServer = {
  /** `http://127.0.0.1:<port>`: loopback counts as a secure context for service workers. */
  origin: string
  close(): Promise<void>
}

const pushDir = fileURLToPath(new URL('../../dashboards/push/', import.meta.url))

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  // Browsers refuse to register a service worker served with a non-JavaScript type.
  '.js': 'application/javascript; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
}

/** The file under dashboards/push/ that a /push/… path names, or null outside it. */
function pushFile(pathname: string): string | null {
  if (!pathname.startsWith('/push/')) return null
  const rel = normalize(decodeURIComponent(pathname.slice('/push/'.length)) || 'index.html')
  if (rel.startsWith('..') || rel.includes(`${sep}..`)) return null
  return join(pushDir, rel)
}

/**
 * Serves dashboards/push/ at /push/ on 127.0.0.1 (a free port). Requests no file answers go
 * to `api` when given (404 otherwise), so a test can play the API on the same origin.
 */
export async function serveDashboard(opts: { api?: ApiHandler } = {}): Promise<DashboardServer> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const file = pushFile(url.pathname)
    const content = file && req.method === 'GET' ? await readFile(file).catch(() => null) : null
    if (file && content) {
      res.writeHead(200, {
        'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        // sw.js lives in /push/ but controls the whole app: its scope is '/'.
        ...(url.pathname === '/push/sw.js' ? { 'service-worker-allowed': '/' } : {}),
      })
      res.end(content)
      return
    }
    // Not a file: the API's routes (/push/subscriptions, …) share the origin and /push/.
    if (!opts.api) {
      res.writeHead(404).end()
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    try {
      const reply = await opts.api({
        method: req.method ?? 'GET',
        url: url.pathname + url.search,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      })
      if (reply.json === undefined) {
        res.writeHead(reply.status).end()
      } else {
        res.writeHead(reply.status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(reply.json))
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err))
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A notification on screen, as registration.getNotifications() has it. */
export type ShownNotification = {
  title: string
  body: string
  tag: string
  data: { url: string; alert_id: string | null }
  requireInteraction: boolean
  silent: boolean
  renotify: boolean
  lang: string
  timestamp: number
  icon: string
  badge: string
}

// Functions given to evaluate() run in the browser: they must use nothing imported here,
// and as the tsconfig has no DOM library, the browser objects they touch are typed here.
type Shown = ShownNotification & { close(): void }
type PageScope = {
  navigator: {
    serviceWorker: {
      register(url: string, options: { scope: string }): Promise<unknown>
      ready: Promise<{ getNotifications(): Promise<Shown[]> }>
    }
  }
}

export type PushPage = {
  page: Page
  /** Raises a push event with `data` in the worker, as the browser does for a push message. */
  deliver(data: string): Promise<void>
  /** The notifications on screen. */
  shown(): Promise<ShownNotification[]>
  /** Closes every notification and waits until they are gone. */
  clear(): Promise<void>
  /** The running service worker, to evaluate code in it. */
  worker(): Promise<Worker>
}

/**
 * Opens /push/index.html in `context`, registers the service worker with scope '/' and
 * returns a way to push to it: DevTools' ServiceWorker.deliverPushMessage, which raises the
 * same push event a push service's (decrypted) message does. Grant 'notifications' first.
 */
export async function openPushPage(
  context: BrowserContext,
  origin: string,
  swUrl = '/push/sw.js',
): Promise<PushPage> {
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  const registered = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted)
      if (ours) resolve(ours.registrationId)
    })
  })
  await cdp.send('ServiceWorker.enable')
  await page.goto(`${origin}/push/index.html`)
  await page.evaluate(async (url) => {
    const { serviceWorker } = (globalThis as unknown as PageScope).navigator
    await serviceWorker.register(url, { scope: '/' })
    await serviceWorker.ready
  }, swUrl)
  const registrationId = await registered

  const shown = () =>
    page.evaluate(async () => {
      const registration = await (globalThis as unknown as PageScope).navigator.serviceWorker.ready
      return (await registration.getNotifications()).map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        data: n.data,
        requireInteraction: n.requireInteraction,
        silent: n.silent,
        renotify: n.renotify,
        lang: n.lang,
        timestamp: n.timestamp,
        icon: n.icon,
        badge: n.badge,
      }))
    })
  return {
    page,
    shown,
    deliver: async (data) => {
      await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data })
    },
    clear: async () => {
      await page.evaluate(async () => {
        const registration = await (globalThis as unknown as PageScope).navigator.serviceWorker
          .ready
        for (const n of await registration.getNotifications()) n.close()
      })
      // close() is carried out by the browser process: wait until it is.
      for (let i = 0; i < 100 && (await shown()).length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    worker: async () =>
      context.serviceWorkers().find((w) => w.url() === `${origin}${swUrl}`) ??
      context.waitForEvent('serviceworker'),
  }
}
