// The Meta Graph mock over real HTTP: it accepts what metaDestination produces and refuses,
// in Meta's error shape, every payload the Conversions API contract forbids.
import { describe, expect, it, test } from 'vitest';
import { metaDestination, MetaConfigSchema } from '../../src/destinations/meta.js';
import type { DestinationResponse, Outcome } from '../../src/destinations/types.js';
import { startMetaGraphMock } from '../../src/mocks/meta-graph.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const TOKEN = 'EAAB-mock-token';
const PIXEL = '1234567890';
const EVENTS_PATH = `/v26.0/${PIXEL}/events`;

const mock = serveForTests(() => startMetaGraphMock({ accessToken: TOKEN, pixelId: PIXEL }));

async function postJson(body: unknown, path = EVENTS_PATH): Promise<DestinationResponse> {
  return postBody(mock.url + path, body, { 'content-type': 'application/json' });
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function config(extra: Record<string, unknown> = {}) {
  return MetaConfigSchema.parse({ type: 'meta', pixelId: PIXEL, accessToken: TOKEN, baseUrl: mock.url, ...extra });
}

/** A server event exactly as Meta documents a valid website event. */
function validEvent(): Record<string, unknown> {
  return {
    event_name: 'Purchase',
    event_time: nowSec() - 30,
    event_id: 'order-1001',
    action_source: 'website',
    event_source_url: 'https://shop.example.com/thank-you',
    user_data: {
      em: sha256Hex('john_smith@gmail.com'),
      ph: sha256Hex('5511999999999'),
      client_ip_address: '203.0.113.7',
      client_user_agent: 'Mozilla/5.0 Test',
      fbp: 'fb.1.1785580000123.1116446470',
      fbc: 'fb.1.1785585000456.IwAR2xYz_Ab',
    },
    custom_data: { value: 10.5, currency: 'BRL' },
  };
}

function bodyWith(change: (ev: Record<string, unknown>, ud: Record<string, unknown>) => void): unknown {
  const ev = validEvent();
  change(ev, ev.user_data as Record<string, unknown>);
  return { data: [ev], access_token: TOKEN };
}

describe('meta graph mock: accepts the documented contract', () => {
  it('round trip: accepts what metaDestination.map produces and records it as sent', async () => {
    const t = nowSec() - 60;
    const events = [
      makeEvent({ event_time: t }), // browser Purchase: website, hashed email, fbp/fbc, IP, UA
      makeEvent({
        event_name: 'Lead',
        event_time: t,
        source: 'api',
        url: undefined,
        referrer: undefined,
        user_agent: undefined,
        ip: undefined,
        custom: {},
        user: { em: sha256Hex('maria@example.com'), ph: sha256Hex('5511999999999'), ph_e164: sha256Hex('+5511999999999') },
      }),
      makeEvent({
        event_name: 'QuizCompleted',
        event_time: t,
        ip: '2001:db8::1',
        custom: { content_name: 'quiz', extra: { plan: 'pro', seats: 3, annual: false } },
      }),
    ];
    const { requests, skipped } = metaDestination.map(events, config({ testEventCode: 'TEST123' }), new Date());
    expect(skipped).toEqual([]);
    expect(requests).toHaveLength(1);
    const req = requests[0]!;

    const res = await send(req);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ events_received: 3, messages: [], fbtrace_id: expect.any(String) });
    expect(metaDestination.classify(res)).toEqual({ kind: 'delivered' });

    expect(mock.received).toHaveLength(1);
    const got = mock.received[0]!;
    const sent = JSON.parse(req.body ?? '') as { data: unknown[] };
    expect(got.pixelId).toBe(PIXEL);
    expect(got.version).toBe('v26.0');
    expect(got.tokenIn).toBe('body');
    expect(got.test_event_code).toBe('TEST123');
    expect(got.body.data).toEqual(sent.data);
    expect(got.body).not.toHaveProperty('access_token');
    expect(typeof got.receivedAt).toBe('number');
  });

  it('round trip: 1,001 events go through as two accepted requests', async () => {
    const t = nowSec() - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `bulk-${i}`, event_time: t }));
    const { requests } = metaDestination.map(events, config(), new Date());
    expect(requests).toHaveLength(2);
    for (const req of requests) expect(metaDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((b) => b.body.data.length)).toEqual([1000, 1]);
  });

  it('accepts form-encoded parameters with data as a JSON string and the token in the query', async () => {
    const form = new URLSearchParams({ data: JSON.stringify([validEvent()]), test_event_code: 'TEST9' });
    const res = await fetch(`${mock.url}${EVENTS_PATH}?access_token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ events_received: 1 });
    expect(mock.received[0]).toMatchObject({ tokenIn: 'query', test_event_code: 'TEST9' });
  });

  test.each<[string, (ev: Record<string, unknown>, ud: Record<string, unknown>) => void]>([
    ['hashed keys as arrays', (_ev, ud) => (ud.em = [sha256Hex('a@b.com'), sha256Hex('c@d.com')])],
    ['every hashed key', (_ev, ud) => {
      for (const k of ['fn', 'ln', 'ct', 'st', 'zp', 'country', 'db', 'ge']) ud[k] = sha256Hex(k);
    }],
    ['plain external_id', (_ev, ud) => (ud.external_id = 'customer-42')],
    ['IPv6 address', (_ev, ud) => (ud.client_ip_address = '2001:db8::1')],
    ['fbc with a Parameter Builder appendix', (_ev, ud) => (ud.fbc = 'fb.1.1785585000456.IwAR2xYz_Ab.AQYBAQIA')],
    ['a 2-minute clock skew', (ev) => (ev.event_time = nowSec() + 120)],
    ['physical_store up to 62 days back', (ev) => {
      ev.action_source = 'physical_store';
      ev.event_time = nowSec() - 30 * 86400;
    }],
    ['a system_generated event without url or UA', (ev, ud) => {
      ev.action_source = 'system_generated';
      delete ev.event_source_url;
      delete ud.client_user_agent;
    }],
  ])('accepts %s', async (_name, change) => {
    const res = await postJson(bodyWith(change));
    expect(res.status, res.body).toBe(200);
  });

  it('GET /_received lists what was recorded', async () => {
    await postJson(bodyWith(() => {}));
    await expectReceivedListed(mock);
  });
});

interface Violation {
  name: string;
  body: () => unknown;
  path?: string;
  code: 190 | 100;
  /** A part of the error message naming what is wrong. */
  mentions: string;
}

const OUTCOME_FOR_CODE: Record<Violation['code'], Outcome['kind']> = { 190: 'auth', 100: 'dead' };

const violations: Violation[] = [
  { name: 'missing token', body: () => ({ data: [validEvent()] }), code: 190, mentions: 'access token' },
  { name: 'wrong token', body: () => ({ data: [validEvent()], access_token: 'EAAB-other' }), code: 190, mentions: 'access token' },
  { name: 'version not vN.N', path: `/latest/${PIXEL}/events`, body: () => bodyWith(() => {}), code: 100, mentions: 'version' },
  { name: 'another pixel', path: '/v26.0/999/events', body: () => bodyWith(() => {}), code: 100, mentions: "'999'" },
  { name: 'data missing', body: () => ({ access_token: TOKEN }), code: 100, mentions: 'data' },
  { name: 'data not an array', body: () => ({ data: validEvent(), access_token: TOKEN }), code: 100, mentions: 'data' },
  { name: 'data empty', body: () => ({ data: [], access_token: TOKEN }), code: 100, mentions: 'data' },
  {
    name: 'more than 1,000 events',
    body: () => ({ data: Array.from({ length: 1001 }, validEvent), access_token: TOKEN }),
    code: 100,
    mentions: '1001',
  },
  { name: 'malformed JSON', body: () => '{"data": [', code: 100, mentions: 'body' },
  { name: 'event without event_name', body: () => bodyWith((ev) => delete ev.event_name), code: 100, mentions: 'event_name' },
  { name: 'event without event_time', body: () => bodyWith((ev) => delete ev.event_time), code: 100, mentions: 'event_time' },
  { name: 'event without action_source', body: () => bodyWith((ev) => delete ev.action_source), code: 100, mentions: 'action_source' },
  { name: 'event without user_data', body: () => bodyWith((ev) => delete ev.user_data), code: 100, mentions: 'user_data' },
  { name: 'event_time in milliseconds', body: () => bodyWith((ev) => (ev.event_time = Date.now())), code: 100, mentions: 'event_time' },
  { name: 'event_time not an integer', body: () => bodyWith((ev) => (ev.event_time = nowSec() - 0.5)), code: 100, mentions: 'event_time' },
  { name: 'event_time as a string', body: () => bodyWith((ev) => (ev.event_time = String(nowSec()))), code: 100, mentions: 'event_time' },
  { name: 'event_time 8 days old', body: () => bodyWith((ev) => (ev.event_time = nowSec() - 8 * 86400)), code: 100, mentions: 'event_time' },
  { name: 'event_time 10 minutes ahead', body: () => bodyWith((ev) => (ev.event_time = nowSec() + 600)), code: 100, mentions: 'event_time' },
  { name: 'unknown action_source', body: () => bodyWith((ev) => (ev.action_source = 'web')), code: 100, mentions: 'action_source' },
  {
    name: 'website event without event_source_url',
    body: () => bodyWith((ev) => delete ev.event_source_url),
    code: 100,
    mentions: 'event_source_url',
  },
  {
    name: 'website event without client_user_agent',
    body: () => bodyWith((_ev, ud) => delete ud.client_user_agent),
    code: 100,
    mentions: 'client_user_agent',
  },
  { name: 'unhashed email a@b.com', body: () => bodyWith((_ev, ud) => (ud.em = 'a@b.com')), code: 100, mentions: 'user_data.em' },
  {
    name: 'uppercase hex hash',
    body: () => bodyWith((_ev, ud) => (ud.ph = sha256Hex('5511999999999').toUpperCase())),
    code: 100,
    mentions: 'user_data.ph',
  },
  {
    name: 'one unhashed item in an array',
    body: () => bodyWith((_ev, ud) => (ud.ct = [sha256Hex('saopaulo'), 'Rio de Janeiro'])),
    code: 100,
    mentions: 'user_data.ct',
  },
  { name: 'unhashed country', body: () => bodyWith((_ev, ud) => (ud.country = 'br')), code: 100, mentions: 'user_data.country' },
  {
    name: 'ph_e164 (not a Meta parameter)',
    body: () => bodyWith((_ev, ud) => (ud.ph_e164 = sha256Hex('+5511999999999'))),
    code: 100,
    mentions: 'ph_e164',
  },
  { name: 'fbp with a seconds creation time', body: () => bodyWith((_ev, ud) => (ud.fbp = 'fb.1.1785580000.123')), code: 100, mentions: 'fbp' },
  { name: 'fbc as a raw fbclid', body: () => bodyWith((_ev, ud) => (ud.fbc = 'IwAR2xYz_Ab')), code: 100, mentions: 'fbc' },
  {
    name: 'invalid client_ip_address',
    body: () => bodyWith((_ev, ud) => (ud.client_ip_address = '999.1.1.1')),
    code: 100,
    mentions: 'client_ip_address',
  },
  {
    name: 'Purchase without value',
    body: () => bodyWith((ev) => (ev.custom_data = { currency: 'BRL' })),
    code: 100,
    mentions: 'custom_data.value',
  },
  {
    name: 'Purchase with value as a string',
    body: () => bodyWith((ev) => (ev.custom_data = { value: '10.50', currency: 'BRL' })),
    code: 100,
    mentions: 'custom_data.value',
  },
  {
    name: 'Purchase with a bad currency',
    body: () => bodyWith((ev) => (ev.custom_data = { value: 10, currency: 'R$' })),
    code: 100,
    mentions: 'custom_data.currency',
  },
  {
    name: 'one bad event rejects the whole batch',
    body: () => {
      const bad = validEvent();
      (bad.user_data as Record<string, unknown>).em = 'a@b.com';
      return { data: [validEvent(), validEvent(), bad], access_token: TOKEN };
    },
    code: 100,
    mentions: 'data[2]',
  },
];

describe('meta graph mock: rejects contract violations in Meta’s error shape', () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await postJson(v.body(), v.path);
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'OAuthException', code: v.code, fbtrace_id: expect.any(String) });
    expect(String(body.error.message)).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    // And the destination reads the answer the way the operator needs.
    expect(metaDestination.classify(res).kind).toBe(OUTCOME_FOR_CODE[v.code]);
  });

  it('rejects form-encoded data that is not JSON', async () => {
    const res = await fetch(`${mock.url}${EVENTS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ data: '[{not json', access_token: TOKEN }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 100, type: 'OAuthException' } });
  });
});

