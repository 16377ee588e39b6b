import { describe, expect, it } from 'vitest';
import { IdentifiersSchema } from '../src/event/schema.js';
import {
  COOKIE_MAX_AGE_SECONDS,
  cookieDomainFor,
  gaClientIdFromCookie,
  planFirstPartyCookies,
  subdomainIndexFor,
  type FirstPartyCookieInput,
} from '../src/http/first-party-cookies.js';

const NOW = 1_700_000_000_123;
const RANDOM = 1073741823; // floor(0.5 * 2147483647)
const ATTRS_HTTPS_SHOP = 'Max-Age=34560000; Domain=shop.com; Path=/; Secure; SameSite=Lax';

function planAll(over: Partial<FirstPartyCookieInput> = {}) {
  return planFirstPartyCookies({
    host: 'www.shop.com',
    secure: true,
    cookies: {},
    now: NOW,
    random: () => 0.5,
    ...over,
  });
}

/** The plan without our visitor/session cookies, which have their own tests below. */
function plan(over: Partial<FirstPartyCookieInput> = {}) {
  const { ids, setCookies } = planAll(over);
  const { visitor_id: _v, session_id: _s, ...rest } = ids;
  return { ids: rest, setCookies: setCookies.filter((c) => !/^_tk_(vid|sid)=/.test(c)) };
}

const cookieNamed = (setCookies: string[], name: string): string | undefined =>
  setCookies.find((c) => c.startsWith(`${name}=`));

describe('cookie domain and subdomain index', () => {
  it('uses the registrable domain', () => {
    expect(cookieDomainFor('www.shop.com')).toBe('shop.com');
    expect(cookieDomainFor('shop.com:8443')).toBe('shop.com');
    expect(cookieDomainFor('WWW.LOJA.COM.BR')).toBe('loja.com.br');
    expect(cookieDomainFor('checkout.shop.co.uk')).toBe('shop.co.uk');
    // PSL private section: herokuapp.com is a public suffix, the cookie stays on the app.
    expect(cookieDomainFor('myshop.herokuapp.com')).toBe('myshop.herokuapp.com');
  });

  it('has no Domain for localhost and IP addresses', () => {
    for (const host of ['localhost', 'localhost:3000', 'app.localhost', '127.0.0.1:8080', '[::1]:3000', '10.0.0.5']) {
      expect(cookieDomainFor(host)).toBeUndefined();
    }
  });

  it('counts labels − 1, and 1 for host-only cookies', () => {
    expect(subdomainIndexFor('shop.com')).toBe(1);
    expect(subdomainIndexFor('loja.com.br')).toBe(2);
    expect(subdomainIndexFor(undefined)).toBe(1);
  });
});

