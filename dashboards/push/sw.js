// Tani's service worker: shows alert pushes on the farmer's phone.
// Plain JavaScript on purpose: browsers run this file as it is, with no build step.
// A push carries one NotificationPayload (shared/push.ts), already decrypted by the browser.

const ICON = new URL('icon-192.png', self.location.href).href
const BADGE = new URL('badge-72.png', self.location.href).href

// Chrome counts pushes that show nothing against the site (and may end the subscription),
// so a payload we cannot read still shows something the farmer can tap.
const GENERIC = {
  title: 'Tani: new alert',
  body: 'Open Tani to see what happened.',
  tag: '',
  url: '/',
  silent: false,
  require_interaction: false,
  lang: '',
  state: null,
  alert_id: null,
  reading_ts: null,
}

/** The payload when it is one we can show, otherwise null. */
function readPayload(text) {
  let payload
  try {
    payload = JSON.parse(text)
  } catch {
    return null
  }
  if (!payload || typeof payload.title !== 'string' || typeof payload.body !== 'string') return null
  if (!payload.title) return null
  return payload
}

/** Shows the notification for one push (its data as text, or null when it had none). */
function showPush(text) {
  const p = (text != null && readPayload(text)) || GENERIC
  const tag = typeof p.tag === 'string' ? p.tag : ''
  const silent = p.silent === true
  const options = {
    body: p.body,
    // The tag is the alert id: a newer state of an alert replaces its older notification,
    // so a `resolved` push takes the place of the `firing` one instead of adding a second.
    tag,
    // Sound and vibration again only when an alert (re)fires; Chrome refuses renotify
    // without a tag.
    renotify: tag !== '' && !silent && p.state === 'firing',
    silent,
    requireInteraction: p.require_interaction === true,
    lang: typeof p.lang === 'string' ? p.lang : '',
    // Event time of the reading, so a late upload is not shown as happening now.
    timestamp: Date.parse(p.reading_ts) || Date.now(),
    icon: ICON,
    badge: BADGE,
    data: { url: typeof p.url === 'string' && p.url ? p.url : '/', alert_id: p.alert_id ?? null },
  }
  return self.registration.showNotification(p.title, options).catch(() =>
    // An option this browser rejects must not cost the farmer the alert itself.
    self.registration.showNotification(p.title, { body: p.body, data: options.data }),
  )
}

/**
 * Closes the notification and shows its page: the open window already there, or a new
 * one. `clients` is a parameter so tests can watch it: browsers allow focus() and
 * openWindow() only while a real notification click is being handled.
 */
async function openAlert(notification, clients = self.clients) {
  notification.close()
  const url = new URL(notification.data?.url || '/', self.location.origin).href
  const windows = await clients.matchAll({ type: 'window', includeUncontrolled: true })
  const open = windows.find((w) => w.url === url)
  if (open) return open.focus()
  return clients.openWindow(url)
}

/**
 * The push service replaced or expired the subscription: subscribe again with the same
 * key and tell the API, or alerts would silently stop arriving.
 */
async function resubscribe(oldSubscription, pushManager = self.registration.pushManager) {
  const applicationServerKey = oldSubscription?.options?.applicationServerKey
  if (!applicationServerKey) return null
  const subscription = await pushManager.subscribe({ userVisibleOnly: true, applicationServerKey })
  try {
    await fetch('/push/subscriptions', {
      method: 'POST',
      credentials: 'include',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(subscription.toJSON()),
    })
  } catch {
    // Offline or signed out: the page sends the subscription again on its next visit.
  }
  return subscription
}

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('push', (event) => {
  event.waitUntil(showPush(event.data ? event.data.text() : null))
})

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(openAlert(event.notification))
})

self.addEventListener('pushsubscriptionchange', (event) => {
  // Not every browser gives oldSubscription; then the page subscribes on its next visit.
  event.waitUntil(resubscribe(event.oldSubscription).catch(() => null))
})

// The handlers, for tests that drive them in the worker (a click cannot be simulated).
self.taniPush = { showPush, openAlert, resubscribe }
