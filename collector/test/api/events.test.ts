// POST /v1/events, POST /v1/events/batch and GET /v1/events/:id over real HTTP against a
// real collector context (SQLite, group commit, ingest, dispatcher with a mock platform).
// Every response body is also checked against the served OpenAPI document.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import type { Store } from '../../src/store/types.js';
import { postJson, nowSec, startHarness, type Harness } from './harness.js';
import { checkResponse, type Schema } from './json-schema.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let h: Harness;
let token: string;
let doc: Schema;

/** The body, after checking it against the OpenAPI document for this path and status. */
async function documented(res: Response, path: string, method = 'post'): Promise<any> {
  const body = await res.json();
  expect(checkResponse(doc, path, method, res.status, body)).toEqual([]);
  return body;
}

const track = (body: unknown, t: string | undefined = token, headers?: Record<string, string>) => postJson(`${h.base}/v1/events`, t, body, headers);

async function eventCount(site = 'shop'): Promise<number> {
  return (await h.store.listEvents({ site_id: site, limit: 1000 })).length;
}

beforeAll(async () => {
  h = await startHarness();
  token = await h.token({ name: 'backend' });
  doc = (await (await fetch(`${h.base}/v1/openapi.json`)).json()) as Schema;
});
afterAll(() => h.close());

