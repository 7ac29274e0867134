// Turns Tani's Web Push alerts on or off for this browser. A page imports it as an ES module:
//   import { enablePush } from '/push/subscribe.js'
//   button.onclick = () => enablePush({ apiBase: '', token })

/** Why push cannot be turned on; `code` is 'unsupported', 'denied' or 'server'. */
export class PushSetupError extends Error {
  constructor(code, message) {
    super(message)
    this.name = 'PushSetupError'
    this.code = code
  }
}

function pushSupported() {
  return (
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    'PushManager' in globalThis &&
    'Notification' in globalThis
  )
}

/** The VAPID public key as the bytes pushManager.subscribe() wants (it is base64url text). */
export function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/')
  const raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  return Uint8Array.from(raw, (c) => c.charCodeAt(0))
}

function sameBytes(a, b) {
  if (!a || !b) return false
  const x = new Uint8Array(a)
  const y = new Uint8Array(b)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

/** Resolves once the registration has an active worker: subscribe() needs one. */
function activated(registration) {
  if (registration.active) return Promise.resolve(registration)
  const worker = registration.installing || registration.waiting
  return new Promise((resolve, reject) => {
    worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve(registration)
      if (worker.state === 'redundant') {
        reject(new PushSetupError('unsupported', 'The Tani service worker failed to install.'))
      }
    })
  })
}

async function api(apiBase, token, method, path, body) {
  const res = await fetch(`${apiBase}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) {
    const detail = await res.text().catch(() => '')
    throw new PushSetupError('server', `${method} ${path} failed: HTTP ${res.status} ${detail}`)
  }
  const text = await res.text()
  return text ? JSON.parse(text) : null
}

/**
 * Asks permission, registers the service worker, subscribes with Tani's VAPID key and
 * hands the subscription to the API. Returns the PushSubscription. Call it from a click:
 * browsers only show the permission prompt in answer to the person's own action.
 */
export async function enablePush({ apiBase = '', token, swUrl = '/push/sw.js', scope = '/' }) {
  if (!pushSupported()) {
    throw new PushSetupError(
      'unsupported',
      'This browser cannot receive push alerts. On an iPhone, add Tani to the home screen ' +
        'and open it from there; elsewhere, use a recent Chrome, Firefox or Edge.',
    )
  }
  if (!globalThis.isSecureContext) {
    throw new PushSetupError('unsupported', 'Push alerts need the page to be opened over https.')
  }
  // Permission first, while the click that called us still counts as the person's action.
  const permission = await Notification.requestPermission()
  if (permission !== 'granted') {
    throw new PushSetupError(
      'denied',
      'Notifications are blocked for this site. Allow them in the browser’s site settings ' +
        '(the lock icon next to the address), then try again.',
    )
  }
  const registration = await activated(await navigator.serviceWorker.register(swUrl, { scope }))
  const { public_key: publicKey } = await api(apiBase, token, 'GET', '/push/vapid-public-key')
  const applicationServerKey = keyBytes(publicKey)

  let subscription = await registration.pushManager.getSubscription()
  // A subscription made with an older key cannot be reused: the push service would
  // refuse messages signed with the new one.
  if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
    await subscription.unsubscribe()
    subscription = null
  }
  // userVisibleOnly: every push shows a notification (the only mode Chrome allows).
  subscription ??= await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey,
  })
  await api(apiBase, token, 'POST', '/push/subscriptions', subscription.toJSON())
  return subscription
}

/**
 * Stops alerts on this browser: unsubscribes, then tells the API (best effort: if that
 * fails, the push service answers the notifier's next send with 410 Gone and the
 * notifier removes the subscription). Returns false when there was nothing to turn off.
 */
export async function disablePush({ apiBase = '', token, scope = '/' }) {
  if (!pushSupported()) return false
  const registration = await navigator.serviceWorker.getRegistration(scope)
  const subscription = await registration?.pushManager.getSubscription()
  if (!subscription) return false
  const { endpoint } = subscription
  await subscription.unsubscribe()
  await api(apiBase, token, 'DELETE', '/push/subscriptions', { endpoint }).catch(() => null)
  return true
}
