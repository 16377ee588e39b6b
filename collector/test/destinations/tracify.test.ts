// Tracify server-side events destination. Mapping cases are data (fixtures/tracify/*.json,
// expected bodies and anonymized identities worked out by hand with sha256sum from Tracify's
// documented scheme) driven by one runner; classification is a table.
import { createHash } from 'node:crypto';
import { describe, expect, it, test } from 'vitest';
import { tracifyDestination, TracifyConfigSchema } from '../../src/destinations/tracify.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

const SITE = '3f2b8c1e-6d4a-4f7b-9c2e-1a5d7e9b0c34';

/** Tracify's documented anonymization, written out independently of the destination. */
function tracifyAnonymize(value: string): string {
  const digest = createHash('sha256').update(value).digest('hex');
  return createHash('sha256').update(digest.substring(0, 59)).digest('hex');
}

describeMapFixtures({
  name: 'tracifyDestination',
  destination: tracifyDestination,
  platform: 'tracify',
  minFixtures: 5,
  check: (result, events) => {
    // No identifier leaves in a form Tracify did not ask for: no cleartext IP or UA, no
    // plain SHA-256 of the email.
    for (const e of events) {
      for (const r of result.requests) {
        if (e.ip) expect(r.body).not.toContain(`"${e.ip}"`);
        if (e.user_agent) expect(r.body).not.toContain(`"${e.user_agent}"`);
        if (e.user.em) expect(r.body).not.toContain(e.user.em);
      }
    }
  },
});

describe('tracifyDestination.map', () => {
  const now = new Date('2026-08-01T12:00:00Z');
  const t = Math.floor(now.getTime() / 1000) - 60;
  const config = TracifyConfigSchema.parse({ type: 'tracify', customerSiteId: SITE, apiToken: 'k' });

  it('anonymizes the email from its ingest hash exactly as from the cleartext', () => {
    const email = 'jane.doe@example.com';
    const event = makeEvent({ event_time: t, user: { em: sha256Hex(email) }, ip: undefined, user_agent: undefined });
    const { requests } = tracifyDestination.map([event], config, now);
    const body = JSON.parse(requests[0]!.body ?? '') as { events: { identity_data: Record<string, number> }[] };
    expect(body.events[0]!.identity_data).toEqual({ [tracifyAnonymize(email)]: 1 });
  });

  it('anonymizes IP, user agent and the IP|UA session the same way', () => {
    const event = makeEvent({ event_time: t, user: {}, ip: '198.51.100.23', user_agent: 'UA/1.0' });
    const { requests } = tracifyDestination.map([event], config, now);
    const body = JSON.parse(requests[0]!.body ?? '') as { events: { identity_data: Record<string, number> }[] };
    expect(body.events[0]!.identity_data).toEqual({
      [tracifyAnonymize('198.51.100.23|UA/1.0')]: 2,
      [tracifyAnonymize('198.51.100.23')]: 3,
      [tracifyAnonymize('UA/1.0')]: 4,
    });
  });

  it('an explicit baseUrl wins over staging', () => {
    const c = TracifyConfigSchema.parse({ type: 'tracify', customerSiteId: SITE, apiToken: 'k', staging: true, baseUrl: 'http://127.0.0.1:4050/' });
    expect(tracifyDestination.map([makeEvent({ event_time: t })], c, now).requests[0]!.url).toBe('http://127.0.0.1:4050/api/v1/events');
  });

  it('splits 101 events into 100 + 1, in order', () => {
    const events = Array.from({ length: 101 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const { requests, skipped } = tracifyDestination.map(events, config, now);
    expect(skipped).toEqual([]);
    expect(requests.map((r) => r.eventIds.length)).toEqual([100, 1]);
    expect(requests[1]!.eventIds).toEqual(['e-100']);
    const last = JSON.parse(requests[1]!.body ?? '') as { events: { data: { order_id: string } }[] };
    expect(last.events[0]!.data.order_id).toBe(events[100]!.custom.order_id);
  });

  it('makes no request for no events', () => {
    expect(tracifyDestination.map([], config, now)).toEqual({ requests: [], skipped: [] });
  });
});

describe('TracifyConfigSchema', () => {
  it('fills defaults', () => {
    expect(TracifyConfigSchema.parse({ type: 'tracify', customerSiteId: SITE, apiToken: 'k' })).toEqual({
      type: 'tracify',
      customerSiteId: SITE,
      apiToken: 'k',
      staging: false,
      conversionEvents: ['Lead', 'CompleteRegistration', 'Subscribe', 'StartTrial', 'Contact'],
      consent: 'marketing',
    });
  });

  test.each([
    ['site id not a UUID', { customerSiteId: 'shop-1' }],
    ['empty API key', { apiToken: '' }],
    ['unknown consent', { consent: 'none' }],
    ['site URL not a URL', { siteUrl: 'shop.example.com' }],
  ])('rejects %s', (_name, patch) => {
    expect(TracifyConfigSchema.safeParse({ type: 'tracify', customerSiteId: SITE, apiToken: 'k', ...patch }).success).toBe(false);
  });

  it('limits: 100 events per request, 30 days of age (both our choice, not documented)', () => {
    expect(tracifyDestination.type).toBe('tracify');
    expect(tracifyDestination.maxBatch).toBe(100);
    expect(tracifyDestination.maxEventAgeSec).toBe(30 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────

const reason = expect.any(String) as string;

const rows: ClassifyRow[] = [
  ['200 status true', 200, '{"status":true}', {}, { kind: 'delivered' }],
  ['200 empty body', 200, '', {}, { kind: 'delivered' }],
  ['201 created', 201, '{"status":true}', {}, { kind: 'delivered' }],
  ['200 status false: refused', 200, '{"status":false,"error":"invalid customer_site_id"}', {}, { kind: 'dead', reason }],
  ['400 invalid payload', 400, '{"status":false,"error":"events[0].data.amount is invalid"}', {}, { kind: 'dead', reason }],
  ['422 unprocessable', 422, '{"detail":"bad"}', {}, { kind: 'dead', reason }],
  ['401 invalid API key', 401, '{"status":false,"error":"invalid API key"}', {}, { kind: 'auth', reason }],
  ['403 forbidden', 403, '', {}, { kind: 'auth', reason }],
  ['429 throttled', 429, '', {}, { kind: 'retry', reason }],
  ['429 with Retry-After', 429, '', { 'retry-after': '20' }, { kind: 'retry', reason, afterMs: 20_000 }],
  ['500 server error', 500, 'Internal Server Error', {}, { kind: 'retry', reason }],
  ['503 with Retry-After date', 503, '', { 'retry-after': 'Sat, 01 Aug 2026 12:00:10 GMT', date: 'Sat, 01 Aug 2026 12:00:00 GMT' }, { kind: 'retry', reason, afterMs: 10_000 }],
  ['408 timeout', 408, '', {}, { kind: 'retry', reason }],
];

describe('tracifyDestination.classify', () => {
  testClassifyRows(tracifyDestination, rows);

  it("puts Tracify's error in the reason", () => {
    const out = tracifyDestination.classify({ status: 400, headers: {}, body: '{"status":false,"error":"events[0].data.amount is invalid"}' });
    expect(out).toEqual({ kind: 'dead', reason: expect.stringContaining('data.amount is invalid') });
  });
});
