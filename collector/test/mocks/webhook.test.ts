// The webhook receiver mock over real HTTP: it accepts what webhookDestination produces (a
// valid signature, idempotency headers, canonical events) and refuses forged, stale or
// malformed deliveries; a repeated delivery id is answered 200 and not recorded twice.
import { describe, expect, it, test } from 'vitest';
import type { DestinationRequest, Outcome } from '../../src/destinations/types.js';
import { webhookDestination, WebhookConfigSchema } from '../../src/destinations/webhook.js';
import { startWebhookMock } from '../../src/mocks/webhook.js';
import { signPayload } from '../../src/notify/signature.js';
import { makeEvent } from '../fixtures/events.js';
import { expectReceivedListed, send, serveForTests } from './mock-client.js';

const SECRET = 'whsec_mock_0123456789abcdef';

const mock = serveForTests(() => startWebhookMock({ secret: SECRET }));

const config = (extra: Record<string, unknown> = {}) =>
  WebhookConfigSchema.parse({ type: 'webhook', url: `${mock.url}/hooks/trakvo`, secret: SECRET, ...extra });

/** A correctly signed delivery of `body`, with header overrides (null removes one). */
function delivery(body: string, id: string, overrides: Record<string, string | null> = {}, t = Math.floor(Date.now() / 1000)): DestinationRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-trakvo-signature': signPayload(SECRET, body, t),
    'x-trakvo-delivery-id': id,
    'idempotency-key': id,
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  return { method: 'POST', url: `${mock.url}/hooks/trakvo`, headers, body, eventIds: [] };
}

describe('webhook mock: accepts what the destination sends', () => {
  it('round trip, one event per request: every event recorded, found by event_id, parsed as canonical events', async () => {
    const events = [makeEvent(), makeEvent({ event_name: 'PageView', consent: { marketing: false, analytics: false } })];
    const { requests } = webhookDestination.map(events, config(), new Date());
    expect(requests).toHaveLength(2);
    for (const req of requests) {
      const res = await send(req);
      expect(res.status, res.body).toBe(200);
      expect(webhookDestination.classify(res)).toEqual({ kind: 'delivered' });
    }
    expect(mock.received.map((d) => d.deliveryId)).toEqual(events.map((e) => e.event_id));
    const all = mock.received.flatMap((d) => d.events);
    for (const e of events) expect(all.find((x) => x.event_id === e.event_id)).toEqual(e);
    expect(mock.received[0]).toMatchObject({ path: '/hooks/trakvo', batch: false, signature: expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/) });
  });

  it('round trip in batches: arrays recorded in order', async () => {
    const events = Array.from({ length: 5 }, (_, i) => makeEvent({ event_id: `b-${i}` }));
    const { requests } = webhookDestination.map(events, config({ batchSize: 2 }), new Date());
    for (const req of requests) expect(webhookDestination.classify(await send(req))).toEqual({ kind: 'delivered' });
    expect(mock.received.map((d) => d.events.map((e) => e.event_id))).toEqual([['b-0', 'b-1'], ['b-2', 'b-3'], ['b-4']]);
    expect(mock.received.every((d) => d.batch && d.deliveryId.startsWith('batch_'))).toBe(true);
  });

  it('a retried delivery is answered 200 and recorded once', async () => {
    const { requests } = webhookDestination.map([makeEvent()], config(), new Date());
    const first = await send(requests[0]!);
    const again = await send(requests[0]!);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(JSON.parse(again.body)).toMatchObject({ duplicate: true });
    expect(mock.received).toHaveLength(1);
    expect(mock.duplicates).toEqual([requests[0]!.eventIds[0]]);
  });
});

interface Violation {
  name: string;
  request: () => DestinationRequest;
  status: number;
  mentions: string;
  outcome: Outcome['kind'];
}

const eventBody = () => {
  const e = makeEvent();
  return { body: JSON.stringify(e), id: e.event_id };
};

