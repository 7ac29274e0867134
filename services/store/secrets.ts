import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Device and service secrets: generated here (32 random bytes, base64url), stored only as
 * an scrypt hash `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`.
 *
 * The secrets are random 256-bit tokens, not human passwords, so a slow KDF adds little
 * against guessing; N = 2^14 (the RFC 7914 interactive figure) would cost ~40 ms per
 * CONNECT and make a fleet reconnecting after a broker restart queue for minutes on two
 * cores. 2^12 keeps a stolen database useless while a CONNECT costs a few ms; the
 * parameters are stored with each hash, so they can be raised later.
 */
const LOG2_N = 12
const R = 8
const P = 1
const KEY_LEN = 32

export function generateSecret(): string {
  return randomBytes(32).toString('base64url')
}

function scryptAsync(secret: string, salt: Buffer, n: number, r: number, p: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(secret, salt, KEY_LEN, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    )
  })
}

export async function hashSecret(secret: string, log2n: number = LOG2_N): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, 2 ** log2n, R, P)
  return ['scrypt', log2n, R, P, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/**
 * People choose passwords, which are guessable where device secrets are not: they get
 * scrypt at N = 2^15 (OWASP's 2023 minimum for scrypt is N = 2^17 with r = 8 at 128 MiB;
 * 2^15 keeps a login near 100 ms on a two-core farm gateway, and logins are rate-limited).
 */
export const hashPassword = (password: string) => hashSecret(password, 15)

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, log2n, r, p, salt, hash] = parts as [string, string, string, string, string, string]
  const expected = Buffer.from(hash, 'base64url')
  const key = await scryptAsync(
    secret,
    Buffer.from(salt, 'base64url'),
    2 ** Number(log2n),
    Number(r),
    Number(p),
  )
  return key.length === expected.length && timingSafeEqual(key, expected)
}
