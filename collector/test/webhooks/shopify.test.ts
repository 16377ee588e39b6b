// Shopify order webhooks over real HTTP into a real SQLite store, signed as Shopify signs
// them: base64 HMAC-SHA256 of the raw body with the app/webhook secret.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import { hashUserData } from '../../src/pipeline/hash-user-data.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const SECRET = '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';
const OLD_SECRET = 'shpss_old_secret_still_signing_00';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body, 'utf8').digest('base64');

let srv: WebhookTestServer;
beforeAll(async () => {
  srv = await startWebhookServer(
    { shopify: { secret: ['env:SHOPIFY_SECRET', 'env:SHOPIFY_OLD_SECRET'] } },
    { SHOPIFY_SECRET: SECRET, SHOPIFY_OLD_SECRET: OLD_SECRET },
  );
});
afterAll(() => srv.close());

function deliver(body: string, topic: string, opts: { secret?: string; webhookId?: string; signature?: string } = {}) {
  return srv.post(`/webhooks/shopify/${SITE}`, body, {
    'x-shopify-topic': topic,
    'x-shopify-shop-domain': 'loja-demo.myshopify.com',
    'x-shopify-api-version': '2026-01',
    'x-shopify-webhook-id': opts.webhookId ?? randomUUID(),
    'x-shopify-triggered-at': new Date().toISOString(),
    'x-shopify-hmac-sha256': opts.signature ?? sign(body, opts.secret),
  });
}

/** The same order under a fresh id, so tests do not see each other's events. */
function order(over: Record<string, unknown> = {}): { id: string; body: string } {
  const { json } = fixture('shopify', 'order-paid');
  const id = String(6_000_000_000_000 + Math.floor(Math.random() * 1e9));
  return { id, body: JSON.stringify({ ...json, id: Number(id), ...over }) };
}