describe('_fbp', () => {
  it('creates fb.1.{now}.{random} on www.shop.com with the exact Set-Cookie', () => {
    const { ids, setCookies } = plan();
    expect(ids.fbp).toBe(`fb.1.${NOW}.${RANDOM}`);
    expect(setCookies).toEqual([`_fbp=fb.1.${NOW}.${RANDOM}; ${ATTRS_HTTPS_SHOP}`]);
  });

  it('uses index 2 on www.loja.com.br', () => {
    const { ids, setCookies } = plan({ host: 'www.loja.com.br' });
    expect(ids.fbp).toBe(`fb.2.${NOW}.${RANDOM}`);
    expect(setCookies).toEqual([
      `_fbp=fb.2.${NOW}.${RANDOM}; Max-Age=34560000; Domain=loja.com.br; Path=/; Secure; SameSite=Lax`,
    ]);
  });

  it('sets a host-only cookie without Secure on http://localhost', () => {
    const { ids, setCookies } = plan({ host: 'localhost:3000', secure: false });
    expect(ids.fbp).toBe(`fb.1.${NOW}.${RANDOM}`);
    expect(setCookies).toEqual([`_fbp=fb.1.${NOW}.${RANDOM}; Max-Age=34560000; Path=/; SameSite=Lax`]);
  });

  it('adds Secure only over https', () => {
    expect(plan({ secure: false }).setCookies[0]).toBe(
      `_fbp=fb.1.${NOW}.${RANDOM}; Max-Age=34560000; Domain=shop.com; Path=/; SameSite=Lax`,
    );
    expect(plan({ secure: true }).setCookies[0]).toContain('; Secure');
  });

  it('keeps and refreshes a well-formed existing cookie', () => {
    const existing = 'fb.1.1596403881668.1116446470';
    const { ids, setCookies } = plan({ cookies: { _fbp: existing } });
    expect(ids.fbp).toBe(existing);
    expect(setCookies).toEqual([`_fbp=${existing}; ${ATTRS_HTTPS_SHOP}`]);
  });

  it("keeps a value carrying the Parameter Builder's appendix", () => {
    const existing = 'fb.1.1596403881668.1116446470.AQYBAQIA';
    expect(plan({ cookies: { _fbp: existing } }).ids.fbp).toBe(existing);
  });

  it('replaces a malformed cookie', () => {
    for (const bad of ['garbage', 'fb.1.abc.123', 'fb.1.1596403881668', '']) {
      expect(plan({ cookies: { _fbp: bad } }).ids.fbp).toBe(`fb.1.${NOW}.${RANDOM}`);
    }
  });

  it('draws the random part from [0, 2147483647)', () => {
    expect(plan({ random: () => 0 }).ids.fbp).toBe(`fb.1.${NOW}.0`);
    expect(plan({ random: () => 0.9999999999 }).ids.fbp).toBe(`fb.1.${NOW}.2147483646`);
    const { ids } = planFirstPartyCookies({ host: 'shop.com', secure: true, cookies: {}, now: NOW });
    expect(ids.fbp).toMatch(new RegExp(`^fb\\.1\\.${NOW}\\.\\d{1,10}$`));
  });

  it('is never HttpOnly and always lives 400 days', () => {
    const { setCookies } = plan({ pageUrl: 'https://www.shop.com/?fbclid=Ab&gclid=Cd' });
    expect(setCookies).toHaveLength(3);
    for (const c of setCookies) {
      expect(c.toLowerCase()).not.toContain('httponly');
      expect(c).toContain(`Max-Age=${COOKIE_MAX_AGE_SECONDS}`);
      expect(COOKIE_MAX_AGE_SECONDS).toBe(400 * 24 * 3600);
    }
  });
});

describe('_fbc', () => {
  const FBCLID = 'IwAR2xYz_AbC-123dEf';

  it('builds fb.{index}.{now}.{fbclid} from the landing URL, keeping its case', () => {
    const { ids, setCookies } = plan({ pageUrl: `https://www.shop.com/p/1?utm_source=fb&fbclid=${FBCLID}` });
    expect(ids.fbc).toBe(`fb.1.${NOW}.${FBCLID}`);
    expect(cookieNamed(setCookies, '_fbc')).toBe(`_fbc=fb.1.${NOW}.${FBCLID}; ${ATTRS_HTTPS_SHOP}`);
  });

  it('uses the index of the cookie domain', () => {
    expect(plan({ host: 'www.loja.com.br', pageUrl: `https://www.loja.com.br/?fbclid=${FBCLID}` }).ids.fbc).toBe(
      `fb.2.${NOW}.${FBCLID}`,
    );
  });

  it('keeps the existing value when the same fbclid arrives again', () => {
    const existing = `fb.1.1554763741205.${FBCLID}`;
    const { ids, setCookies } = plan({ pageUrl: `https://www.shop.com/?fbclid=${FBCLID}`, cookies: { _fbc: existing } });
    expect(ids.fbc).toBe(existing);
    expect(cookieNamed(setCookies, '_fbc')).toBe(`_fbc=${existing}; ${ATTRS_HTTPS_SHOP}`);
  });

  it('treats an fbclid that differs only in case as a new click', () => {
    const existing = `fb.1.1554763741205.${FBCLID.toLowerCase()}`;
    expect(plan({ pageUrl: `https://www.shop.com/?fbclid=${FBCLID}`, cookies: { _fbc: existing } }).ids.fbc).toBe(
      `fb.1.${NOW}.${FBCLID}`,
    );
  });

  it('makes a new value when a different fbclid arrives', () => {
    const existing = 'fb.1.1554763741205.IwAROldClick';
    const { ids } = plan({ pageUrl: `https://www.shop.com/?fbclid=${FBCLID}`, cookies: { _fbc: existing } });
    expect(ids.fbc).toBe(`fb.1.${NOW}.${FBCLID}`);
  });

  it('keeps an existing value when the URL has no fbclid, and refreshes it', () => {
    const existing = 'fb.2.1554763741205.IwAROldClick';
    const { ids, setCookies } = plan({ pageUrl: 'https://www.shop.com/cart', cookies: { _fbc: existing } });
    expect(ids.fbc).toBe(existing);
    expect(cookieNamed(setCookies, '_fbc')).toBe(`_fbc=${existing}; ${ATTRS_HTTPS_SHOP}`);
  });

  it('drops a malformed existing value', () => {
    const { ids, setCookies } = plan({ cookies: { _fbc: 'IwAR-not-an-fbc' } });
    expect(ids.fbc).toBeUndefined();
    expect(cookieNamed(setCookies, '_fbc')).toBeUndefined();
  });

  it('does not store an fbclid that is not a valid cookie value', () => {
    const { ids, setCookies } = plan({ pageUrl: 'https://www.shop.com/?fbclid=a%20b%3Bc' });
    expect(ids.fbc).toBeUndefined();
    expect(cookieNamed(setCookies, '_fbc')).toBeUndefined();
    expect(plan({ pageUrl: `https://www.shop.com/?fbclid=${'x'.repeat(600)}` }).ids.fbc).toBeUndefined();
  });

  it('survives a missing or broken page URL', () => {
    expect(plan({ pageUrl: undefined }).ids.fbc).toBeUndefined();
    expect(plan({ pageUrl: 'http://[broken' }).ids.fbc).toBeUndefined();
    expect(plan({ pageUrl: `/landing?fbclid=${FBCLID}` }).ids.fbc).toBe(`fb.1.${NOW}.${FBCLID}`);
  });
});

