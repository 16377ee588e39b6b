// The LinkedIn Conversions API mock over real HTTP: it accepts what linkedinDestination
// produces and refuses, in LinkedIn's shapes (whole-request errors, per-element statuses of
// a BATCH_CREATE), every payload the contract forbids.
import { describe, expect, it, test } from 'vitest';
import { linkedinDestination, LinkedinConfigSchema } from '../../src/destinations/linkedin.js';
import type { DestinationResponse, Outcome } from '../../src/destinations/types.js';
import { startLinkedinMock } from '../../src/mocks/linkedin.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { expectReceivedListed, postBody, send, serveForTests } from './mock-client.js';

const TOKEN = 'AQV-mock-token';
const RULE = 'urn:lla:llaPartnerConversion:123456';
const LEAD_RULE = 'urn:lla:llaPartnerConversion:789';

const mock = serveForTests(() => startLinkedinMock({ accessToken: TOKEN, conversions: [RULE, LEAD_RULE] }));

const HEADERS: Record<string, string> = {
  'content-type': 'application/json',
  authorization: `Bearer ${TOKEN}`,
  'linkedin-version': '202603',
  'x-restli-protocol-version': '2.0.0',
  'x-restli-method': 'BATCH_CREATE',
};

async function post(body: unknown, headers: Record<string, string | null> = {}): Promise<DestinationResponse> {
  const h: Record<string, string> = { ...HEADERS };
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) delete h[k];
    else h[k] = v;
  }
  return postBody(`${mock.url}/rest/conversionEvents`, body, h);
}

const config = (extra: Record<string, unknown> = {}) =>
  LinkedinConfigSchema.parse({ type: 'linkedin', accessToken: TOKEN, baseUrl: mock.url, conversions: { Purchase: '123456', Lead: '789' }, ...extra });

