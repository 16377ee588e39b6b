// The pure helpers every webhook mapping relies on.
import { describe, expect, it } from 'vitest';
import {
  identifiersFromAttributes,
  identifiersFromUrl,
  minorToMajor,
  parseMoney,
  parseTime,
  splitName,
} from '../../src/webhooks/build-event.js';
import { decodeSignature, secretMatches } from '../../src/webhooks/signatures.js';

describe('money and time', () => {
  it('converts Stripe minor units per Stripe’s currency classes', () => {
    expect(minorToMajor(19990, 'brl')).toBe(199.9);
    expect(minorToMajor(5000, 'JPY')).toBe(5000);
    expect(minorToMajor(1234, 'krw')).toBe(1234);
    expect(minorToMajor(12345, 'KWD')).toBe(12.345);
    // ISK and UGX are zero-decimal but Stripe sends them as two-decimal values.
    expect(minorToMajor(50000, 'ISK')).toBe(500);
    expect(minorToMajor(500, 'UGX')).toBe(5);
  });

  it('reads amounts and times as platforms send them', () => {
    expect(parseMoney('199.90')).toBe(199.9);
    expect(parseMoney('199,90')).toBe(199.9);
    expect(parseMoney(97)).toBe(97);
    expect(parseMoney('R$ 10')).toBeUndefined();
    expect(parseTime('2026-03-10T14:31:05-03:00')).toBe(Date.UTC(2026, 2, 10, 17, 31, 5) / 1000);
    expect(parseTime(1773163790000)).toBe(1773163790);
    expect(parseTime(1773163790)).toBe(1773163790);
    expect(parseTime('1773163790000')).toBe(1773163790);
    expect(parseTime('soon')).toBeUndefined();
  });

  it('splits a full name into first and last', () => {
    expect(splitName('Ana Carolina  Lima')).toEqual({ first_name: 'Ana', last_name: 'Lima' });
    expect(splitName('Cher')).toEqual({ first_name: 'Cher' });
    expect(splitName('')).toEqual({});
  });
});

describe('browser identifiers in orders', () => {
  it('reads cookie names and plain names, decoding _ga and _gcl_aw', () => {
    expect(
      identifiersFromAttributes({
        _fbp: 'fb.1.1741620000000.1122334455',
        fbc: 'fb.1.1741620000000.IwAR_x',
        _ga: 'GA1.1.1234567890.1741620000',
        _ga_ABC123: 'GS2.1.s1741620000$o1$g1$t1741620100',
        _gcl_aw: 'GCL.1741620000.Cj0KCQ_gcl',
        _tk_ttclid: 'E.C.P.tiktok',
        _tk_vid: '3f1c2a9e-5b7d-4c11-9e0f-2a6b8c4d1e7f',
        _tk_sid: '1741620000',
        msclkid: 'ms-click',
      }),
    ).toEqual({
      fbp: 'fb.1.1741620000000.1122334455',
      fbc: 'fb.1.1741620000000.IwAR_x',
      gclid: 'Cj0KCQ_gcl',
      ttclid: 'E.C.P.tiktok',
      msclkid: 'ms-click',
      ga_client_id: '1234567890.1741620000',
      ga_session_id: '1741620000',
      visitor_id: '3f1c2a9e-5b7d-4c11-9e0f-2a6b8c4d1e7f',
      session_id: '1741620000',
    });
  });

  it('drops values that cannot be identifiers', () => {
    expect(identifiersFromAttributes({ _fbp: 'has space', _tk_vid: 'short', gclid: 'x'.repeat(501) })).toEqual({});
  });

  it('turns a landing URL’s fbclid into an fbc and keeps other click ids', () => {
    expect(identifiersFromUrl('/products/x?fbclid=IwAR_abc&gclid=Cj0_g&ttclid=tt1', 1741620000000)).toEqual({
      fbc: 'fb.1.1741620000000.IwAR_abc',
      gclid: 'Cj0_g',
      ttclid: 'tt1',
    });
    expect(identifiersFromUrl(undefined, 0)).toEqual({});
  });
});

describe('signature helpers', () => {
  it('decodes only well-formed digests of the right length', () => {
    expect(decodeSignature('ab'.repeat(32), 'hex', 'sha256')?.length).toBe(32);
    expect(decodeSignature('ab'.repeat(31), 'hex', 'sha256')).toBeUndefined();
    expect(decodeSignature('zz'.repeat(32), 'hex', 'sha256')).toBeUndefined();
    expect(decodeSignature(Buffer.alloc(32, 7).toString('base64'), 'base64', 'sha256')?.length).toBe(32);
    expect(decodeSignature(Buffer.alloc(20, 7).toString('base64'), 'base64', 'sha256')).toBeUndefined();
  });

  it('compares shared secrets of any length without throwing', () => {
    expect(secretMatches('the-secret', ['other', 'the-secret'])).toBe(true);
    expect(secretMatches('the-secret-but-longer', ['the-secret'])).toBe(false);
    expect(secretMatches('', [''])).toBe(false);
    expect(secretMatches(undefined, ['x'])).toBe(false);
  });
});