describe('POST /webhooks/shopify/:site', () => {
  let before: number;
  beforeEach(async () => {
    before = (await srv.events()).length;
  });

  it('turns a signed orders/paid into a Purchase with the thank-you page’s event_id and hashed identity', async () => {
    const { raw } = fixture('shopify', 'order-paid');
    const res = await deliver(raw, 'orders/paid');
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', '6138412949673');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });

    const stored = (await srv.event(eventId))!.event;
    expect(stored).toMatchObject({
      event_name: 'Purchase',
      source: 'webhook:shopify',
      site_id: SITE,
      event_time: Math.floor(Date.parse('2026-03-10T14:31:05-03:00') / 1000),
      ip: '203.0.113.45',
      user_agent: expect.stringContaining('Safari/605.1.15'),
      url: 'https://loja.example.com.br/70881247/orders/bd5a8aa1ecd019dd3520ff791ee3a24c/authenticate?key=4e1f3b2c',
      referrer: 'https://l.facebook.com/',
      consent: { marketing: true, analytics: true },
    });
    expect(stored.custom).toMatchObject({
      value: 229.4,
      currency: 'BRL',
      order_id: '6138412949673',
      content_ids: ['632910392', '921728736'],
      content_type: 'product',
      num_items: 2,
      status: 'paid',
    });
    expect(stored.custom.contents).toEqual([
      { id: '632910392', quantity: 1, item_price: 39.9, title: 'Café especial 250 g', brand: 'Torrefação Demo' },
      { id: '921728736', quantity: 1, item_price: 169.5, title: 'Moedor manual', brand: 'Torrefação Demo' },
    ]);
    const expected = hashUserData(
      { city: 'São Paulo', state: 'SP', zip: '01310-100', country: 'BR', first_name: 'Maria', last_name: 'Souza', external_id: '7115310627314' },
      { defaultCountry: 'BR' },
    );
    expect(stored.user).toMatchObject({
      em: sha256('maria.souza@example.com'),
      ph: sha256('5511987654321'),
      ph_e164: sha256('+5511987654321'),
      ...expected,
    });
    expect(stored.ids).toEqual({
      fbp: 'fb.1.1741620000000.1122334455',
      visitor_id: '3f1c2a9e-5b7d-4c11-9e0f-2a6b8c4d1e7f',
      // From the landing page's fbclid, created at the order's time.
      fbc: `fb.1.${Date.parse('2026-03-10T14:31:05-03:00')}.IwAR2xYz_abc123`,
    });
    // No cleartext personal data was stored.
    expect(JSON.stringify(stored)).not.toMatch(/maria|souza|98765|paulista/i);
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('accepts the previous secret during a rotation and the un-prefixed header names', async () => {
    const a = order();
    const res = await deliver(a.body, 'orders/paid', { secret: OLD_SECRET });
    expect(res.status).toBe(200);
    const b = order();
    const res2 = await srv.post(`/webhooks/shopify/${SITE}`, b.body, {
      'shopify-topic': 'orders/paid',
      'shopify-webhook-id': randomUUID(),
      'shopify-hmac-sha256': sign(b.body),
    });
    expect(res2.status).toBe(200);
    expect((await srv.events()).length).toBe(before + 2);
  });

  it('refuses a forged signature, a tampered body and a missing signature with 401 and leaves no trace', async () => {
    const a = order();
    const forged = await deliver(a.body, 'orders/paid', { secret: 'shpss_attacker_guess_0000000000000' });
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({ error: { code: 'invalid_signature' } });

    const tampered = a.body.replace('"229.40"', '"1.00"');
    const t = await deliver(tampered, 'orders/paid', { signature: sign(a.body) });
    expect(t.status).toBe(401);

    const junk = await deliver(a.body, 'orders/paid', { signature: 'not base64 at all!' });
    expect(junk.status).toBe(401);

    const missing = await srv.post(`/webhooks/shopify/${SITE}`, a.body, { 'x-shopify-topic': 'orders/paid' });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'missing_signature' } });

    expect((await srv.events()).length).toBe(before);
    expect(await srv.event(orderEventId(SITE, 'Purchase', a.id))).toBeNull();
  });

  it('is idempotent: a retried delivery and a second topic for the same order make one event', async () => {
    const a = order();
    const webhookId = randomUUID();
    const first = await deliver(a.body, 'orders/paid', { webhookId });
    expect(first.status).toBe(200);
    const retry = await deliver(a.body, 'orders/paid', { webhookId });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ duplicate: true, delivery_id: webhookId });
    // orders/create of the same paid order: another delivery id, the same order-derived event.
    const other = await deliver(a.body, 'orders/create');
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ accepted: [{ event_id: orderEventId(SITE, 'Purchase', a.id), event_name: 'Purchase', duplicate: true }] });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('answers malformed bodies with 400 naming the problem, storing nothing', async () => {
    const notJson = '{"id": 1, "total_price": ';
    const r1 = await deliver(notJson, 'orders/paid');
    expect(r1.status).toBe(400);
    expect(r1.body).toMatchObject({ error: { code: 'invalid_json' } });

    const { json } = fixture('shopify', 'order-paid');
    const noId = JSON.stringify({ ...json, id: undefined, total_price: 'lots' });
    const r2 = await deliver(noId, 'orders/paid');
    expect(r2.status).toBe(400);
    expect(r2.body).toMatchObject({
      error: {
        code: 'invalid_payload',
        fields: [
          { field: 'id', message: expect.any(String) },
          { field: 'total_price', message: expect.any(String) },
        ],
      },
    });
    expect((await srv.events()).length).toBe(before);
  });

  it('ignores unpaid, test and cancelled orders and other topics with 200', async () => {
    for (const [over, topic] of [
      [{ financial_status: 'pending' }, 'orders/create'],
      [{ test: true }, 'orders/paid'],
      [{ cancelled_at: '2026-03-10T15:00:00-03:00' }, 'orders/updated'],
      [{}, 'products/update'],
    ] as const) {
      const res = await deliver(order(over).body, topic);
      expect(res.status).toBe(200);
      expect(res.body).toHaveProperty('ignored');
    }
    expect((await srv.events()).length).toBe(before);
  });

  it('records refunds/create as a Refund per refund id and disputes/create as a Chargeback', async () => {
    const refund = fixture('shopify', 'refund-create').raw;
    const r = await deliver(refund, 'refunds/create');
    expect(r.status).toBe(200);
    const refundId = orderEventId(SITE, 'Refund', '509562969');
    expect(r.body).toMatchObject({ accepted: [{ event_id: refundId, event_name: 'Refund' }] });
    expect((await srv.event(refundId))!.event).toMatchObject({
      source: 'webhook:shopify',
      custom: { value: 169.5, currency: 'BRL', order_id: '6138412949673', content_ids: ['921728736'] },
    });

    const dispute = fixture('shopify', 'dispute-create').raw;
    const d = await deliver(dispute, 'disputes/create');
    expect(d.status).toBe(200);
    const cbId = orderEventId(SITE, 'Chargeback', '598735659');
    expect((await srv.event(cbId))!.event).toMatchObject({
      event_name: 'Chargeback',
      custom: { value: 229.4, currency: 'BRL', order_id: '6138412949673', status: 'needs_response', extra: { reason: 'fraudulent' } },
    });
    expect((await srv.events()).length).toBe(before + 2);
  });
});
