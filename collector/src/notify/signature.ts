// Signatures on what Trakvo POSTs to other people's servers (the generic webhook
// destination, outbound notifications). One header, Stripe-style, so a receiver can check
// both who sent a request and when:
//
//   X-Trakvo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
//
// keyed with the shared secret. The timestamp is inside the signed text, so an old request
// cannot be replayed with a fresh `t`. A receiver may see several `v1=` values while a
// secret is being rotated (one per secret); any one that matches is enough.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Trakvo-Signature';
/** How far `t` may be from the receiver's clock, either way, by default. */
export const DEFAULT_TOLERANCE_SEC = 300;

function hmacHex(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
}

/** The `X-Trakvo-Signature` header value for `body` sent at `t` (Unix seconds). */
export function signPayload(secret: string, body: string, t: number): string {
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError('t must be a Unix time in whole seconds');
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

export interface VerifyOptions {
  /** Largest accepted distance between `t` and now, in seconds (default 300). */
  toleranceSec?: number;
  /** The receiver's clock: a Date, or Unix seconds. Defaults to the system clock. */
  now?: Date | number;
}

/** `t` and the `v1` candidates of a header, or undefined when it is malformed. */
function parseHeader(header: string): { t: number; v1: string[] } | undefined {
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      t = Number(value);
    } else if (key === 'v1') {
      v1.push(value.toLowerCase());
    }
    // Other schemes (a future v2) are ignored, so receivers keep working when one is added.
  }
  if (t === undefined || v1.length === 0) return undefined;
  return { t, v1 };
}

/**
 * True when `header` carries a `v1` HMAC of exactly this raw body under `secret`, and its
 * `t` is within `toleranceSec` of now (stale or from the future: false). Comparisons are
 * constant-time. Pass the body exactly as received (bytes decoded as UTF-8), not re-encoded JSON.
 */
export function verifySignature(header: string | undefined, body: string, secret: string, opts: VerifyOptions = {}): boolean {
  if (header === undefined || header === '' || secret === '') return false;
  const parsed = parseHeader(header);
  if (!parsed) return false;
  const tolerance = opts.toleranceSec ?? DEFAULT_TOLERANCE_SEC;
  const now = opts.now === undefined ? Date.now() / 1000 : opts.now instanceof Date ? opts.now.getTime() / 1000 : opts.now;
  if (Math.abs(now - parsed.t) > tolerance) return false;
  const expected = Buffer.from(hmacHex(secret, parsed.t, body), 'utf8');
  let ok = false;
  for (const candidate of parsed.v1) {
    const given = Buffer.from(candidate, 'utf8');
    // Lengths are public (always 64 for a real signature); only equal lengths are compared.
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}
