// Generic webhook destination. Mapping cases are data (fixtures/webhook/*.json, written by
// hand); the signature header of every request is checked against an HMAC computed here
// with node:crypto. Classification is a table.
import { createHmac } from 'node:crypto';
import { describe, expect, it, test } from 'vitest';
import { webhookDestination, WebhookConfigSchema, type WebhookConfig } from '../../src/destinations/webhook.js';
import { verifySignature } from '../../src/notify/signature.js';
import { makeEvent } from '../fixtures/events.js';
import { describeMapFixtures, requestWithParsedBody, testClassifyRows, type ClassifyRow, type MapFixture } from './fixture-runner.js';

interface WebhookFixture extends MapFixture {
  config: { secret: string } & Record<string, unknown>;
  expected: MapFixture['expected'] & {
    /** The `t` every request must be signed with. */
    signatureTime: number;
  };
}

describeMapFixtures<WebhookConfig, WebhookFixture>({
  name: 'webhookDestination',
  destination: webhookDestination,
  platform: 'webhook',
  minFixtures: 2,
  // Headers besides `x-trakvo-signature` (checked on its own).
  request: (r) => {
    const { 'x-trakvo-signature': _signature, ...headers } = r.headers;
    return requestWithParsedBody({ ...r, headers });
  },
  check: (result, _events, fixture) => {
    const t = fixture.expected.signatureTime;
    for (const r of result.requests) {
      const v1 = createHmac('sha256', fixture.config.secret).update(`${t}.${r.body ?? ''}`).digest('hex');
      expect(r.headers['x-trakvo-signature']).toBe(`t=${t},v1=${v1}`);
    }
  },
});

describe('webhookDestination.map', () => {
  const now = new Date('2026-08-01T12:00:00Z');

  it('signs what a receiver can verify with verifySignature', () => {
    const config = WebhookConfigSchema.parse({ type: 'webhook', url: 'https://example.com/h', secret: 's'.repeat(16) });
    const [req] = webhookDestination.map([makeEvent()], config, now).requests;
    expect(verifySignature(req!.headers['x-trakvo-signature'], req!.body ?? '', 's'.repeat(16), { now })).toBe(true);
  });

  it('sends the canonical event unchanged, every field included', () => {
    const config = WebhookConfigSchema.parse({ type: 'webhook', url: 'https://example.com/h', secret: 's'.repeat(16) });
    const event = makeEvent({ title: 'Thanks', ids: { fbp: 'fb.1.1760000000000.1', msclkid: 'abc', visitor_id: 'v' } });
    const [req] = webhookDestination.map([event], config, now).requests;
    expect(JSON.parse(req!.body ?? '')).toEqual(event);
  });

  it('batches of 250 events with batchSize 100: 100 + 100 + 50, in order', () => {
    const config = WebhookConfigSchema.parse({ type: 'webhook', url: 'https://example.com/h', secret: 's'.repeat(16), batchSize: 100 });
    const events = Array.from({ length: 250 }, (_, i) => makeEvent({ event_id: `e-${i}` }));
    const { requests } = webhookDestination.map(events, config, now);
    expect(requests.map((r) => r.eventIds.length)).toEqual([100, 100, 50]);
    expect((JSON.parse(requests[2]!.body ?? '') as { event_id: string }[])[0]!.event_id).toBe('e-200');
  });

  it('the same batch gets the same delivery id on every try', () => {
    const config = WebhookConfigSchema.parse({ type: 'webhook', url: 'https://example.com/h', secret: 's'.repeat(16), batchSize: 10 });
    const events = [makeEvent({ event_id: 'a' }), makeEvent({ event_id: 'b' })];
    const first = webhookDestination.map(events, config, now).requests[0]!;
    const later = webhookDestination.map(events, config, new Date(now.getTime() + 60_000)).requests[0]!;
    expect(later.headers['x-trakvo-delivery-id']).toBe(first.headers['x-trakvo-delivery-id']);
    expect(later.headers['x-trakvo-signature']).not.toBe(first.headers['x-trakvo-signature']);
  });

  it('makes no request for no events', () => {
    const config = WebhookConfigSchema.parse({ type: 'webhook', url: 'https://example.com/h', secret: 's'.repeat(16) });
    expect(webhookDestination.map([], config, now)).toEqual({ requests: [], skipped: [] });
  });
});

