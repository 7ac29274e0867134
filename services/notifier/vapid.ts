import { createECDH } from 'node:crypto'
import webPush from 'web-push'
import type { VapidKeys } from './outcome.ts'

/** Where generated keys are kept; both processes starting together read back one pair. */
const SETTING_KEY = 'vapid'

export type VapidKeyStore = {
  getSetting(key: string): Promise<string | null>
  /** Stores the value unless the key has one; returns what is stored (first writer wins). */
  setSettingIfAbsent(key: string, value: string): Promise<string>
  setSetting(key: string, value: string): Promise<void>
}

/** Where the public key is kept for the API to hand to pages, whichever way it was made. */
export const PUBLIC_KEY_SETTING = 'vapid_public_key'

export type VapidConfig = { publicKey?: string; privateKey?: string; subject: string }

/** A fresh application server key pair (RFC 8292 §3.2), base64url without padding. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = webPush.generateVAPIDKeys()
  return { publicKey, privateKey }
}

/**
 * The VAPID keys to sign with: configured ones when given, otherwise a pair generated on
 * the first start and kept in the store. Pages subscribe with the public key, so changing
 * it orphans every subscription: hence kept, not regenerated.
 */
export async function loadVapidKeys(store: VapidKeyStore, config: VapidConfig): Promise<VapidKeys> {
  const keys = await vapidKeysOf(store, config)
  await store.setSetting(PUBLIC_KEY_SETTING, keys.publicKey)
  return keys
}

async function vapidKeysOf(store: VapidKeyStore, config: VapidConfig): Promise<VapidKeys> {
  const subject = checkSubject(config.subject)
  const { publicKey, privateKey } = config
  if (publicKey || privateKey) {
    if (!publicKey) throw new Error('VAPID_PUBLIC_KEY is missing: set it with VAPID_PRIVATE_KEY')
    if (!privateKey) throw new Error('VAPID_PRIVATE_KEY is missing: set it with VAPID_PUBLIC_KEY')
    return { ...checkPair(publicKey, privateKey, 'VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY'), subject }
  }

  let stored = await store.getSetting(SETTING_KEY)
  if (stored === null) {
    stored = await store.setSettingIfAbsent(SETTING_KEY, JSON.stringify(generateVapidKeys()))
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(stored)
  } catch {
    throw new Error(`setting '${SETTING_KEY}' in the store is not JSON; delete it to regenerate`)
  }
  const pair = parsed as { publicKey?: unknown; privateKey?: unknown } | null
  if (typeof pair?.publicKey !== 'string' || typeof pair.privateKey !== 'string') {
    throw new Error(`setting '${SETTING_KEY}' in the store lacks publicKey/privateKey`)
  }
  const where = `setting '${SETTING_KEY}'`
  return {
    ...checkPair(pair.publicKey, pair.privateKey, `${where} publicKey`, `${where} privateKey`),
    subject,
  }
}

/** RFC 8292 §2.1: the `sub` claim is a mailto: or https: URI; web-push refuses others. */
function checkSubject(subject: string): string {
  let url: URL
  try {
    url = new URL(subject)
  } catch {
    throw new Error(`VAPID_SUBJECT must be a mailto: or https: URL, got '${subject}'`)
  }
  if (url.protocol !== 'mailto:' && url.protocol !== 'https:') {
    throw new Error(`VAPID_SUBJECT must be a mailto: or https: URL, got '${subject}'`)
  }
  return subject
}

const base64url = /^[A-Za-z0-9_-]+$/

function checkPair(publicKey: string, privateKey: string, publicName: string, privateName: string) {
  const pub = base64url.test(publicKey) ? Buffer.from(publicKey, 'base64url') : null
  // RFC 8292 §3.2: the uncompressed P-256 point, 0x04 || X || Y.
  if (pub?.length !== 65 || pub[0] !== 0x04) {
    throw new Error(
      `${publicName} must be a 65-byte uncompressed P-256 public key, base64url without padding`,
    )
  }
  const priv = base64url.test(privateKey) ? Buffer.from(privateKey, 'base64url') : null
  if (priv?.length !== 32) {
    throw new Error(`${privateName} must be a 32-byte P-256 private key, base64url without padding`)
  }
  const ecdh = createECDH('prime256v1')
  try {
    ecdh.setPrivateKey(priv)
  } catch {
    throw new Error(`${privateName} is not a valid P-256 private key`)
  }
  if (!ecdh.getPublicKey().equals(pub)) {
    throw new Error(`${privateName} does not belong to ${publicName}: configure a matching pair`)
  }
  return { publicKey, privateKey }
}
