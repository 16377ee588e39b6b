// The collector mounted in a host app, over real HTTP with a real SQLite file:
// GET /t.js and POST /e, including every rejection path (which must change nothing).
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, type Collector } from '../src/http/create-collector.js';
import { createLogger } from '../src/log.js';

const ORIGIN = 'https://www.shop.com';
let server: Server;
let base: string;
let collector: Collector;
let dir: string;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const wire = (over: Record<string, unknown> = {}) => ({
  s: 'shop',
  n: 'PageView',
  i: randomUUID(),
  u: 'https://www.shop.com/p/1',
  ts: Date.now(),
  ...over,
});

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}/e`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'text/plain;charset=UTF-8', origin: ORIGIN, 'user-agent': 'Mozilla/5.0 (Test)', ...headers },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trakvo-http-'));
  collector = createCollector(
    {
      dataDir: dir,
      sites: [
        {
          id: 'shop',
          allowedOrigins: [ORIGIN],
          defaultCountry: 'BR',
          destinations: [{ id: 'meta', type: 'meta', pixelId: '123', accessToken: 'tok' }],
        },
      ],
    },
    { dispatch: false, logger: createLogger('silent') },
  );
  const app = express();
  app.set('trust proxy', 'loopback');
  // Any prefix works: the merchant mounts it where their proxy routes it.
  app.use('/any/prefix/t', collector);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/any/prefix/t`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await collector.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /t.js', () => {
  it('serves the snippet compressed, with ETag and Cache-Control, and 304 when unchanged', async () => {
    const plain = await fetch(`${base}/t.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toMatch(/max-age=3600/);
    const source = Buffer.from(await plain.arrayBuffer());
    expect(source.toString()).toContain('sendBeacon');

    const raw = await import('node:http');
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to conditional requests.
    const get = (enc: string, extra: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        raw.get(`${base}/t.js`, { headers: { 'accept-encoding': enc, ...extra } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    const br = await get('gzip, deflate, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(source)).toBe(true);
    const gz = await get('gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(source)).toBe(true);
    expect(gz.body.length).toBeLessThan(source.length);

    const etag = plain.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get('gzip', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await get('gzip', { 'if-none-match': '"stale"' })).status).toBe(200);
  });
});

describe('GET /t.<platform>.js', () => {
  it('serves each per-platform build, and 404 for an unknown one', async () => {
    const main = await (await fetch(`${base}/t.js`)).text();
    for (const variant of ['shopify', 'woo', 'datalayer', 'schema']) {
      const res = await fetch(`${base}/t.${variant}.js`);
      expect(res.status, variant).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
      const body = await res.text();
      expect(body).toContain('sendBeacon');
      expect(body).not.toBe(main);
    }
    expect((await fetch(`${base}/t.nope.js`)).status).toBe(404);
  });
});

describe('POST /e', () => {
  it('stores a valid beacon with hashed PII, IP, UA and first-party ids, and sets _fbp', async () => {
    const ev = wire({ n: 'Purchase', u: 'https://www.shop.com/thanks?fbclid=AbCd', p: { value: '99.90', currency: 'brl', order_id: 'ORD-1', email: ' A@B.com ', coupon: 'X1' } });
    const res = await post(ev);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: [{ event_id: ev.i, duplicate: false }] });
    const stored = await collector.store.getEvent('shop', ev.i);
    expect(stored!.event).toMatchObject({
      event_name: 'Purchase',
      source: 'browser',
      ip: '127.0.0.1',
      user_agent: 'Mozilla/5.0 (Test)',
      user: { em: sha256('a@b.com') },
      custom: { value: 99.9, currency: 'BRL', order_id: 'ORD-1', extra: { coupon: 'X1' } },
      consent: { marketing: true, analytics: true },
    });
    expect(stored!.event.ids.fbc).toMatch(/^fb\.1\.\d{13}\.AbCd$/);
    expect(stored!.deliveries).toEqual([expect.objectContaining({ destination: 'meta', status: 'pending' })]);
    const cookies = res.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('_fbp='))).toMatch(/Max-Age=34560000/);
    expect(JSON.stringify(stored)).not.toContain('A@B');
  });

  it('accepts application/json and a small array, and is idempotent on event_id', async () => {
    const a = wire();
    const b = wire({ n: 'ViewContent' });
    const res = await post([a, b], { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const again = await post(a);
    expect(await again.json()).toEqual({ accepted: [{ event_id: a.i, duplicate: true }] });
    expect((await collector.store.getEvent('shop', a.i))!.deliveries).toHaveLength(1);
    expect(await collector.store.getEvent('shop', b.i)).not.toBeNull();
  });

  it('a repeated event_id enriches the stored event with identity it lacked, never overwriting', async () => {
    const props = { order_id: 'ORD-77', value: 10, currency: 'BRL', email: 'one@example.com' };
    const first = wire({ n: 'Purchase', i: 'Purchase.shop.ORD-77', p: props });
    await post(first);
    const again = { ...first, p: { ...props, email: 'other@example.com', phone: '+55 11 98765-4321' } };
    const res = await post(again);
    expect(await res.json()).toEqual({ accepted: [{ event_id: first.i, duplicate: true }] });
    const stored = await collector.store.getEvent('shop', first.i);
    expect(stored!.event.user.em).toBe(sha256('one@example.com'));
    expect(stored!.event.user.ph).toBe(sha256('5511987654321'));
  });

  it('remembers the visitor’s latest browser signals for server-side linking', async () => {
    const ev = wire({ u: 'https://www.shop.com/?gclid=G-1' });
    const res = await post(ev, { cookie: '_tk_vid=0d3c1a52-1111-4000-8000-000000000042' });
    expect(res.status).toBe(200);
    const signals = await collector.store.getVisitorSignals('shop', '0d3c1a52-1111-4000-8000-000000000042');
    expect(signals).toMatchObject({ ip: '127.0.0.1', user_agent: 'Mozilla/5.0 (Test)', ids: { gclid: 'G-1' } });
    expect(signals!.ids.fbp).toMatch(/^fb\.1\./);
  });

  it('uses the first public X-Forwarded-For address behind a trusted proxy, IPv6 kept', async () => {
    const ev = wire();
    await post(ev, { 'x-forwarded-for': '10.0.0.7, 2001:db8:85a3::8a2e:370:7334, 203.0.113.9' });
    expect((await collector.store.getEvent('shop', ev.i))!.event.ip).toBe('2001:db8:85a3::8a2e:370:7334');
  });

  it('takes the Referer origin when Origin is absent', async () => {
    const ev = wire();
    const res = await post(ev, { origin: '', referer: 'https://www.shop.com/some/page' });
    expect(res.status).toBe(200);
  });

  it('honours Sec-GPC: stored, skipped for ad platforms, no cookies, no identifiers', async () => {
    const ev = wire({ p: { email: 'x@y.com' } });
    const res = await post(ev, { 'sec-gpc': '1' });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    const stored = await collector.store.getEvent('shop', ev.i);
    expect(stored!.event).toMatchObject({ user: {}, ids: {}, consent: { marketing: false } });
    expect(stored!.event.ip).toBeUndefined();
    expect(stored!.deliveries).toEqual([expect.objectContaining({ status: 'skipped', last_error: 'no marketing consent' })]);
  });

  it('honours consent sent by the page', async () => {
    const ev = wire({ c: { m: 0, a: 1 } });
    await post(ev);
    const stored = await collector.store.getEvent('shop', ev.i);
    expect(stored!.event.consent).toEqual({ marketing: false, analytics: true });
  });

  const rejections: [string, () => Promise<Response>, number, string, string?][] = [
    ['invalid JSON', () => post('{nope'), 400, 'invalid_json'],
    ['unknown site', () => post(wire({ s: 'other' })), 400, 'invalid_event', 's'],
    ['missing event_id', () => post({ ...wire(), i: undefined }), 400, 'invalid_event', 'i'],
    ['bad url', () => post(wire({ u: 'javascript:alert(1)' })), 400, 'invalid_event', 'u'],
    ['non-numeric value', () => post(wire({ p: { value: 'lots' } })), 400, 'invalid_event', 'p.value'],
    ['bad currency', () => post(wire({ p: { currency: 'reais' } })), 400, 'invalid_event', 'p.currency'],
    ['nested extra prop', () => post(wire({ p: { cart: { a: 1 } } })), 400, 'invalid_event', 'p.cart'],
    ['empty array', () => post([]), 400, 'invalid_batch'],
    ['too many events', () => post(Array.from({ length: 21 }, () => wire())), 400, 'invalid_batch'],
    ['foreign origin', () => post(wire(), { origin: 'https://evil.example' }), 403, 'origin_not_allowed'],
    ['no origin at all', () => post(wire(), { origin: '' }), 403, 'origin_not_allowed'],
    ['form content type', () => post(wire(), { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
    ['body over 64 kB', () => post(wire({ t: 'x'.repeat(70_000) })), 413, 'payload_too_large'],
  ];
  it.each(rejections)('rejects %s with a JSON error naming the problem', async (_name, send, status, code, field) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string; fields?: { field: string }[] } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
    if (field) expect(body.error.fields?.map((f) => f.field)).toContain(field);
  });

  it('rejects a whole array when one event is bad, storing none of it', async () => {
    const good = wire();
    const res = await post([good, wire({ p: { value: 'x' } })]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { fields: { field: string }[] } }).error.fields[0]!.field).toBe('[1].p.value');
    expect(await collector.store.getEvent('shop', good.i)).toBeNull();
  });

  it('answers a CORS preflight for allowed origins only', async () => {
    const ok = await fetch(`${base}/e`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const no = await fetch(`${base}/e`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });
});