describe('WebhookConfigSchema', () => {
  it('fills defaults', () => {
    expect(WebhookConfigSchema.parse({ type: 'webhook', url: 'https://example.com/h', secret: '0123456789abcdef' })).toEqual({
      type: 'webhook',
      url: 'https://example.com/h',
      secret: '0123456789abcdef',
      batchSize: 1,
    });
  });

  test.each([
    ['secret shorter than 16', { secret: 'short' }],
    ['url not http(s)', { url: 'ftp://example.com/h' }],
    ['url not a URL', { url: 'example.com/h' }],
    ['batchSize 0', { batchSize: 0 }],
    ['batchSize over 100', { batchSize: 101 }],
  ])('rejects %s', (_name, patch) => {
    expect(WebhookConfigSchema.safeParse({ type: 'webhook', url: 'https://example.com/h', secret: '0123456789abcdef', ...patch }).success).toBe(false);
  });

  it('limits: up to 100 events per request, 30 days of age', () => {
    expect(webhookDestination.type).toBe('webhook');
    expect(webhookDestination.maxBatch).toBe(100);
    expect(webhookDestination.maxEventAgeSec).toBe(30 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────

const reason = expect.any(String) as string;

const rows: ClassifyRow[] = [
  ['200', 200, '{"received":1}', {}, { kind: 'delivered' }],
  ['201', 201, '', {}, { kind: 'delivered' }],
  ['202 accepted', 202, 'queued', {}, { kind: 'delivered' }],
  ['204 no content', 204, '', {}, { kind: 'delivered' }],
  ['301 redirect: kept and retried', 301, '', { location: 'https://new.example.com/h' }, { kind: 'retry', reason }],
  ['400 bad request', 400, '{"error":"bad"}', {}, { kind: 'dead', reason }],
  ['404 not found', 404, '', {}, { kind: 'dead', reason }],
  ['409 conflict', 409, '', {}, { kind: 'dead', reason }],
  ['410 gone', 410, '', {}, { kind: 'dead', reason }],
  ['413 too large', 413, '', {}, { kind: 'dead', reason }],
  ['422 unprocessable', 422, '', {}, { kind: 'dead', reason }],
  ['401 signature rejected', 401, '{"error":"invalid signature"}', {}, { kind: 'auth', reason }],
  ['403 forbidden', 403, '', {}, { kind: 'auth', reason }],
  ['408 timeout', 408, '', {}, { kind: 'retry', reason }],
  ['429 without Retry-After', 429, '', {}, { kind: 'retry', reason }],
  ['429 Retry-After seconds', 429, '', { 'retry-after': '90' }, { kind: 'retry', reason, afterMs: 90_000 }],
  ['429 Retry-After capitalized', 429, '', { 'Retry-After': '1.5' }, { kind: 'retry', reason, afterMs: 1_500 }],
  [
    '503 Retry-After HTTP date from the Date header',
    503,
    '',
    { 'retry-after': 'Sat, 01 Aug 2026 12:05:00 GMT', date: 'Sat, 01 Aug 2026 12:00:00 GMT' },
    { kind: 'retry', reason, afterMs: 300_000 },
  ],
  ['500', 500, 'oops', {}, { kind: 'retry', reason }],
  ['502', 502, '<html>Bad Gateway</html>', {}, { kind: 'retry', reason }],
  ['unparseable Retry-After ignored', 503, '', { 'retry-after': 'tomorrow-ish' }, { kind: 'retry', reason }],
];

describe('webhookDestination.classify', () => {
  testClassifyRows(webhookDestination, rows);

  it("names the redirect target and the receiver's answer", () => {
    expect(webhookDestination.classify({ status: 308, headers: { Location: 'https://x.example/h' }, body: '' })).toEqual({
      kind: 'retry',
      reason: expect.stringContaining('https://x.example/h'),
    });
    expect(webhookDestination.classify({ status: 400, headers: {}, body: '{"error":"missing field"}' })).toEqual({
      kind: 'dead',
      reason: expect.stringContaining('missing field'),
    });
  });
});