/** A conversion event as LinkedIn's docs show one. */
function validElement(): Record<string, unknown> {
  return {
    conversion: RULE,
    conversionHappenedAt: Date.now() - 60_000,
    conversionValue: { currencyCode: 'USD', amount: '50.0' },
    eventId: 'abc12345',
    user: {
      userIds: [
        { idType: 'SHA256_EMAIL', idValue: sha256Hex('jane@example.com') },
        { idType: 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', idValue: 'df5gf5-gh6t7-ph4j7h-fgf6n1' },
      ],
    },
  };
}

function batchWith(change: (el: Record<string, unknown>) => void): unknown {
  const el = validElement();
  change(el);
  return { elements: [el] };
}

const userOf = (el: Record<string, unknown>) => el.user as Record<string, unknown>;

describe('linkedin mock: accepts the documented contract', () => {
  it('round trip: accepts what linkedinDestination.map produces; events found by eventId', async () => {
    const t = Math.floor(Date.now() / 1000) - 60;
    const events = [
      makeEvent({ event_time: t, ids: { li_fat_id: 'fat-1' } }),
      makeEvent({ event_name: 'Lead', event_time: t, user: {}, ids: { li_fat_id: 'fat-2' }, custom: {} }),
      makeEvent({ event_name: 'Purchase', event_time: t, custom: { value: 100, currency: 'USD' } }),
    ];
    const { requests, skipped } = linkedinDestination.map(events, config(), new Date());
    expect(skipped).toEqual([]);
    const res = await send(requests[0]!);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ elements: [{ status: 201 }, { status: 201 }, { status: 201 }] });
    expect(linkedinDestination.classify(res)).toEqual({ kind: 'delivered' });

    const got = mock.received[0]!;
    expect(got).toMatchObject({ version: '202603', method: 'BATCH_CREATE', rejected: 0 });
    for (const e of events) expect(got.events.find((el) => el.eventId === e.event_id), e.event_id).toBeDefined();
    expect(got.events.find((el) => el.eventId === events[1]!.event_id)).toMatchObject({ conversion: LEAD_RULE });
  });

  it('round trip: 5,001 events go through as two accepted requests', async () => {
    const t = Math.floor(Date.now() / 1000) - 60;
    const events = Array.from({ length: 5001 }, (_, i) => makeEvent({ event_id: `bulk-${i}`, event_time: t }));
    const { requests } = linkedinDestination.map(events, config(), new Date());
    for (const req of requests) expect(linkedinDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((b) => b.events.length)).toEqual([5000, 1]);
  });

  it('a single create (no X-RestLi-Method): 201 without a body', async () => {
    const res = await post(validElement(), { 'x-restli-method': null });
    expect(res.status).toBe(201);
    expect(res.body).toBe('');
    expect(linkedinDestination.classify(res)).toEqual({ kind: 'delivered' });
    expect(mock.received[0]).toMatchObject({ method: 'CREATE', events: [{ eventId: 'abc12345' }] });
  });

  test.each<[string, (el: Record<string, unknown>) => void]>([
    ['no conversionValue', (el) => delete el.conversionValue],
    ['no eventId', (el) => delete el.eventId],
    ['li_fat_id alone', (el) => (userOf(el).userIds = [{ idType: 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', idValue: 'x' }])],
    ['userInfo with names', (el) => (userOf(el).userInfo = { firstName: 'Mike', lastName: 'Smith', countryCode: 'US' })],
    ['an event 89 days old', (el) => (el.conversionHappenedAt = Date.now() - 89 * 86_400_000)],
  ])('accepts %s', async (_name, change) => {
    const res = await post(batchWith(change));
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ elements: [{ status: 201 }] });
  });
});

interface RequestViolation {
  name: string;
  body: () => unknown;
  headers?: Record<string, string | null>;
  status: number;
  code: string;
  outcome: Outcome['kind'];
}

const requestViolations: RequestViolation[] = [
  { name: 'no token', body: () => batchWith(() => {}), headers: { authorization: null }, status: 401, code: 'EMPTY_ACCESS_TOKEN', outcome: 'auth' },
  { name: 'wrong token', body: () => batchWith(() => {}), headers: { authorization: 'Bearer other' }, status: 401, code: 'INVALID_ACCESS_TOKEN', outcome: 'auth' },
  { name: 'no LinkedIn-Version', body: () => batchWith(() => {}), headers: { 'linkedin-version': null }, status: 400, code: 'VERSION_MISSING', outcome: 'dead' },
  { name: 'LinkedIn-Version not YYYYMM', body: () => batchWith(() => {}), headers: { 'linkedin-version': '2026-03' }, status: 426, code: 'NONEXISTENT_VERSION', outcome: 'auth' },
  {
    name: 'no X-Restli-Protocol-Version',
    body: () => batchWith(() => {}),
    headers: { 'x-restli-protocol-version': null },
    status: 400,
    code: 'INVALID_PROTOCOL_VERSION',
    outcome: 'dead',
  },
  { name: 'not JSON', body: () => 'elements=1', headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', outcome: 'dead' },
  { name: 'malformed JSON', body: () => '{"elements": [', status: 400, code: 'INVALID_REQUEST', outcome: 'dead' },
  { name: 'BATCH_CREATE without elements', body: () => validElement(), status: 400, code: 'INVALID_REQUEST', outcome: 'dead' },
  { name: 'empty elements', body: () => ({ elements: [] }), status: 400, code: 'INVALID_REQUEST', outcome: 'dead' },
  { name: 'more than 5,000 elements', body: () => ({ elements: Array.from({ length: 5001 }, validElement) }), status: 400, code: 'INVALID_REQUEST', outcome: 'dead' },
  { name: 'single create with an invalid event', body: () => ({ ...validElement(), conversion: 'x' }), headers: { 'x-restli-method': null }, status: 400, code: 'INVALID_FIELD_VALUE', outcome: 'dead' },
];

describe("linkedin mock: rejects whole requests in LinkedIn's error shape", () => {
  test.each(requestViolations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await post(v.body(), v.headers);
    expect(res.status, res.body).toBe(v.status);
    expect(JSON.parse(res.body)).toMatchObject({ status: v.status, code: v.code, message: expect.any(String), serviceErrorCode: expect.any(Number) });
    expect(mock.received).toHaveLength(0);
    expect(linkedinDestination.classify(res).kind).toBe(v.outcome);
  });
});

interface ElementViolation {
  name: string;
  change: (el: Record<string, unknown>) => void;
  status: number;
  mentions: string;
}

const elementViolations: ElementViolation[] = [
  { name: 'conversion not a URN', change: (el) => (el.conversion = '123456'), status: 400, mentions: 'conversion' },
  { name: 'conversion rule that does not exist', change: (el) => (el.conversion = 'urn:lla:llaPartnerConversion:999'), status: 404, mentions: '999' },
  { name: 'conversionHappenedAt missing', change: (el) => delete el.conversionHappenedAt, status: 400, mentions: 'conversionHappenedAt' },
  { name: 'conversionHappenedAt in seconds', change: (el) => (el.conversionHappenedAt = Math.floor(Date.now() / 1000)), status: 400, mentions: 'seconds' },
  { name: 'conversionHappenedAt 91 days old', change: (el) => (el.conversionHappenedAt = Date.now() - 91 * 86_400_000), status: 400, mentions: '90 days' },
  { name: 'conversionHappenedAt in the future', change: (el) => (el.conversionHappenedAt = Date.now() + 3_600_000), status: 400, mentions: 'future' },
  { name: 'amount as a number', change: (el) => (el.conversionValue = { currencyCode: 'USD', amount: 50 }), status: 400, mentions: 'amount' },
  { name: 'amount with a comma', change: (el) => (el.conversionValue = { currencyCode: 'EUR', amount: '50,00' }), status: 400, mentions: 'amount' },
  { name: 'currencyCode lowercase', change: (el) => (el.conversionValue = { currencyCode: 'usd', amount: '1.0' }), status: 400, mentions: 'currencyCode' },
  { name: 'no user', change: (el) => delete el.user, status: 400, mentions: '.user' },
  { name: 'no user ids', change: (el) => (userOf(el).userIds = []), status: 400, mentions: 'userIds' },
  { name: 'unknown idType', change: (el) => (userOf(el).userIds = [{ idType: 'EMAIL', idValue: 'a@b.com' }]), status: 400, mentions: 'idType' },
  {
    name: 'SHA256_EMAIL not hashed',
    change: (el) => (userOf(el).userIds = [{ idType: 'SHA256_EMAIL', idValue: 'jane@example.com' }]),
    status: 400,
    mentions: 'SHA-256',
  },
  { name: 'userInfo without names', change: (el) => (userOf(el).userInfo = { companyName: 'x' }), status: 400, mentions: 'userInfo' },
  { name: 'unknown field', change: (el) => (el.eventName = 'Purchase'), status: 422, mentions: 'eventName' },
];

describe('linkedin mock: refuses invalid elements one by one (HTTP 200, per-element status)', () => {
  test.each(elementViolations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const bad = validElement();
    v.change(bad);
    const res = await post({ elements: [validElement(), bad] });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { elements: { status: number; error?: { message: string } }[] };
    expect(body.elements[0]).toEqual({ status: 201 });
    expect(body.elements[1]!.status).toBe(v.status);
    expect(body.elements[1]!.error!.message).toContain(v.mentions);
    expect(mock.received[0]).toMatchObject({ rejected: 1 });
    expect(mock.received[0]!.events).toHaveLength(1);
    // One refused element makes the request dead: the dispatcher isolates it.
    expect(linkedinDestination.classify(res).kind).toBe('dead');
  });
});

