// The generic JSON receiver: the merchant's field mapping and either an HMAC signature header
// or a shared-secret header.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import type { WebhooksConfigInput } from '../../src/webhooks/config.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const SECRET = 'gen_secret_4b7d9f1e3a5c';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sign = (body: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

const mapping = {
  event: { path: 'type', map: { 'sale.approved': 'Purchase', 'sale.refunded': 'Refund' } },
  orderId: 'sale.code',
  eventIdFrom: 'refund.id',
  value: 'sale.total_cents',
  valueInMinorUnits: true,
  currency: 'sale.currency',
  eventTime: 'occurred_at',
  email: 'sale.buyer.email',
  phone: 'sale.buyer.phone',
  fullName: 'sale.buyer.name',
  city: 'sale.buyer.address.city',
  state: 'sale.buyer.address.state',
  zip: 'sale.buyer.address.zip',
  country: 'sale.buyer.address.country',
  ip: 'sale.browser.ip',
  userAgent: 'sale.browser.ua',
  url: 'sale.browser.page',
  attributes: 'sale.tracking',
  visitorId: 'sale.tracking.visitor',
  contents: { path: 'sale.items', id: 'sku', quantity: 'qty', price: 'unit_price', title: 'name' },
  deliveryId: 'delivery',
} satisfies NonNullable<WebhooksConfigInput['generic']>['mapping'];

function sale(code: string, over: Record<string, unknown> = {}) {
  const { json } = fixture('generic', 'sale');
  return JSON.stringify({ ...json, delivery: `dlv_${code}`, sale: { ...(json.sale as object), code }, ...over });
}

describe('POST /webhooks/generic/:site with an HMAC signature header', () => {
  let srv: WebhookTestServer;
  let before: number;
  beforeAll(async () => {
    srv = await startWebhookServer({
      generic: { secret: SECRET, header: 'X-Signature', signature: { algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' }, mapping },
    });
  });
  afterAll(() => srv.close());
  beforeEach(async () => {
    before = (await srv.events()).length;
  });
  const deliver = (body: string, signature = sign(body)) => srv.post(`/webhooks/generic/${SITE}`, body, { 'x-signature': signature });

  it('maps every configured field into a Purchase', async () => {
    const res = await deliver(fixture('generic', 'sale').raw);
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', 'V-88231');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const e = (await srv.event(eventId))!.event;
    expect(e).toMatchObject({
      source: 'webhook:generic',
      event_time: Date.UTC(2026, 2, 10, 12) / 1000,
      ip: '198.51.100.9',
      user_agent: 'Mozilla/5.0 (Macintosh) Firefox/135.0',
      url: 'https://store.example.org/thanks?gclid=Cj0_generic',
      ids: { fbp: 'fb.1.1773100000000.55555', visitor_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', gclid: 'Cj0_generic' },
      custom: {
        value: 259.9,
        currency: 'USD',
        order_id: 'V-88231',
        content_ids: ['MUG-01', 'BEAN-02'],
        num_items: 3,
      },
    });
    expect(e.user).toMatchObject({ em: sha256('sam.taylor@example.org'), ph: sha256('14155550142'), fn: sha256('sam'), ln: sha256('taylor') });
  });

  it('refuses a forged or missing signature with 401 and leaves no trace', async () => {
    const body = sale('V-1');
    expect((await deliver(body, sign(body, 'other-secret-000'))).status).toBe(401);
    expect((await deliver(body, sign(body).replace('sha256=', ''))).status).toBe(401);
    const missing = await srv.post(`/webhooks/generic/${SITE}`, body);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'missing_secret' } });
    expect((await srv.events()).length).toBe(before);
  });

  it('is idempotent on the mapped delivery id and the order-derived event id', async () => {
    const body = sale('V-2');
    expect((await deliver(body)).status).toBe(200);
    expect((await deliver(body)).body).toEqual({ duplicate: true, delivery_id: 'dlv_V-2' });
    const other = sale('V-2', { delivery: 'dlv_other' });
    expect((await deliver(other)).body).toMatchObject({ accepted: [{ duplicate: true }] });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('answers malformed bodies with 400 and derives refund ids from the mapped refund id', async () => {
    expect((await deliver('[1,2')).status).toBe(400);
    const noCode = await deliver(JSON.stringify({ type: 'sale.approved', sale: { total_cents: 'many' } }));
    expect(noCode.status).toBe(400);
    expect(noCode.body).toMatchObject({ error: { code: 'invalid_payload', fields: [{ field: 'sale.code' }, { field: 'sale.total_cents' }] } });
    expect((await srv.events()).length).toBe(before);
    const refund = sale('V-3', { type: 'sale.refunded', refund: { id: 'rf_991' } });
    expect((await deliver(refund)).status).toBe(200);
    expect(await srv.event(orderEventId(SITE, 'Refund', 'rf_991'))).not.toBeNull();
  });
});

describe('POST /webhooks/generic/:site with a shared-secret header', () => {
  let srv: WebhookTestServer;
  beforeAll(async () => {
    srv = await startWebhookServer({ generic: { secret: 'env:GENERIC_SECRET', mapping: { ...mapping, event: { name: 'Purchase' } } } }, { GENERIC_SECRET: SECRET });
  });
  afterAll(() => srv.close());

  it('accepts the secret in X-Webhook-Secret and refuses anything else', async () => {
    const body = sale('S-1');
    expect((await srv.post(`/webhooks/generic/${SITE}`, body, { 'x-webhook-secret': 'wrong-secret-xyz' })).status).toBe(401);
    expect((await srv.events()).length).toBe(0);
    const ok = await srv.post(`/webhooks/generic/${SITE}`, body, { 'x-webhook-secret': SECRET });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ accepted: [{ event_id: orderEventId(SITE, 'Purchase', 'S-1') }] });
  });
});
