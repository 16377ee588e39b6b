// Cartpanda: no public webhook reference, so the receiver is the field mapping with defaults
// for both payload shapes integrators report; authenticated by the account's API token.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const TOKEN = 'cp_token_0123456789abcdef';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let srv: WebhookTestServer;
beforeAll(async () => {
  // The flat shape carries no currency: the site sets it.
  srv = await startWebhookServer({ cartpanda: { token: TOKEN, mapping: { defaultCurrency: 'brl' } } });
});
afterAll(() => srv.close());

const path = (query = `?token=${TOKEN}`) => `/webhooks/cartpanda/${SITE}${query}`;

function shopifyLike(id: number, over: Record<string, unknown> = {}) {
  const { json } = fixture('cartpanda', 'order-paid');
  return JSON.stringify({ ...json, order: { ...(json.order as object), id, ...over } });
}

describe('POST /webhooks/cartpanda/:site', () => {
  let before: number;
  beforeEach(async () => {
    before = (await srv.events()).length;
  });

  it('maps the Shopify-like order.paid shape (token in the URL)', async () => {
    const res = await srv.post(path(), fixture('cartpanda', 'order-paid').raw);
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', '918273');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const e = (await srv.event(eventId))!.event;
    expect(e).toMatchObject({
      source: 'webhook:cartpanda',
      event_time: Math.floor(Date.parse('2026-03-10T16:13:10-03:00') / 1000),
      ip: '203.0.113.201',
      user_agent: expect.stringContaining('iPhone'),
      url: 'https://checkout.example-store.com/orders/918273/thank-you',
      ids: { fbp: 'fb.1.1773160000000.192837465', visitor_id: 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b' },
      custom: { value: 187.8, currency: 'BRL', order_id: '918273', contents: [{ id: '4471', quantity: 2, item_price: 83.9, title: 'Café em grãos 1 kg' }], status: 'order.paid' },
    });
    expect(e.user).toMatchObject({ em: sha256('lucas.ferreira@example.com'), ph: sha256('5548991234567'), fn: sha256('lucas'), ln: sha256('ferreira') });
  });

  it('maps the flat shape (token in the body, phone in parts, currency from the config)', async () => {
    const res = await srv.post(path(''), fixture('cartpanda', 'order-paid-flat').raw);
    expect(res.status).toBe(200);
    const e = (await srv.event(orderEventId(SITE, 'Purchase', 'cp_8Hk2Lm9Qz')))!.event;
    expect(e.custom).toMatchObject({ value: 97, currency: 'BRL', order_id: 'cp_8Hk2Lm9Qz' });
    expect(e.user).toMatchObject({ em: sha256('paula.santos@example.com'), ph: sha256('5521998877665'), fn: sha256('paula'), ln: sha256('santos') });
  });

  it('accepts the token in a header too, and refuses a wrong or missing one with 401 leaving no trace', async () => {
    const body = shopifyLike(500_001);
    expect((await srv.post(path(''), body, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const before2 = (await srv.events()).length;
    const wrong = await srv.post(path('?token=cp_token_guess_000000'), shopifyLike(500_002));
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'invalid_token' } });
    const missing = await srv.post(path(''), shopifyLike(500_003));
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'missing_token' } });
    expect((await srv.events()).length).toBe(before2);
  });

  it('is idempotent on event kind + order id', async () => {
    const body = shopifyLike(600_001);
    expect((await srv.post(path(), body)).status).toBe(200);
    expect((await srv.post(path(), body)).body).toEqual({ duplicate: true, delivery_id: 'order.paid:600001' });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('answers malformed bodies with 400 naming the mapped field, and ignores unmapped events', async () => {
    const notJson = await srv.post(path(), '{"event":"order.paid"');
    expect(notJson.status).toBe(400);
    const noId = await srv.post(path(), JSON.stringify({ event: 'order.paid', order: { total_price: '10.00', currency: 'BRL' } }));
    expect(noId.status).toBe(400);
    expect(noId.body).toMatchObject({ error: { code: 'invalid_payload', fields: [{ field: 'order.id | order.hash' }] } });
    const created = await srv.post(path(), JSON.stringify({ event: 'order.created', order: { id: 1 } }));
    expect(created.status).toBe(200);
    expect(created.body).toHaveProperty('ignored');
    expect((await srv.events()).length).toBe(before);
  });
});