describe('linkedin mock: scripted responses', () => {
  it('answers 429 then normally: retry honouring Retry-After, then delivered', async () => {
    mock.script([{ status: 429, body: { status: 429, code: 'TOO_MANY_REQUESTS', message: 'throttled' }, headers: { 'retry-after': '3' } }]);
    const { requests } = linkedinDestination.map([makeEvent({ event_time: Math.floor(Date.now() / 1000) })], config(), new Date());
    expect(linkedinDestination.classify(await send(requests[0]!))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 3_000 });
    expect(mock.received).toHaveLength(0);
    expect(linkedinDestination.classify(await send(requests[0]!))).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('replays an expired token before any checks; reset() clears scripts and records', async () => {
    mock.script([{ status: 401, body: { status: 401, serviceErrorCode: 65601, code: 'EXPIRED_ACCESS_TOKEN', message: 'The token used in the request has expired' } }]);
    expect(linkedinDestination.classify(await post({ nonsense: true }))).toMatchObject({ kind: 'auth', reason: expect.stringContaining('expired') });
    await post(batchWith(() => {}));
    mock.script([{ status: 500, body: 'down' }]);
    mock.reset();
    expect(mock.received).toHaveLength(0);
    expect((await post(batchWith(() => {}))).status).toBe(200);
  });

  it('GET /_received lists what was recorded', async () => {
    await post(batchWith(() => {}));
    await expectReceivedListed(mock);
  });
});
