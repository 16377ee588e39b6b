// LinkedIn Conversions API destination. Mapping cases are data (fixtures/linkedin/*.json,
// expected bodies written by hand from LinkedIn's docs) driven by one runner; classification
// is a table.
import { describe, expect, it, test } from 'vitest';
import { linkedinDestination, LinkedinConfigSchema } from '../../src/destinations/linkedin.js';
import { makeEvent } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

describeMapFixtures({
  name: 'linkedinDestination',
  destination: linkedinDestination,
  platform: 'linkedin',
  minFixtures: 4,
  check: (result) => {
    // LinkedIn gets no IP, user agent, phone or other hashed fields: only its user ids.
    for (const r of result.requests) expect(r.body).not.toMatch(/203\.0\.113\.7|"ph"|"fn"|fbp/);
  },
});

describe('linkedinDestination.map', () => {
  const now = new Date('2026-08-01T12:00:00Z');
  const t = Math.floor(now.getTime() / 1000) - 60;

  it('splits 5,001 events into 5,000 + 1, in order', () => {
    const config = LinkedinConfigSchema.parse({ type: 'linkedin', accessToken: 'tok', conversions: { Purchase: '1' } });
    const events = Array.from({ length: 5001 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const { requests, skipped } = linkedinDestination.map(events, config, now);
    expect(skipped).toEqual([]);
    expect(requests.map((r) => r.eventIds.length)).toEqual([5000, 1]);
    expect(requests[1]!.eventIds).toEqual(['e-5000']);
    const last = JSON.parse(requests[1]!.body ?? '') as { elements: { eventId: string }[] };
    expect(last.elements.map((e) => e.eventId)).toEqual(['e-5000']);
  });

  it('makes no request for no events', () => {
    const config = LinkedinConfigSchema.parse({ type: 'linkedin', accessToken: 'tok', conversions: { Lead: '1' } });
    expect(linkedinDestination.map([], config, now)).toEqual({ requests: [], skipped: [] });
  });
});

describe('LinkedinConfigSchema', () => {
  it('fills defaults and turns bare rule ids into URNs', () => {
    expect(LinkedinConfigSchema.parse({ type: 'linkedin', accessToken: 't', conversions: { Purchase: '123' } })).toEqual({
      type: 'linkedin',
      accessToken: 't',
      apiVersion: '202603',
      baseUrl: 'https://api.linkedin.com',
      conversions: { Purchase: 'urn:lla:llaPartnerConversion:123' },
    });
  });

  test.each([
    ['no conversion rules', { conversions: {} }],
    ['a rule that is not an id or URN', { conversions: { Purchase: 'urn:li:sponsoredAccount:1' } }],
    ['a version that is not YYYYMM', { apiVersion: '2026-03' }],
    ['empty token', { accessToken: '' }],
    ['base URL not a URL', { baseUrl: 'api.linkedin.com' }],
  ])('rejects %s', (_name, patch) => {
    const r = LinkedinConfigSchema.safeParse({ type: 'linkedin', accessToken: 't', conversions: { Purchase: '1' }, ...patch });
    expect(r.success).toBe(false);
  });

  it('limits: 5,000 events per BATCH_CREATE, 90 days of age', () => {
    expect(linkedinDestination.type).toBe('linkedin');
    expect(linkedinDestination.maxBatch).toBe(5000);
    expect(linkedinDestination.maxEventAgeSec).toBe(90 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────

const reason = expect.any(String) as string;
const err = (status: number, code: string, message: string, serviceErrorCode = 100) =>
  JSON.stringify({ status, serviceErrorCode, code, message });
const elements = (...statuses: number[]) =>
  JSON.stringify({
    elements: statuses.map((s) => (s < 300 ? { status: s } : { status: s, error: { status: s, code: 'INVALID_FIELD_VALUE', message: 'bad' } })),
  });

const rows: ClassifyRow[] = [
  ['200 all elements created', 200, elements(201, 201, 201), {}, { kind: 'delivered' }],
  ['201 single create without body', 201, '', {}, { kind: 'delivered' }],
  ['200 one element invalid: dead (dispatcher isolates it)', 200, elements(201, 400, 201), {}, { kind: 'dead', reason }],
  ['200 one element for an unknown rule', 200, elements(404), {}, { kind: 'dead', reason }],
  ['200 invalid and throttled elements: dead', 200, elements(400, 429), {}, { kind: 'dead', reason }],
  ['200 only transient element errors: retry', 200, elements(201, 500, 429), {}, { kind: 'retry', reason }],
  ['200 element without a status: retry', 200, '{"elements":[{}]}', {}, { kind: 'retry', reason }],
  ['200 that is not LinkedIn: retry', 200, '<html>portal</html>', {}, { kind: 'retry', reason }],
  ['400 invalid request', 400, err(400, 'INVALID_REQUEST', 'elements must not be empty'), {}, { kind: 'dead', reason }],
  ['422 unrecognized field', 422, err(422, 'UNRECOGNIZED_FIELD', 'x is not a field'), {}, { kind: 'dead', reason }],
  ['404 not found', 404, err(404, 'NOT_FOUND', 'no such resource'), {}, { kind: 'dead', reason }],
  ['401 invalid token', 401, err(401, 'INVALID_ACCESS_TOKEN', 'Invalid access token', 65600), {}, { kind: 'auth', reason }],
  ['401 expired token', 401, err(401, 'EXPIRED_ACCESS_TOKEN', 'The token used in the request has expired', 65601), {}, { kind: 'auth', reason }],
  ['403 no permission', 403, err(403, 'ACCESS_DENIED', 'Not enough permissions to access: partnerConversionEvents'), {}, { kind: 'auth', reason }],
  ['426 version not active', 426, err(426, 'NONEXISTENT_VERSION', 'Requested version 202401 is not active'), {}, { kind: 'auth', reason }],
  ['429 throttled', 429, err(429, 'TOO_MANY_REQUESTS', 'Resource level throttle limit reached'), {}, { kind: 'retry', reason }],
  ['429 with Retry-After', 429, '', { 'Retry-After': '60' }, { kind: 'retry', reason, afterMs: 60_000 }],
  ['500 internal error', 500, err(500, 'INTERNAL_SERVER_ERROR', 'Internal Server Error'), {}, { kind: 'retry', reason }],
  ['504 gateway timeout html', 504, '<html>Gateway Timeout</html>', {}, { kind: 'retry', reason }],
  [
    '503 Retry-After date from the Date header',
    503,
    '',
    { 'retry-after': 'Sat, 01 Aug 2026 12:00:30 GMT', date: 'Sat, 01 Aug 2026 12:00:00 GMT' },
    { kind: 'retry', reason, afterMs: 30_000 },
  ],
];

describe('linkedinDestination.classify', () => {
  testClassifyRows(linkedinDestination, rows);

  it("names the code, service error code and message, and each refused element", () => {
    const whole = linkedinDestination.classify({ status: 401, headers: {}, body: err(401, 'INVALID_ACCESS_TOKEN', 'Invalid access token', 65600) });
    expect(whole).toEqual({ kind: 'auth', reason: expect.stringMatching(/INVALID_ACCESS_TOKEN.*65600.*Invalid access token/) });
    const partial = linkedinDestination.classify({
      status: 200,
      headers: {},
      body: JSON.stringify({ elements: [{ status: 201 }, { status: 400, error: { message: 'conversionHappenedAt too old' } }] }),
    });
    expect(partial).toEqual({ kind: 'dead', reason: expect.stringMatching(/1 of 2.*element 1.*conversionHappenedAt too old/) });
  });
});
