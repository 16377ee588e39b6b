// The Pinterest Conversions API mock over real HTTP: it accepts what pinterestDestination
// produces and refuses, with Pinterest's statuses and codes, every payload its contract forbids.
import { describe, expect, it, test } from 'vitest';
import { pinterestDestination, PinterestConfigSchema } from '../../src/destinations/pinterest.js';
import type { DestinationResponse, Outcome } from '../../src/destinations/types.js';
import { startPinterestMock } from '../../src/mocks/pinterest.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const TOKEN = 'pina_mock_token';
const ACCOUNT = '549757463328';
const PATH = `/v5/ad_accounts/${ACCOUNT}/events`;

const mock = serveForTests(() => startPinterestMock({ accessToken: TOKEN, adAccountId: ACCOUNT }));

/** `auth: null` sends no Authorization header. */
function post(body: unknown, path = PATH, auth: string | null = `Bearer ${TOKEN}`): Promise<DestinationResponse> {
  return postBody(mock.url + path, body, { 'content-type': 'application/json', ...(auth !== null ? { authorization: auth } : {}) });
}

const nowSec = () => Math.floor(Date.now() / 1000);

function config(extra: Record<string, unknown> = {}) {
  return PinterestConfigSchema.parse({ type: 'pinterest', adAccountId: ACCOUNT, accessToken: TOKEN, baseUrl: mock.url, ...extra });
}

/** An event exactly as Pinterest's OpenAPI description documents it. */
function validEvent(): Record<string, unknown> {
  return {
    event_name: 'checkout',
    action_source: 'web',
    event_time: nowSec() - 30,
    event_id: 'order-1001',
    event_source_url: 'https://shop.example.com/thanks',
    user_data: {
      em: [sha256Hex('jane@example.com')],
      ph: [sha256Hex('5511999999999')],
      client_ip_address: '203.0.113.7',
      client_user_agent: 'Mozilla/5.0 Test',
      click_id: 'dj0yJnU9b2JDcFFH',
    },
    custom_data: {
      currency: 'BRL',
      value: '72.39',
      content_ids: ['SKU-1'],
      contents: [{ id: 'SKU-1', item_price: '72.39', quantity: 1, item_name: 'Camiseta' }],
      num_items: 1,
      order_id: '1001',
    },
  };
}

function bodyWith(change: (ev: Record<string, unknown>, ud: Record<string, unknown>, cd: Record<string, unknown>) => void): unknown {
  const ev = validEvent();
  change(ev, ev.user_data as Record<string, unknown>, ev.custom_data as Record<string, unknown>);
  return { data: [ev] };
}

