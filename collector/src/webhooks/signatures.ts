// Constant-time authenticity checks shared by the platforms: an HMAC of the raw body in a
// header or query parameter, or a shared secret sent as is. Nothing here logs or throws
// with a secret or a signature in its message.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type SignatureEncoding = 'hex' | 'base64';

const DIGEST_BYTES: Record<HmacAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

export function hmac(algorithm: HmacAlgorithm, key: string, data: Buffer | string): Buffer {
  return createHmac(algorithm, key).update(data).digest();
}

/** Decodes a signature as sent; undefined unless it is well-formed and the digest's length. */
export function decodeSignature(sent: string, encoding: SignatureEncoding, algorithm: HmacAlgorithm): Buffer | undefined {
  const s = sent.trim();
  const bytes = DIGEST_BYTES[algorithm];
  if (encoding === 'hex') {
    if (s.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(s)) return undefined;
    return Buffer.from(s, 'hex');
  }
  // Standard or URL-safe base64, padding optional.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) return undefined;
  const buf = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return buf.length === bytes ? buf : undefined;
}

/** Equal-length buffers compared in constant time; different lengths are simply unequal. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether `sent` is the HMAC of `data` under any of `keys` (several during a secret
 * rotation). Every key is tried, so the time does not say which one matched.
 */
export function hmacMatches(
  sent: string | undefined,
  data: Buffer | string,
  keys: readonly string[],
  algorithm: HmacAlgorithm,
  encoding: SignatureEncoding,
): boolean {
  if (sent === undefined) return false;
  const decoded = decodeSignature(sent, encoding, algorithm);
  if (!decoded) return false;
  let ok = false;
  for (const key of keys) if (sameBytes(hmac(algorithm, key, data), decoded)) ok = true;
  return ok;
}

/**
 * A shared secret sent in clear (Hotmart's hottok, Cakto's body secret, a token): both
 * sides are hashed first so the comparison is constant-time whatever the lengths.
 */
export function secretMatches(sent: string | undefined, secrets: readonly string[]): boolean {
  if (typeof sent !== 'string' || sent === '') return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const got = digest(sent);
  let ok = false;
  for (const secret of secrets) if (secret !== '' && timingSafeEqual(digest(secret), got)) ok = true;
  return ok;
}

/** A secret option that may be one value or several (old and new during a rotation). */
export function secretList(secret: string | readonly string[]): string[] {
  return (typeof secret === 'string' ? [secret] : [...secret]).filter((s) => s !== '');
}