const violations: Violation[] = [
  {
    name: 'no signature',
    request: () => {
      const { body, id } = eventBody();
      return delivery(body, id, { 'x-trakvo-signature': null });
    },
    status: 401,
    mentions: 'X-Trakvo-Signature',
    outcome: 'auth',
  },
  {
    name: 'signed with another secret',
    request: () => {
      const { body, id } = eventBody();
      return delivery(body, id, { 'x-trakvo-signature': signPayload('another-secret-0123456789', body, Math.floor(Date.now() / 1000)) });
    },
    status: 401,
    mentions: 'invalid',
    outcome: 'auth',
  },
  {
    name: 'body changed after signing',
    request: () => {
      const { body, id } = eventBody();
      const req = delivery(body, id);
      return { ...req, body: body.replace('"Purchase"', '"Lead"') };
    },
    status: 401,
    mentions: 'invalid',
    outcome: 'auth',
  },
  {
    name: 'stale signature (10 minutes old)',
    request: () => {
      const { body, id } = eventBody();
      return delivery(body, id, {}, Math.floor(Date.now() / 1000) - 600);
    },
    status: 401,
    mentions: 'stale',
    outcome: 'auth',
  },
  {
    name: 'not JSON content type',
    request: () => {
      const { body, id } = eventBody();
      return delivery(body, id, { 'content-type': 'text/plain' });
    },
    status: 415,
    mentions: 'Content-Type',
    outcome: 'dead',
  },
  {
    name: 'no delivery id',
    request: () => {
      const { body, id } = eventBody();
      return delivery(body, id, { 'x-trakvo-delivery-id': null });
    },
    status: 400,
    mentions: 'X-Trakvo-Delivery-Id',
    outcome: 'dead',
  },
  {
    name: 'Idempotency-Key differs from the delivery id',
    request: () => {
      const { body, id } = eventBody();
      return delivery(body, id, { 'idempotency-key': 'other' });
    },
    status: 400,
    mentions: 'Idempotency-Key',
    outcome: 'dead',
  },
  {
    name: 'delivery id is not the event id',
    request: () => {
      const { body } = eventBody();
      return delivery(body, 'some-other-id');
    },
    status: 400,
    mentions: 'event_id',
    outcome: 'dead',
  },
  {
    name: 'batch id without the batch_ prefix',
    request: () => delivery(JSON.stringify([makeEvent()]), 'abc'),
    status: 400,
    mentions: 'batch_',
    outcome: 'dead',
  },
  {
    name: 'body is not a canonical event (cleartext email)',
    request: () => {
      const e = { ...makeEvent(), user: { em: 'jane@example.com' } };
      return delivery(JSON.stringify(e), e.event_id);
    },
    status: 422,
    mentions: 'user.em',
    outcome: 'dead',
  },
  {
    name: 'one bad event in a batch',
    request: () => delivery(JSON.stringify([makeEvent(), { event_id: 'x' }]), 'batch_1'),
    status: 422,
    mentions: '[1].',
    outcome: 'dead',
  },
  { name: 'not JSON at all', request: () => delivery('event=1', 'x'), status: 400, mentions: 'not JSON', outcome: 'dead' },
];

describe('webhook mock: refuses forged, stale and malformed deliveries', () => {
  test.each(violations.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const res = await send(v.request());
    expect(res.status, res.body).toBe(v.status);
    expect((JSON.parse(res.body) as { error: string }).error).toContain(v.mentions);
    expect(mock.received).toHaveLength(0);
    expect(webhookDestination.classify(res).kind).toBe(v.outcome);
  });
});

describe('webhook mock: scripted responses', () => {
  it('answers 503 with Retry-After, then normally', async () => {
    mock.script([{ status: 503, body: 'maintenance', headers: { 'retry-after': '120' } }]);
    const { requests } = webhookDestination.map([makeEvent()], config(), new Date());
    expect(webhookDestination.classify(await send(requests[0]!))).toEqual({ kind: 'retry', reason: expect.any(String), afterMs: 120_000 });
    expect(mock.received).toHaveLength(0);
    expect(webhookDestination.classify(await send(requests[0]!))).toEqual({ kind: 'delivered' });
    expect(mock.received).toHaveLength(1);
  });

  it('reset() clears scripts, records and seen delivery ids; GET /_received lists what was recorded', async () => {
    const { requests } = webhookDestination.map([makeEvent()], config(), new Date());
    await send(requests[0]!);
    await expectReceivedListed(mock);
    mock.script([{ status: 500, body: 'down' }]);
    mock.reset();
    expect(mock.received).toHaveLength(0);
    const res = await send(requests[0]!);
    expect(JSON.parse(res.body)).toEqual({ received: 1 });
    expect(mock.received).toHaveLength(1);
  });
});
