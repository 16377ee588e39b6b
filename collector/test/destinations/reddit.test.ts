// Reddit Conversions API v3 destination. Mapping cases are data (fixtures/reddit/*.json,
// expected bodies written by hand from Reddit's v3 docs) driven by one runner; classification
// is a table.
import { describe, expect, it, test } from 'vitest';
import { redditDestination, RedditConfigSchema } from '../../src/destinations/reddit.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

describeMapFixtures({
  name: 'redditDestination',
  destination: redditDestination,
  platform: 'reddit',
  minFixtures: 5,
  check: (result, events) => {
    for (const e of events) {
      // Meta's phone format (digits, no `+`) is not Reddit's: it must never be sent.
      if (e.user.ph) for (const r of result.requests) expect(r.body).not.toContain(e.user.ph);
      // The IP travels hashed only.
      if (e.ip) for (const r of result.requests) expect(r.body).not.toContain(`"${e.ip}"`);
    }
  },
});

describe('redditDestination.map', () => {
  const now = new Date('2026-08-01T12:00:00Z');
  const t = Math.floor(now.getTime() / 1000) - 60;
  const config = RedditConfigSchema.parse({ type: 'reddit', pixelId: 'a2_x', accessToken: 'tok' });

  it('hashes the IP with SHA-256 of its text', () => {
    const { requests } = redditDestination.map([makeEvent({ event_time: t, ip: '198.51.100.23' })], config, now);
    const body = JSON.parse(requests[0]!.body ?? '') as { data: { events: { user: { ip_address: string } }[] } };
    expect(body.data.events[0]!.user.ip_address).toBe(sha256Hex('198.51.100.23'));
    expect(body.data.events[0]!.user.ip_address).toBe('bfeb4c6192985efa05e7fa0740ac45708a515e569e7edaec7fc060ff72b44a0c');
  });

  it('splits 1,001 events into 1,000 + 1, in order, the token only in the header', () => {
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const { requests, skipped } = redditDestination.map(events, config, now);
    expect(skipped).toEqual([]);
    expect(requests.map((r) => r.eventIds.length)).toEqual([1000, 1]);
    expect(requests[1]!.eventIds).toEqual(['e-1000']);
    for (const r of requests) {
      expect(r.url).toBe('https://ads-api.reddit.com/api/v3/pixels/a2_x/conversion_events');
      expect(r.headers.authorization).toBe('Bearer tok');
      expect(r.body).not.toContain('tok"');
    }
    const last = JSON.parse(requests[1]!.body ?? '') as { data: { events: { metadata: { conversion_id: string } }[] } };
    expect(last.data.events[0]!.metadata.conversion_id).toBe('e-1000');
  });

  it('makes no request for no events', () => {
    expect(redditDestination.map([], config, now)).toEqual({ requests: [], skipped: [] });
  });
});

describe('RedditConfigSchema', () => {
  it('fills defaults', () => {
    expect(RedditConfigSchema.parse({ type: 'reddit', pixelId: 'a2_abc', accessToken: 't' })).toEqual({
      type: 'reddit',
      pixelId: 'a2_abc',
      accessToken: 't',
      baseUrl: 'https://ads-api.reddit.com',
    });
  });

  test.each([
    ['pixel id with a slash', { pixelId: 'a2/x' }],
    ['empty token', { accessToken: '' }],
    ['empty test id', { testId: '' }],
    ['base URL not http(s)', { baseUrl: 'ftp://ads.example' }],
  ])('rejects %s', (_name, patch) => {
    expect(RedditConfigSchema.safeParse({ type: 'reddit', pixelId: 'a2_abc', accessToken: 't', ...patch }).success).toBe(false);
  });

  it('limits match Reddit: 1,000 events per request, 7 days of age', () => {
    expect(redditDestination.type).toBe('reddit');
    expect(redditDestination.maxBatch).toBe(1000);
    expect(redditDestination.maxEventAgeSec).toBe(7 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────

const reason = expect.any(String) as string;
const DATE = 'Sat, 01 Aug 2026 12:00:00 GMT';
const err = (message: string) => JSON.stringify({ error: { code: 0, message } });

const rows: ClassifyRow[] = [
  ['200 processed', 200, '{"data":{"message":"Successfully processed 3 conversion events."}}', {}, { kind: 'delivered' }],
  ['200 that is not Reddit (proxy page): send again', 200, '<html>portal</html>', {}, { kind: 'retry', reason }],
  ['400 invalid events', 400, err('There were 2 invalid conversion events. None were processed.'), {}, { kind: 'dead', reason }],
  ['400 too many events', 400, 'Bad Request', {}, { kind: 'dead', reason }],
  ['404 unknown path', 404, 'Not Found', {}, { kind: 'dead', reason }],
  ['401 no bearer token', 401, err('No bearer token provided'), {}, { kind: 'auth', reason }],
  ['401 invalid token', 401, err('UNAUTHORIZED'), {}, { kind: 'auth', reason }],
  ['403 not authorized for the pixel', 403, err("You're not authorized to post conversions to Pixel ID a2_x."), {}, { kind: 'auth', reason }],
  ['403 missing adsconversions scope', 403, err('Missing adsconversions scope to post conversions to Pixel.'), {}, { kind: 'auth', reason }],
  ['429 user agent ratelimited', 429, err('Your user agent was automatically ratelimited.'), {}, { kind: 'retry', reason }],
  ['429 with Retry-After seconds', 429, err('Too many requests/events within timeframe.'), { 'retry-after': '30' }, { kind: 'retry', reason, afterMs: 30_000 }],
  ['429 Retry-After HTTP date from the Date header', 429, '', { 'Retry-After': 'Sat, 01 Aug 2026 12:01:00 GMT', Date: DATE }, { kind: 'retry', reason, afterMs: 60_000 }],
  ['500 service unavailable', 500, err('The service is currently unavailable. No conversion events were processed.'), {}, { kind: 'retry', reason }],
  ['503 with Retry-After', 503, '', { 'retry-after': '5' }, { kind: 'retry', reason, afterMs: 5_000 }],
  ['502 html', 502, '<html>Bad Gateway</html>', {}, { kind: 'retry', reason }],
  ['408 timeout', 408, '', {}, { kind: 'retry', reason }],
  ['unparseable Retry-After ignored', 503, '', { 'retry-after': 'later' }, { kind: 'retry', reason }],
];

describe('redditDestination.classify', () => {
  testClassifyRows(redditDestination, rows);

  it("puts Reddit's message in the reason", () => {
    const out = redditDestination.classify({ status: 403, headers: {}, body: err('Missing adsconversions scope to post conversions to Pixel.') });
    expect(out).toEqual({ kind: 'auth', reason: expect.stringContaining('adsconversions') });
  });
});
