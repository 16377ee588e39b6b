// TikTok Events API destination. Mapping cases are data (fixtures/tiktok/*.json, expected
// bodies written by hand from TikTok's docs and official template) driven by one runner;
// classification is a table over every code group, errors in a 200 and Retry-After.
import { describe, expect, it, test } from 'vitest';
import { tiktokDestination, TikTokConfigSchema } from '../../src/destinations/tiktok.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

describeMapFixtures({
  name: 'tiktokDestination',
  destination: tiktokDestination,
  platform: 'tiktok',
  minFixtures: 4,
  check: (result, events) => {
    // TikTok takes the E.164 phone hash; Meta's digits-only `ph` must never reach it.
    for (const [i, e] of events.entries()) {
      if (e.user.ph !== undefined) for (const r of result.requests) expect(r.body, `event ${i}`).not.toContain(e.user.ph);
    }
  },
});

describe('tiktokDestination.map (batching)', () => {
  it('splits 1,001 events into 1,000 + 1, in order, token only in the header', () => {
    const now = new Date('2026-08-01T12:00:00Z');
    const t = Math.floor(now.getTime() / 1000) - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const config = TikTokConfigSchema.parse({ type: 'tiktok', pixelCode: 'CABC123', accessToken: 'secret-xyz' });

    const { requests, skipped } = tiktokDestination.map(events, config, now);

    expect(skipped).toEqual([]);
    expect(requests.map((r) => r.eventIds.length)).toEqual([1000, 1]);
    expect(requests[0]!.eventIds).toEqual(events.slice(0, 1000).map((e) => e.event_id));
    const last = JSON.parse(requests[1]!.body ?? '') as { data: { event_id: string }[] };
    expect(last.data.map((d) => d.event_id)).toEqual(['e-1000']);
    for (const r of requests) {
      expect(r.headers['access-token']).toBe('secret-xyz');
      expect(r.url).not.toContain('secret-xyz');
      expect(r.body).not.toContain('secret-xyz');
    }
  });

  it('makes no request for no events', () => {
    const config = TikTokConfigSchema.parse({ type: 'tiktok', pixelCode: 'CABC123', accessToken: 'tok' });
    expect(tiktokDestination.map([], config, new Date())).toEqual({ requests: [], skipped: [] });
  });

  it('sends a phone only as its E.164 hash, and nothing for a phone without one', () => {
    const now = new Date('2026-08-01T12:00:00Z');
    const config = TikTokConfigSchema.parse({ type: 'tiktok', pixelCode: 'CABC123', accessToken: 'tok' });
    const digitsOnly = makeEvent({ event_time: 1785585000, user: { ph: sha256Hex('5511999999999') } });
    const body = JSON.parse(tiktokDestination.map([digitsOnly], config, now).requests[0]!.body ?? '') as {
      data: { user: Record<string, string> }[];
    };
    expect(body.data[0]!.user).not.toHaveProperty('phone');
  });

  it('a name like "constructor" is a custom event, not a lookup into an object prototype', () => {
    const config = TikTokConfigSchema.parse({ type: 'tiktok', pixelCode: 'CABC123', accessToken: 'tok', eventNames: {} });
    const e = makeEvent({ event_name: 'constructor', event_time: 1785585000 });
    const { requests } = tiktokDestination.map([e], config, new Date('2026-08-01T12:00:00Z'));
    expect(JSON.parse(requests[0]!.body ?? '')).toMatchObject({ data: [{ event: 'constructor' }] });
  });
});