describe('meta graph mock: scripted responses', () => {
  it('answers 500 then 200: the first is retried, the second delivered and recorded', async () => {
    mock.script([
      {
        status: 500,
        body: { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 1, is_transient: true, fbtrace_id: 'T1' } },
      },
    ]);
    const { requests } = metaDestination.map([makeEvent({ event_time: nowSec() - 10 })], config(), new Date());
    const req = requests[0]!;

    const first = metaDestination.classify(await send(req));
    expect(first).toMatchObject({ kind: 'retry' });
    expect(mock.received).toHaveLength(0);

    const second = metaDestination.classify(await send(req));
    expect(second).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('replays rate limits with headers and expired tokens, in order, before any checks', async () => {
    mock.script([
      { status: 429, body: '', headers: { 'retry-after': '42' } },
      {
        status: 400,
        body: { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190, error_subcode: 463 } },
      },
    ]);
    // Even an invalid body gets the scripted answer: scripts come before normal processing.
    const a = metaDestination.classify(await postJson({ nonsense: true }));
    expect(a).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 42_000 });
    const b = metaDestination.classify(await postJson({ nonsense: true }));
    expect(b).toMatchObject({ kind: 'auth', reason: expect.stringContaining('Session has expired') });
    // Script used up: back to normal checks.
    const c = await postJson({ nonsense: true });
    expect(c.status).toBe(400);
  });

  it('reset() clears both the record and pending scripts', async () => {
    await postJson(bodyWith(() => {}));
    mock.script([{ status: 503, body: 'down' }]);
    mock.reset();
    expect(mock.received).toHaveLength(0);
    expect((await postJson(bodyWith(() => {}))).status).toBe(200);
  });
});
