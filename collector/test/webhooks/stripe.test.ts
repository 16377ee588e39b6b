// Stripe events, signed as Stripe signs them: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256
// of "<t>.<raw body>">` with the endpoint secret, checked against a 300 s tolerance.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const SECRET = 'whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hex = (t: number, body: string, secret = SECRET) => createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
const nowSec = () => Math.floor(Date.now() / 1000);

let srv: WebhookTestServer;
beforeAll(async () => {
  srv = await startWebhookServer({ stripe: { secret: 'env:STRIPE_WEBHOOK_SECRET' } }, { STRIPE_WEBHOOK_SECRET: SECRET });
});
afterAll(() => srv.close());

function deliver(body: string, opts: { t?: number; secret?: string; header?: string } = {}) {
  const t = opts.t ?? nowSec();
  return srv.post(`/webhooks/stripe/${SITE}`, body, {
    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    'stripe-signature': opts.header ?? `t=${t},v1=${hex(t, body, opts.secret)}`,
  });
}

/** The completed-session fixture as a new event for a new order. */
function session(over: Record<string, unknown> = {}, eventOver: Record<string, unknown> = {}) {
  const { json } = fixture('stripe', 'checkout-session-completed');
  const obj = (json.data as { object: Record<string, unknown> }).object;
  const orderId = `A-${randomBytes(4).toString('hex')}`;
  const body = {
    ...json,
    id: `evt_${randomBytes(12).toString('hex')}`,
    created: nowSec(),
    data: { object: { ...obj, metadata: { ...(obj.metadata as object), order_id: orderId }, ...over } },
    ...eventOver,
  };
  return { orderId, eventId: body.id, body: JSON.stringify(body) };
}

