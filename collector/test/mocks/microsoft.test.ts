// The Microsoft UET CAPI mock over real HTTP: it accepts what microsoftDestination produces
// and refuses, in Microsoft's shape, every payload the CAPI contract forbids, honouring
// continueOnValidationError.
import { describe, expect, it, test } from 'vitest';
import { microsoftDestination, MicrosoftConfigSchema } from '../../src/destinations/microsoft.js';
import type { DestinationResponse, Outcome } from '../../src/destinations/types.js';
import { startMicrosoftMock } from '../../src/mocks/microsoft.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const TOKEN = 'uet-mock-token';
const TAG = '187012345';
const PATH = `/v1/${TAG}/events`;

const mock = serveForTests(() => startMicrosoftMock({ accessToken: TOKEN, tagId: TAG }));

async function post(body: unknown, opts: { path?: string; token?: string | null; contentType?: string } = {}): Promise<DestinationResponse> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
  return postBody(mock.url + (opts.path ?? PATH), body, headers);
}

const nowSec = () => Math.floor(Date.now() / 1000);
const config = (extra: Record<string, unknown> = {}) =>
  MicrosoftConfigSchema.parse({ type: 'microsoft', tagId: TAG, accessToken: TOKEN, baseUrl: mock.url, ...extra });

/** A custom purchase event as Microsoft's guide describes one. */
function validEvent(): Record<string, unknown> {
  return {
    eventType: 'custom',
    eventId: 'evt-1',
    eventName: 'purchase',
    eventTime: nowSec() - 30,
    eventSourceUrl: 'https://shop.example.com/thank-you',
    adStorageConsent: 'G',
    userData: {
      em: sha256Hex('jane@example.com'),
      ph: sha256Hex('15554441234'),
      msclkid: '3c5b0e4d1d3f1a6b8f8e6c3f2b1a0d9e',
      clientIpAddress: '203.0.113.7',
      clientUserAgent: 'Mozilla/5.0',
    },
    customData: { value: 100, currency: 'USD', transactionId: 'T-1', itemIds: ['SKU'], items: [{ id: 'SKU', price: 50, quantity: 2 }], pageType: 'purchase' },
  };
}

function bodyWith(change: (ev: Record<string, unknown>) => void, extra: Record<string, unknown> = {}): unknown {
  const ev = validEvent();
  change(ev);
  return { data: [ev], ...extra };
}

const ud = (ev: Record<string, unknown>) => ev.userData as Record<string, unknown>;
const cd = (ev: Record<string, unknown>) => ev.customData as Record<string, unknown>;

