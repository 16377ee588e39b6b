// The Snap Conversions API v3 mock over real HTTP: it accepts what snapchatDestination produces
// and refuses, in Snap's `{"status":"INVALID",…}` shape, every payload its contract forbids;
// the Test Event Tool path reports per-event logs.
import { describe, expect, it, test } from 'vitest';
import { snapchatDestination, SnapchatConfigSchema } from '../../src/destinations/snapchat.js';
import type { DestinationResponse, Outcome } from '../../src/destinations/types.js';
import { startSnapchatMock } from '../../src/mocks/snapchat.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const TOKEN = 'snap-mock-token';
const PIXEL = '4a018335-717f-41dd-a66e-58eb2473aa61';
const PATH = `/v3/${PIXEL}/events`;

const mock = serveForTests(() => startSnapchatMock({ accessToken: TOKEN, pixelId: PIXEL }));

function post(body: unknown, path = `${PATH}?access_token=${TOKEN}`, headers: Record<string, string> = {}): Promise<DestinationResponse> {
  return postBody(mock.url + path, body, { 'content-type': 'application/json', ...headers });
}

const nowSec = () => Math.floor(Date.now() / 1000);

function config(extra: Record<string, unknown> = {}) {
  return SnapchatConfigSchema.parse({ type: 'snapchat', pixelId: PIXEL, accessToken: TOKEN, baseUrl: mock.url, ...extra });
}

/** A web event as Snap's docs and v3 schema describe it. */
function validEvent(): Record<string, unknown> {
  return {
    event_name: 'PURCHASE',
    event_time: nowSec() - 30,
    event_id: 'order-1001',
    action_source: 'WEB',
    event_source_url: 'https://shop.example.com/thanks',
    user_data: {
      em: [sha256Hex('jane@example.com')],
      ph: [sha256Hex('5511999999999')],
      client_ip_address: '203.0.113.7',
      client_user_agent: 'Mozilla/5.0 Test',
      sc_click_id: 'click-1',
      sc_cookie1: 'cookie-1',
    },
    custom_data: {
      currency: 'BRL',
      value: 10.5,
      order_id: '1001',
      contents: [{ id: 'SKU-1', quantity: '1', item_price: '10.5' }],
      num_items: 1,
    },
  };
}

function bodyWith(change: (ev: Record<string, unknown>, ud: Record<string, unknown>, cd: Record<string, unknown>) => void): unknown {
  const ev = validEvent();
  change(ev, ev.user_data as Record<string, unknown>, ev.custom_data as Record<string, unknown>);
  return { data: [ev] };
}

