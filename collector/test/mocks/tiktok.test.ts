// The TikTok Events API mock over real HTTP: it accepts what tiktokDestination produces and
// refuses, with TikTok's codes in a 200 body, every payload the Events API contract forbids.
import { describe, expect, it, test } from 'vitest';
import { tiktokDestination, TikTokConfigSchema } from '../../src/destinations/tiktok.js';
import type { DestinationResponse, Outcome } from '../../src/destinations/types.js';
import { startTikTokMock } from '../../src/mocks/tiktok.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const TOKEN = 'tt-mock-token';
const PIXEL = 'CMOCKPIXEL0000000001';
const PATH = '/open_api/v1.3/event/track/';

const mock = serveForTests(() => startTikTokMock({ accessToken: TOKEN, pixelCode: PIXEL }));

async function post(body: unknown, headers: Record<string, string> = { 'access-token': TOKEN }): Promise<DestinationResponse> {
  return postBody(mock.url + PATH, body, { 'content-type': 'application/json', ...headers });
}

const nowSec = () => Math.floor(Date.now() / 1000);

function config(extra: Record<string, unknown> = {}) {
  return TikTokConfigSchema.parse({ type: 'tiktok', pixelCode: PIXEL, accessToken: TOKEN, baseUrl: mock.url, ...extra });
}

/** A web event exactly as TikTok documents it. */
function validEvent(): Record<string, unknown> {
  return {
    event: 'Purchase',
    event_time: nowSec() - 30,
    event_id: 'order-1001',
    user: {
      email: sha256Hex('jane@example.com'),
      phone: sha256Hex('+5511999999999'),
      ttclid: 'E.C.P.abc',
      ttp: 'ttp-cookie',
      ip: '203.0.113.7',
      user_agent: 'Mozilla/5.0 Test',
    },
    page: { url: 'https://shop.example.com/thanks', referrer: 'https://shop.example.com/cart' },
    properties: { currency: 'BRL', value: 10.5, content_type: 'product', contents: [{ content_id: 'SKU-1', quantity: 1, price: 10.5 }] },
  };
}

function bodyWith(change: (ev: Record<string, unknown>, body: Record<string, unknown>) => void): Record<string, unknown> {
  const ev = validEvent();
  const body: Record<string, unknown> = { event_source: 'web', event_source_id: PIXEL, data: [ev] };
  change(ev, body);
  return body;
}

const userOf = (ev: Record<string, unknown>) => ev.user as Record<string, unknown>;
const propsOf = (ev: Record<string, unknown>) => ev.properties as Record<string, unknown>;