describe('microsoft mock: accepts the documented contract', () => {
  it('round trip: accepts what microsoftDestination.map produces; events found by eventId', async () => {
    const t = nowSec() - 60;
    const events = [
      makeEvent({ event_time: t, ids: { msclkid: '_uet3c5b0e4d1d3f1a6b8f8e6c3f2b1a0d9e', visitor_id: 'v-1' } }),
      makeEvent({ event_name: 'PageView', event_time: t, custom: {} }),
      makeEvent({ event_name: 'Search', event_time: t, custom: { search_string: 'shirt' } }),
      makeEvent({ event_name: 'Lead', event_time: t, url: undefined, ip: '2001:db8::1', custom: { order_id: 'L-1' } }),
      makeEvent({ event_name: 'WebinarJoined', event_time: t, custom: {} }),
    ];
    const { requests, skipped } = microsoftDestination.map(events, config({ dataProvider: 'trakvo' }), new Date());
    expect(skipped).toEqual([]);
    const res = await send(requests[0]!);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ eventsReceived: 5, traceId: expect.any(String) });
    expect(microsoftDestination.classify(res)).toEqual({ kind: 'delivered' });

    const got = mock.received[0]!;
    expect(got).toMatchObject({ tagId: TAG, refused: [], continueOnValidationError: false, dataProvider: 'trakvo' });
    for (const e of events) expect(got.events.find((ev) => ev.eventId === e.event_id), e.event_id).toBeDefined();
    expect(got.events.find((ev) => ev.eventId === events[1]!.event_id)).toMatchObject({ eventType: 'pageLoad' });
  });

  it('round trip: 1,001 events go through as two accepted requests', async () => {
    const t = nowSec() - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `bulk-${i}`, event_time: t }));
    const { requests } = microsoftDestination.map(events, config(), new Date());
    for (const req of requests) expect(microsoftDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((b) => b.events.length)).toEqual([1000, 1]);
  });

  test.each<[string, (ev: Record<string, unknown>) => void]>([
    ['a pageLoad event', (ev) => {
      ev.eventType = 'pageLoad';
      delete ev.eventName;
      delete ev.customData;
    }],
    ['a GUID msclkid with dashes', (ev) => (ud(ev).msclkid = '3c5b0e4d-1d3f-1a6b-8f8e-6c3f2b1a0d9e')],
    ['anonymousId as the only identifier', (ev) => (ev.userData = { anonymousId: 'v-1' })],
    ['adStorageConsent D', (ev) => (ev.adStorageConsent = 'D')],
    ['an event 6 days old', (ev) => (ev.eventTime = nowSec() - 6 * 86400)],
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
  contentType?: string;
  status: 400 | 401 | 403;
  mentions: string;
}
const OUTCOME: Record<Violation['status'], Outcome['kind']> = { 400: 'dead', 401: 'auth', 403: 'auth' };

const violations: Violation[] = [
  { name: 'no token', body: () => bodyWith(() => {}), token: null, status: 401, mentions: 'token' },
  { name: 'wrong token', body: () => bodyWith(() => {}), token: 'other', status: 401, mentions: 'token' },
  { name: 'another tag', body: () => bodyWith(() => {}), path: '/v1/999/events', status: 403, mentions: '999' },
  { name: 'not JSON', body: () => 'data=1', contentType: 'text/plain', status: 400, mentions: 'application/json' },
  { name: 'malformed JSON', body: () => '{"data": [', status: 400, mentions: 'could not be read' },
  { name: 'data missing', body: () => ({}), status: 400, mentions: 'data' },
  { name: 'data empty', body: () => ({ data: [] }), status: 400, mentions: 'data' },
  { name: 'more than 1,000 events', body: () => ({ data: Array.from({ length: 1001 }, validEvent) }), status: 400, mentions: '1001' },
  { name: 'unknown request property', body: () => bodyWith(() => {}, { testMode: true }), status: 400, mentions: 'testMode' },
  { name: 'continueOnValidationError not a boolean', body: () => bodyWith(() => {}, { continueOnValidationError: 'yes' }), status: 400, mentions: 'continueOnValidationError' },
  { name: 'eventType unknown', body: () => bodyWith((ev) => (ev.eventType = 'purchase')), status: 400, mentions: 'eventType' },
  { name: 'custom event without eventName', body: () => bodyWith((ev) => delete ev.eventName), status: 400, mentions: 'eventName' },
  { name: 'eventTime in milliseconds', body: () => bodyWith((ev) => (ev.eventTime = Date.now())), status: 400, mentions: 'eventTime' },
  { name: 'eventTime as a string', body: () => bodyWith((ev) => (ev.eventTime = new Date().toISOString())), status: 400, mentions: 'eventTime' },
  { name: 'eventTime 8 days old', body: () => bodyWith((ev) => (ev.eventTime = nowSec() - 8 * 86400)), status: 400, mentions: '7 days' },
  {
    name: 'pageLoad without eventSourceUrl',
    body: () =>
      bodyWith((ev) => {
        ev.eventType = 'pageLoad';
        delete ev.eventSourceUrl;
      }),
    status: 400,
    mentions: 'eventSourceUrl',
  },
  { name: 'adStorageConsent granted spelled out', body: () => bodyWith((ev) => (ev.adStorageConsent = 'granted')), status: 400, mentions: 'adStorageConsent' },
  { name: 'no userData', body: () => bodyWith((ev) => delete ev.userData), status: 400, mentions: 'userData' },
  { name: 'only IP and user agent', body: () => bodyWith((ev) => (ev.userData = { clientIpAddress: '203.0.113.7', clientUserAgent: 'UA' })), status: 400, mentions: 'identifier' },
  { name: 'cleartext email', body: () => bodyWith((ev) => (ud(ev).em = 'jane@example.com')), status: 400, mentions: 'em must be' },
  { name: 'cleartext phone', body: () => bodyWith((ev) => (ud(ev).ph = '+15554441234')), status: 400, mentions: 'ph must be' },
  { name: 'msclkid with the _uet prefix', body: () => bodyWith((ev) => (ud(ev).msclkid = '_uet3c5b0e4d1d3f1a6b8f8e6c3f2b1a0d9e')), status: 400, mentions: 'msclkid' },
  { name: 'invalid client IP', body: () => bodyWith((ev) => (ud(ev).clientIpAddress = 'unknown')), status: 400, mentions: 'clientIpAddress' },
  { name: 'Meta key in userData', body: () => bodyWith((ev) => (ud(ev).client_ip_address = '203.0.113.7')), status: 400, mentions: 'client_ip_address' },
  { name: 'value as a string', body: () => bodyWith((ev) => (cd(ev).value = '100')), status: 400, mentions: 'value' },
  { name: 'currency lowercase', body: () => bodyWith((ev) => (cd(ev).currency = 'usd')), status: 400, mentions: 'currency' },
  { name: 'pageType unknown', body: () => bodyWith((ev) => (cd(ev).pageType = 'checkout')), status: 400, mentions: 'pageType' },
  { name: 'purchase without transactionId', body: () => bodyWith((ev) => delete cd(ev).transactionId), status: 400, mentions: 'transactionId' },
  { name: 'item without id', body: () => bodyWith((ev) => (cd(ev).items = [{ price: 1 }])), status: 400, mentions: 'items[0].id' },
];

describe("microsoft mock: rejects contract violations in Microsoft's shape", () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const opts = { ...(v.path ? { path: v.path } : {}), ...(v.token !== undefined ? { token: v.token } : {}), ...(v.contentType ? { contentType: v.contentType } : {}) };
    const res = await post(v.body(), opts);
    expect(res.status, res.body).toBe(v.status);
    const body = JSON.parse(res.body) as { eventsReceived: number; error: { message: string; details: { errorMessage: string; propertyName: string }[] } };
    expect(body.eventsReceived).toBe(0);
    const text = [body.error.message, ...body.error.details.map((d) => `${d.propertyName}: ${d.errorMessage}`)].join(' | ');
    expect(text).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    expect(microsoftDestination.classify(res).kind).toBe(OUTCOME[v.status]);
  });

  it('without continueOnValidationError one bad event refuses the request, naming its index', async () => {
    const bad = validEvent();
    bad.eventTime = Date.now();
    const res = await post({ data: [validEvent(), bad], continueOnValidationError: false });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ eventsReceived: 0, error: { details: [{ index: 1, propertyName: 'eventTime' }] } });
    expect(mock.received).toHaveLength(0);
    expect(microsoftDestination.classify(res).kind).toBe('dead');
  });

  it('with continueOnValidationError the valid events are taken and the bad one listed (classified dead)', async () => {
    const bad = validEvent();
    bad.eventId = 'bad-1';
    delete bad.userData;
    const res = await post({ data: [validEvent(), bad], continueOnValidationError: true });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ eventsReceived: 1, error: { details: [{ index: 1, propertyName: 'userData' }] } });
    expect(mock.received[0]).toMatchObject({ refused: [1], continueOnValidationError: true });
    expect(mock.received[0]!.events.map((e) => e.eventId)).toEqual(['evt-1']);
    expect(microsoftDestination.classify(res).kind).toBe('dead');
  });
});

describe('microsoft mock: scripted responses', () => {
  it('answers 503 then normally: retry, then delivered and recorded', async () => {
    mock.script([{ status: 503, body: { eventsReceived: 0, error: { code: 'ServiceUnavailable', message: 'try later', details: [] } }, headers: { 'retry-after': '4' } }]);
    const { requests } = microsoftDestination.map([makeEvent({ event_time: nowSec() })], config(), new Date());
    expect(microsoftDestination.classify(await send(requests[0]!))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 4_000 });
    expect(mock.received).toHaveLength(0);
    expect(microsoftDestination.classify(await send(requests[0]!))).toEqual({ kind: 'delivered' });
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
