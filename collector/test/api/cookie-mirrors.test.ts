// readIdentifiersFromCookies: the read-only cookie reader the API uses for forwarded cookie
// values (and planFirstPartyCookies builds on). It never mints an id.
import { describe, expect, it } from 'vitest';
import { readIdentifiersFromCookies } from '../../src/http/first-party-cookies.js';

describe('readIdentifiersFromCookies', () => {
  it('mints nothing when there is nothing', () => {
    expect(readIdentifiersFromCookies({})).toEqual({});
    expect(readIdentifiersFromCookies({}, 'https://shop.com/')).toEqual({});
  });

  it('reads every known cookie, ours and the platforms', () => {
    const ids = readIdentifiersFromCookies({
      _fbp: 'fb.1.1596403881668.1116446470',
      _fbc: 'fb.1.1554763741205.IwAR-abc',
      _ga: 'GA1.1.123456789.1700000000',
      _ga_ABC: 'GS1.1.1699999000.5.1.1699999100.0.0.0',
      _gcl_aw: 'GCL.1700000000.EAIa-gclid',
      _ttp: 'ttp-1',
      _scid: 'scid-1',
      _rdt_uuid: 'rdt-uuid',
      _uetmsclkid: '_uetms-1',
      _tk_ttclid: 'tt-ours',
      _tk_vid: 'b3f1c2d4-0000-4000-8000-000000000001',
      _tk_sid: '1699990000',
    });
    expect(ids).toEqual({
      fbp: 'fb.1.1596403881668.1116446470',
      fbc: 'fb.1.1554763741205.IwAR-abc',
      ga_client_id: '123456789.1700000000',
      ga_session_id: '1699999000',
      gclid: 'EAIa-gclid',
      ttp: 'ttp-1',
      scid: 'scid-1',
      rdt_uuid: 'rdt-uuid',
      msclkid: 'ms-1',
      ttclid: 'tt-ours',
      visitor_id: 'b3f1c2d4-0000-4000-8000-000000000001',
      session_id: '1699990000',
    });
  });

  it('ignores malformed values instead of replacing them', () => {
    expect(readIdentifiersFromCookies({ _fbp: 'garbage', _fbc: 'nope', _tk_vid: 'x', _tk_sid: 'abc', _ga: 'GA1.1.abc' })).toEqual({});
  });

  it('takes click ids from the page URL first; builds fbc from fbclid only when given a time', () => {
    const url = 'https://shop.com/p?gclid=URL-G&fbclid=IwAR-new';
    expect(readIdentifiersFromCookies({ _tk_gclid: 'OURS' }, url)).toEqual({ gclid: 'URL-G' });
    expect(readIdentifiersFromCookies({}, url, { now: 1_700_000_000_000 })).toEqual({ gclid: 'URL-G', fbc: 'fb.1.1700000000000.IwAR-new' });
    // The same click already in _fbc keeps the cookie's value.
    const same = 'fb.1.1554763741205.IwAR-new';
    expect(readIdentifiersFromCookies({ _fbc: same }, url, { now: 1_700_000_000_000 }).fbc).toBe(same);
  });
});