describe('POST /webhooks/stripe/:site', () => {
  let before: number;
  beforeEach(async () => {
    before = (await srv.events()).length;
  });

  it('turns a paid checkout.session.completed into a Purchase (metadata order id, browser ids from metadata)', async () => {
    const { raw } = fixture('stripe', 'checkout-session-completed');
    const res = await deliver(raw);
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', 'A-20931');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const e = (await srv.event(eventId))!.event;
    expect(e).toMatchObject({
      source: 'webhook:stripe',
      event_time: 1773163865,
      ip: '198.51.100.77',
      user_agent: expect.stringContaining('Windows NT 10.0'),
      url: 'https://www.shop.com/checkout',
      custom: { value: 199, currency: 'BRL', order_id: 'A-20931', status: 'paid', extra: { checkout_session: 'cs_live_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ' } },
      ids: {
        fbp: 'fb.1.1773160000000.246813579',
        fbc: 'fb.1.1773160000000.IwAR_stripe_click',
        visitor_id: '5d0c8a1e-2f47-4b39-a6c2-9e8f7d6b5a41',
      },
    });
    expect(e.user).toMatchObject({
      em: sha256('ana.lima@example.net'),
      ph: sha256('5541988776655'),
      fn: sha256('ana'),
      ln: sha256('lima'),
      external_id: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(e.custom.contents).toBeUndefined(); // line items are not in the event and are not fetched
  });

  it('fires delayed methods on async_payment_succeeded, in whole units for zero-decimal currencies', async () => {
    const { raw } = fixture('stripe', 'async-payment-succeeded');
    const res = await deliver(raw);
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', 'cs_live_b9Y8x7W6v5U4t3S2r1QpOnMlKjIhGfEdCbA');
    expect((await srv.event(eventId))!.event.custom).toMatchObject({ value: 5000, currency: 'JPY' });
  });

  it('waits on an unpaid completed session and converts three-decimal currencies', async () => {
    const unpaid = session({ payment_status: 'unpaid' });
    const r = await deliver(unpaid.body);
    expect(r.status).toBe(200);
    expect(r.body).toHaveProperty('ignored');
    expect(await srv.event(orderEventId(SITE, 'Purchase', unpaid.orderId))).toBeNull();

    const kwd = session({ amount_total: 12345, currency: 'kwd' });
    expect((await deliver(kwd.body)).status).toBe(200);
    expect((await srv.event(orderEventId(SITE, 'Purchase', kwd.orderId)))!.event.custom).toMatchObject({ value: 12.345, currency: 'KWD' });
  });

  it('accepts a request where any v1 signature matches (secret roll)', async () => {
    const s = session();
    const t = nowSec();
    const res = await deliver(s.body, { header: `t=${t},v1=${hex(t, s.body, 'whsec_old_one_000000')},v1=${hex(t, s.body)},v0=deadbeef` });
    expect(res.status).toBe(200);
  });

  it('refuses forged, unsigned and malformed signature headers with 401 and leaves no trace', async () => {
    const s = session();
    for (const [headers, code] of [
      [{ 'stripe-signature': `t=${nowSec()},v1=${hex(nowSec(), s.body, 'whsec_attacker')}` }, 'invalid_signature'],
      [{ 'stripe-signature': `v1=${hex(nowSec(), s.body)}` }, 'invalid_signature'],
      [{ 'stripe-signature': `t=${nowSec()}` }, 'invalid_signature'],
      [{}, 'missing_signature'],
    ] as const) {
      const res = await srv.post(`/webhooks/stripe/${SITE}`, s.body, headers);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code } });
    }
    // A body changed after signing.
    const t = nowSec();
    const tampered = await deliver(s.body.replace('"amount_total":19900', '"amount_total":100'), { header: `t=${t},v1=${hex(t, s.body)}` });
    expect(tampered.status).toBe(401);
    expect((await srv.events()).length).toBe(before);
  });

  it('refuses a correctly signed but stale (or future) request with 401 and leaves no trace', async () => {
    const s = session();
    const old = await deliver(s.body, { t: nowSec() - 301 });
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: { code: 'stale_timestamp' } });
    const future = await deliver(s.body, { t: nowSec() + 600 });
    expect(future.status).toBe(401);
    expect((await srv.events()).length).toBe(before);
    expect(await srv.event(orderEventId(SITE, 'Purchase', s.orderId))).toBeNull();
    // Within the tolerance it is fine.
    expect((await deliver(s.body, { t: nowSec() - 290 })).status).toBe(200);
  });

  it('answers a replayed event (same evt_ id, Stripe retry) at once and makes one event per order', async () => {
    const s = session();
    expect((await deliver(s.body)).status).toBe(200);
    const retry = await deliver(s.body); // a retry is signed again with a new t
    expect(retry.body).toEqual({ duplicate: true, delivery_id: s.eventId });
    // The same order reported by another event (async_payment_succeeded after completed).
    const again = JSON.stringify({ ...JSON.parse(s.body), id: 'evt_other', type: 'checkout.session.async_payment_succeeded' });
    const r = await deliver(again);
    expect(r.body).toMatchObject({ accepted: [{ event_id: orderEventId(SITE, 'Purchase', s.orderId), duplicate: true }] });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('answers malformed bodies with 400 naming the field', async () => {
    const notJson = await deliver('{"id":"evt_1","type":');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: 'invalid_json' } });
    const noAmount = await deliver(session({ amount_total: null }).body);
    expect(noAmount.status).toBe(400);
    expect(noAmount.body).toMatchObject({ error: { code: 'invalid_payload', fields: [{ field: 'data.object.amount_total' }] } });
    const noObject = await deliver(JSON.stringify({ id: 'evt_x', type: 'checkout.session.completed', data: {} }));
    expect(noObject.status).toBe(400);
    expect((await srv.events()).length).toBe(before);
  });

  it('records refunds by refund id and disputes as Chargebacks', async () => {
    const refund = fixture('stripe', 'charge-refunded').raw;
    const r = await deliver(refund);
    expect(r.status).toBe(200);
    const refundId = orderEventId(SITE, 'Refund', 're_3QxZ1c2eZvKYlo2C1aBcDeFg');
    expect((await srv.event(refundId))!.event).toMatchObject({ event_name: 'Refund', custom: { value: 49.9, currency: 'BRL', order_id: 'A-20931' } });
    const dispute = fixture('stripe', 'dispute-created').raw;
    expect((await deliver(dispute)).status).toBe(200);
    const cb = (await srv.event(orderEventId(SITE, 'Chargeback', 'dp_1QxZ2d2eZvKYlo2C9hIjKlMn')))!.event;
    expect(cb.custom).toMatchObject({ value: 199, currency: 'BRL', order_id: 'pi_3QxYz92eZvKYlo2C0AbCdEfG', extra: { reason: 'fraudulent' } });
  });
});
