// The dashboard over HTTP: off without config, login required, security headers on every
// answer, CSRF refused, untrusted text escaped, search, detail, replay, charts, live stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/dashboard/dashboard-router.js';
import { makeEvent } from '../fixtures/events.js';
import { csrfOf, PASSWORD, startTestDashboard, type TestDashboard } from './helpers.js';

const XSS = '<img src=x onerror="alert(1)">';

function expectSecurityHeaders(res: Response): void {
  expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('same-origin');
}

/** No inline script and no inline event handler anywhere in the markup. */
function expectNoInlineScript(html: string): void {
  for (const m of html.matchAll(/<script\b([^>]*)>/g)) expect(m[1]).toMatch(/\ssrc="/);
  expect(html).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
  expect(html).not.toMatch(/\sstyle="/);
}

describe('dashboard off', () => {
  it('answers 404 everywhere when admin is not configured', async () => {
    const t = await startTestDashboard({ admin: null });
    try {
      for (const path of ['/', '/login', '/static/dashboard.js', '/api/stream']) {
        const res = await t.request(path);
        expect(res.status, path).toBe(404);
      }
    } finally {
      await t.close();
    }
  });
});

describe('dashboard', () => {
  let t: TestDashboard;
  let cookie: string;

  beforeAll(async () => {
    t = await startTestDashboard({ livePollMs: 60_000 });
    cookie = await t.login();
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('login', () => {
    it('sends a visitor without a session to the login page, and APIs answer 401', async () => {
      const page = await t.request('/events?q=abc');
      expect(page.status).toBe(303);
      expect(page.headers.get('location')).toBe(`/t/admin/login?next=${encodeURIComponent('/events?q=abc')}`);
      expect((await t.request('/api/stream')).status).toBe(401);
      expect((await t.request('/api/charts')).status).toBe(401);
      const post = await t.request('/dead/replay', { method: 'POST', body: new URLSearchParams({ all: '1' }) });
      expect(post.status).toBe(401);
    });

    it('sets an HttpOnly, SameSite=Strict session cookie scoped to the dashboard path', async () => {
      const res = await fetch(`${t.base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
        body: new URLSearchParams({ password: PASSWORD, next: '/dead' }),
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/t/admin/dead');
      const set = res.headers.getSetCookie()[0]!;
      expect(set).toMatch(/^trakvo_admin=[^;]+\.[^;]+;/);
      expect(set).toContain('HttpOnly');
      expect(set).toContain('SameSite=Strict');
      expect(set).toContain('Path=/t/admin');
    });

    it('never redirects outside the dashboard after login', async () => {
      for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
        const res = await fetch(`${t.base}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
          body: new URLSearchParams({ password: PASSWORD, next }),
        });
        expect(res.headers.get('location'), next).toBe('/t/admin/');
      }
    });

    it('refuses a wrong password and a tampered cookie', async () => {
      const res = await fetch(`${t.base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url, 'x-forwarded-for': '198.51.100.1' },
        body: new URLSearchParams({ password: 'wrong password!!' }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(await res.text()).toContain('Wrong password');

      const [name, value] = cookie.split('=') as [string, string];
      const [payload, mac] = value.split('.') as [string, string];
      const forged = Buffer.from(JSON.stringify({ sid: 'x', exp: 4_102_444_800 })).toString('base64url');
      for (const bad of [`${name}=${forged}.${mac}`, `${name}=${payload}.${mac.slice(1)}A`, `${name}=garbage`]) {
        expect((await t.request('/', { cookie: bad })).status, bad).toBe(303);
      }
    });

    it('refuses a login form posted from another site', async () => {
      const res = await fetch(`${t.base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        body: new URLSearchParams({ password: PASSWORD }),
      });
      expect(res.status).toBe(403);
      expect(res.headers.getSetCookie()).toEqual([]);
    });

    it('rate-limits failed logins per client address, even when the password is then right', async () => {
      const attempt = (password: string) =>
        fetch(`${t.base}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url, 'x-forwarded-for': '198.51.100.77' },
          body: new URLSearchParams({ password }),
        });
      for (let i = 0; i < 10; i++) expect((await attempt(`guess number ${i}`)).status).toBe(401);
      const limited = await attempt(PASSWORD);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another address is not affected.
      const other = await fetch(`${t.base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url, 'x-forwarded-for': '198.51.100.78' },
        body: new URLSearchParams({ password: PASSWORD }),
      });
      expect(other.status).toBe(303);
    });

    it('logs out: the old cookie stops working', async () => {
      const own = await t.login();
      const page = await (await t.request('/', { cookie: own })).text();
      const res = await t.request('/logout', {
        method: 'POST',
        cookie: own,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
        body: new URLSearchParams({ _csrf: csrfOf(page) }),
      });
      expect(res.status).toBe(303);
      expect((await t.request('/', { cookie: own })).status).toBe(303);
    });
  });

  describe('headers and markup', () => {
    it('sends the CSP and security headers on every answer, logged in or not', async () => {
      for (const [path, c] of [
        ['/login', undefined],
        ['/', cookie],
        ['/events', cookie],
        ['/dead', cookie],
        ['/setup', cookie],
        ['/nope', cookie],
        ['/static/dashboard.js', undefined],
        ['/api/charts', cookie],
      ] as const) {
        const res = await t.request(path, { ...(c ? { cookie: c } : {}) });
        expectSecurityHeaders(res);
        if (path !== '/static/dashboard.js') expect(res.headers.get('cache-control'), path).toBe('no-store');
      }
    });

    it('serves its script, stylesheet and uPlot from the collector itself', async () => {
      const js = await t.request('/static/dashboard.js');
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      expect(await js.text()).toContain('EventSource');
      const uplot = await t.request('/static/uplot.iife.min.js');
      expect(uplot.status).toBe(200);
      expect(await uplot.text()).toContain('uPlot');
      expect((await t.request('/static/uplot.min.css')).headers.get('content-type')).toMatch(/css/);
      expect((await t.request('/static/../config.ts')).status).not.toBe(200);
    });

    it('has no inline script, handler or style attribute on any page', async () => {
      const ev = makeEvent({ site_id: 'shop' });
      await t.store.insertEvents([{ event: ev, destinations: ['meta'] }]);
      for (const path of ['/', '/events', `/events/shop/${ev.event_id}`, '/dead', '/setup']) {
        const res = await t.request(path, { cookie });
        expect(res.status, path).toBe(200);
        expectNoInlineScript(await res.text());
      }
      expectNoInlineScript(await (await t.request('/login')).text());
    });
  });

  describe('escaping', () => {
    it('renders an event name, error and platform answer full of markup as text', async () => {
      const ev = makeEvent({ site_id: 'shop', event_name: XSS, custom: { order_id: '<b>ORD</b>' } });
      await t.store.insertEvents([{ event: ev, destinations: ['meta'] }]);
      const [d] = (await t.store.getEvent('shop', ev.event_id))!.deliveries;
      await t.store.markDead([d!.delivery_id], { httpStatus: 400, error: `bad <script>alert(2)</script>`, response: '{"error":{"message":"<svg onload=alert(3)>"}}' }, Date.now());

      for (const path of ['/', '/events', `/events/shop/${encodeURIComponent(ev.event_id)}`, '/dead']) {
        const html = await (await t.request(path, { cookie })).text();
        expect(html, path).not.toContain('<img src=x');
        expect(html, path).not.toContain('<script>alert');
        expect(html, path).not.toContain('<svg onload');
        expect(html, path).not.toContain('<b>ORD');
        expectNoInlineScript(html);
      }
      const detail = await (await t.request(`/events/shop/${encodeURIComponent(ev.event_id)}`, { cookie })).text();
      expect(detail).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
      expect(detail).toContain('bad &lt;script&gt;alert(2)&lt;/script&gt;');
      expect(detail).toContain('&lt;svg onload=alert(3)&gt;');
    });
  });

  describe('events', () => {
    it('finds an event by its event id or its order id', async () => {
      const a = makeEvent({ site_id: 'shop', custom: { order_id: 'ORD-SEARCH-1', value: 10, currency: 'BRL' } });
      const b = makeEvent({ site_id: 'shop' });
      await t.store.insertEvents([{ event: a, destinations: ['meta'] }, { event: b, destinations: ['meta'] }]);
      const byOrder = await (await t.request(`/events?q=ORD-SEARCH-1`, { cookie })).text();
      expect(byOrder).toContain(a.event_id);
      expect(byOrder).not.toContain(b.event_id);
      const byId = await (await t.request(`/events?q=${encodeURIComponent(b.event_id)}`, { cookie })).text();
      expect(byId).toContain(b.event_id);
      expect(byId).not.toContain(a.event_id);
      const none = await (await t.request(`/events?q=nothing-here`, { cookie })).text();
      expect(none).toContain('No event has the event id or order id');
    });

    it('shows every attempt with the platform’s answer, and our match quality', async () => {
      const ev = makeEvent({ site_id: 'shop' });
      await t.store.insertEvents([{ event: ev, destinations: ['meta'] }]);
      const [d] = (await t.store.getEvent('shop', ev.event_id))!.deliveries;
      const t0 = Date.now();
      await t.store.markRetry([d!.delivery_id], t0 + 1000, { httpStatus: 503, error: 'HTTP 503: unavailable', durationMs: 40, response: 'upstream down' }, t0);
      await t.store.markDelivered([d!.delivery_id], { httpStatus: 200, durationMs: 85, response: '{"events_received":1,"fbtrace_id":"AbC"}' }, t0 + 1500);
      const html = await (await t.request(`/events/shop/${encodeURIComponent(ev.event_id)}`, { cookie })).text();
      expect(html).toContain('HTTP 503: unavailable');
      expect(html).toContain('upstream down');
      expect(html).toContain('&quot;events_received&quot;: 1');
      expect(html).toContain('s-delivered');
      expect(html).toMatch(/class="quality q-high"[^>]*>\d+\.\d</);
      expect(html).toContain('not Meta');
      // The IP is kept until delivery ends but never shown.
      expect(html).not.toContain('203.0.113.7');

      const api = await (await t.request(`/api/events/shop/${encodeURIComponent(ev.event_id)}`, { cookie })).json() as { attempts: unknown[]; row: { quality: number } };
      expect(api.attempts).toHaveLength(2);
      expect(api.row.quality).toBeGreaterThan(5);
    });

    it('answers 404 for an unknown event', async () => {
      expect((await t.request('/events/shop/missing-event', { cookie })).status).toBe(404);
    });
  });

  describe('dead letters and replay', () => {
    async function deadEvent(error: string, destination = 'meta') {
      const ev = makeEvent({ site_id: 'shop' });
      await t.store.insertEvents([{ event: ev, destinations: [destination] }]);
      const [d] = (await t.store.getEvent('shop', ev.event_id))!.deliveries;
      await t.store.markDead([d!.delivery_id], { httpStatus: 400, error }, Date.now());
      return { ev, id: d!.delivery_id };
    }

    it('refuses a replay without the CSRF token, or from another origin', async () => {
      const { id, ev } = await deadEvent('csrf case');
      const page = await (await t.request('/dead', { cookie })).text();
      const token = csrfOf(page);
      const form = (extra: Record<string, string>) => new URLSearchParams({ delivery_id: String(id), ...extra });
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };

      const noToken = await t.request('/dead/replay', { method: 'POST', cookie, headers: { ...headers, origin: t.url }, body: form({}) });
      expect(noToken.status).toBe(403);
      const wrongToken = await t.request('/dead/replay', { method: 'POST', cookie, headers: { ...headers, origin: t.url }, body: form({ _csrf: `${token}x` }) });
      expect(wrongToken.status).toBe(403);
      const crossSite = await t.request('/dead/replay', {
        method: 'POST',
        cookie,
        headers: { ...headers, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        body: form({ _csrf: token }),
      });
      expect(crossSite.status).toBe(403);
      expect((await t.store.getEvent('shop', ev.event_id))!.deliveries[0]!.status).toBe('dead');
    });

    it('lists dead letters filtered by destination and error, and replays one', async () => {
      const a = await deadEvent('(#100) Invalid parameter: user_data.em');
      const b = await deadEvent('HTTP 400: something else');
      const filtered = await (await t.request('/dead?error=invalid%20PARAMETER&destination=meta', { cookie })).text();
      expect(filtered).toContain(a.ev.event_id);
      expect(filtered).not.toContain(b.ev.event_id);
      expect((await (await t.request('/dead?destination=other', { cookie })).text())).not.toContain(a.ev.event_id);

      const wakes = t.wakes;
      const res = await t.request('/dead/replay', {
        method: 'POST',
        cookie,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url, accept: 'application/json' },
        body: new URLSearchParams({ _csrf: csrfOf(filtered), delivery_id: String(a.id), site_id: 'shop', event_id: a.ev.event_id }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ requeued: 1 });
      expect(t.wakes).toBe(wakes + 1);
      expect((await t.store.getEvent('shop', a.ev.event_id))!.deliveries[0]!.status).toBe('pending');
      expect((await t.store.getEvent('shop', b.ev.event_id))!.deliveries[0]!.status).toBe('dead');
    });

    it('replays all dead letters matching the error filter (form post, redirect back)', async () => {
      const a = await deadEvent('token expired: code 190');
      const b = await deadEvent('token expired: code 190');
      const c = await deadEvent('unrelated failure');
      const page = await (await t.request('/dead', { cookie })).text();
      const res = await t.request('/dead/replay', {
        method: 'POST',
        cookie,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
        body: new URLSearchParams({ _csrf: csrfOf(page), all: '1', error: 'code 190', destination: '' }),
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/t/admin/dead?replayed=2');
      for (const x of [a, b]) expect((await t.store.getEvent('shop', x.ev.event_id))!.deliveries[0]!.status).toBe('pending');
      expect((await t.store.getEvent('shop', c.ev.event_id))!.deliveries[0]!.status).toBe('dead');
      const after = await (await t.request('/dead?replayed=2', { cookie })).text();
      expect(after).toContain('2 queued again');
    });

    it('replays dead outbound webhooks', async () => {
      await t.store.insertNotifications([{ site_id: 'shop', kind: 'event.dead', url: 'https://hooks.example/<x>', body: '{}', idempotency_id: 'n-1' }], Date.now());
      const [n] = await t.store.listNotifications({ limit: 1 });
      await t.store.markNotification(n!.id, { status: 'dead', httpStatus: 500, error: 'HTTP 500' }, Date.now());
      const page = await (await t.request('/dead', { cookie })).text();
      expect(page).toContain('https://hooks.example/&lt;x&gt;');
      const res = await t.request('/notifications/replay', {
        method: 'POST',
        cookie,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url, accept: 'application/json' },
        body: new URLSearchParams({ _csrf: csrfOf(page), id: String(n!.id) }),
      });
      expect(await res.json()).toEqual({ requeued: 1 });
      expect((await t.store.listNotifications({ status: 'dead', limit: 10 })).map((x) => x.id)).not.toContain(n!.id);
    });
  });

  describe('overview, charts, live stream', () => {
    it('shows each configured destination with its counts, even before any traffic', async () => {
      const html = await (await t.request('/', { cookie })).text();
      expect(html).toContain('data-destination="shop/meta"');
      expect(html).toContain('Destinations');
      const blog = await (await t.request('/?site=blog', { cookie })).text();
      expect(blog).not.toContain('data-destination="shop/meta"');
    });

    it('returns chart series: 60 one-minute buckets for the last hour, 96 for the day', async () => {
      const ev = makeEvent({ site_id: 'shop' });
      await t.store.insertEvents([{ event: ev, destinations: ['meta'] }]);
      const hour = (await (await t.request('/api/charts?range=1h', { cookie })).json()) as { x: number[]; eventsPerMinute: number[]; delivered: number[] };
      expect(hour.x).toHaveLength(60);
      expect(hour.eventsPerMinute.at(-1)).toBeGreaterThanOrEqual(1);
      const day = (await (await t.request('/api/charts?range=24h', { cookie })).json()) as { x: number[] };
      expect(day.x).toHaveLength(96);
    });

    it('streams a snapshot, then a row the moment the feed says an event was committed', async () => {
      const ac = new AbortController();
      const res = await t.request('/api/stream', { cookie, signal: ac.signal });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expectSecurityHeaders(res);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      const waitFor = async (pred: (text: string) => boolean, ms = 3000) => {
        const until = Date.now() + ms;
        while (!pred(buffer)) {
          if (Date.now() > until) throw new Error(`stream did not deliver in time; got: ${buffer.slice(-500)}`);
          const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 200))]);
          if (chunk && !chunk.done) buffer += decoder.decode(chunk.value);
        }
      };
      await waitFor((s) => s.includes('event: row'));

      // The store poll is slowed to a minute here: only the feed can make this row arrive.
      const ev = makeEvent({ site_id: 'shop', event_name: XSS });
      await t.store.insertEvents([{ event: ev, destinations: ['meta'] }]);
      t.feed.publish({ kind: 'event', site_id: 'shop', event_id: ev.event_id });
      await waitFor((s) => s.includes(ev.event_id));
      const line = buffer.split('\n').find((l) => l.startsWith('data: ') && l.includes(ev.event_id))!;
      const row = JSON.parse(line.slice(6)) as { event_name: string; deliveries: { state: string }[]; quality: number };
      expect(row.event_name).toBe(XSS);
      expect(row.deliveries).toEqual([expect.objectContaining({ destination: 'meta', state: 'pending' })]);

      // A delivery outcome published later updates the same row.
      const [d] = (await t.store.getEvent('shop', ev.event_id))!.deliveries;
      await t.store.markDelivered([d!.delivery_id], { httpStatus: 200 }, Date.now());
      buffer = '';
      t.feed.publish({ kind: 'delivery', site_id: 'shop', event_id: ev.event_id, destination: 'meta', status: 'delivered' });
      await waitFor((s) => s.includes(ev.event_id) && s.includes('"state":"delivered"'));
      ac.abort();
    });
  });

  describe('setup', () => {
    it('shows the snippet tag for each site, pointing at the collector', async () => {
      const html = await (await t.request('/setup', { cookie })).text();
      expect(html).toContain('&lt;script src=&quot;/t/t.js&quot; data-site=&quot;shop&quot; async&gt;&lt;/script&gt;');
      expect(html).toContain('data-copy="snippet-shop"');
      expect(html).toContain('Site blog');
    });

    it('shows the Shopify custom pixel, posting to this collector, with a copy button', async () => {
      const html = await (await t.request('/setup?site=shop', { cookie })).text();
      expect(html).toContain('Trakvo custom pixel for Shopify');
      expect(html).toContain(`&quot;${t.url}/t/e&quot;`);
      expect(html).toContain('data-copy="shopify-shop"');
      expect(html).toContain('data-copy="shopify-all-shop"');
      expect(html).not.toContain('Site blog');
      expectNoInlineScript(html);
    });
  });
});
