// Meta Conversions API destination. Mapping cases are data (fixtures/meta/*.json, expected
// bodies written by hand from Meta's docs) driven by one runner; classification is a table.
import { describe, expect, it, test } from 'vitest';
import { metaDestination, MetaConfigSchema, type MetaConfig } from '../../src/destinations/meta.js';
import { makeEvent } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow, type ExpectedRequest, type MapFixture } from './fixture-runner.js';

/** Meta's fixtures carry no eventIds: they are read from the bodies they expect. */
interface MetaFixture extends MapFixture {
  expected: { requests: (ExpectedRequest & { body: { data: { event_id: string }[] } })[]; skipped: MapFixture['expected']['skipped'] };
}

describeMapFixtures<MetaConfig, MetaFixture>({
  name: 'metaDestination',
  destination: metaDestination,
  platform: 'meta',
  minFixtures: 7,
  request: (r) => ({ method: r.method, url: r.url, headers: r.headers, body: JSON.parse(r.body ?? 'null') as unknown }),
  check: (result, _events, fixture) => {
    expect(result.requests.map((r) => r.eventIds)).toEqual(
      fixture.expected.requests.map((r) => r.body.data.map((d) => d.event_id)),
    );
    // The E.164 phone hash is for other platforms; it must never reach Meta.
    for (const r of result.requests) expect(r.body).not.toContain('ph_e164');
  },
});

describe('metaDestination.map (batching)', () => {
  it('splits 1,001 events into 1,000 + 1, in order, token in every body and never in the URL', () => {
    const now = new Date('2026-08-01T12:00:00Z');
    const t = Math.floor(now.getTime() / 1000) - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const config = MetaConfigSchema.parse({ type: 'meta', pixelId: '1234567890', accessToken: 'tok' });

    const { requests, skipped } = metaDestination.map(events, config, now);

    expect(skipped).toEqual([]);
    expect(requests).toHaveLength(2);
    const bodies = requests.map((r) => JSON.parse(r.body ?? '') as { data: { event_id: string }[]; access_token: string });
    expect(bodies.map((b) => b.data.length)).toEqual([1000, 1]);
    expect(requests[0]!.eventIds).toEqual(events.slice(0, 1000).map((e) => e.event_id));
    expect(requests[1]!.eventIds).toEqual(['e-1000']);
    expect(bodies[1]!.data[0]!.event_id).toBe('e-1000');
    for (const [i, r] of requests.entries()) {
      expect(bodies[i]!.access_token).toBe('tok');
      expect(r.url).toBe('https://graph.facebook.com/v26.0/1234567890/events');
      expect(r.url).not.toContain('tok');
    }
  });

  it('makes no request for no events', () => {
    const config = MetaConfigSchema.parse({ type: 'meta', pixelId: '1', accessToken: 'tok' });
    expect(metaDestination.map([], config, new Date())).toEqual({ requests: [], skipped: [] });
  });
});

