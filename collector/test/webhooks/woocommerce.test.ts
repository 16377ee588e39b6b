// WooCommerce order webhooks, signed as WooCommerce core signs them: base64 HMAC-SHA256 of
// the body with the webhook secret (after wp_specialchars_decode).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import { hashUserData } from '../../src/pipeline/hash-user-data.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

// As stored by WordPress (escaped); WooCommerce signs with the decoded form.
const STORED_SECRET = 'wc_s3cr3t&amp;pepper_2026';
const SIGNING_SECRET = 'wc_s3cr3t&pepper_2026';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sign = (body: string, secret = SIGNING_SECRET) => createHmac('sha256', secret).update(body, 'utf8').digest('base64');

let srv: WebhookTestServer;
beforeAll(async () => {
  srv = await startWebhookServer({ woocommerce: { secret: STORED_SECRET } });
});
afterAll(() => srv.close());

function deliver(body: string, topic = 'order.updated', opts: { secret?: string; deliveryId?: string } = {}) {
  const [resource, event] = topic.split('.');
  return srv.post(`/webhooks/woocommerce/${SITE}`, body, {
    'user-agent': 'WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)',
    'x-wc-webhook-source': 'https://loja.example.org/',
    'x-wc-webhook-topic': topic,
    'x-wc-webhook-resource': resource!,
    'x-wc-webhook-event': event!,
    'x-wc-webhook-id': '12',
    'x-wc-webhook-delivery-id': opts.deliveryId ?? randomBytes(16).toString('hex'),
    'x-wc-webhook-signature': sign(body, opts.secret),
  });
}

function order(over: Record<string, unknown> = {}) {
  const { json } = fixture('woocommerce', 'order-processing');
  const id = 10_000 + Math.floor(Math.random() * 1e8);
  return { id: String(id), body: JSON.stringify({ ...json, id, ...over }) };
}

describe('POST /webhooks/woocommerce/:site', () => {
  let before: number;
  beforeEach(async () => {
    before = (await srv.events()).length;
  });

  it('answers the unsigned activation ping with 200 and stores nothing', async () => {
    const res = await srv.post(`/webhooks/woocommerce/${SITE}`, 'webhook_id=12', {
      'content-type': 'application/x-www-form-urlencoded',
      'x-wc-webhook-source': 'https://loja.example.org/',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, ping: true });
    expect((await srv.events()).length).toBe(before);
  });

  it('turns a processing order into a Purchase with its IP, user agent, order meta ids and attribution landing page', async () => {
    const { raw } = fixture('woocommerce', 'order-processing');
    const res = await deliver(raw, 'order.created');
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', '4821');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const e = (await srv.event(eventId))!.event;
    expect(e).toMatchObject({
      source: 'webhook:woocommerce',
      event_time: Date.UTC(2026, 2, 10, 14, 21, 2) / 1000,
      ip: '2001:db8:4f2::7',
      user_agent: expect.stringContaining('Pixel 8'),
      url: 'https://loja.example.org/produto/kit-cafe/?utm_source=google&gclid=Cj0KCQjw_wc_gclid',
      custom: {
        value: 144.5,
        currency: 'BRL',
        order_id: '4821',
        content_ids: ['93'],
        contents: [{ id: '93', quantity: 2, item_price: 64.75, title: 'Kit café - Grande' }],
        num_items: 2,
        status: 'processing',
      },
      ids: {
        fbp: 'fb.2.1741616400000.1357924680',
        fbc: 'fb.2.1741616400000.IwAR_wc_click',
        visitor_id: 'a4e5c6d7-8f90-4a1b-9c2d-3e4f5a6b7c8d',
        gclid: 'Cj0KCQjw_wc_gclid',
      },
    });
    expect(e.user).toMatchObject({
      em: sha256('joao.pereira@example.org'),
      ph: sha256('5531998765432'),
      ...hashUserData({ first_name: 'João', last_name: 'Pereira', city: 'Belo Horizonte', state: 'MG', zip: '30130-010', country: 'BR' }, { defaultCountry: 'BR' }),
    });
    expect(JSON.stringify(e)).not.toMatch(/joao|pereira|99876|flores/i);
  });

  it('accepts the secret as stored (escaped) too', async () => {
    const a = order();
    expect((await deliver(a.body, 'order.created', { secret: STORED_SECRET })).status).toBe(200);
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('refuses forged and unsigned deliveries with 401 and leaves no trace', async () => {
    const a = order();
    const forged = await deliver(a.body, 'order.created', { secret: 'not-the-secret-at-all' });
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({ error: { code: 'invalid_signature' } });
    const unsigned = await srv.post(`/webhooks/woocommerce/${SITE}`, a.body, { 'x-wc-webhook-topic': 'order.created' });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatchObject({ error: { code: 'missing_signature' } });
    expect((await srv.events()).length).toBe(before);
  });

  it('is idempotent across a replayed delivery and later order.updated saves of the same order', async () => {
    const a = order();
    const deliveryId = randomBytes(16).toString('hex');
    expect((await deliver(a.body, 'order.created', { deliveryId })).status).toBe(200);
    const replay = await deliver(a.body, 'order.created', { deliveryId });
    expect(replay.body).toEqual({ duplicate: true, delivery_id: deliveryId });
    const completed = await deliver(JSON.stringify({ ...JSON.parse(a.body), status: 'completed' }));
    expect(completed.body).toMatchObject({ accepted: [{ event_id: orderEventId(SITE, 'Purchase', a.id), duplicate: true }] });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('records each refund of the order once, by refund id', async () => {
    const a = order({ status: 'refunded', refunds: [{ id: 4830, reason: 'Produto com defeito', total: '-64.75' }] });
    const r = await deliver(a.body);
    expect(r.status).toBe(200);
    const refundId = orderEventId(SITE, 'Refund', '4830');
    expect(r.body).toEqual({ accepted: [{ event_id: refundId, event_name: 'Refund', duplicate: false }] });
    expect((await srv.event(refundId))!.event.custom).toMatchObject({ value: 64.75, currency: 'BRL', order_id: a.id });
    // The next save of the order repeats the refunds list: nothing new.
    const again = await deliver(a.body);
    expect(again.body).toMatchObject({ accepted: [{ event_id: refundId, duplicate: true }] });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('ignores unpaid orders and answers malformed bodies with 400', async () => {
    const pending = await deliver(order({ status: 'pending' }).body, 'order.created');
    expect(pending.status).toBe(200);
    expect(pending.body).toHaveProperty('ignored');
    const notJson = await deliver('{"id": 4821,');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: 'invalid_json' } });
    const noTotal = await deliver(order({ total: null, currency: 'reais' }).body);
    expect(noTotal.status).toBe(400);
    expect(noTotal.body).toMatchObject({
      error: { code: 'invalid_payload', fields: [{ field: 'total' }, { field: 'currency' }] },
    });
    expect((await srv.events()).length).toBe(before);
  });
});
