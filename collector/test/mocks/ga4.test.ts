// The GA4 Measurement Protocol mock over real HTTP: collect accepts what ga4Destination produces
// (204, recorded) and silently drops what the contract forbids (204, not recorded, kept with
// its reasons); the debug endpoint names every violation in validationMessages.
import { describe, expect, it, test } from 'vitest';
import { ga4Destination, Ga4ConfigSchema } from '../../src/destinations/ga4.js';
import type { DestinationResponse } from '../../src/destinations/types.js';
import { startGa4Mock } from '../../src/mocks/ga4.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { postBody, send, serveForTests } from './mock-client.js';

const MID = 'G-MOCK123';
const SECRET = 'mock-secret';

const mock = serveForTests(() => startGa4Mock({ measurementId: MID, apiSecret: SECRET }));

function post(body: unknown, path: string, query = `measurement_id=${MID}&api_secret=${SECRET}`): Promise<DestinationResponse> {
  return postBody(`${mock.url}${path}?${query}`, body, { 'content-type': 'application/json' });
}

const nowMicros = () => Date.now() * 1000;
const nowSec = () => Math.floor(Date.now() / 1000);

function config(extra: Record<string, unknown> = {}) {
  return Ga4ConfigSchema.parse({ type: 'ga4', measurementId: MID, apiSecret: SECRET, baseUrl: mock.url, ...extra });
}

/** A request exactly as Google's MP reference documents it. */
function validBody(): Record<string, unknown> {
  return {
    client_id: '1234567890.1785000000',
    timestamp_micros: nowMicros() - 60_000_000,
    consent: { ad_user_data: 'GRANTED', ad_personalization: 'GRANTED' },
    ip_override: '203.0.113.7',
    user_data: {
      sha256_email_address: [sha256Hex('jane@example.com')],
      sha256_phone_number: [sha256Hex('+5511999999999')],
      address: [{ sha256_first_name: sha256Hex('jane'), city: 'sao paulo', region: 'sp', postal_code: '01310100', country: 'BR' }],
    },
    events: [
      {
        name: 'purchase',
        params: {
          session_id: '1785584000',
          engagement_time_msec: 1,
          transaction_id: 'T-1001',
          currency: 'BRL',
          value: 10.5,
          items: [{ item_id: 'SKU-1', price: 10.5, quantity: 1 }],
        },
      },
    ],
  };
}

function bodyWith(change: (body: Record<string, unknown>, params: Record<string, unknown>) => void): Record<string, unknown> {
  const body = validBody();
  const events = body.events as { params: Record<string, unknown> }[];
  change(body, events[0]!.params);
  return body;
}

