// The Tracify mock over real HTTP: it accepts what tracifyDestination produces and refuses,
// in Tracify's `{"status": false, "error"}` shape, every payload the contract forbids.
import { createHash } from 'node:crypto';
import { describe, expect, it, test } from 'vitest';
import { tracifyDestination, TracifyConfigSchema } from '../../src/destinations/tracify.js';
import type { DestinationResponse } from '../../src/destinations/types.js';
import { startTracifyMock } from '../../src/mocks/tracify.js';
import { makeEvent } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const KEY = 'tracify-mock-key';
const SITE = '3f2b8c1e-6d4a-4f7b-9c2e-1a5d7e9b0c34';

const mock = serveForTests(() => startTracifyMock({ apiToken: KEY, customerSiteId: SITE }));

async function post(body: unknown, token: string | null = KEY): Promise<DestinationResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers['tracify-token'] = token;
  return postBody(`${mock.url}/api/v1/events`, body, headers);
}

function anonymize(value: string): string {
  const digest = createHash('sha256').update(value).digest('hex');
  return createHash('sha256').update(digest.slice(0, -5)).digest('hex');
}

const config = (extra: Record<string, unknown> = {}) =>
  TracifyConfigSchema.parse({ type: 'tracify', customerSiteId: SITE, apiToken: KEY, baseUrl: mock.url, ...extra });

/** A purchase as Tracify's spec describes one. */
function validEvent(): Record<string, unknown> {
  return {
    url: 'https://www.example.com/checkout/thanks',
    customer_site_id: SITE,
    identity_data: { [anonymize('jane@example.com')]: 1, [anonymize('8.8.8.8')]: 3 },
    datetime: '2026-08-01 11:59:00',
    type: 'purchase',
    data: { origin: 'https://www.example.com', order_id: 'ORDER-1', currency: 'EUR', amount: '49,90', ITEM1: 'Shirt', AMT1: '49,90', QTY1: '1' },
  };
}

function bodyWith(change: (ev: Record<string, unknown>) => void): unknown {
  const ev = validEvent();
  change(ev);
  return { events: [ev] };
}

const data = (ev: Record<string, unknown>) => ev.data as Record<string, unknown>;

describe('tracify mock: accepts the contract', () => {
  it('round trip: accepts what tracifyDestination.map produces; purchases found by order id, conversions by conversion id', async () => {
    const t = Math.floor(Date.now() / 1000) - 60;
    const events = [
      makeEvent({ event_time: t }),
      makeEvent({ event_name: 'PageView', event_time: t, url: 'https://shop.example/?utm_source=meta&trc_x=1', custom: {} }),
      makeEvent({ event_name: 'ViewContent', event_time: t, custom: {} }),
      makeEvent({ event_name: 'AddToCart', event_time: t, custom: { contents: [{ id: 'SKU-9', item_price: 10, quantity: 3 }] } }),
      makeEvent({ event_name: 'Lead', event_time: t, custom: { value: 5, currency: 'EUR' } }),
    ];
    const { requests, skipped } = tracifyDestination.map(events, config(), new Date());
    expect(skipped).toEqual([]);
    const res = await send(requests[0]!);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: true });
    expect(tracifyDestination.classify(res)).toEqual({ kind: 'delivered' });

    const got = mock.received[0]!.events;
    expect(got.map((e) => e.type)).toEqual(['purchase', 'pageview', 'productview', 'addtocart', 'conversion']);
    expect(got.find((e) => data(e).order_id === events[0]!.custom.order_id)).toBeDefined();
    expect(got.find((e) => data(e).conversion_id === events[4]!.event_id)).toBeDefined();
  });

  it('a purchase sent twice is recorded as a duplicate order (Tracify ignores it)', async () => {
    const { requests } = tracifyDestination.map([makeEvent({ event_time: Math.floor(Date.now() / 1000) })], config(), new Date());
    await send(requests[0]!);
    await send(requests[0]!);
    expect(mock.received.map((r) => r.duplicateOrderIds.length)).toEqual([0, 1]);
  });

  test.each<[string, (ev: Record<string, unknown>) => void]>([
    ['no datetime (optional)', (ev) => delete ev.datetime],
    ['a pageview with utm parameters', (ev) => {
      ev.type = 'pageview';
      ev.data = { origin: 'https://www.example.com', utm_source: 'meta', trc_click: 'x' };
    }],
    ['a conversion without value', (ev) => {
      ev.type = 'conversion';
      ev.data = { origin: 'https://www.example.com', conversion_id: 'c-1' };
    }],
    ['all four identity kinds', (ev) => (ev.identity_data = { [anonymize('a')]: 1, [anonymize('b')]: 2, [anonymize('c')]: 3, [anonymize('d')]: 4 })],
  ])('accepts %s', async (_name, change) => {
    const res = await post(bodyWith(change));
    expect(res.status, res.body).toBe(200);
  });
});

interface Violation {
  name: string;
  body: () => unknown;
  token?: string | null;
  status: 400 | 401;
  mentions: string;
}