describe('click ids', () => {
  const URL_WITH_ALL =
    'https://www.shop.com/?gclid=Cj0KCQ_g&ttclid=E.C.P.tt1&msclkid=ms123abc&epik=dj0yJnU9&ScCid=3b3f-sc&rdt_cid=rdt9&li_fat_id=li-42';

  it('stores each landing-URL click id in our own _tk_ cookie', () => {
    const { ids, setCookies } = plan({ pageUrl: URL_WITH_ALL });
    expect(ids).toMatchObject({
      gclid: 'Cj0KCQ_g',
      ttclid: 'E.C.P.tt1',
      msclkid: 'ms123abc',
      epik: 'dj0yJnU9',
      sccid: '3b3f-sc',
      rdt_cid: 'rdt9',
      li_fat_id: 'li-42',
    });
    expect(setCookies.slice(1)).toEqual([
      `_tk_gclid=Cj0KCQ_g; ${ATTRS_HTTPS_SHOP}`,
      `_tk_ttclid=E.C.P.tt1; ${ATTRS_HTTPS_SHOP}`,
      `_tk_msclkid=ms123abc; ${ATTRS_HTTPS_SHOP}`,
      `_tk_epik=dj0yJnU9; ${ATTRS_HTTPS_SHOP}`,
      `_tk_sccid=3b3f-sc; ${ATTRS_HTTPS_SHOP}`,
      `_tk_rdt_cid=rdt9; ${ATTRS_HTTPS_SHOP}`,
      `_tk_li_fat_id=li-42; ${ATTRS_HTTPS_SHOP}`,
    ]);
    expect(IdentifiersSchema.safeParse(ids).success).toBe(true);
  });

  it('reads them back from our cookies on a later visit without them in the URL', () => {
    const cookies = {
      _tk_gclid: 'Cj0KCQ_g',
      _tk_ttclid: 'tt1',
      _tk_msclkid: 'ms1',
      _tk_epik: 'ep1',
      _tk_sccid: 'sc1',
      _tk_rdt_cid: 'rd1',
      _tk_li_fat_id: 'li1',
    };
    const { ids, setCookies } = plan({ pageUrl: 'https://www.shop.com/thank-you', cookies });
    expect(ids).toMatchObject({ gclid: 'Cj0KCQ_g', ttclid: 'tt1', msclkid: 'ms1', epik: 'ep1', sccid: 'sc1', rdt_cid: 'rd1', li_fat_id: 'li1' });
    expect(cookieNamed(setCookies, '_tk_gclid')).toBe(`_tk_gclid=Cj0KCQ_g; ${ATTRS_HTTPS_SHOP}`);
    expect(setCookies).toHaveLength(8);
  });

  it('lets a newer click in the URL replace the stored one', () => {
    const { ids, setCookies } = plan({ pageUrl: 'https://www.shop.com/?gclid=NEW', cookies: { _tk_gclid: 'OLD' } });
    expect(ids.gclid).toBe('NEW');
    expect(cookieNamed(setCookies, '_tk_gclid')).toBe(`_tk_gclid=NEW; ${ATTRS_HTTPS_SHOP}`);
  });

  it("falls back to the platforms' own cookies without writing them", () => {
    const { ids, setCookies } = plan({
      cookies: {
        _gcl_aw: 'GCL.1700000000.EAIaIQobChMI',
        _uetmsclkid: '_uetabc123def',
        _epik: 'dj0yJnU9epik',
        _ttp: 'ttp-browser-id',
        _ga: 'GA1.1.123456789.1700000000',
        _scid: 'scid-uuid',
        _rdt_uuid: '1700000000000.rdt-uuid',
      },
    });
    expect(ids).toEqual({
      fbp: `fb.1.${NOW}.${RANDOM}`,
      gclid: 'EAIaIQobChMI',
      msclkid: 'abc123def',
      epik: 'dj0yJnU9epik',
      ttp: 'ttp-browser-id',
      ga_client_id: '123456789.1700000000',
      scid: 'scid-uuid',
      rdt_uuid: '1700000000000.rdt-uuid',
    });
    expect(setCookies).toEqual([`_fbp=fb.1.${NOW}.${RANDOM}; ${ATTRS_HTTPS_SHOP}`]);
  });

  it('prefers the URL and our cookie over the platform cookie', () => {
    const cookies = { _gcl_aw: 'GCL.1.platform', _epik: 'platform-epik', _tk_epik: 'ours', _uetmsclkid: '_uetplatform' };
    const { ids } = plan({ pageUrl: 'https://www.shop.com/?gclid=url', cookies });
    expect(ids.gclid).toBe('url');
    expect(ids.epik).toBe('ours');
    expect(ids.msclkid).toBe('platform');
  });

  it('does not store values that are not valid cookie values or are too long', () => {
    const { ids, setCookies } = plan({ pageUrl: `https://www.shop.com/?gclid=a%22b&ttclid=${'t'.repeat(501)}&msclkid=ok` });
    expect(ids.gclid).toBeUndefined();
    expect(ids.ttclid).toBeUndefined();
    expect(ids.msclkid).toBe('ok');
    expect(setCookies.map((c) => c.split('=')[0])).toEqual(['_fbp', '_tk_msclkid']);
  });
});