describe('MetaConfigSchema', () => {
  it('fills defaults', () => {
    expect(MetaConfigSchema.parse({ type: 'meta', pixelId: '123', accessToken: 't' })).toEqual({
      type: 'meta',
      pixelId: '123',
      accessToken: 't',
      apiVersion: 'v26.0',
      baseUrl: 'https://graph.facebook.com',
    });
  });

  test.each([
    ['non-digit pixel id', { pixelId: 'px-1' }],
    ['empty token', { accessToken: '' }],
    ['version without v', { apiVersion: '26.0' }],
    ['base URL not http(s)', { baseUrl: 'ftp://graph.example' }],
    ['base URL not a URL', { baseUrl: 'graph.facebook.com' }],
  ])('rejects %s', (_name, patch) => {
    const r = MetaConfigSchema.safeParse({ type: 'meta', pixelId: '123', accessToken: 't', ...patch });
    expect(r.success).toBe(false);
  });

  it('limits match Meta: 1,000 events per request, 7 days of age', () => {
    expect(metaDestination.type).toBe('meta');
    expect(metaDestination.maxBatch).toBe(1000);
    expect(metaDestination.maxEventAgeSec).toBe(7 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────

function graphError(code: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    error: { message: `(#${code}) test error`, type: 'OAuthException', code, fbtrace_id: 'AbC123', ...extra },
  });
}


const reason = expect.any(String) as string;
const DATE = 'Sat, 01 Aug 2026 12:00:00 GMT';

const rows: ClassifyRow[] = [
  // delivered
  ['200 with events_received', 200, '{"events_received":3,"messages":[],"fbtrace_id":"A1"}', {}, { kind: 'delivered' }],
  ['200 with events_received 1 (test event)', 200, '{"events_received":1,"messages":[],"fbtrace_id":"A1"}', {}, { kind: 'delivered' }],
  // 2xx that is not Meta's answer: send again (deduplicated by event_id)
  ['200 without events_received', 200, '<html>captive portal</html>', {}, { kind: 'retry', reason }],
  // retry codes
  ['code 1 unknown', 500, graphError(1), {}, { kind: 'retry', reason }],
  ['code 2 service down', 503, graphError(2, { is_transient: true }), {}, { kind: 'retry', reason }],
  ['code 4 app rate limit', 400, graphError(4, { error_subcode: 1504022 }), {}, { kind: 'retry', reason }],
  ['code 17 user rate limit', 400, graphError(17, { error_subcode: 2446079 }), {}, { kind: 'retry', reason }],
  ['code 32 page rate limit', 400, graphError(32), {}, { kind: 'retry', reason }],
  ['code 341 app limit', 400, graphError(341), {}, { kind: 'retry', reason }],
  ['code 368 temporarily blocked', 400, graphError(368), {}, { kind: 'retry', reason }],
  ['code 613 rate limit', 400, graphError(613, { error_subcode: 1487742 }), {}, { kind: 'retry', reason }],
  ['code 80004 business use case limit', 400, graphError(80004), {}, { kind: 'retry', reason }],
  ['is_transient on an otherwise unknown code', 400, graphError(9007, { is_transient: true }), {}, { kind: 'retry', reason }],
  // auth
  ['code 190 token expired', 400, graphError(190, { error_subcode: 463 }), {}, { kind: 'auth', reason }],
  ['code 190 on 401', 401, graphError(190), {}, { kind: 'auth', reason }],
  ['code 102 session invalid', 400, graphError(102), {}, { kind: 'auth', reason }],
  ['code 104 token missing', 400, graphError(104), {}, { kind: 'auth', reason }],
  ['code 10 permission', 403, graphError(10), {}, { kind: 'auth', reason }],
  ['code 200 permission', 403, graphError(200), {}, { kind: 'auth', reason }],
  ['code 294 permission', 400, graphError(294), {}, { kind: 'auth', reason }],
  ['code 299 permission', 400, graphError(299), {}, { kind: 'auth', reason }],
  ['bare 401 from a proxy', 401, 'Unauthorized', {}, { kind: 'auth', reason }],
  // dead
  ['code 100 invalid parameter', 400, graphError(100, { error_subcode: 2804003 }), {}, { kind: 'dead', reason }],
  ['code 100 even on a 500', 500, graphError(100), {}, { kind: 'dead', reason }],
  ['unknown code on a 4xx', 400, graphError(2500), {}, { kind: 'dead', reason }],
  ['4xx without JSON', 404, '<html>Not Found</html>', {}, { kind: 'dead', reason }],
  ['code 300 is not a permission code', 400, graphError(300), {}, { kind: 'dead', reason }],
  // HTTP status decides when Meta gives no code
  ['429 without body', 429, '', {}, { kind: 'retry', reason }],
  ['408 request timeout', 408, '', {}, { kind: 'retry', reason }],
  ['500 unparseable body', 500, 'upstream exploded', {}, { kind: 'retry', reason }],
  ['502 html', 502, '<html><body>Bad Gateway</body></html>', {}, { kind: 'retry', reason }],
  ['unknown code on a 5xx', 503, graphError(9999), {}, { kind: 'retry', reason }],
  // Retry-After and Meta's usage header
  ['429 Retry-After seconds', 429, '', { 'retry-after': '30' }, { kind: 'retry', reason, afterMs: 30_000 }],
  ['Retry-After with capitalized header name', 503, '', { 'Retry-After': '7' }, { kind: 'retry', reason, afterMs: 7_000 }],
  [
    '503 Retry-After HTTP date, measured from the Date header',
    503,
    '',
    { 'retry-after': 'Sat, 01 Aug 2026 12:02:00 GMT', date: DATE },
    { kind: 'retry', reason, afterMs: 120_000 },
  ],
  [
    'Retry-After date in the past waits 0',
    503,
    '',
    { 'retry-after': 'Sat, 01 Aug 2026 11:59:00 GMT', date: DATE },
    { kind: 'retry', reason, afterMs: 0 },
  ],
  [
    'code 17 with Retry-After',
    400,
    graphError(17),
    { 'retry-after': '120' },
    { kind: 'retry', reason, afterMs: 120_000 },
  ],
  [
    'code 80004 with estimated_time_to_regain_access (minutes)',
    400,
    graphError(80004),
    {
      'x-business-use-case-usage': JSON.stringify({
        '1234567890': [{ type: 'ads_management', call_count: 100, total_cputime: 30, total_time: 40, estimated_time_to_regain_access: 5 }],
      }),
    },
    { kind: 'retry', reason, afterMs: 300_000 },
  ],
  ['unparseable Retry-After is ignored', 503, '', { 'retry-after': 'soon' }, { kind: 'retry', reason }],
];

describe('metaDestination.classify', () => {
  testClassifyRows(metaDestination, rows);

  it('puts Meta’s message, user message, code and trace id in the reason', () => {
    const out = metaDestination.classify({
      status: 400,
      headers: {},
      body: graphError(100, {
        message: 'Invalid parameter',
        error_subcode: 2804003,
        error_user_title: 'Event Timestamp Too Old',
        error_user_msg: 'The timestamp for this event is too far in the past.',
      }),
    });
    expect(out.kind).toBe('dead');
    const text = out.kind === 'dead' ? out.reason : '';
    expect(text).toContain('100/2804003');
    expect(text).toContain('Invalid parameter');
    expect(text).toContain('Event Timestamp Too Old');
    expect(text).toContain('The timestamp for this event is too far in the past.');
    expect(text).toContain('AbC123');
  });

  it('measures a Retry-After date from the local clock when there is no Date header', () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const out = metaDestination.classify({ status: 503, headers: { 'retry-after': at }, body: '' });
    expect(out.kind).toBe('retry');
    const afterMs = out.kind === 'retry' ? out.afterMs ?? -1 : -1;
    // toUTCString drops milliseconds, so anything in (58 s, 60 s] is right.
    expect(afterMs).toBeGreaterThan(58_000);
    expect(afterMs).toBeLessThanOrEqual(60_000);
  });
});
