// The Reddit CAPI v3 mock over real HTTP: it accepts what redditDestination produces and
// refuses, in Reddit's shape, every payload the v3 contract forbids.
import { describe, expect, it, test } from 'vitest';
import { redditDestination, RedditConfigSchema } from '../../src/destinations/reddit.js';
import type { DestinationResponse, Outcome } from '../../src/destinations/types.js';
import { startRedditMock } from '../../src/mocks/reddit.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const TOKEN = 'reddit-mock-token';
const PIXEL = 'a2_pixel123';
const PATH = `/api/v3/pixels/${PIXEL}/conversion_events`;

const mock = serveForTests(() => startRedditMock({ accessToken: TOKEN, pixelId: PIXEL }));

async function post(body: unknown, opts: { path?: string; token?: string | null } = {}): Promise<DestinationResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
  return postBody(mock.url + (opts.path ?? PATH), body, headers);
}

const nowMs = () => Date.now();
const config = (extra: Record<string, unknown> = {}) =>
  RedditConfigSchema.parse({ type: 'reddit', pixelId: PIXEL, accessToken: TOKEN, baseUrl: mock.url, ...extra });

/** A conversion event exactly as Reddit's v3 docs describe one. */
function validEvent(): Record<string, unknown> {
  return {
    event_at: nowMs() - 30_000,
    action_source: 'WEBSITE',
    type: { tracking_type: 'PURCHASE' },
    event_source_url: 'https://shop.example.com/thank-you',
    click_id: '3184742045291813272',
    user: {
      email: sha256Hex('jane@example.com'),
      phone_number: sha256Hex('+15554441234'),
      ip_address: sha256Hex('203.0.113.7'),
      user_agent: 'Mozilla/5.0',
      uuid: '1677712978045.b8f7eb7d-b357-437b-8bd3-e1c8166c7132',
      external_id: 'customer12345',
    },
    metadata: { conversion_id: 'order-1', value: 100, currency: 'USD', item_count: 2, products: [{ id: 'SKU', name: 'Thing', quantity: 2, item_price: 50 }] },
  };
}

function bodyWith(change: (ev: Record<string, unknown>) => void): unknown {
  const ev = validEvent();
  change(ev);
  return { data: { events: [ev] } };
}

const user = (ev: Record<string, unknown>) => ev.user as Record<string, unknown>;
const metadata = (ev: Record<string, unknown>) => ev.metadata as Record<string, unknown>;

describe('reddit mock: accepts the documented contract', () => {
  it('round trip: accepts what redditDestination.map produces; events found by conversion_id', async () => {
    const t = Math.floor(Date.now() / 1000) - 60;
    const events = [
      makeEvent({ event_time: t, ids: { rdt_cid: 'cid-1', rdt_uuid: '1760000000000.abc' }, user: { em: sha256Hex('a@b.com'), ph_e164: sha256Hex('+5511999999999') } }),
      makeEvent({ event_name: 'Lead', event_time: t, url: undefined, ip: '2001:db8::1', custom: {} }),
      makeEvent({ event_name: 'QuizCompleted', event_time: t, custom: { value: 1, currency: 'USD', num_items: 1 } }),
      makeEvent({ event_name: 'PageView', event_time: t, custom: { content_ids: ['SKU-1'] } }),
    ];
    const { requests, skipped } = redditDestination.map(events, config(), new Date());
    expect(skipped).toEqual([]);
    const res = await send(requests[0]!);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ data: { message: 'Successfully processed 4 conversion events.' } });
    expect(redditDestination.classify(res)).toEqual({ kind: 'delivered' });

    expect(mock.received).toHaveLength(1);
    const got = mock.received[0]!;
    expect(got.pixelId).toBe(PIXEL);
    expect(got.testId).toBeUndefined();
    for (const e of events) {
      const sent = got.events.find((ev) => metadata(ev).conversion_id === e.event_id);
      expect(sent, e.event_id).toBeDefined();
    }
    const purchase = got.events.find((ev) => metadata(ev).conversion_id === events[0]!.event_id)!;
    expect(purchase).toMatchObject({ click_id: 'cid-1', user: { uuid: '1760000000000.abc', ip_address: sha256Hex('203.0.113.7') } });
  });

  it('round trip with test_id: recorded as an Event Testing request', async () => {
    const { requests } = redditDestination.map([makeEvent({ event_time: Math.floor(Date.now() / 1000) })], config({ testId: 't2_test' }), new Date());
    expect(redditDestination.classify(await send(requests[0]!))).toEqual({ kind: 'delivered' });
    expect(mock.received[0]!.testId).toBe('t2_test');
  });

  it('round trip: 1,001 events go through as two accepted requests', async () => {
    const t = Math.floor(Date.now() / 1000) - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `bulk-${i}`, event_time: t }));
    const { requests } = redditDestination.map(events, config(), new Date());
    for (const req of requests) expect(redditDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((b) => b.events.length)).toEqual([1000, 1]);
  });

  test.each<[string, (ev: Record<string, unknown>) => void]>([
    ['a CUSTOM event with its name', (ev) => (ev.type = { tracking_type: 'CUSTOM', custom_event_name: 'Promotion Event' })],
    ['an event without user or metadata', (ev) => {
      delete ev.user;
      delete ev.metadata;
    }],
    ['a 4-minute clock skew', (ev) => (ev.event_at = nowMs() + 4 * 60_000)],
    ['an event 6 days old', (ev) => (ev.event_at = nowMs() - 6 * 86_400_000)],
    ['data_processing_options', (ev) => (user(ev).data_processing_options = { modes: ['LDU'], country: 'US', region: 'US-CA' })],
  ])('accepts %s', async (_name, change) => {
    const res = await post(bodyWith(change));
    expect(res.status, res.body).toBe(200);
  });
});