describe('_ga parsing', () => {
  it('takes the last two parts as the client id', () => {
    expect(gaClientIdFromCookie('GA1.1.123.456')).toBe('123.456');
    expect(gaClientIdFromCookie('GA1.2.1234567890.1700000000')).toBe('1234567890.1700000000');
  });

  it('rejects other shapes', () => {
    for (const bad of [undefined, '', 'GA1.1.123', 'GS1.1.123.456', 'GA1.1.abc.456', 'garbage']) {
      expect(gaClientIdFromCookie(bad)).toBeUndefined();
    }
  });
});

describe('visitor and session ids', () => {
  it('mints a visitor id (400 days) and a session id (session start in seconds, 30 min sliding)', () => {
    const { ids, setCookies } = planAll();
    expect(ids.visitor_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids.session_id).toBe(String(Math.floor(NOW / 1000)));
    expect(cookieNamed(setCookies, '_tk_vid')).toBe(`_tk_vid=${ids.visitor_id}; ${ATTRS_HTTPS_SHOP}`);
    expect(cookieNamed(setCookies, '_tk_sid')).toBe(`_tk_sid=${ids.session_id}; Max-Age=1800; Domain=shop.com; Path=/; Secure; SameSite=Lax`);
  });

  it('keeps existing well-formed ids and replaces malformed ones', () => {
    const kept = planAll({ cookies: { _tk_vid: 'b3f1c2d4-0000-4000-8000-000000000001', _tk_sid: '1699990000' } });
    expect(kept.ids.visitor_id).toBe('b3f1c2d4-0000-4000-8000-000000000001');
    expect(kept.ids.session_id).toBe('1699990000');
    const replaced = planAll({ cookies: { _tk_vid: 'x', _tk_sid: 'abc' } });
    expect(replaced.ids.visitor_id).not.toBe('x');
    expect(replaced.ids.session_id).toBe(String(Math.floor(NOW / 1000)));
  });

  it("reads GA4's session id from _ga_<container> in both cookie formats", () => {
    expect(planAll({ cookies: { _ga_ABC123: 'GS1.1.1699999000.5.1.1699999100.0.0.0' } }).ids.ga_session_id).toBe('1699999000');
    expect(planAll({ cookies: { _ga_ABC123: 'GS2.1.s1699999001$o5$g1$t1699999100$j60$l0$h0' } }).ids.ga_session_id).toBe('1699999001');
    expect(planAll({ cookies: { _ga_ABC123: 'garbage' } }).ids.ga_session_id).toBeUndefined();
  });
});
