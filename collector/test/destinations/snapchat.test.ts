// Snapchat Conversions API v3 destination. Mapping cases are data (fixtures/snapchat/*.json,
// expected bodies written by hand from Snap's docs and official v3 SDK schema) driven by one
// runner; classification is a table (VALID/INVALID answers, Test Event Tool logs, HTTP
// errors, Retry-After).
import { describe, expect, it, test } from 'vitest';
import { snapchatDestination, SnapchatConfigSchema } from '../../src/destinations/snapchat.js';
import { makeEvent } from '../fixtures/events.js';
import { describeMapFixtures, testClassifyRows, type ClassifyRow } from './fixture-runner.js';

describeMapFixtures({
  name: 'snapchatDestination',
  destination: snapchatDestination,
  platform: 'snapchat',
  minFixtures: 3,
  check: (result, events) => {
    // Snap takes the phone as digits with country code (`ph`); the E.164 hash is for others.
    for (const [i, e] of events.entries()) {
      if (e.user.ph_e164 !== undefined) for (const r of result.requests) expect(r.body, `event ${i}`).not.toContain(e.user.ph_e164);
    }
  },
});

describe('snapchatDestination.map (batching)', () => {
  it('splits 1,001 events into 1,000 + 1, in order', () => {
    const now = new Date('2026-08-01T12:00:00Z');
    const t = Math.floor(now.getTime() / 1000) - 60;
    const events = Array.from({ length: 1001 }, (_, i) => makeEvent({ event_id: `e-${i}`, event_time: t }));
    const config = SnapchatConfigSchema.parse({ type: 'snapchat', pixelId: 'px-1', accessToken: 'secret-xyz' });

    const { requests, skipped } = snapchatDestination.map(events, config, now);

    expect(skipped).toEqual([]);
    expect(requests.map((r) => r.eventIds.length)).toEqual([1000, 1]);
    expect(requests[1]!.eventIds).toEqual(['e-1000']);
    for (const r of requests) {
      expect(r.url).toBe('https://tr.snapchat.com/v3/px-1/events?access_token=secret-xyz');
      expect(r.body).not.toContain('secret-xyz');
    }
  });

  it('makes no request for no events', () => {
    const config = SnapchatConfigSchema.parse({ type: 'snapchat', pixelId: 'px-1', accessToken: 't' });
    expect(snapchatDestination.map([], config, new Date())).toEqual({ requests: [], skipped: [] });
  });
});

describe('SnapchatConfigSchema', () => {
  it('fills defaults', () => {
    expect(SnapchatConfigSchema.parse({ type: 'snapchat', pixelId: '4a018335-717f-41dd-a66e-58eb2473aa61', accessToken: 't' })).toEqual({
      type: 'snapchat',
      pixelId: '4a018335-717f-41dd-a66e-58eb2473aa61',
      accessToken: 't',
      baseUrl: 'https://tr.snapchat.com',
      validate: false,
    });
  });

  test.each([
    ['pixel id with a slash', { pixelId: 'px/1' }],
    ['empty token', { accessToken: '' }],
    ['base URL not a URL', { baseUrl: 'tr.snapchat.com' }],
    ['a name Snap does not have', { eventNames: { Lead: 'LEAD' } }],
  ])('rejects %s', (_name, patch) => {
    const r = SnapchatConfigSchema.safeParse({ type: 'snapchat', pixelId: 'px-1', accessToken: 't', ...patch });
    expect(r.success).toBe(false);
  });

  it('limits: 1,000 events per request, 37 days of age', () => {
    expect(snapchatDestination.type).toBe('snapchat');
    expect(snapchatDestination.maxBatch).toBe(1000);
    expect(snapchatDestination.maxEventAgeSec).toBe(37 * 24 * 3600);
  });
});

// ───────────────────────────────── classify ─────────────────────────────────