describe('pinterest mock: accepts the documented contract', () => {
  it('round trip: accepts what pinterestDestination.map produces; events can be found by event_id', async () => {
    const t = nowSec() - 60;
    const events = [
      makeEvent({ event_time: t, ids: { epik: 'dj0yJnU9b2JDcFFH' }, user: { em: sha256Hex('a@b.com'), ph: sha256Hex('5511999999999'), db: sha256Hex('19900101') } }),
      makeEvent({ event_name: 'PageView', event_time: t, custom: {} }),
      makeEvent({ event_name: 'Lead', event_time: t, source: 'api', url: undefined, ip: undefined, user_agent: undefined, custom: { predicted_ltv: 300 } }),
      makeEvent({ event_name: 'Search', event_time: t, custom: { search_string: 'camiseta', content_ids: ['SKU-1'], extra: { x: 1 }, status: 'ok' } }),
    ];
    const { requests, skipped } = pinterestDestination.map(events, config({ test: true }), new Date());
    expect(skipped).toEqual([]);
    expect(requests).toHaveLength(1);

    const res = await send(requests[0]!);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ num_events_received: 4, num_events_processed: 4 });
    expect(pinterestDestination.classify(res)).toEqual({ kind: 'delivered' });

    const got = mock.received[0]!;
    expect(got).toMatchObject({ adAccountId: ACCOUNT, test: true });
    expect(got.events).toEqual((JSON.parse(requests[0]!.body ?? '') as { data: unknown[] }).data);
    expect(got.events.find((e) => e.event_id === events[0]!.event_id)).toMatchObject({
      event_name: 'checkout',
      user_data: { click_id: 'dj0yJnU9b2JDcFFH' },
    });
  });

  it('round trip: 1,001 events go through as two accepted requests', async () => {
    const t = nowSec() - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `bulk-${i}`, event_time: t }));
    const { requests } = pinterestDestination.map(events, config(), new Date());
    for (const req of requests) expect(pinterestDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((b) => [b.events.length, b.test])).toEqual([
      [1000, false],
      [1, false],
    ]);
  });

  test.each<[string, (ev: Record<string, unknown>, ud: Record<string, unknown>, cd: Record<string, unknown>) => void]>([
    ['IP + user agent without email', (_ev, ud) => {
      delete ud.em;
      delete ud.ph;
    }],
    ['hashed_maids without email or IP', (_ev, ud) => {
      for (const k of Object.keys(ud)) delete ud[k];
      ud.hashed_maids = [sha256Hex('maid')];
    }],
    ['no custom_data', (ev) => delete ev.custom_data],
    ['offline action source', (ev) => (ev.action_source = 'offline')],
    ['a 2-minute clock skew', (ev) => (ev.event_time = nowSec() + 120)],
    ['opt_out and partner_name', (ev) => {
      ev.opt_out = false;
      ev.partner_name = 'ss-partner';
    }],
  ])('accepts %s', async (_name, change) => {
    const res = await post(bodyWith(change));
    expect(res.status, res.body).toBe(200);
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
  auth?: string | null;
  status: number;
  code: number;
  mentions: string;
}

const OUTCOME: Record<number, Outcome['kind']> = { 401: 'auth', 403: 'auth', 400: 'dead', 422: 'dead' };

const violations: Violation[] = [
  { name: 'no Authorization header', body: () => bodyWith(() => {}), auth: null, status: 401, code: 2, mentions: 'Authentication' },
  { name: 'wrong token', body: () => bodyWith(() => {}), auth: 'Bearer other', status: 401, code: 2, mentions: 'Authentication' },
  { name: 'token without Bearer', body: () => bodyWith(() => {}), auth: TOKEN, status: 401, code: 2, mentions: 'Authentication' },
  { name: 'another ad account', body: () => bodyWith(() => {}), path: '/v5/ad_accounts/111/events', status: 403, code: 29, mentions: 'not permitted' },
  { name: 'malformed JSON', body: () => '{"data": [', status: 400, code: 4196, mentions: 'body' },
  { name: 'data missing', body: () => ({}), status: 400, code: 4196, mentions: 'data' },
  { name: 'data empty', body: () => ({ data: [] }), status: 400, code: 4196, mentions: 'data' },
  { name: 'more than 1,000 events', body: () => ({ data: Array.from({ length: 1001 }, validEvent) }), status: 400, code: 4196, mentions: '1001' },
  { name: 'unknown top-level key', body: () => ({ data: [validEvent()], test: true }), status: 400, code: 4196, mentions: 'test' },
  { name: 'event_id missing', body: () => bodyWith((ev) => delete ev.event_id), status: 422, code: 4196, mentions: 'event_id is required' },
  { name: 'action_source missing', body: () => bodyWith((ev) => delete ev.action_source), status: 422, code: 4196, mentions: 'action_source' },
  { name: 'Meta-style action_source', body: () => bodyWith((ev) => (ev.action_source = 'website')), status: 422, code: 4196, mentions: 'action_source' },
  { name: 'Meta-style event name', body: () => bodyWith((ev) => (ev.event_name = 'Purchase')), status: 422, code: 4196, mentions: 'Purchase' },
  { name: 'event_time in milliseconds', body: () => bodyWith((ev) => (ev.event_time = Date.now())), status: 422, code: 4196, mentions: 'event_time' },
  { name: 'unknown event field', body: () => bodyWith((ev) => (ev.referrer_url = 'https://x')), status: 422, code: 4196, mentions: 'referrer_url' },
  { name: 'hashed key as a string, not an array', body: () => bodyWith((_ev, ud) => (ud.em = sha256Hex('a@b.com'))), status: 422, code: 4196, mentions: 'user_data.em' },
  { name: 'unhashed email', body: () => bodyWith((_ev, ud) => (ud.em = ['jane@example.com'])), status: 422, code: 4196, mentions: 'user_data.em' },
  { name: 'unknown user_data key (ph_e164)', body: () => bodyWith((_ev, ud) => (ud.ph_e164 = [sha256Hex('+55')])), status: 422, code: 4196, mentions: 'ph_e164' },
  { name: 'invalid IP', body: () => bodyWith((_ev, ud) => (ud.client_ip_address = 'unknown')), status: 422, code: 4196, mentions: 'client_ip_address' },
  {
    name: 'no email and IP without user agent',
    body: () => bodyWith((_ev, ud) => {
      delete ud.em;
      delete ud.client_user_agent;
    }),
    status: 422,
    code: 4196,
    mentions: 'requires em',
  },
  { name: 'value as a number', body: () => bodyWith((_ev, _ud, cd) => (cd.value = 72.39)), status: 422, code: 4196, mentions: 'custom_data.value' },
  { name: 'item_price as a number', body: () => bodyWith((_ev, _ud, cd) => (cd.contents = [{ id: 'SKU-1', item_price: 10 }])), status: 422, code: 4196, mentions: 'item_price' },
  { name: 'quantity as a string', body: () => bodyWith((_ev, _ud, cd) => (cd.contents = [{ id: 'SKU-1', quantity: '1' }])), status: 422, code: 4196, mentions: 'quantity' },
  { name: 'unknown custom_data key', body: () => bodyWith((_ev, _ud, cd) => (cd.status = 'paid')), status: 422, code: 4196, mentions: 'custom_data.status' },
  { name: 'bad currency', body: () => bodyWith((_ev, _ud, cd) => (cd.currency = 'R$')), status: 422, code: 4196, mentions: 'currency' },
];

describe('pinterest mock: rejects contract violations in Pinterest’s error shape', () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await post(v.body(), v.path, v.auth === undefined ? `Bearer ${TOKEN}` : v.auth);
    expect(res.status).toBe(v.status);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body.code).toBe(v.code);
    expect(JSON.stringify(body)).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    expect(pinterestDestination.classify(res).kind).toBe(OUTCOME[v.status]);
  });

  it('one bad event: 422 with per-event statuses; the others are processed', async () => {
    const bad = validEvent();
    bad.event_name = 'Purchase';
    const res = await post({ data: [validEvent(), bad, { ...validEvent(), event_id: 'order-1002' }] });
    expect(res.status).toBe(422);
    expect(JSON.parse(res.body)).toMatchObject({
      details: {
        num_events_received: 3,
        num_events_processed: 2,
        events: [{ status: 'processed' }, { status: 'failed', error_message: expect.stringContaining('Purchase') }, { status: 'processed' }],
      },
    });
    expect(mock.received[0]!.events.map((e) => e.event_id)).toEqual(['order-1001', 'order-1002']);
    expect(pinterestDestination.classify(res)).toMatchObject({ kind: 'dead', reason: expect.stringContaining('event 1') });
  });
});

describe('pinterest mock: scripted responses', () => {
  it('replays rate limits and ramp-downs, then goes back to normal', async () => {
    mock.script([
      { status: 429, body: { code: 8, message: 'This request exceeded a rate limit.' }, headers: { 'retry-after': '60' } },
      { status: 503, body: { code: 4197, message: 'The endpoint has been ramped down and is currently not accepting any traffic.' } },
    ]);
    const { requests } = pinterestDestination.map([makeEvent({ event_time: nowSec() - 10 })], config(), new Date());
    const req = requests[0]!;
    expect(pinterestDestination.classify(await send(req))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 60_000 });
    expect(pinterestDestination.classify(await send(req))).toMatchObject({ kind: 'retry' });
    expect(mock.received).toHaveLength(0);
    expect(pinterestDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
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
