// GA4 Measurement Protocol destination. Mapping cases are data (fixtures/ga4/*.json, expected
// bodies written by hand from Google's MP reference) driven by one runner; classification is
// a table (the collect endpoint's empty 2xx, validation messages, HTTP errors, Retry-After).
import { describe, expect, it, test } from 'vitest';
import { ga4ClientId, ga4Destination, Ga4ConfigSchema } from '../../src/destinations/ga4.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

describeMapFixtures({
  name: 'ga4Destination',
  destination: ga4Destination,
  platform: 'ga4',
  minFixtures: 4,
  check: (result, events) => {
    for (const [i, e] of events.entries()) {
      for (const r of result.requests) {
        // GA4 wants the phone hashed with its `+` (ph_e164), never Meta's digits-only hash; and
        // city/country only in cleartext, which we do not have.
        if (e.user.ph !== undefined) expect(r.body, `event ${i}`).not.toContain(e.user.ph);
        if (e.user.ct !== undefined) expect(r.body, `event ${i}`).not.toContain(e.user.ct);
        if (e.user.country !== undefined) expect(r.body, `event ${i}`).not.toContain(e.user.country);
      }
    }
  },
});

const NOW = new Date('2026-08-01T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000) - 60;
const config = Ga4ConfigSchema.parse({ type: 'ga4', measurementId: 'G-TEST1', apiSecret: 'secret' });

function bodyOf(body: string | undefined): { client_id: string; events: { name: string; params: Record<string, unknown> }[] } {
  return JSON.parse(body ?? '') as { client_id: string; events: { name: string; params: Record<string, unknown> }[] };
}

describe('ga4Destination.map (grouping and limits)', () => {
  it('one client_id per request, at most 25 events each, in order', () => {
    const a = Array.from({ length: 30 }, (_, i) => makeEvent({ event_id: `a-${i}`, event_time: T, ids: { ga_client_id: '1.1' } }));
    const b = Array.from({ length: 3 }, (_, i) => makeEvent({ event_id: `b-${i}`, event_time: T, ids: { ga_client_id: '2.2' } }));
    // Interleaved: grouping must not depend on order.
    const events = [...a.slice(0, 10), ...b, ...a.slice(10)];

    const { requests, skipped } = ga4Destination.map(events, config, NOW);

    expect(skipped).toEqual([]);
    expect(requests.map((r) => [bodyOf(r.body).client_id, r.eventIds.length])).toEqual([
      ['1.1', 25],
      ['1.1', 5],
      ['2.2', 3],
    ]);
    expect(requests.flatMap((r) => r.eventIds)).toEqual([...a, ...b].map((e) => e.event_id));
    for (const r of requests) {
      expect(bodyOf(r.body).events.map((e) => e.params.event_id)).toEqual(r.eventIds);
    }
  });

  it('splits a client’s events further so no body reaches 130 kB', () => {
    const contents = Array.from({ length: 200 }, (_, i) => ({
      id: `SKU-${i}`,
      title: `Product ${i} ${'x'.repeat(120)}`,
      quantity: 1,
      item_price: 10,
    }));
    const events = Array.from({ length: 10 }, (_, i) =>
      makeEvent({ event_id: `big-${i}`, event_time: T, ids: { ga_client_id: '1.1' }, custom: { contents } }),
    );

    const { requests } = ga4Destination.map(events, config, NOW);

    expect(requests.length).toBeGreaterThan(1);
    expect(requests.flatMap((r) => r.eventIds)).toEqual(events.map((e) => e.event_id));
    for (const r of requests) expect(Buffer.byteLength(r.body ?? '')).toBeLessThan(130_000);
  });

  it('keeps at most 25 params, dropping extras that do not fit', () => {
    const extra = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, i]));
    const e = makeEvent({ event_time: T, ids: { ga_client_id: '1.1' }, custom: { extra } });
    const params = bodyOf(ga4Destination.map([e], config, NOW).requests[0]!.body).events[0]!.params;
    expect(Object.keys(params)).toHaveLength(25);
    expect(params.p0).toBe(0);
  });

  it('truncates string params to 100 characters', () => {
    const e = makeEvent({ event_time: T, ids: { ga_client_id: '1.1' }, custom: { extra: { note: 'n'.repeat(300) } } });
    const params = bodyOf(ga4Destination.map([e], config, NOW).requests[0]!.body).events[0]!.params;
    expect(params.note).toBe('n'.repeat(100));
  });

  it('sends the phone as its E.164 hash only', () => {
    const e = makeEvent({
      event_time: T,
      ids: { ga_client_id: '1.1' },
      user: { ph: sha256Hex('5511999999999'), ph_e164: sha256Hex('+5511999999999') },
    });
    const body = JSON.parse(ga4Destination.map([e], config, NOW).requests[0]!.body ?? '') as Record<string, unknown>;
    expect(body.user_data).toEqual({ sha256_phone_number: [sha256Hex('+5511999999999')] });
  });

  it('makes no request for no events', () => {
    expect(ga4Destination.map([], config, NOW)).toEqual({ requests: [], skipped: [] });
  });
});

