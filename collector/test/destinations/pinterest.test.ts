// Pinterest Conversions API destination. Mapping cases are data (fixtures/pinterest/*.json,
// expected bodies written by hand from Pinterest's OpenAPI description) driven by one runner;
// classification is a table over every documented status/code, 422 partial failures and
// Retry-After.
import { describe, expect, it, test } from 'vitest';
import { pinterestDestination, PinterestConfigSchema } from '../../src/destinations/pinterest.js';
import { makeEvent } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

describeMapFixtures({
  name: 'pinterestDestination',
  destination: pinterestDestination,
  platform: 'pinterest',
  minFixtures: 3,
  check: (result, events) => {
    // Pinterest takes the phone as digits with country code (`ph`); the E.164 hash is for others.
    for (const [i, e] of events.entries()) {
      if (e.user.ph_e164 !== undefined) for (const r of result.requests) expect(r.body, `event ${i}`).not.toContain(e.user.ph_e164);
    }
  },
});

describe('pinterestDestination.map (batching)', () => {
  it('splits 1,001 events into 1,000 + 1, in order, token only in the Authorization header', () => {
    const now = new Date('2026-08-01T12:00:00Z');
    const t = Math.floor(now.getTime() / 1000) - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const config = PinterestConfigSchema.parse({ type: 'pinterest', adAccountId: '1', accessToken: 'secret-xyz' });

    const { requests, skipped } = pinterestDestination.map(events, config, now);

    expect(skipped).toEqual([]);
    expect(requests.map((r) => r.eventIds.length)).toEqual([1000, 1]);
    expect(requests[1]!.eventIds).toEqual(['e-1000']);
    for (const r of requests) {
      expect(r.headers.authorization).toBe('Bearer secret-xyz');
      expect(r.url).toBe('https://api.pinterest.com/v5/ad_accounts/1/events');
      expect(r.body).not.toContain('secret-xyz');
    }
  });

  it('makes no request for no events', () => {
    const config = PinterestConfigSchema.parse({ type: 'pinterest', adAccountId: '1', accessToken: 't' });
    expect(pinterestDestination.map([], config, new Date())).toEqual({ requests: [], skipped: [] });
  });
});

describe('PinterestConfigSchema', () => {
  it('fills defaults', () => {
    expect(PinterestConfigSchema.parse({ type: 'pinterest', adAccountId: '549757463328', accessToken: 't' })).toEqual({
      type: 'pinterest',
      adAccountId: '549757463328',
      accessToken: 't',
      baseUrl: 'https://api.pinterest.com',
      test: false,
    });
  });

  test.each([
    ['non-digit ad account', { adAccountId: 'act_123' }],
    ['empty token', { accessToken: '' }],
    ['base URL not a URL', { baseUrl: 'api.pinterest.com' }],
    ['test not a boolean', { test: 'true' }],
    ['an event name Pinterest does not have', { eventNames: { Contact: 'contact_us' } }],
  ])('rejects %s', (_name, patch) => {
    const r = PinterestConfigSchema.safeParse({ type: 'pinterest', adAccountId: '1', accessToken: 't', ...patch });
    expect(r.success).toBe(false);
  });

  it('limits: 1,000 events per request, 7 days of age', () => {
    expect(pinterestDestination.type).toBe('pinterest');
    expect(pinterestDestination.maxBatch).toBe(1000);
    expect(pinterestDestination.maxEventAgeSec).toBe(7 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────


const reason = expect.any(String) as string;
const DATE = 'Sat, 01 Aug 2026 12:00:00 GMT';
const ok = (statuses: ('processed' | 'failed')[]) =>
  JSON.stringify({
    num_events_received: statuses.length,
    num_events_processed: statuses.filter((s) => s === 'processed').length,
    events: statuses.map((status) => ({
      status,
      error_message: status === 'failed' ? 'event_time is not valid' : null,
      warning_message: null,
    })),
  });
const err = (code: number, message: string) => JSON.stringify({ code, message });

const rows: ClassifyRow[] = [
  // delivered
  ['200 all processed', 200, ok(['processed', 'processed']), {}, { kind: 'delivered' }],
  ['200 with a warning', 200, '{"num_events_received":1,"num_events_processed":1,"events":[{"status":"processed","warning_message":"currency not standard"}]}', {}, { kind: 'delivered' }],
  // per-event failures
  ['200 with a failed event', 200, ok(['processed', 'failed']), {}, { kind: 'dead', reason }],
  [
    '422 not all events processed (details per event)',
    422,
    JSON.stringify({ code: 4196, message: 'Not all events were successfully processed.', details: JSON.parse(ok(['failed'])) as unknown }),
    {},
    { kind: 'dead', reason },
  ],
  // documented error codes
  ['400 code 4196 invalid request', 400, err(4196, 'The request was invalid.'), {}, { kind: 'dead', reason }],
  ['401 code 2 authentication failed', 401, err(2, 'Authentication failed.'), {}, { kind: 'auth', reason }],
  ['403 code 29 not permitted', 403, err(29, 'You are not permitted to access that resource.'), {}, { kind: 'auth', reason }],
  ['429 code 8 rate limit', 429, err(8, 'This request exceeded a rate limit.'), {}, { kind: 'retry', reason }],
  ['503 code 4197 ramped down', 503, err(4197, 'The endpoint has been ramped down.'), {}, { kind: 'retry', reason }],
  ['code 8 even on a 400', 400, err(8, 'rate limit'), {}, { kind: 'retry', reason }],
  ['code 2 even on a 400', 400, err(2, 'Authentication failed.'), {}, { kind: 'auth', reason }],
  ['unknown code on a 500', 500, err(1, 'Internal error'), {}, { kind: 'retry', reason }],
  ['unknown code on a 404', 404, err(404, 'Ad account not found'), {}, { kind: 'dead', reason }],
  // not Pinterest's answer
  ['200 html', 200, '<html>captive portal</html>', {}, { kind: 'retry', reason }],
  ['bare 401', 401, 'Unauthorized', {}, { kind: 'auth', reason }],
  ['408', 408, '', {}, { kind: 'retry', reason }],
  ['502 html', 502, '<html>Bad Gateway</html>', {}, { kind: 'retry', reason }],
  ['413 no body', 413, '', {}, { kind: 'dead', reason }],
  // Retry-After
  ['429 Retry-After seconds', 429, err(8, 'rate limit'), { 'retry-after': '60' }, { kind: 'retry', reason, afterMs: 60_000 }],
  [
    '503 Retry-After HTTP date, from the Date header',
    503,
    '',
    { 'Retry-After': 'Sat, 01 Aug 2026 12:00:30 GMT', Date: DATE },
    { kind: 'retry', reason, afterMs: 30_000 },
  ],
  ['unparseable Retry-After is ignored', 503, '', { 'retry-after': 'soon' }, { kind: 'retry', reason }],
];

describe('pinterestDestination.classify', () => {
  testClassifyRows(pinterestDestination, rows);

  it('names the failed events and Pinterest’s messages in the reason', () => {
    const out = pinterestDestination.classify({
      status: 422,
      headers: {},
      body: JSON.stringify({ code: 4196, message: 'Not all events were successfully processed.', details: JSON.parse(ok(['processed', 'failed'])) as unknown }),
    });
    const text = out.kind === 'dead' ? out.reason : '';
    expect(text).toContain('4196');
    expect(text).toContain('Not all events were successfully processed.');
    expect(text).toContain('event 1: event_time is not valid');
  });
});