describe('POST /v1/events', () => {
  it('stores a Purchase after commit, hashed at once, with ids from forwarded cookies', async () => {
    const res = await track({
      event: 'Purchase',
      event_id: 'evt-purchase-1',
      value: '129.90',
      currency: 'brl',
      order_id: 'A-1',
      contents: [{ id: 'sku-1', quantity: 2, item_price: 64.95 }],
      url: 'https://www.shop.com/thanks',
      user: { email: ' Jane.Doe@Example.com ', phone: '(11) 98765-4321', ip: '203.0.113.9', user_agent: 'Mozilla/5.0 (Test)' },
      properties: { coupon: 'WELCOME' },
      _fbp: 'fb.1.1700000000000.123456789',
      _fbc: 'fb.1.1700000000000.IwAR-click',
      _ga: 'GA1.1.111222333.1700000000',
      _ga_ABC123: 'GS2.1.s1700000100$o1$g1$t1700000200$j60$l0$h0',
      _gcl_aw: 'GCL.1700000000.Cj0-gclid',
      _ttp: 'ttp-id',
    });
    expect(res.status).toBe(200);
    const body = await documented(res, '/v1/events');
    expect(body).toMatchObject({
      event_id: 'evt-purchase-1',
      status: 'queued',
      duplicate: false,
      visitor_linked: false,
      destinations: [
        { id: 'meta', status: 'pending' },
        { id: 'meta2', status: 'pending' },
      ],
    });
    expect(body.match_quality.score).toBeGreaterThan(7);
    expect(body.match_quality.signals).toEqual(expect.arrayContaining(['em', 'ph', 'fbc', 'fbp', 'ip', 'user_agent', 'gclid']));

    const stored = await h.store.getEvent('shop', 'evt-purchase-1');
    expect(stored!.event).toMatchObject({
      event_name: 'Purchase',
      source: 'api',
      site_id: 'shop',
      url: 'https://www.shop.com/thanks',
      ip: '203.0.113.9',
      user_agent: 'Mozilla/5.0 (Test)',
      user: { em: sha256('jane.doe@example.com'), ph: sha256('5511987654321') },
      ids: {
        fbp: 'fb.1.1700000000000.123456789',
        fbc: 'fb.1.1700000000000.IwAR-click',
        ga_client_id: '111222333.1700000000',
        ga_session_id: '1700000100',
        gclid: 'Cj0-gclid',
        ttp: 'ttp-id',
      },
      custom: { value: 129.9, currency: 'BRL', order_id: 'A-1', contents: [{ id: 'sku-1', quantity: 2, item_price: 64.95 }], extra: { coupon: 'WELCOME' } },
      consent: { marketing: true, analytics: true },
    });
    expect(Math.abs(stored!.event.event_time - nowSec())).toBeLessThanOrEqual(2);
    expect(JSON.stringify(stored)).not.toMatch(/jane|98765/i);
  });

  it('gives a Purchase with order_id and no event_id the id the browser derives', async () => {
    const body = { event: 'Purchase', order_id: '#1001', value: 10, currency: 'BRL' };
    const first = await documented(await track(body), '/v1/events');
    expect(first.event_id).toBe(orderEventId('shop', 'Purchase', '#1001'));
    expect(first.event_id).toBe('Purchase.shop._1001');
    const again = await documented(await track(body), '/v1/events');
    expect(again).toMatchObject({ event_id: first.event_id, duplicate: true });
    expect(again.destinations).toEqual([
      { id: 'meta', status: 'pending' },
      { id: 'meta2', status: 'pending' },
    ]);
    expect((await h.store.getEvent('shop', first.event_id))!.deliveries).toHaveLength(2);
  });

  it('is idempotent on event_id: the second send stores nothing new', async () => {
    const id = `dup-${randomUUID()}`;
    const before = await eventCount();
    const a = await documented(await track({ event: 'Lead', event_id: id, user: { email: 'a@b.co' } }), '/v1/events');
    const b = await documented(await track({ event: 'Lead', event_id: id, user: { email: 'other@b.co' } }), '/v1/events');
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(await eventCount()).toBe(before + 1);
    expect((await h.store.getEvent('shop', id))!.event.user.em).toBe(sha256('a@b.co'));
  });

  it('mints a UUID event_id for other events', async () => {
    const body = await documented(await track({ event: 'CustomThing' }), '/v1/events');
    expect(body.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.match_quality).toEqual({ score: 0, signals: [] });
  });

  it('names every invalid field at once and changes nothing (400)', async () => {
    const before = await eventCount();
    const res = await track({
      event: 'Purchase',
      value: 'abc',
      event_time: Date.now(),
      contents: [{ id: 'x', quantity: -1 }],
      user: { ip: 'not-an-ip', emial: 'typo@x.com', email_sha256: 'abc' },
      destinations: ['meta', 'tiktok'],
      foo: 1,
      _ga_X: 5,
    });
    expect(res.status).toBe(400);
    const body = await documented(res, '/v1/events');
    expect(body.error.code).toBe('invalid_event');
    const fields = body.error.fields.map((f: { field: string }) => f.field).sort();
    expect(fields).toEqual(
      [
        '_ga_X',
        'contents.0.quantity',
        'currency',
        'destinations.1',
        'event_time',
        'foo',
        'user.email_sha256',
        'user.emial',
        'user.ip',
        'value',
      ].sort(),
    );
    const msg = (f: string) => body.error.fields.find((x: { field: string }) => x.field === f).message;
    expect(msg('currency')).toBe('is required for Purchase');
    expect(msg('event_time')).toMatch(/milliseconds/);
    expect(msg('foo')).toBe('unknown field');
    expect(msg('destinations.1')).toMatch(/unknown destination "tiktok".*meta, meta2/);
    expect(await eventCount()).toBe(before);
  });

  it('refuses event_time more than 7 days old or in the future (400), accepts ISO 8601', async () => {
    const old = await track({ event: 'Lead', event_time: nowSec() - 8 * 86_400 });
    expect(old.status).toBe(400);
    const oldBody = await documented(old, '/v1/events');
    expect(oldBody.error.fields).toEqual([{ field: 'event_time', message: expect.stringMatching(/more than 7 days old/) }]);

    const future = await track({ event: 'Lead', event_time: nowSec() + 3600 });
    expect(future.status).toBe(400);
    expect((await future.json()).error.fields[0].message).toMatch(/in the future/);

    const t = nowSec() - 86_400;
    const ok = await documented(await track({ event: 'Lead', event_time: new Date(t * 1000).toISOString() }), '/v1/events');
    expect((await h.store.getEvent('shop', ok.event_id))!.event.event_time).toBe(t);
    const sixDays = await track({ event: 'Lead', event_time: nowSec() - 6 * 86_400 });
    expect(sixDays.status).toBe(200);
  });

  it('sends only to the chosen destinations', async () => {
    const body = await documented(await track({ event: 'Lead', destinations: ['meta2'] }), '/v1/events');
    expect(body.destinations).toEqual([{ id: 'meta2', status: 'pending' }]);
    expect((await h.store.getEvent('shop', body.event_id))!.deliveries.map((d) => d.destination)).toEqual(['meta2']);
  });

  it('keeps nothing identifying and reaches no ad platform without marketing consent', async () => {
    const body = await documented(
      await track({
        event: 'Lead',
        consent: { marketing: false, analytics: true },
        user: { email: 'x@y.com', ip: '203.0.113.5', fbp: 'fb.1.1.1' },
        visitor_id: 'v-none',
      }),
      '/v1/events',
    );
    expect(body.destinations).toEqual([
      { id: 'meta', status: 'skipped', reason: 'no marketing consent' },
      { id: 'meta2', status: 'skipped', reason: 'no marketing consent' },
    ]);
    const stored = (await h.store.getEvent('shop', body.event_id))!;
    expect(stored.event.user).toEqual({});
    expect(stored.event.ids).toEqual({});
    expect(stored.event.ip).toBeUndefined();
    expect(stored.deliveries.every((d) => d.status === 'skipped')).toBe(true);
  });

  it("uses the site's consentDefault when the request gives none", async () => {
    const blog = await h.token({ site_id: 'blog' });
    const body = await documented(await track({ event: 'Lead' }, blog), '/v1/events');
    expect(body.destinations).toEqual([{ id: 'meta', status: 'skipped', reason: 'no marketing consent' }]);
  });

  it('accepts already-hashed *_sha256 fields and warns about dropped cleartext', async () => {
    const hash = sha256('jane@example.com').toUpperCase();
    const res = await track({ event: 'Lead', user: { email_sha256: hash, phone: 'call me', external_id_sha256: sha256('c-1'), ip: '10.0.0.1' } });
    const body = await documented(res, '/v1/events');
    expect(body.warnings).toEqual([
      { field: 'user.phone', message: 'could not be normalized; ignored' },
      { field: 'user.ip', message: 'is not a public address; ignored' },
    ]);
    const stored = (await h.store.getEvent('shop', body.event_id))!;
    expect(stored.event.user).toEqual({ em: hash.toLowerCase(), external_id: sha256('c-1') });
    expect(stored.event.ip).toBeUndefined();
  });

  it('builds fbc from an fbclid in the url when no _fbc is forwarded', async () => {
    const t = nowSec() - 60;
    const body = await documented(
      await track({ event: 'Lead', event_time: t, url: 'https://www.shop.com/landing?fbclid=IwAR-Zz9' }),
      '/v1/events',
    );
    expect((await h.store.getEvent('shop', body.event_id))!.event.ids.fbc).toBe(`fb.1.${t * 1000}.IwAR-Zz9`);
  });

  it('refuses a body that is not JSON (415), not parseable (400) or too large (413)', async () => {
    const plain = await track('{"event":"Lead"}', token, { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(await documented(plain, '/v1/events')).toEqual({
      error: { code: 'unsupported_media_type', message: 'send Content-Type: application/json, not text/plain' },
    });
    const form = await fetch(`${h.base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: new URLSearchParams({ event: 'Lead' }) });
    expect(form.status).toBe(415);

    const broken = await track('{"event":', token);
    expect(broken.status).toBe(400);
    expect((await documented(broken, '/v1/events')).error.code).toBe('invalid_json');

    const array = await track('[1,2]', token);
    expect(array.status).toBe(400);
    expect((await array.json()).error.fields).toEqual([{ field: '(root)', message: 'must be a JSON object' }]);

    const big = await track({ event: 'Lead', properties: { blob: 'x'.repeat(1000) }, content_name: 'y'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect((await documented(big, '/v1/events')).error).toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/64 kB/) });
  });

  it('answers 503 with Retry-After when the store cannot commit, 500 on unexpected errors', async () => {
    let failInsert = false;
    let failGet = false;
    const broken = await startHarness({
      wrapStore: (store: Store) =>
        new Proxy(store, {
          get(target, prop, receiver) {
            if (prop === 'insertEvents' && failInsert) return async () => Promise.reject(new Error('disk full'));
            if (prop === 'getEvent' && failGet) return async () => Promise.reject(new Error('boom'));
            const v = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        }),
    });
    try {
      const t = await broken.token();
      failInsert = true;
      const res = await postJson(`${broken.base}/v1/events`, t, { event: 'Lead' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(checkResponse(doc, '/v1/events', 'post', 503, await res.json())).toEqual([]);
      failInsert = false;
      failGet = true;
      const status = await fetch(`${broken.base}/v1/events/whatever`, { headers: { authorization: `Bearer ${t}` } });
      expect(status.status).toBe(500);
      const body = await status.json();
      expect(body).toEqual({ error: { code: 'internal', message: 'internal error' } });
      expect(checkResponse(doc, '/v1/events/{id}', 'get', 500, body)).toEqual([]);
    } finally {
      await broken.close();
    }
  });
});

describe('session linking', () => {
  it("adds the visitor's latest browser signals without overriding the request", async () => {
    const vid = randomUUID();
    await h.store.upsertVisitorSignals(
      'shop',
      vid,
      {
        ids: { fbp: 'fb.1.1700000000000.1', fbc: 'fb.1.1700000000000.IwAR-from-browser', gclid: 'G-browser', session_id: '1700000000', visitor_id: vid },
        ip: '198.51.100.7',
        user_agent: 'Mozilla/5.0 (Browser)',
        url: 'https://www.shop.com/checkout',
      },
      Date.now(),
    );
    const body = await documented(
      await track({ event: 'Purchase', order_id: `o-${vid}`, value: 5, currency: 'USD', visitor_id: vid, user: { fbp: 'fb.1.1700000000000.999', email: 'buyer@x.com' } }),
      '/v1/events',
    );
    expect(body.visitor_linked).toBe(true);
    const stored = (await h.store.getEvent('shop', body.event_id))!.event;
    expect(stored.ids).toEqual({
      fbp: 'fb.1.1700000000000.999',
      fbc: 'fb.1.1700000000000.IwAR-from-browser',
      gclid: 'G-browser',
      session_id: '1700000000',
      visitor_id: vid,
    });
    expect(stored).toMatchObject({ ip: '198.51.100.7', user_agent: 'Mozilla/5.0 (Browser)', url: 'https://www.shop.com/checkout' });
  });

  it('finds the visitor from a forwarded _tk_vid cookie, and never overrides the given IP/UA', async () => {
    const vid = randomUUID();
    await h.store.upsertVisitorSignals('shop', vid, { ids: { fbc: 'fb.1.1.IwAR-x' }, ip: '198.51.100.8', user_agent: 'UA-browser' }, Date.now());
    const body = await documented(
      await track({ event: 'Lead', _tk_vid: vid, user: { ip: '203.0.113.77', user_agent: 'UA-request' } }),
      '/v1/events',
    );
    const stored = (await h.store.getEvent('shop', body.event_id))!.event;
    expect(stored).toMatchObject({ ip: '203.0.113.77', user_agent: 'UA-request', ids: { fbc: 'fb.1.1.IwAR-x', visitor_id: vid } });
  });

  it('links nothing for an unknown visitor or without marketing consent', async () => {
    const unknown = await documented(await track({ event: 'Lead', visitor_id: randomUUID() }), '/v1/events');
    expect(unknown.visitor_linked).toBe(false);
    const vid = randomUUID();
    await h.store.upsertVisitorSignals('shop', vid, { ids: { fbc: 'fb.1.1.IwAR-y' }, ip: '198.51.100.9' }, Date.now());
    const noConsent = await documented(await track({ event: 'Lead', visitor_id: vid, consent: { marketing: false, analytics: true } }), '/v1/events');
    expect(noConsent.visitor_linked).toBe(false);
    expect((await h.store.getEvent('shop', noConsent.event_id))!.event.ids).toEqual({});
  });
});

describe('POST /v1/events/batch', () => {
  const batch = (body: unknown, t = token) => postJson(`${h.base}/v1/events/batch`, t, body);

  it('accepts the good events and rejects the bad one, each with its own result', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const res = await batch({
      events: [
        { event: 'Lead', event_id: ids[0], user: { email: 'one@x.com' } },
        { event: 'Purchase', event_id: ids[1], value: 5 },
        { event: 'Subscribe', event_id: ids[2], value: 9.9, currency: 'EUR' },
      ],
    });
    expect(res.status).toBe(200);
    const body = await documented(res, '/v1/events/batch');
    expect(body.accepted).toBe(2);
    expect(body.rejected).toBe(1);
    expect(body.results.map((r: { index: number }) => r.index)).toEqual([0, 1, 2]);
    expect(body.results[0]).toMatchObject({ index: 0, event_id: ids[0], status: 'queued', duplicate: false });
    expect(body.results[1]).toEqual({
      index: 1,
      status: 'rejected',
      error: { code: 'invalid_event', message: 'the event is invalid', fields: [{ field: 'currency', message: 'is required for Purchase' }] },
    });
    expect(body.results[2]).toMatchObject({ index: 2, event_id: ids[2], status: 'queued' });
    expect(await h.store.getEvent('shop', ids[0]!)).not.toBeNull();
    expect(await h.store.getEvent('shop', ids[1]!)).toBeNull();
    expect(await h.store.getEvent('shop', ids[2]!)).not.toBeNull();
  });

  it('reports a duplicate inside the same batch', async () => {
    const id = randomUUID();
    const body = await documented(await batch({ events: [{ event: 'Lead', event_id: id }, { event: 'Lead', event_id: id }] }), '/v1/events/batch');
    expect(body.results.map((r: { duplicate: boolean }) => r.duplicate)).toEqual([false, true]);
  });

  it('refuses an empty, oversized or malformed envelope (400) and more than 1 MB (413)', async () => {
    const empty = await batch({ events: [] });
    expect(empty.status).toBe(400);
    expect(await documented(empty, '/v1/events/batch')).toEqual({
      error: { code: 'invalid_batch', message: expect.any(String), fields: [{ field: 'events', message: 'send at least one event' }] },
    });
    const tooMany = await batch({ events: Array.from({ length: 101 }, () => ({ event: 'Lead' })) });
    expect(tooMany.status).toBe(400);
    expect((await tooMany.json()).error.fields).toEqual([{ field: 'events', message: 'send at most 100 events per batch' }]);
    const wrong = await batch([{ event: 'Lead' }]);
    expect(wrong.status).toBe(400);
    const extra = await batch({ events: [{ event: 'Lead' }], foo: 1 });
    expect((await extra.json()).error.fields).toEqual([{ field: 'foo', message: 'unknown field' }]);

    const big = await batch({ events: Array.from({ length: 20 }, () => ({ event: 'Lead', content_name: 'x'.repeat(60_000) })) });
    expect(big.status).toBe(413);
    expect((await documented(big, '/v1/events/batch')).error).toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/1 MB/) });

    const hundred = await batch({ events: Array.from({ length: 100 }, (_, i) => ({ event: 'Lead', event_id: `b100-${i}-${randomUUID()}` })) });
    expect(hundred.status).toBe(200);
    expect((await hundred.json()).accepted).toBe(100);
  });
});

describe('GET /v1/events/:id', () => {
  it('shows each destination: attempts, last HTTP status and error, delivered time, history', async () => {
    const respondingHarness = await startHarness({
      respond: (req) =>
        req.url.includes('/222/')
          ? { status: 400, headers: {}, body: '{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"t"}}' }
          : { status: 200, headers: {}, body: '{"events_received":1}' },
    });
    try {
      const t = await respondingHarness.token();
      const posted = await (await postJson(`${respondingHarness.base}/v1/events`, t, { event: 'Lead', user: { email: 'z@z.com' } })).json();
      const pending = await fetch(`${respondingHarness.base}/v1/events/${posted.event_id}`, { headers: { authorization: `Bearer ${t}` } });
      const before = await pending.json();
      expect(checkResponse(doc, '/v1/events/{id}', 'get', 200, before)).toEqual([]);
      expect(before.destinations.map((d: { status: string }) => d.status)).toEqual(['pending', 'pending']);

      await respondingHarness.dispatcher.drain();
      const res = await fetch(`${respondingHarness.base}/v1/events/${posted.event_id}`, { headers: { authorization: `Bearer ${t}` } });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(checkResponse(doc, '/v1/events/{id}', 'get', 200, body)).toEqual([]);
      expect(body).toMatchObject({ event_id: posted.event_id, event_name: 'Lead', source: 'api' });
      const [meta, meta2] = body.destinations;
      expect(meta).toMatchObject({ id: 'meta', status: 'delivered', attempts: 1, last_http_status: 200, last_error: null, next_attempt_at: null });
      expect(Date.parse(meta.delivered_at)).toBeGreaterThan(Date.now() - 60_000);
      expect(meta.history).toEqual([{ at: expect.any(String), outcome: 'delivered', http_status: 200, error: null, duration_ms: expect.any(Number) }]);
      expect(meta2).toMatchObject({ id: 'meta2', status: 'dead', attempts: 1, last_http_status: 400, delivered_at: null });
      expect(meta2.last_error).toMatch(/Invalid parameter/);
      expect(meta2.history[0]).toMatchObject({ outcome: 'dead', http_status: 400 });
    } finally {
      await respondingHarness.close();
    }
  });

  it("404s for an unknown id and for another site's event", async () => {
    const res = await fetch(`${h.base}/v1/events/nope`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    expect(await documented(res, '/v1/events/{id}', 'get')).toEqual({ error: { code: 'not_found', message: 'no event "nope" for site "shop"' } });
    const posted = await (await track({ event: 'Lead' })).json();
    const blog = await h.token({ site_id: 'blog' });
    const other = await fetch(`${h.base}/v1/events/${posted.event_id}`, { headers: { authorization: `Bearer ${blog}` } });
    expect(other.status).toBe(404);
  });
});
