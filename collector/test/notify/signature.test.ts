// X-Trakvo-Signature: signing and verifying, including the worked example the README shows.
import { createHmac } from 'node:crypto';
import { describe, expect, it, test } from 'vitest';
import { DEFAULT_TOLERANCE_SEC, signPayload, verifySignature } from '../../src/notify/signature.js';

// The README's worked example.
const SECRET = 'whsec_trakvo_example_secret';
const BODY = '{"event_id":"evt_123","event_name":"Purchase"}';
const T = 1785585600; // 2026-08-01T12:00:00Z
const EXPECTED = 't=1785585600,v1=e14c8229b3b5f1f71942b4fe2d8f8d1698ff3e3be39bf7266245adf6d042c520';

function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

describe('signPayload', () => {
  it('worked example: HMAC-SHA256 of "<t>.<body>" keyed with the secret, as t=…,v1=…', () => {
    // Computed independently here, and also fixed as text (also checked with
    // `printf '%s' '1785585600.{…}' | openssl dgst -sha256 -hmac whsec_trakvo_example_secret`).
    expect(`t=${T},v1=${hmac(SECRET, `${T}.${BODY}`)}`).toBe(EXPECTED);
    expect(signPayload(SECRET, BODY, T)).toBe(EXPECTED);
  });

  it('signs the raw body: any byte of difference changes the signature', () => {
    const a = signPayload(SECRET, BODY, T);
    expect(signPayload(SECRET, `${BODY} `, T)).not.toBe(a);
    expect(signPayload(SECRET, BODY, T + 1)).not.toBe(a);
    expect(signPayload(`${SECRET}x`, BODY, T)).not.toBe(a);
  });

  it('signs UTF-8 text', () => {
    const body = '{"title":"Café ☕ — ação"}';
    expect(signPayload(SECRET, body, T)).toBe(`t=${T},v1=${hmac(SECRET, `${T}.${body}`)}`);
  });

  test.each([[-1], [1.5], [Number.NaN]])('refuses t = %s', (t) => {
    expect(() => signPayload(SECRET, BODY, t)).toThrow(RangeError);
  });
});

describe('verifySignature', () => {
  const at = (sec: number) => ({ now: T + sec });

  it('accepts the worked example at its time', () => {
    expect(verifySignature(EXPECTED, BODY, SECRET, at(0))).toBe(true);
  });

  it('accepts a Date as now, and defaults to a 300 s tolerance', () => {
    expect(DEFAULT_TOLERANCE_SEC).toBe(300);
    expect(verifySignature(EXPECTED, BODY, SECRET, { now: new Date((T + 299) * 1000) })).toBe(true);
    expect(verifySignature(EXPECTED, BODY, SECRET, { now: new Date((T + 301) * 1000) })).toBe(false);
  });

  it('uses the system clock when no now is given', () => {
    const t = Math.floor(Date.now() / 1000);
    expect(verifySignature(signPayload(SECRET, BODY, t), BODY, SECRET)).toBe(true);
    expect(verifySignature(signPayload(SECRET, BODY, t - 3600), BODY, SECRET)).toBe(false);
  });

  test.each<[string, number, boolean]>([
    ['exactly at the tolerance, old', 300, true],
    ['exactly at the tolerance, future', -300, true],
    ['stale by a second', 301, false],
    ['from the future beyond tolerance', -301, false],
    ['an hour old', 3600, false],
  ])('%s', (_name, age, ok) => {
    expect(verifySignature(EXPECTED, BODY, SECRET, at(age))).toBe(ok);
  });

  it('honours a custom tolerance', () => {
    expect(verifySignature(EXPECTED, BODY, SECRET, { now: T + 30, toleranceSec: 10 })).toBe(false);
    expect(verifySignature(EXPECTED, BODY, SECRET, { now: T + 30, toleranceSec: 60 })).toBe(true);
  });

  it('accepts any one of several v1 values (secret rotation), in any position', () => {
    const old = hmac('old-secret-old-secret', `${T}.${BODY}`);
    const current = EXPECTED.split('v1=')[1]!;
    expect(verifySignature(`t=${T},v1=${old},v1=${current}`, BODY, SECRET, at(0))).toBe(true);
    expect(verifySignature(`t=${T},v1=${current},v1=${old}`, BODY, SECRET, at(0))).toBe(true);
    expect(verifySignature(`t=${T},v1=${old}`, BODY, SECRET, at(0))).toBe(false);
  });

  it('tolerates spaces, uppercase hex and unknown schemes', () => {
    const current = EXPECTED.split('v1=')[1]!;
    expect(verifySignature(`t=${T}, v0=abc, v1=${current.toUpperCase()}`, BODY, SECRET, at(0))).toBe(true);
  });

  test.each<[string, string | undefined, string, string]>([
    ['no header', undefined, BODY, SECRET],
    ['empty header', '', BODY, SECRET],
    ['another body', EXPECTED, `${BODY}\n`, SECRET],
    ['re-encoded JSON body', EXPECTED, JSON.stringify(JSON.parse(BODY), null, 2), SECRET],
    ['another secret', EXPECTED, BODY, 'another-secret-value'],
    ['empty secret', EXPECTED, BODY, ''],
    ['no t', EXPECTED.replace(`t=${T},`, ''), BODY, SECRET],
    ['no v1', `t=${T}`, BODY, SECRET],
    ['two t values', `t=${T},t=${T},v1=${EXPECTED.split('v1=')[1]!}`, BODY, SECRET],
    ['t not a number', EXPECTED.replace(`t=${T}`, 't=soon'), BODY, SECRET],
    ['t in milliseconds', EXPECTED.replace(`t=${T}`, `t=${T * 1000}`), BODY, SECRET],
    ['t changed (signature made for another t)', EXPECTED.replace(`t=${T}`, `t=${T + 1}`), BODY, SECRET],
    ['truncated signature', EXPECTED.slice(0, -2), BODY, SECRET],
    ['signature with extra characters', `${EXPECTED}00`, BODY, SECRET],
    ['garbage', 'not a signature', BODY, SECRET],
    ['a part without =', `t=${T},garbage,v1=${EXPECTED.split('v1=')[1]!}`, BODY, SECRET],
  ])('rejects %s', (_name, header, body, secret) => {
    expect(verifySignature(header, body, secret, { now: T })).toBe(false);
  });
});