describe('TikTokConfigSchema', () => {
  it('fills defaults', () => {
    expect(TikTokConfigSchema.parse({ type: 'tiktok', pixelCode: 'CABC123', accessToken: 't' })).toEqual({
      type: 'tiktok',
      pixelCode: 'CABC123',
      accessToken: 't',
      baseUrl: 'https://business-api.tiktok.com',
    });
  });

  test.each([
    ['pixel code with spaces', { pixelCode: 'C ABC' }],
    ['empty token', { accessToken: '' }],
    ['empty test event code', { testEventCode: '' }],
    ['base URL not http(s)', { baseUrl: 'ftp://tiktok.example' }],
    ['base URL not a URL', { baseUrl: 'business-api.tiktok.com' }],
    ['empty mapped name', { eventNames: { Lead: '' } }],
  ])('rejects %s', (_name, patch) => {
    const r = TikTokConfigSchema.safeParse({ type: 'tiktok', pixelCode: 'CABC123', accessToken: 't', ...patch });
    expect(r.success).toBe(false);
  });

  it('limits: 1,000 events per request, 7 days of age', () => {
    expect(tiktokDestination.type).toBe('tiktok');
    expect(tiktokDestination.maxBatch).toBe(1000);
    expect(tiktokDestination.maxEventAgeSec).toBe(7 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────

function tt(code: number, message = 'test message', data: unknown = {}): string {
  return JSON.stringify({ code, message, request_id: '20260801120000ABCDEF', data });
}


const reason = expect.any(String) as string;
const DATE = 'Sat, 01 Aug 2026 12:00:00 GMT';

const rows: ClassifyRow[] = [
  // delivered
  ['200 code 0 OK', 200, tt(0, 'OK'), {}, { kind: 'delivered' }],
  // errors reported in a 200
  ['200 code 20001 partial success', 200, tt(20001, 'Partial success', { failed_events: [{ index: 2 }] }), {}, { kind: 'dead', reason }],
  ['200 code 40000 invalid params', 200, tt(40000), {}, { kind: 'dead', reason }],
  ['200 code 40002 parameter error', 200, tt(40002, 'data[0].event_time: invalid'), {}, { kind: 'dead', reason }],
  ['200 code 40061 invalid batch size', 200, tt(40061), {}, { kind: 'dead', reason }],
  ['200 code 40062 PII not hashed', 200, tt(40062), {}, { kind: 'dead', reason }],
  ['200 code 40063 invalid partner name', 200, tt(40063), {}, { kind: 'dead', reason }],
  ['200 unknown 4xxxx code', 200, tt(49999), {}, { kind: 'dead', reason }],
  // retryable codes
  ['200 code 40100 too frequent', 200, tt(40100), {}, { kind: 'retry', reason }],
  ['200 code 40132 frequency limited', 200, tt(40132), {}, { kind: 'retry', reason }],
  ['200 code 40016 frequency control', 200, tt(40016), {}, { kind: 'retry', reason }],
  ['200 code 40202 write conflict', 200, tt(40202), {}, { kind: 'retry', reason }],
  ['200 code 50000 system error', 200, tt(50000), {}, { kind: 'retry', reason }],
  ['200 code 50002 system timeout', 200, tt(50002), {}, { kind: 'retry', reason }],
  ['200 code 51012 pixel service error', 200, tt(51012), {}, { kind: 'retry', reason }],
  ['200 code 52101 storage read error', 200, tt(52101), {}, { kind: 'retry', reason }],
  ['200 code 60001 maintenance', 200, tt(60001), {}, { kind: 'retry', reason }],
  ['200 code 61000 too many requests', 200, tt(61000), {}, { kind: 'retry', reason }],
  ['500 code 50000', 500, tt(50000), {}, { kind: 'retry', reason }],
  // auth
  ['200 code 40001 no permission', 200, tt(40001), {}, { kind: 'auth', reason }],
  ['200 code 40003 forbidden', 200, tt(40003), {}, { kind: 'auth', reason }],
  ['200 code 40102 token expired', 200, tt(40102), {}, { kind: 'auth', reason }],
  ['200 code 40104 empty token', 200, tt(40104), {}, { kind: 'auth', reason }],
  ['200 code 40105 invalid token', 200, tt(40105), {}, { kind: 'auth', reason }],
  ['200 code 40130 scope not authorized', 200, tt(40130), {}, { kind: 'auth', reason }],
  ['200 code 41000 blocked', 200, tt(41000), {}, { kind: 'auth', reason }],
  ['401 code 40105', 401, tt(40105), {}, { kind: 'auth', reason }],
  // no TikTok envelope
  ['200 without a code (proxy page)', 200, '<html>captive portal</html>', {}, { kind: 'retry', reason }],
  ['200 JSON without a code', 200, '{"ok":true}', {}, { kind: 'retry', reason }],
  ['code 0 on a 500 is not trusted', 500, tt(0, 'OK'), {}, { kind: 'retry', reason }],
  ['unknown code on a 503', 503, tt(99999), {}, { kind: 'retry', reason }],
  ['unknown non-4xxxx code on a 200', 200, tt(12345), {}, { kind: 'dead', reason }],
  ['bare 401', 401, 'Unauthorized', {}, { kind: 'auth', reason }],
  ['bare 403', 403, '', {}, { kind: 'auth', reason }],
  ['404 html', 404, '<html>Not Found</html>', {}, { kind: 'dead', reason }],
  ['408', 408, '', {}, { kind: 'retry', reason }],
  ['429 without body', 429, '', {}, { kind: 'retry', reason }],
  ['502 html', 502, '<html>Bad Gateway</html>', {}, { kind: 'retry', reason }],
  // Retry-After
  ['429 Retry-After seconds', 429, '', { 'retry-after': '30' }, { kind: 'retry', reason, afterMs: 30_000 }],
  ['200 code 40100 with Retry-After', 200, tt(40100), { 'Retry-After': '5' }, { kind: 'retry', reason, afterMs: 5_000 }],
  [
    '503 Retry-After HTTP date, from the Date header',
    503,
    '',
    { 'retry-after': 'Sat, 01 Aug 2026 12:02:00 GMT', date: DATE },
    { kind: 'retry', reason, afterMs: 120_000 },
  ],
  ['unparseable Retry-After is ignored', 503, '', { 'retry-after': 'soon' }, { kind: 'retry', reason }],
];

describe('tiktokDestination.classify', () => {
  testClassifyRows(tiktokDestination, rows);

  it('puts TikTok’s code, message and request id in the reason', () => {
    const out = tiktokDestination.classify({ status: 200, headers: {}, body: tt(40002, 'Invalid value for event_time') });
    expect(out.kind).toBe('dead');
    const text = out.kind === 'dead' ? out.reason : '';
    expect(text).toContain('40002');
    expect(text).toContain('Invalid value for event_time');
    expect(text).toContain('20260801120000ABCDEF');
  });
});