const reason = expect.any(String) as string;
const DATE = 'Sat, 01 Aug 2026 12:00:00 GMT';
const invalid = (msg: string) =>
  JSON.stringify({ status: 'INVALID', reason: 'Invalid request', errors: { codes: ['INVALID_PARAMETER'], error_msgs: [msg] } });
const logs = (statuses: string[]) =>
  JSON.stringify({
    status: statuses.every((s) => s === 'VALID') ? 'VALID' : 'INVALID',
    test_event: true,
    reason: '',
    event_logs: statuses.map((status, event) => ({
      event,
      status,
      errors: status === 'VALID' ? {} : { codes: ['MISSING_FIELD'], error_msgs: ['event_source_url is required for WEB'] },
      warnings: [],
    })),
  });

const rows: ClassifyRow[] = [
  // delivered
  ['200 VALID', 200, '{"status":"VALID","reason":"Request processed"}', {}, { kind: 'delivered' }],
  ['200 SUCCESS (older answers)', 200, '{"status":"SUCCESS","reason":"SUCCESS"}', {}, { kind: 'delivered' }],
  ['200 Test Event Tool, every event VALID', 200, logs(['VALID', 'VALID']), {}, { kind: 'delivered' }],
  // invalid events
  ['200 Test Event Tool, one event INVALID', 200, logs(['VALID', 'INVALID']), {}, { kind: 'dead', reason }],
  ['200 INVALID', 200, invalid('event_name is required'), {}, { kind: 'dead', reason }],
  ['400 INVALID', 400, invalid('user_data must contain em, ph, madid or client_ip_address with client_user_agent'), {}, { kind: 'dead', reason }],
  ['413 too large', 413, '', {}, { kind: 'dead', reason }],
  // auth
  ['401 INVALID token', 401, JSON.stringify({ status: 'INVALID', reason: 'Invalid access token' }), {}, { kind: 'auth', reason }],
  ['403 token not for this pixel', 403, JSON.stringify({ status: 'INVALID', reason: 'Forbidden' }), {}, { kind: 'auth', reason }],
  ['bare 401', 401, 'Unauthorized', {}, { kind: 'auth', reason }],
  // transient
  ['429', 429, '', {}, { kind: 'retry', reason }],
  ['500 FAILURE', 500, '{"status":"FAILURE","reason":"Internal error"}', {}, { kind: 'retry', reason }],
  ['502 html', 502, '<html>Bad Gateway</html>', {}, { kind: 'retry', reason }],
  ['408', 408, '', {}, { kind: 'retry', reason }],
  ['200 html (proxy page)', 200, '<html>captive portal</html>', {}, { kind: 'retry', reason }],
  ['200 JSON without status', 200, '{"ok":true}', {}, { kind: 'retry', reason }],
  // Retry-After
  ['429 Retry-After seconds', 429, '', { 'retry-after': '10' }, { kind: 'retry', reason, afterMs: 10_000 }],
  [
    '503 Retry-After HTTP date, from the Date header',
    503,
    '',
    { 'retry-after': 'Sat, 01 Aug 2026 12:05:00 GMT', date: DATE },
    { kind: 'retry', reason, afterMs: 300_000 },
  ],
  ['unparseable Retry-After is ignored', 503, '', { 'retry-after': 'soon' }, { kind: 'retry', reason }],
];

describe('snapchatDestination.classify', () => {
  testClassifyRows(snapchatDestination, rows);

  it('puts Snap’s reason, error codes and the failing event in the reason', () => {
    const a = snapchatDestination.classify({ status: 400, headers: {}, body: invalid('event_time is too old') });
    expect(a.kind === 'dead' ? a.reason : '').toContain('INVALID_PARAMETER: event_time is too old');
    const b = snapchatDestination.classify({ status: 200, headers: {}, body: logs(['VALID', 'INVALID']) });
    expect(b.kind === 'dead' ? b.reason : '').toContain('event 1: MISSING_FIELD: event_source_url is required for WEB');
  });
});