describe('snapchat mock: accepts the documented contract', () => {
  it('round trip: accepts what snapchatDestination.map produces; events can be found by event_id', async () => {
    const t = nowSec() - 60;
    const events = [
      makeEvent({ event_time: t, ids: { sccid: 'click-9', scid: 'cookie-9' }, user: { em: sha256Hex('a@b.com'), ph: sha256Hex('5511999999999') } }),
      makeEvent({ event_name: 'PageView', event_time: t, custom: {} }),
      makeEvent({ event_name: 'Purchase', event_time: t, source: 'webhook:hotmart', url: undefined, ip: undefined, user_agent: undefined, custom: { value: 1, currency: 'BRL', order_id: 'HP-1', extra: { a: 1 } } }),
      makeEvent({ event_name: 'Search', event_time: t, custom: { search_string: 'camiseta', content_ids: ['SKU-1'], status: 'ok' } }),
    ];
    const { requests, skipped } = snapchatDestination.map(events, config(), new Date());
    expect(skipped).toEqual([]);
    expect(requests).toHaveLength(1);

    const res = await send(requests[0]!);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'VALID' });
    expect(snapchatDestination.classify(res)).toEqual({ kind: 'delivered' });

    const got = mock.received[0]!;
    expect(got).toMatchObject({ pixelId: PIXEL, validate: false, tokenIn: 'query' });
    expect(got.events).toEqual((JSON.parse(requests[0]!.body ?? '') as { data: unknown[] }).data);
    expect(got.events.find((e) => e.event_id === events[0]!.event_id)).toMatchObject({
      event_name: 'PURCHASE',
      user_data: { sc_click_id: 'click-9', sc_cookie1: 'cookie-9' },
    });
    expect(got.events.find((e) => e.event_id === events[2]!.event_id)).toMatchObject({ action_source: 'OFFLINE', custom_data: { order_id: 'HP-1' } });
  });

  it('round trip: validate mode goes to the Test Event Tool and is marked as such', async () => {
    const { requests } = snapchatDestination.map([makeEvent({ event_time: nowSec() - 60 })], config({ validate: true }), new Date());
    const res = await send(requests[0]!);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'VALID', test_event: true, event_logs: [{ event: 0, status: 'VALID' }] });
    expect(snapchatDestination.classify(res)).toEqual({ kind: 'delivered' });
    expect(mock.received[0]).toMatchObject({ validate: true });
  });

  it('round trip: 1,001 events go through as two accepted requests', async () => {
    const t = nowSec() - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `bulk-${i}`, event_time: t }));
    const { requests } = snapchatDestination.map(events, config(), new Date());
    for (const req of requests) expect(snapchatDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((b) => b.events.length)).toEqual([1000, 1]);
  });

  test.each<[string, (ev: Record<string, unknown>, ud: Record<string, unknown>, cd: Record<string, unknown>) => void]>([
    ['event_time in milliseconds', (ev) => (ev.event_time = Date.now() - 30_000)],
    ['36 days old', (ev) => (ev.event_time = nowSec() - 36 * 86400)],
    ['Meta-style action_source website', (ev) => (ev.action_source = 'website')],
    ['OFFLINE without a page', (ev) => {
      ev.action_source = 'OFFLINE';
      delete ev.event_source_url;
    }],
    ['a single hash instead of an array', (_ev, ud) => (ud.em = sha256Hex('a@b.com'))],
    ['IP + user agent only', (_ev, ud) => {
      delete ud.em;
      delete ud.ph;
    }],
    ['value as a numeric string (docs example)', (_ev, _ud, cd) => (cd.value = '142.52')],
    ['a custom event slot', (ev) => (ev.event_name = 'CUSTOM_EVENT_3')],
  ])('accepts %s', async (_name, change) => {
    const res = await post(bodyWith(change));
    expect(res.status, res.body).toBe(200);
  });

  it('accepts the token as a Bearer header too', async () => {
    const res = await post(bodyWith(() => {}), PATH, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(mock.received[0]!.tokenIn).toBe('header');
  });

  it('GET /_received lists what was recorded', async () => {
    await post(bodyWith(() => {}));
    await expectReceivedListed(mock);
  });
});

interface Violation {
  name: string;
  body: () => unknown;
  path?: string;
  status: number;
  mentions: string;
}

const OUTCOME: Record<number, Outcome['kind']> = { 400: 'dead', 401: 'auth', 403: 'auth' };