describe('ga4ClientId', () => {
  it('prefers the gtag’s own client id (parsed or raw _ga)', () => {
    expect(ga4ClientId(makeEvent({ ids: { ga_client_id: '123.456', visitor_id: 'v', fbp: 'fb.1.1785580000123.7' } }))).toBe('123.456');
    expect(ga4ClientId(makeEvent({ ids: { ga_client_id: 'GA1.2.123.456' } }))).toBe('123.456');
  });

  it('derives a stable id of the _ga shape from the visitor id, different per visitor', () => {
    const a1 = ga4ClientId(makeEvent({ ids: { visitor_id: 'visitor-a', fbp: 'fb.1.1785580000123.7' } }));
    const a2 = ga4ClientId(makeEvent({ ids: { visitor_id: 'visitor-a' } }));
    const b = ga4ClientId(makeEvent({ ids: { visitor_id: 'visitor-b' } }));
    expect(a1).toMatch(/^\d+\.\d+$/);
    expect(a1).toBe(a2);
    expect(b).not.toBe(a1);
  });

  it('falls back to _fbp: <random>.<seconds>', () => {
    expect(ga4ClientId(makeEvent({ ids: { fbp: 'fb.1.1785580000123.1116446470' } }))).toBe('1116446470.1785580000');
  });

  it('has nothing to go on without any of them', () => {
    expect(ga4ClientId(makeEvent({ ids: { fbc: 'fb.1.1785580000123.IwAR' } }))).toBeUndefined();
  });
});