describe('ga4 mock: accepts the documented contract', () => {
  it('round trip: collect records what ga4Destination.map produces; events can be found by event_id', async () => {
    const t = nowSec() - 60;
    const events = [
      makeEvent({ event_time: t, ids: { ga_client_id: '111.222', ga_session_id: String(t - 100) }, user: { em: sha256Hex('a@b.com'), ph_e164: sha256Hex('+5511999999999'), fn: sha256Hex('jane') } }),
      makeEvent({ event_name: 'AddToCart', event_time: t, ids: { ga_client_id: '111.222' }, custom: { value: 5, currency: 'BRL', content_ids: ['SKU-1'] } }),
      makeEvent({ event_name: 'Lead', event_time: t, ids: { visitor_id: 'v-77' }, custom: {} }),
      makeEvent({ event_name: 'QuizCompleted', event_time: t, ids: { fbp: 'fb.1.1785580000123.42' }, custom: { extra: { plan: 'pro', seats: 3 } } }),
    ];
    const { requests, skipped } = ga4Destination.map(events, config(), new Date());
    expect(skipped).toEqual([]);
    expect(requests).toHaveLength(3);

    for (const req of requests) {
      const res = await send(req);
      expect(res.status).toBe(204);
      expect(ga4Destination.classify(res)).toEqual({ kind: 'delivered' });
    }
    expect(mock.rejected.map((r) => r.validationMessages)).toEqual([]);
    expect(mock.received).toHaveLength(3);
    const all = mock.received.flatMap((r) => r.events);
    const purchase = all.find((e) => e.params?.event_id === events[0]!.event_id);
    expect(purchase).toMatchObject({ name: 'purchase', params: { transaction_id: events[0]!.custom.order_id } });
    expect(mock.received[0]!.clientId).toBe('111.222');
    expect(mock.received[0]!.events.map((e) => e.name)).toEqual(['purchase', 'add_to_cart']);
    expect(mock.received[0]!.body).toMatchObject({ user_data: { sha256_phone_number: [sha256Hex('+5511999999999')] } });
  });

  it('round trip: validate mode goes to the debug endpoint, gets no messages, and nothing is recorded', async () => {
    const t = nowSec() - 60;
    const events = Array.from({ length: 30 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t, ids: { ga_client_id: '1.1' } }));
    const { requests } = ga4Destination.map(events, config({ validate: true }), new Date());
    expect(requests).toHaveLength(2);
    for (const req of requests) {
      const res = await send(req);
      expect(JSON.parse(res.body)).toEqual({ validationMessages: [] });
      expect(ga4Destination.classify(res)).toEqual({ kind: 'delivered' });
    }
    expect(mock.validated.map((v) => v.events.length)).toEqual([25, 5]);
    expect(mock.received).toHaveLength(0);
  });

  test.each<[string, (body: Record<string, unknown>, params: Record<string, unknown>) => void]>([
    ['no optional fields', (b) => {
      for (const k of ['timestamp_micros', 'consent', 'ip_override', 'user_data']) delete b[k];
    }],
    ['a single hash instead of an array', (b) => ((b.user_data as Record<string, unknown>).sha256_email_address = sha256Hex('a@b.com'))],
    ['an event-level timestamp 71 hours back', (b) => ((b.events as Record<string, unknown>[])[0]!.timestamp_micros = nowMicros() - 71 * 3600 * 1e6)],
    ['page_view (not reserved in the MP reference)', (b) => ((b.events as Record<string, unknown>[])[0] = { name: 'page_view', params: { page_location: `https://shop.example.com/${'a'.repeat(500)}` } })],
    ['25 params', (_b, p) => {
      for (let i = Object.keys(p).length; i < 25; i++) p[`p${i}`] = i;
    }],
  ])('accepts %s', async (_name, change) => {
    const debug = await post(bodyWith(change), '/debug/mp/collect');
    expect(JSON.parse(debug.body)).toEqual({ validationMessages: [] });
    const collect = await post(bodyWith(change), '/mp/collect');
    expect(collect.status).toBe(204);
    expect(mock.received).toHaveLength(1);
  });

  it('the debug endpoint does not check the api_secret', async () => {
    const res = await post(validBody(), '/debug/mp/collect', `measurement_id=${MID}&api_secret=wrong`);
    expect(JSON.parse(res.body)).toEqual({ validationMessages: [] });
  });

  it('GET /_received lists received, rejected and validated', async () => {
    await post(validBody(), '/mp/collect');
    const res = await fetch(`${mock.url}/_received`);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify({ received: mock.received, rejected: [], validated: [] })));
  });
});

interface Violation {
  name: string;
  body: () => unknown;
  query?: string;
  code: string;
  /** The fieldPath of the message. */
  field: string;
}

const ev0 = (b: Record<string, unknown>) => (b.events as Record<string, unknown>[])[0]!;