describe('tiktok mock: accepts the documented contract', () => {
  it('round trip: accepts what tiktokDestination.map produces; events can be found by event_id', async () => {
    const t = nowSec() - 60;
    const events = [
      makeEvent({ event_time: t, ids: { ttclid: 'E.C.P.xyz', ttp: 'ttp-1' }, user: { em: sha256Hex('a@b.com'), ph_e164: sha256Hex('+5511999999999') } }),
      makeEvent({ event_name: 'PageView', event_time: t, custom: {} }),
      makeEvent({ event_name: 'Lead', event_time: t, source: 'api', url: undefined, referrer: undefined, ip: undefined, user_agent: undefined, custom: {} }),
      makeEvent({ event_name: 'QuizCompleted', event_time: t, ip: '2001:db8::1', custom: { extra: { plan: 'pro', seats: 3 } } }),
    ];
    const { requests, skipped } = tiktokDestination.map(events, config({ testEventCode: 'TEST123' }), new Date());
    expect(skipped).toEqual([]);
    expect(requests).toHaveLength(1);

    const res = await send(requests[0]!);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ code: 0, message: 'OK', request_id: expect.any(String) });
    expect(tiktokDestination.classify(res)).toEqual({ kind: 'delivered' });

    expect(mock.received).toHaveLength(1);
    const got = mock.received[0]!;
    expect(got.pixelCode).toBe(PIXEL);
    expect(got.test_event_code).toBe('TEST123');
    expect(got.events).toEqual((JSON.parse(requests[0]!.body ?? '') as { data: unknown[] }).data);
    const purchase = got.events.find((e) => e.event_id === events[0]!.event_id);
    expect(purchase).toMatchObject({ event: 'Purchase', user: { ttclid: 'E.C.P.xyz', phone: sha256Hex('+5511999999999') } });
    expect(got.events.find((e) => e.event_id === events[1]!.event_id)).toMatchObject({ event: 'Pageview' });
  });

  it('round trip: 1,001 events go through as two accepted requests', async () => {
    const t = nowSec() - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `bulk-${i}`, event_time: t }));
    const { requests } = tiktokDestination.map(events, config(), new Date());
    for (const req of requests) expect(tiktokDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((b) => b.events.length)).toEqual([1000, 1]);
  });

  test.each<[string, (ev: Record<string, unknown>, body: Record<string, unknown>) => void]>([
    ['hashed keys as arrays', (ev) => (userOf(ev).email = [sha256Hex('a@b.com'), sha256Hex('c@d.com')])],
    ['hashed name/address fields', (ev) => {
      for (const k of ['first_name', 'last_name', 'city', 'state', 'country', 'zip_code']) userOf(ev)[k] = sha256Hex(k);
    }],
    ['no user, page or properties', (ev) => {
      delete ev.user;
      delete ev.page;
      delete ev.properties;
    }],
    ['a custom event name', (ev) => (ev.event = 'QuizCompleted')],
    ['a 2-minute clock skew', (ev) => (ev.event_time = nowSec() + 120)],
    ['the path without its trailing slash', () => {}],
  ])('accepts %s', async (name, change) => {
    const res =
      name === 'the path without its trailing slash'
        ? await send({ method: 'POST', url: `${mock.url}/open_api/v1.3/event/track`, headers: { 'content-type': 'application/json', 'access-token': TOKEN }, body: JSON.stringify(bodyWith(change)), eventIds: [] })
        : await post(bodyWith(change));
    expect(JSON.parse(res.body), res.body).toMatchObject({ code: 0 });
  });

  it('GET /_received lists what was recorded', async () => {
    await post(bodyWith(() => {}));
    await expectReceivedListed(mock);
  });
});

interface Violation {
  name: string;
  body: () => unknown;
  headers?: Record<string, string>;
  code: number;
  mentions: string;
}

const OUTCOME: Record<number, Outcome['kind']> = { 40001: 'auth', 40104: 'auth', 40105: 'auth', 40002: 'dead', 40061: 'dead', 40062: 'dead', 40063: 'dead' };