interface Violation {
  name: string;
  body: () => unknown;
  path?: string;
  token?: string | null;
  status: 400 | 401 | 403;
  mentions: string;
}
const OUTCOME: Record<Violation['status'], Outcome['kind']> = { 400: 'dead', 401: 'auth', 403: 'auth' };

const violations: Violation[] = [
  { name: 'no bearer token', body: () => bodyWith(() => {}), token: null, status: 401, mentions: 'No bearer token provided' },
  { name: 'wrong token', body: () => bodyWith(() => {}), token: 'other', status: 401, mentions: 'UNAUTHORIZED' },
  { name: 'another pixel', body: () => bodyWith(() => {}), path: '/api/v3/pixels/a2_other/conversion_events', status: 403, mentions: 'a2_other' },
  { name: 'v2 shape (events at the top)', body: () => ({ events: [validEvent()] }), status: 400, mentions: 'data' },
  { name: 'no events', body: () => ({ data: { events: [] } }), status: 400, mentions: 'events' },
  { name: 'more than 1,000 events', body: () => ({ data: { events: Array.from({ length: 1001 }, validEvent) } }), status: 400, mentions: '1001' },
  { name: 'v2 test_mode', body: () => ({ data: { events: [validEvent()], test_mode: true } }), status: 400, mentions: 'test_id' },
  { name: 'malformed JSON', body: () => '{"data":', status: 400, mentions: 'Bad Request' },
  { name: 'event_at missing', body: () => bodyWith((ev) => delete ev.event_at), status: 400, mentions: 'event_at' },
  { name: 'event_at in seconds', body: () => bodyWith((ev) => (ev.event_at = Math.floor(nowMs() / 1000))), status: 400, mentions: 'milliseconds' },
  { name: 'event_at as an ISO string', body: () => bodyWith((ev) => (ev.event_at = new Date().toISOString())), status: 400, mentions: 'event_at' },
  { name: 'event_at 8 days old', body: () => bodyWith((ev) => (ev.event_at = nowMs() - 8 * 86_400_000)), status: 400, mentions: '7 days' },
  { name: 'event_at 10 minutes ahead', body: () => bodyWith((ev) => (ev.event_at = nowMs() + 600_000)), status: 400, mentions: 'future' },
  { name: 'action_source missing', body: () => bodyWith((ev) => delete ev.action_source), status: 400, mentions: 'action_source' },
  { name: 'action_source lowercase', body: () => bodyWith((ev) => (ev.action_source = 'website')), status: 400, mentions: 'action_source' },
  { name: 'v2 tracking type name', body: () => bodyWith((ev) => (ev.type = { tracking_type: 'Purchase' })), status: 400, mentions: 'tracking_type' },
  { name: 'v2 event_type field', body: () => bodyWith((ev) => (ev.event_type = { tracking_type: 'Purchase' })), status: 400, mentions: 'v2' },
  { name: 'CUSTOM without a name', body: () => bodyWith((ev) => (ev.type = { tracking_type: 'CUSTOM' })), status: 400, mentions: 'custom_event_name' },
  {
    name: 'CUSTOM name over 64 characters',
    body: () => bodyWith((ev) => (ev.type = { tracking_type: 'CUSTOM', custom_event_name: 'x'.repeat(65) })),
    status: 400,
    mentions: 'custom_event_name',
  },
  { name: 'cleartext email', body: () => bodyWith((ev) => (user(ev).email = 'jane@example.com')), status: 400, mentions: 'user.email' },
  { name: 'cleartext IP address', body: () => bodyWith((ev) => (user(ev).ip_address = '203.0.113.7')), status: 400, mentions: 'user.ip_address' },
  { name: 'uppercase phone hash', body: () => bodyWith((ev) => (user(ev).phone_number = sha256Hex('+1555').toUpperCase())), status: 400, mentions: 'user.phone_number' },
  { name: 'unknown match key', body: () => bodyWith((ev) => (user(ev).ph_e164 = sha256Hex('+1555'))), status: 400, mentions: 'ph_e164' },
  { name: 'v2 value_decimal', body: () => bodyWith((ev) => (metadata(ev).value_decimal = 10)), status: 400, mentions: 'value_decimal' },
  { name: 'value as a string', body: () => bodyWith((ev) => (metadata(ev).value = '100.00')), status: 400, mentions: 'metadata.value' },
  { name: 'value without currency', body: () => bodyWith((ev) => delete metadata(ev).currency), status: 400, mentions: 'currency' },
  { name: 'currency not ISO 4217', body: () => bodyWith((ev) => (metadata(ev).currency = 'usd')), status: 400, mentions: 'currency' },
  { name: 'negative item_count', body: () => bodyWith((ev) => (metadata(ev).item_count = -1)), status: 400, mentions: 'item_count' },
  { name: 'product without id', body: () => bodyWith((ev) => (metadata(ev).products = [{ name: 'x' }])), status: 400, mentions: 'products[0].id' },
  {
    name: 'one bad event refuses the whole request',
    body: () => {
      const bad = validEvent();
      delete bad.action_source;
      return { data: { events: [validEvent(), bad] } };
    },
    status: 400,
    mentions: 'There were 1 invalid conversion events. None were processed. events[1].action_source',
  },
];