const violations: Violation[] = [
  { name: 'measurement_id missing', body: validBody, query: `api_secret=${SECRET}`, code: 'VALUE_REQUIRED', field: 'measurement_id' },
  { name: 'another measurement_id', body: validBody, query: `measurement_id=G-OTHER&api_secret=${SECRET}`, code: 'VALUE_INVALID', field: 'measurement_id' },
  { name: 'malformed JSON', body: () => '{"client_id": ', code: 'VALUE_INVALID', field: '' },
  { name: 'body of 130 kB or more', body: () => bodyWith((b) => (b.user_id = 'x'.repeat(131_000))), code: 'VALUE_OUT_OF_BOUNDS', field: '' },
  { name: 'unknown top-level field', body: () => bodyWith((b) => (b.api_secret = SECRET)), code: 'NAME_INVALID', field: 'api_secret' },
  { name: 'client_id missing', body: () => bodyWith((b) => delete b.client_id), code: 'VALUE_REQUIRED', field: 'client_id' },
  { name: 'no events', body: () => bodyWith((b) => (b.events = [])), code: 'VALUE_REQUIRED', field: 'events' },
  {
    name: 'more than 25 events',
    body: () => bodyWith((b) => (b.events = Array.from({ length: 26 }, () => ({ name: 'generate_lead' })))),
    code: 'EXCEEDED_MAX_ENTITIES',
    field: 'events',
  },
  { name: 'event name with a dash', body: () => bodyWith((b) => (ev0(b).name = 'begin-checkout')), code: 'NAME_INVALID', field: 'events[0].name' },
  { name: 'event name longer than 40', body: () => bodyWith((b) => (ev0(b).name = `e${'x'.repeat(40)}`)), code: 'NAME_INVALID', field: 'events[0].name' },
  { name: 'reserved event name', body: () => bodyWith((b) => (ev0(b).name = 'session_start')), code: 'NAME_RESERVED', field: 'events[0].name' },
  { name: 'reserved event prefix', body: () => bodyWith((b) => (ev0(b).name = 'ga_purchase')), code: 'NAME_RESERVED', field: 'events[0].name' },
  {
    name: 'more than 25 params',
    body: () => bodyWith((_b, p) => {
      for (let i = 0; i < 30; i++) p[`p${i}`] = i;
    }),
    code: 'EXCEEDED_MAX_ENTITIES',
    field: 'events[0].params',
  },
  { name: 'reserved param prefix', body: () => bodyWith((_b, p) => (p.google_campaign = 'x')), code: 'NAME_RESERVED', field: 'events[0].params.google_campaign' },
  { name: 'param name starting with _', body: () => bodyWith((_b, p) => (p._internal = 'x')), code: 'NAME_INVALID', field: 'events[0].params._internal' },
  { name: 'param value over 100 characters', body: () => bodyWith((_b, p) => (p.note = 'n'.repeat(101))), code: 'VALUE_OUT_OF_BOUNDS', field: 'events[0].params.note' },
  { name: 'value without currency', body: () => bodyWith((_b, p) => delete p.currency), code: 'VALUE_REQUIRED', field: 'events[0].params.currency' },
  { name: 'value as a string', body: () => bodyWith((_b, p) => (p.value = '10.50')), code: 'VALUE_INVALID', field: 'events[0].params.value' },
  { name: 'purchase without transaction_id', body: () => bodyWith((_b, p) => delete p.transaction_id), code: 'VALUE_REQUIRED', field: 'events[0].params.transaction_id' },
  { name: 'item without id or name', body: () => bodyWith((_b, p) => (p.items = [{ price: 1 }])), code: 'VALUE_REQUIRED', field: 'events[0].params.items[0]' },
  {
    name: 'more than 200 items',
    body: () => bodyWith((_b, p) => (p.items = Array.from({ length: 201 }, (_, i) => ({ item_id: `S${i}` })))),
    code: 'EXCEEDED_MAX_ENTITIES',
    field: 'events[0].params.items',
  },
  { name: 'timestamp in milliseconds', body: () => bodyWith((b) => (b.timestamp_micros = Date.now())), code: 'VALUE_INVALID', field: 'timestamp_micros' },
  { name: 'timestamp 73 hours back', body: () => bodyWith((b) => (b.timestamp_micros = nowMicros() - 73 * 3600 * 1e6)), code: 'VALUE_OUT_OF_BOUNDS', field: 'timestamp_micros' },
  {
    name: 'event timestamp in the future',
    body: () => bodyWith((b) => (ev0(b).timestamp_micros = nowMicros() + 3600 * 1e6)),
    code: 'VALUE_OUT_OF_BOUNDS',
    field: 'events[0].timestamp_micros',
  },
  {
    name: 'unhashed email',
    body: () => bodyWith((b) => ((b.user_data as Record<string, unknown>).sha256_email_address = ['jane@example.com'])),
    code: 'VALUE_INVALID',
    field: 'user_data.sha256_email_address',
  },
  {
    name: 'phone hash in uppercase hex',
    body: () => bodyWith((b) => ((b.user_data as Record<string, unknown>).sha256_phone_number = [sha256Hex('+5511999999999').toUpperCase()])),
    code: 'VALUE_INVALID',
    field: 'user_data.sha256_phone_number',
  },
  {
    name: 'hashed city (must be plain)',
    body: () => bodyWith((b) => ((b.user_data as Record<string, unknown>).address = [{ city: sha256Hex('saopaulo') }])),
    code: 'VALUE_INVALID',
    field: 'user_data.address[0].city',
  },
  {
    name: 'unknown user_data field (Meta names)',
    body: () => bodyWith((b) => ((b.user_data as Record<string, unknown>).em = [sha256Hex('a@b.com')])),
    code: 'NAME_INVALID',
    field: 'user_data.em',
  },
  { name: 'invalid ip_override', body: () => bodyWith((b) => (b.ip_override = 'unknown')), code: 'VALUE_INVALID', field: 'ip_override' },
  { name: 'consent not GRANTED/DENIED', body: () => bodyWith((b) => (b.consent = { ad_user_data: true })), code: 'VALUE_INVALID', field: 'consent.ad_user_data' },
];

