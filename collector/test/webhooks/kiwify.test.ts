// Kiwify sales webhooks, signed as Kiwify signs them: `?signature=` = hex HMAC-SHA1 of the
// raw body keyed with the webhook's token.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const TOKEN = 'kw_tok_7Hq2Zp9Lm4Xv8Rb3';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sign = (body: string, token = TOKEN) => createHmac('sha1', token).update(body, 'utf8').digest('hex');

let srv: WebhookTestServer;
beforeAll(async () => {
  srv = await startWebhookServer({ kiwify: { token: TOKEN } });
});
afterAll(() => srv.close());

const deliver = (body: string, signature: string | null = sign(body)) =>
  srv.post(`/webhooks/kiwify/${SITE}${signature === null ? '' : `?signature=${signature}`}`, body);

function order(over: Record<string, unknown> = {}) {
  const { json } = fixture('kiwify', 'order-approved');
  const id = randomUUID();
  return { id, body: JSON.stringify({ ...json, order_id: id, ...over }) };
}

describe('POST /webhooks/kiwify/:site', () => {
  let before: number;
  beforeEach(async () => {
    before = (await srv.events()).length;
  });

  it('turns order_approved into a Purchase valued from Commissions.charge_amount (cents)', async () => {
    const { raw } = fixture('kiwify', 'order-approved');
    const res = await deliver(raw);
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', '0f6c1c24-7b5e-4a8f-9f3e-2b1d8c7a6e5f');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const e = (await srv.event(eventId))!.event;
    expect(e).toMatchObject({
      source: 'webhook:kiwify',
      ip: '198.51.100.140',
      ids: { visitor_id: 'c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f' },
      custom: { value: 97, currency: 'BRL', order_id: '0f6c1c24-7b5e-4a8f-9f3e-2b1d8c7a6e5f', content_ids: ['c8e2a1f0-5d3b-4e7a-9c1f-6b2d8e4a7f90'], status: 'paid' },
    });
    expect(e.user).toMatchObject({ em: sha256('rafael.costa@example.com'), ph: sha256('5511912345678'), fn: sha256('rafael'), ln: sha256('costa') });
  });

  it('accepts the wrapped {"order": …} form signed over the inner object', async () => {
    const o = order();
    const inner = JSON.parse(o.body) as Record<string, unknown>;
    const wrapped = JSON.stringify({ order: inner });
    const res = await deliver(wrapped, sign(JSON.stringify(inner)));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: [{ event_id: orderEventId(SITE, 'Purchase', o.id) }] });
  });

  it('refuses a forged, truncated or missing signature with 401 and leaves no trace', async () => {
    const o = order();
    for (const [sig, code] of [
      [sign(o.body, 'wrong-token-0000'), 'invalid_signature'],
      [sign(o.body).slice(0, 20), 'invalid_signature'],
      [sign(o.body).toUpperCase().replace(/[0-9]/g, 'F'), 'invalid_signature'],
      [null, 'missing_signature'],
    ] as const) {
      const res = await deliver(o.body, sig);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code } });
    }
    expect((await srv.events()).length).toBe(before);
  });

  it('is idempotent on order id + event type', async () => {
    const o = order();
    expect((await deliver(o.body)).status).toBe(200);
    expect((await deliver(o.body)).body).toEqual({ duplicate: true, delivery_id: `${o.id}:order_approved` });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('answers malformed bodies with 400 and ignores non-conversions', async () => {
    const notJson = await deliver('{"order_id": "x",');
    expect(notJson.status).toBe(400);
    const bad = await deliver(order({ order_id: null, Commissions: { charge_amount: 'noventa' } }).body);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_payload', fields: [{ field: 'order_id' }, { field: 'Commissions.charge_amount' }] } });
    const pix = await deliver(order({ webhook_event_type: 'pix_created', order_status: 'waiting_payment' }).body);
    expect(pix.status).toBe(200);
    expect(pix.body).toHaveProperty('ignored');
    expect((await srv.events()).length).toBe(before);
  });

  it('records refunds and chargebacks as their own events', async () => {
    const r = order({ webhook_event_type: 'order_refunded', order_status: 'refunded' });
    expect((await deliver(r.body)).status).toBe(200);
    expect((await srv.event(orderEventId(SITE, 'Refund', r.id)))!.event.custom).toMatchObject({ value: 97, currency: 'BRL' });
    const c = order({ webhook_event_type: 'chargeback', order_status: 'chargedback' });
    expect((await deliver(c.body)).status).toBe(200);
    expect(await srv.event(orderEventId(SITE, 'Chargeback', c.id))).not.toBeNull();
  });
});