describe("reddit mock: rejects contract violations in Reddit's shape", () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await post(v.body(), { ...(v.path ? { path: v.path } : {}), ...(v.token !== undefined ? { token: v.token } : {}) });
    expect(res.status, res.body).toBe(v.status);
    const body = JSON.parse(res.body) as { error: { message: string } };
    expect(body.error.message).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    expect(redditDestination.classify(res).kind).toBe(OUTCOME[v.status]);
  });
});

describe('reddit mock: scripted responses', () => {
  it('answers 500 then normally: the first is retried, the second delivered and recorded', async () => {
    mock.script([{ status: 500, body: { error: { message: 'The service is currently unavailable. No conversion events were processed.' } } }]);
    const { requests } = redditDestination.map([makeEvent({ event_time: Math.floor(Date.now() / 1000) })], config(), new Date());
    expect(redditDestination.classify(await send(requests[0]!))).toMatchObject({ kind: 'retry' });
    expect(mock.received).toHaveLength(0);
    expect(redditDestination.classify(await send(requests[0]!))).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('replays rate limits with Retry-After before any checks; reset() clears scripts and records', async () => {
    mock.script([{ status: 429, body: { error: { message: 'Too many requests/events within timeframe.' } }, headers: { 'retry-after': '9' } }]);
    expect(redditDestination.classify(await post({ nonsense: true }))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 9_000 });
    await post(bodyWith(() => {}));
    mock.script([{ status: 503, body: 'down' }]);
    mock.reset();
    expect(mock.received).toHaveLength(0);
    expect((await post(bodyWith(() => {}))).status).toBe(200);
  });

  it('GET /_received lists what was recorded', async () => {
    await post(bodyWith(() => {}));
    await expectReceivedListed(mock);
  });
});