describe('ga4 mock: contract violations', () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s: named by the debug endpoint, dropped by collect', async (_name, v) => {
    const query = v.query ?? `measurement_id=${MID}&api_secret=${SECRET}`;
    const debug = await post(v.body(), '/debug/mp/collect', query);
    expect(debug.status).toBe(200);
    const { validationMessages } = JSON.parse(debug.body) as { validationMessages: { fieldPath: string; validationCode: string }[] };
    expect(validationMessages).toContainEqual(expect.objectContaining({ fieldPath: v.field, validationCode: v.code }));
    expect(ga4Destination.classify(debug)).toMatchObject({ kind: 'dead', reason: expect.stringContaining(v.code) });

    const collect = await post(v.body(), '/mp/collect', query);
    expect(collect.status).toBe(204);
    expect(collect.body).toBe('');
    expect(mock.received).toHaveLength(0);
    expect(mock.rejected).toHaveLength(1);
    expect(mock.rejected[0]!.validationMessages).toContainEqual(expect.objectContaining({ fieldPath: v.field, validationCode: v.code }));
  });

  it('collect with a wrong api_secret answers 204 and records nothing', async () => {
    const res = await post(validBody(), '/mp/collect', `measurement_id=${MID}&api_secret=wrong`);
    expect(res.status).toBe(204);
    expect(ga4Destination.classify(res)).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(0);
    expect(mock.rejected[0]!.validationMessages).toContainEqual(expect.objectContaining({ fieldPath: 'api_secret' }));
  });
});

describe('ga4 mock: scripted responses', () => {
  it('replays a 503 with Retry-After, then a 500, then goes back to normal', async () => {
    mock.script([
      { status: 503, body: '', headers: { 'retry-after': '3' } },
      { status: 500, body: '<html>oops</html>' },
    ]);
    const { requests } = ga4Destination.map([makeEvent({ event_time: nowSec() - 10, ids: { ga_client_id: '1.1' } })], config(), new Date());
    const req = requests[0]!;
    expect(ga4Destination.classify(await send(req))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 3000 });
    expect(ga4Destination.classify(await send(req))).toMatchObject({ kind: 'retry' });
    expect(ga4Destination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('reset() clears every list and pending scripts', async () => {
    await post(validBody(), '/mp/collect');
    await post(validBody(), '/debug/mp/collect');
    mock.script([{ status: 500, body: 'x' }]);
    mock.reset();
    expect([mock.received.length, mock.rejected.length, mock.validated.length]).toEqual([0, 0, 0]);
    expect((await post(validBody(), '/mp/collect')).status).toBe(204);
  });
});
