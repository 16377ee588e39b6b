// Microsoft UET Conversions API destination. Mapping cases are data
// (fixtures/microsoft/*.json, expected bodies written by hand from Microsoft's CAPI guide)
// driven by one runner; classification is a table.
import { describe, expect, it, test } from 'vitest';
import { microsoftDestination, MicrosoftConfigSchema } from '../../src/destinations/microsoft.js';
import { makeEvent } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

describeMapFixtures({
  name: 'microsoftDestination',
  destination: microsoftDestination,
  platform: 'microsoft',
  minFixtures: 5,
  check: (result, events) => {
    // The E.164 phone hash is for other platforms (Microsoft hashes digits only).
    for (const e of events) if (e.user.ph_e164) for (const r of result.requests) expect(r.body).not.toContain(e.user.ph_e164);
  },
});

describe('microsoftDestination.map', () => {
  const now = new Date('2026-08-01T12:00:00Z');
  const t = Math.floor(now.getTime() / 1000) - 60;
  const config = MicrosoftConfigSchema.parse({ type: 'microsoft', tagId: '1', accessToken: 'tok' });

  it('splits 1,001 events into 1,000 + 1, in order', () => {
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const { requests, skipped } = microsoftDestination.map(events, config, now);
    expect(skipped).toEqual([]);
    expect(requests.map((r) => r.eventIds.length)).toEqual([1000, 1]);
    const last = JSON.parse(requests[1]!.body ?? '') as { data: { eventId: string }[] };
    expect(last.data.map((d) => d.eventId)).toEqual(['e-1000']);
  });

  it('makes no request for no events', () => {
    expect(microsoftDestination.map([], config, now)).toEqual({ requests: [], skipped: [] });
  });
});

describe('MicrosoftConfigSchema', () => {
  it('fills defaults', () => {
    expect(MicrosoftConfigSchema.parse({ type: 'microsoft', tagId: '187012345', accessToken: 't' })).toEqual({
      type: 'microsoft',
      tagId: '187012345',
      accessToken: 't',
      baseUrl: 'https://capi.uet.microsoft.com',
      continueOnValidationError: false,
      eventNames: {},
    });
  });

  test.each([
    ['non-digit tag id', { tagId: 'uet-1' }],
    ['empty token', { accessToken: '' }],
    ['continueOnValidationError not a boolean', { continueOnValidationError: 'yes' }],
    ['empty event action', { eventNames: { Purchase: '' } }],
    ['base URL not http(s)', { baseUrl: 'ftp://capi.example' }],
  ])('rejects %s', (_name, patch) => {
    expect(MicrosoftConfigSchema.safeParse({ type: 'microsoft', tagId: '1', accessToken: 't', ...patch }).success).toBe(false);
  });

  it('limits: 1,000 events per request, 7 days of age', () => {
    expect(microsoftDestination.type).toBe('microsoft');
    expect(microsoftDestination.maxBatch).toBe(1000);
    expect(microsoftDestination.maxEventAgeSec).toBe(7 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────

const reason = expect.any(String) as string;
const msError = (eventsReceived: number, code: string, details: Record<string, unknown>[] = []) =>
  JSON.stringify({ eventsReceived, error: { code, message: `${code} message`, details }, traceId: 'trace-1' });

const rows: ClassifyRow[] = [
  ['200 eventsReceived', 200, '{"eventsReceived":2,"traceId":"t"}', {}, { kind: 'delivered' }],
  [
    '200 with warnings only',
    200,
    msError(2, 'ValidationWarning', [{ index: 0, propertyName: 'pageTitle', errorMessage: 'truncated', isWarning: true }]),
    {},
    { kind: 'delivered' },
  ],
  [
    '200 with some events refused (continueOnValidationError)',
    200,
    msError(1, 'ValidationError', [{ index: 1, propertyName: 'eventTime', errorMessage: 'too old' }]),
    {},
    { kind: 'dead', reason },
  ],
  ['200 that is not Microsoft: retry', 200, '<html>portal</html>', {}, { kind: 'retry', reason }],
  [
    '400 validation error',
    400,
    msError(0, 'ValidationError', [{ index: 0, propertyName: 'userData', errorMessage: 'userData is required' }]),
    {},
    { kind: 'dead', reason },
  ],
  ['400 invalid request without details', 400, msError(0, 'InvalidRequest'), {}, { kind: 'dead', reason }],
  ['404 unknown path', 404, 'Not Found', {}, { kind: 'dead', reason }],
  ['401 token rejected', 401, msError(0, 'Unauthorized'), {}, { kind: 'auth', reason }],
  ['403 tag not enabled for the token', 403, msError(0, 'Forbidden'), {}, { kind: 'auth', reason }],
  ['429 throttled', 429, '', {}, { kind: 'retry', reason }],
  ['429 with Retry-After', 429, '', { 'retry-after': '12' }, { kind: 'retry', reason, afterMs: 12_000 }],
  ['500 server error', 500, msError(0, 'InternalError'), {}, { kind: 'retry', reason }],
  ['503 html with Retry-After', 503, '<html>busy</html>', { 'Retry-After': '2' }, { kind: 'retry', reason, afterMs: 2_000 }],
  ['408 timeout', 408, '', {}, { kind: 'retry', reason }],
];

describe('microsoftDestination.classify', () => {
  testClassifyRows(microsoftDestination, rows);

  it('names each refused event, its property and message, and the trace id', () => {
    const out = microsoftDestination.classify({
      status: 400,
      headers: {},
      body: msError(0, 'ValidationError', [{ index: 3, propertyName: 'customData.transactionId', errorMessage: 'transactionId is required' }]),
    });
    expect(out).toEqual({ kind: 'dead', reason: expect.stringMatching(/ValidationError.*event 3 customData\.transactionId: transactionId is required.*trace-1/) });
  });
});