describe('Ga4ConfigSchema', () => {
  it('fills defaults', () => {
    expect(Ga4ConfigSchema.parse({ type: 'ga4', measurementId: 'G-ABC123', apiSecret: 's' })).toEqual({
      type: 'ga4',
      measurementId: 'G-ABC123',
      apiSecret: 's',
      baseUrl: 'https://www.google-analytics.com',
      validate: false,
      sendPageViews: false,
    });
  });

  test.each([
    ['a UA property id', { measurementId: 'UA-12345-1' }],
    ['lowercase measurement id', { measurementId: 'g-abc123' }],
    ['empty secret', { apiSecret: '' }],
    ['base URL not a URL', { baseUrl: 'www.google-analytics.com' }],
    ['validate not a boolean', { validate: 'yes' }],
    ['an invalid GA4 name in eventNames', { eventNames: { Lead: 'lead-generated' } }],
  ])('rejects %s', (_name, patch) => {
    const r = Ga4ConfigSchema.safeParse({ type: 'ga4', measurementId: 'G-ABC123', apiSecret: 's', ...patch });
    expect(r.success).toBe(false);
  });

  it('limits: 25 events per request, 72 hours of age', () => {
    expect(ga4Destination.type).toBe('ga4');
    expect(ga4Destination.maxBatch).toBe(25);
    expect(ga4Destination.maxEventAgeSec).toBe(72 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────


const reason = expect.any(String) as string;
const DATE = 'Sat, 01 Aug 2026 12:00:00 GMT';
const message = (validationCode: string, fieldPath: string) =>
  JSON.stringify({ validationMessages: [{ fieldPath, description: `${fieldPath} is wrong`, validationCode }] });

const rows: ClassifyRow[] = [
  // collect: an empty 2xx is all Google ever says
  ['204 empty (collect)', 204, '', {}, { kind: 'delivered' }],
  ['200 empty (collect)', 200, '', {}, { kind: 'delivered' }],
  // validation endpoint
  ['200 no validation messages', 200, '{"validationMessages":[]}', {}, { kind: 'delivered' }],
  ['200 NAME_INVALID', 200, message('NAME_INVALID', 'events[0].name'), {}, { kind: 'dead', reason }],
  ['200 NAME_RESERVED', 200, message('NAME_RESERVED', 'events[0].name'), {}, { kind: 'dead', reason }],
  ['200 VALUE_INVALID', 200, message('VALUE_INVALID', 'user_data.sha256_email_address'), {}, { kind: 'dead', reason }],
  ['200 VALUE_REQUIRED', 200, message('VALUE_REQUIRED', 'client_id'), {}, { kind: 'dead', reason }],
  ['200 EXCEEDED_MAX_ENTITIES', 200, message('EXCEEDED_MAX_ENTITIES', 'events'), {}, { kind: 'dead', reason }],
  ['200 VALUE_OUT_OF_BOUNDS', 200, message('VALUE_OUT_OF_BOUNDS', 'timestamp_micros'), {}, { kind: 'dead', reason }],
  // not Google's answer
  ['200 html (proxy page)', 200, '<html>captive portal</html>', {}, { kind: 'retry', reason }],
  ['200 other JSON', 200, '{"ok":true}', {}, { kind: 'retry', reason }],
  // HTTP errors
  ['400', 400, 'Bad Request', {}, { kind: 'dead', reason }],
  ['401', 401, '', {}, { kind: 'auth', reason }],
  ['403', 403, 'Forbidden', {}, { kind: 'auth', reason }],
  ['404', 404, '<html>Not Found</html>', {}, { kind: 'dead', reason }],
  ['408', 408, '', {}, { kind: 'retry', reason }],
  ['413 too large', 413, '', {}, { kind: 'dead', reason }],
  ['429', 429, '', {}, { kind: 'retry', reason }],
  ['500', 500, 'oops', {}, { kind: 'retry', reason }],
  ['503', 503, '', {}, { kind: 'retry', reason }],
  // Retry-After
  ['429 Retry-After seconds', 429, '', { 'retry-after': '30' }, { kind: 'retry', reason, afterMs: 30_000 }],
  ['503 Retry-After capitalized', 503, '', { 'Retry-After': '2' }, { kind: 'retry', reason, afterMs: 2_000 }],
  [
    '503 Retry-After HTTP date, from the Date header',
    503,
    '',
    { 'retry-after': 'Sat, 01 Aug 2026 12:01:00 GMT', date: DATE },
    { kind: 'retry', reason, afterMs: 60_000 },
  ],
  ['unparseable Retry-After is ignored', 503, '', { 'retry-after': 'later' }, { kind: 'retry', reason }],
];

describe('ga4Destination.classify', () => {
  testClassifyRows(ga4Destination, rows);

  it('puts every validation message, with code and field, in the reason', () => {
    const out = ga4Destination.classify({
      status: 200,
      headers: {},
      body: JSON.stringify({
        validationMessages: [
          { fieldPath: 'events[0].name', description: 'Event name is reserved.', validationCode: 'NAME_RESERVED' },
          { fieldPath: 'events[1].params.items', description: 'Items are required.', validationCode: 'VALUE_REQUIRED' },
        ],
      }),
    });
    expect(out.kind).toBe('dead');
    const text = out.kind === 'dead' ? out.reason : '';
    expect(text).toContain('NAME_RESERVED at events[0].name: Event name is reserved.');
    expect(text).toContain('VALUE_REQUIRED at events[1].params.items');
  });
});