const violations: Violation[] = [
  { name: 'missing Access-Token', body: () => bodyWith(() => {}), headers: {}, code: 40104, mentions: 'Access token' },
  { name: 'wrong Access-Token', body: () => bodyWith(() => {}), headers: { 'access-token': 'other' }, code: 40105, mentions: 'Access token' },
  { name: 'token in the body instead of the header', body: () => ({ ...bodyWith(() => {}), access_token: TOKEN }), headers: {}, code: 40104, mentions: 'header' },
  { name: 'another pixel code', body: () => bodyWith((_ev, b) => (b.event_source_id = 'COTHER')), code: 40001, mentions: 'COTHER' },
  { name: 'event_source missing', body: () => bodyWith((_ev, b) => delete b.event_source), code: 40002, mentions: 'event_source' },
  { name: 'event_source not web/app/offline/crm', body: () => bodyWith((_ev, b) => (b.event_source = 'website')), code: 40002, mentions: 'event_source' },
  { name: 'event_source_id missing', body: () => bodyWith((_ev, b) => delete b.event_source_id), code: 40002, mentions: 'event_source_id' },
  { name: 'unregistered partner_name', body: () => bodyWith((_ev, b) => (b.partner_name = 'Trakvo')), code: 40063, mentions: 'partner' },
  { name: 'data missing', body: () => bodyWith((_ev, b) => delete b.data), code: 40002, mentions: 'data' },
  { name: 'data empty', body: () => bodyWith((_ev, b) => (b.data = [])), code: 40061, mentions: 'data' },
  { name: 'more than 1,000 events', body: () => bodyWith((_ev, b) => (b.data = Array.from({ length: 1001 }, validEvent))), code: 40061, mentions: '1001' },
  { name: 'malformed JSON', body: () => '{"data": [', code: 40002, mentions: 'body' },
  { name: 'event name missing', body: () => bodyWith((ev) => delete ev.event), code: 40002, mentions: 'data[0].event' },
  { name: 'event_time in milliseconds', body: () => bodyWith((ev) => (ev.event_time = Date.now())), code: 40002, mentions: 'event_time' },
  { name: 'event_time as a string', body: () => bodyWith((ev) => (ev.event_time = String(nowSec()))), code: 40002, mentions: 'event_time' },
  { name: 'event_time 10 minutes ahead', body: () => bodyWith((ev) => (ev.event_time = nowSec() + 600)), code: 40002, mentions: 'event_time' },
  { name: 'unhashed email', body: () => bodyWith((ev) => (userOf(ev).email = 'jane@example.com')), code: 40062, mentions: 'user.email' },
  { name: 'uppercase hex phone hash', body: () => bodyWith((ev) => (userOf(ev).phone = sha256Hex('+5511999999999').toUpperCase())), code: 40062, mentions: 'user.phone' },
  { name: 'plain external_id', body: () => bodyWith((ev) => (userOf(ev).external_id = 'customer-42')), code: 40062, mentions: 'external_id' },
  { name: 'invalid ip', body: () => bodyWith((ev) => (userOf(ev).ip = '999.1.1.1')), code: 40002, mentions: 'user.ip' },
  { name: 'page.url not a URL', body: () => bodyWith((ev) => (ev.page = { url: 'shop.example.com/thanks' })), code: 40002, mentions: 'page.url' },
  { name: 'value as a string', body: () => bodyWith((ev) => (propsOf(ev).value = '10.50')), code: 40002, mentions: 'properties.value' },
  { name: 'currency not ISO 4217', body: () => bodyWith((ev) => (propsOf(ev).currency = 'R$')), code: 40002, mentions: 'currency' },
  { name: 'unknown content_type', body: () => bodyWith((ev) => (propsOf(ev).content_type = 'sku')), code: 40002, mentions: 'content_type' },
  { name: 'content price as a string', body: () => bodyWith((ev) => (propsOf(ev).contents = [{ content_id: 'SKU-1', price: '10.5' }])), code: 40002, mentions: 'price' },
  {
    name: 'one bad event fails the whole batch',
    body: () => bodyWith((_ev, b) => {
      const bad = validEvent();
      userOf(bad).email = 'jane@example.com';
      b.data = [validEvent(), bad];
    }),
    code: 40062,
    mentions: 'data[1]',
  },
];

describe('tiktok mock: rejects contract violations with TikTok codes in a 200', () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await post(v.body(), v.headers ?? { 'access-token': TOKEN });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toMatchObject({ code: v.code, request_id: expect.any(String) });
    expect(String(body.message)).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    expect(tiktokDestination.classify(res).kind).toBe(OUTCOME[v.code]);
  });
});

describe('tiktok mock: scripted responses', () => {
  it('replays rate limits and maintenance, then goes back to normal checks', async () => {
    mock.script([
      { status: 200, body: { code: 40100, message: 'Requests made too frequently.', request_id: 'R1', data: {} } },
      { status: 503, body: '', headers: { 'retry-after': '7' } },
    ]);
    const { requests } = tiktokDestination.map([makeEvent({ event_time: nowSec() - 10 })], config(), new Date());
    const req = requests[0]!;
    expect(tiktokDestination.classify(await send(req))).toMatchObject({ kind: 'retry' });
    expect(tiktokDestination.classify(await send(req))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 7000 });
    expect(mock.received).toHaveLength(0);
    expect(tiktokDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('reset() clears both the record and pending scripts', async () => {
    await post(bodyWith(() => {}));
    mock.script([{ status: 500, body: 'down' }]);
    mock.reset();
    expect(mock.received).toHaveLength(0);
    expect(JSON.parse((await post(bodyWith(() => {}))).body)).toMatchObject({ code: 0 });
  });
});