const violations: Violation[] = [
  { name: 'no tracify-token', body: () => bodyWith(() => {}), token: null, status: 401, mentions: 'tracify-token' },
  { name: 'wrong API key', body: () => bodyWith(() => {}), token: 'other', status: 401, mentions: 'API key' },
  { name: 'malformed JSON', body: () => '{"events": [', status: 400, mentions: 'could not read' },
  { name: 'events missing', body: () => ({ event: validEvent() }), status: 400, mentions: 'events' },
  { name: 'events empty', body: () => ({ events: [] }), status: 400, mentions: 'events' },
  { name: 'more than 100 events', body: () => ({ events: Array.from({ length: 101 }, validEvent) }), status: 400, mentions: '101' },
  { name: 'url missing', body: () => bodyWith((ev) => delete ev.url), status: 400, mentions: 'url' },
  { name: 'url without domain', body: () => bodyWith((ev) => (ev.url = '/checkout/thanks')), status: 400, mentions: 'url' },
  { name: 'customer_site_id not a UUID', body: () => bodyWith((ev) => (ev.customer_site_id = 'shop')), status: 400, mentions: 'customer_site_id' },
  { name: 'another site', body: () => bodyWith((ev) => (ev.customer_site_id = '00000000-0000-4000-8000-000000000000')), status: 400, mentions: 'not a site' },
  { name: 'no identity data', body: () => bodyWith((ev) => (ev.identity_data = {})), status: 400, mentions: 'identity_data' },
  { name: 'cleartext email as identity', body: () => bodyWith((ev) => (ev.identity_data = { 'jane@example.com': 1 })), status: 400, mentions: 'anonymized' },
  { name: 'identity kind 5', body: () => bodyWith((ev) => (ev.identity_data = { [anonymize('x')]: 5 })), status: 400, mentions: '1, 2, 3 or 4' },
  { name: 'datetime in ISO 8601', body: () => bodyWith((ev) => (ev.datetime = new Date().toISOString())), status: 400, mentions: 'datetime' },
  { name: 'datetime as Unix seconds', body: () => bodyWith((ev) => (ev.datetime = Math.floor(Date.now() / 1000))), status: 400, mentions: 'datetime' },
  { name: 'unknown type', body: () => bodyWith((ev) => (ev.type = 'Purchase')), status: 400, mentions: 'type' },
  { name: 'data missing', body: () => bodyWith((ev) => delete ev.data), status: 400, mentions: 'data' },
  { name: 'origin of another site', body: () => bodyWith((ev) => (data(ev).origin = 'https://other.example.com')), status: 400, mentions: 'origin' },
  { name: 'purchase without order_id', body: () => bodyWith((ev) => delete data(ev).order_id), status: 400, mentions: 'order_id' },
  { name: 'purchase amount with a dot', body: () => bodyWith((ev) => (data(ev).amount = '49.90')), status: 400, mentions: 'amount' },
  { name: 'purchase amount as a number', body: () => bodyWith((ev) => (data(ev).amount = 49.9)), status: 400, mentions: 'amount' },
  { name: 'currency lowercase', body: () => bodyWith((ev) => (data(ev).currency = 'eur')), status: 400, mentions: 'currency' },
  { name: 'AMT1 with a dot', body: () => bodyWith((ev) => (data(ev).AMT1 = '49.90')), status: 400, mentions: 'AMT1' },
  { name: 'QTY1 not a whole number', body: () => bodyWith((ev) => (data(ev).QTY1 = '1.5')), status: 400, mentions: 'QTY1' },
  {
    name: 'conversion without conversion_id',
    body: () =>
      bodyWith((ev) => {
        ev.type = 'conversion';
        ev.data = { origin: 'https://www.example.com' };
      }),
    status: 400,
    mentions: 'conversion_id',
  },
  {
    name: 'pageview with an unknown field',
    body: () =>
      bodyWith((ev) => {
        ev.type = 'pageview';
        ev.data = { origin: 'https://www.example.com', fbclid: 'x' };
      }),
    status: 400,
    mentions: 'fbclid',
  },
];

describe("tracify mock: rejects contract violations in Tracify's shape", () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await post(v.body(), v.token === undefined ? KEY : v.token);
    expect(res.status, res.body).toBe(v.status);
    const body = JSON.parse(res.body) as { status: boolean; error: string };
    expect(body.status).toBe(false);
    expect(body.error).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    expect(tracifyDestination.classify(res).kind).toBe(v.status === 401 ? 'auth' : 'dead');
  });
});

describe('tracify mock: scripted responses', () => {
  it('answers 502 then normally: retry, then delivered; a scripted 200 with status false is dead', async () => {
    mock.script([{ status: 502, body: 'Bad Gateway' }, { status: 200, body: { status: false, error: 'site disabled' } }]);
    const { requests } = tracifyDestination.map([makeEvent({ event_time: Math.floor(Date.now() / 1000) })], config(), new Date());
    expect(tracifyDestination.classify(await send(requests[0]!)).kind).toBe('retry');
    expect(tracifyDestination.classify(await send(requests[0]!))).toEqual({ kind: 'dead', reason: expect.stringContaining('site disabled') });
    expect(tracifyDestination.classify(await send(requests[0]!))).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('reset() clears scripts and records; GET /_received lists what was recorded', async () => {
    await post(bodyWith(() => {}));
    await expectReceivedListed(mock);
    mock.script([{ status: 500, body: 'down' }]);
    mock.reset();
    expect(mock.received).toHaveLength(0);
    expect((await post(bodyWith(() => {}))).status).toBe(200);
  });
});