const violations: Violation[] = [
  { name: 'no access_token', body: () => bodyWith(() => {}), path: PATH, status: 401, mentions: 'access_token' },
  { name: 'wrong access_token', body: () => bodyWith(() => {}), path: `${PATH}?access_token=other`, status: 401, mentions: 'access token' },
  { name: 'another pixel', body: () => bodyWith(() => {}), path: `/v3/other-pixel/events?access_token=${TOKEN}`, status: 403, mentions: 'other-pixel' },
  { name: 'malformed JSON', body: () => '{"data": [', status: 400, mentions: 'body' },
  { name: 'data missing', body: () => ({}), status: 400, mentions: 'data' },
  { name: 'data empty', body: () => ({ data: [] }), status: 400, mentions: 'data' },
  { name: 'more than 2,000 events', body: () => ({ data: Array.from({ length: 2001 }, validEvent) }), status: 400, mentions: '2001' },
  { name: 'event_name missing', body: () => bodyWith((ev) => delete ev.event_name), status: 400, mentions: 'event_name' },
  { name: 'Meta-style event name', body: () => bodyWith((ev) => (ev.event_name = 'AddToCart')), status: 400, mentions: 'AddToCart' },
  { name: 'event_time missing', body: () => bodyWith((ev) => delete ev.event_time), status: 400, mentions: 'event_time' },
  { name: 'event_time 38 days old', body: () => bodyWith((ev) => (ev.event_time = nowSec() - 38 * 86400)), status: 400, mentions: '37 days' },
  { name: 'event_time 10 minutes ahead', body: () => bodyWith((ev) => (ev.event_time = nowSec() + 600)), status: 400, mentions: 'future' },
  { name: 'event_time as ISO text', body: () => bodyWith((ev) => (ev.event_time = new Date().toISOString())), status: 400, mentions: 'event_time' },
  { name: 'unknown action_source', body: () => bodyWith((ev) => (ev.action_source = 'web')), status: 400, mentions: 'action_source' },
  { name: 'web event without event_source_url', body: () => bodyWith((ev) => delete ev.event_source_url), status: 400, mentions: 'event_source_url' },
  { name: 'unknown event field', body: () => bodyWith((ev) => (ev.client_dedup_id = 'x')), status: 400, mentions: 'client_dedup_id' },
  { name: 'unhashed email', body: () => bodyWith((_ev, ud) => (ud.em = ['jane@example.com'])), status: 400, mentions: 'user_data.em' },
  { name: 'external_id (not in the v3 schema)', body: () => bodyWith((_ev, ud) => (ud.external_id = [sha256Hex('c-1')])), status: 400, mentions: 'external_id' },
  { name: 'invalid IP', body: () => bodyWith((_ev, ud) => (ud.client_ip_address = 'unknown')), status: 400, mentions: 'client_ip_address' },
  {
    name: 'no match key (user agent alone)',
    body: () => bodyWith((_ev, ud) => {
      for (const k of ['em', 'ph', 'client_ip_address']) delete ud[k];
    }),
    status: 400,
    mentions: 'user_data needs',
  },
  { name: 'contents quantity as a number', body: () => bodyWith((_ev, _ud, cd) => (cd.contents = [{ id: 'SKU-1', quantity: 1 }])), status: 400, mentions: 'quantity' },
  { name: 'bad currency', body: () => bodyWith((_ev, _ud, cd) => (cd.currency = 'R$')), status: 400, mentions: 'currency' },
  { name: 'custom_fields with a number', body: () => bodyWith((_ev, _ud, cd) => (cd.custom_fields = { seats: 3 })), status: 400, mentions: 'custom_fields' },
  {
    name: 'one bad event fails the request',
    body: () => ({ data: [validEvent(), { ...validEvent(), event_name: 'Purchase' }] }),
    status: 400,
    mentions: 'data[1]',
  },
];

describe('snapchat mock: rejects contract violations in Snap’s error shape', () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await post(v.body(), v.path ?? `${PATH}?access_token=${TOKEN}`);
    expect(res.status).toBe(v.status);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body.status).toBe('INVALID');
    expect(JSON.stringify(body)).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    expect(snapchatDestination.classify(res).kind).toBe(OUTCOME[v.status]);
  });

  it('the Test Event Tool reports each invalid event in a 200', async () => {
    const res = await post({ data: [validEvent(), { ...validEvent(), event_name: 'Purchase' }] }, `${PATH}/validate?access_token=${TOKEN}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      status: 'INVALID',
      test_event: true,
      event_logs: [{ event: 0, status: 'VALID' }, { event: 1, status: 'INVALID', errors: { codes: ['INVALID_EVENT_NAME'] } }],
    });
    expect(snapchatDestination.classify(res)).toMatchObject({ kind: 'dead', reason: expect.stringContaining('event 1') });
    expect(mock.received).toHaveLength(0);
  });
});

describe('snapchat mock: scripted responses', () => {
  it('replays rate limits and server errors, then goes back to normal', async () => {
    mock.script([
      { status: 429, body: '', headers: { 'retry-after': '15' } },
      { status: 500, body: { status: 'FAILURE', reason: 'Internal error' } },
    ]);
    const { requests } = snapchatDestination.map([makeEvent({ event_time: nowSec() - 10 })], config(), new Date());
    const req = requests[0]!;
    expect(snapchatDestination.classify(await send(req))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 15_000 });
    expect(snapchatDestination.classify(await send(req))).toMatchObject({ kind: 'retry' });
    expect(mock.received).toHaveLength(0);
    expect(snapchatDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('reset() clears both the record and pending scripts', async () => {
    await post(bodyWith(() => {}));
    mock.script([{ status: 500, body: 'x' }]);
    mock.reset();
    expect(mock.received).toHaveLength(0);
    expect((await post(bodyWith(() => {}))).status).toBe(200);
  });
});
