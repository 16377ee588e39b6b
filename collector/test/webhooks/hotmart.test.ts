// Hotmart 2.0.0 purchase webhooks, authenticated as Hotmart does it: the account's hottok in
// the X-HOTMART-HOTTOK header (a shared secret, not a body signature).
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const HOTTOK = 'ysewXlAZI1iHdUFqC4ZcV1J5RLhiVe518471';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let srv: WebhookTestServer;
beforeAll(async () => {
  srv = await startWebhookServer({ hotmart: { hottok: HOTTOK } });
});
afterAll(() => srv.close());

/** `hottok: null` sends no header. */
const deliver = (body: string, hottok: string | null = HOTTOK) =>
  srv.post(`/webhooks/hotmart/${SITE}`, body, hottok === null ? {} : { 'x-hotmart-hottok': hottok });

/** The approved purchase under a new transaction and event id. */
function purchase(event = 'PURCHASE_APPROVED', over: Record<string, unknown> = {}) {
  const { json } = fixture('hotmart', 'purchase-approved');
  const data = json.data as Record<string, Record<string, unknown>>;
  const transaction = `HP${Math.floor(Math.random() * 1e14)}`;
  const body = { ...json, id: randomUUID(), event, data: { ...data, purchase: { ...data.purchase, transaction, ...over } } };
  return { transaction, id: body.id, body: JSON.stringify(body) };
}

describe('POST /webhooks/hotmart/:site', () => {
  let before: number;
  beforeEach(async () => {
    before = (await srv.events()).length;
  });

  it('turns PURCHASE_APPROVED into a Purchase keyed by the transaction code', async () => {
    const res = await deliver(fixture('hotmart', 'purchase-approved').raw);
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', 'HP16015479281022');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const e = (await srv.event(eventId))!.event;
    expect(e).toMatchObject({
      source: 'webhook:hotmart',
      event_time: 1773163790,
      ip: '203.0.113.88',
      ids: { visitor_id: '8b1f0c2d-3e4a-4f5b-9c6d-7e8f9a0b1c2d' },
      custom: {
        value: 297,
        currency: 'BRL',
        order_id: 'HP16015479281022',
        content_ids: ['3842716'],
        contents: [{ id: '3842716', quantity: 1, item_price: 297, title: 'Curso Barista em Casa' }],
        status: 'APPROVED',
      },
    });
    expect(e.user).toMatchObject({ em: sha256('carla.mendes@example.com'), ph: sha256('5521987651234'), fn: sha256('carla'), ln: sha256('mendes') });
    expect(JSON.stringify(e)).not.toMatch(/carla|mendes|00000000191/i);
  });

  it('accepts the hottok in the body when the header is absent (test postbacks)', async () => {
    const p = purchase();
    const withBodyToken = JSON.stringify({ ...JSON.parse(p.body), hottok: HOTTOK });
    expect((await deliver(withBodyToken, null)).status).toBe(200);
  });

  it('refuses a wrong or missing hottok with 401 and leaves no trace', async () => {
    const p = purchase();
    const wrong = await deliver(p.body, 'guessed-token-000000000000');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'invalid_token' } });
    const missing = await deliver(p.body, null);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'missing_token' } });
    const bodyWrong = await deliver(JSON.stringify({ ...JSON.parse(p.body), hottok: 'nope-nope-nope' }), null);
    expect(bodyWrong.status).toBe(401);
    expect((await srv.events()).length).toBe(before);
  });

  it('is idempotent: a re-sent event and PURCHASE_COMPLETE of the same transaction make one Purchase', async () => {
    const p = purchase();
    expect((await deliver(p.body)).status).toBe(200);
    expect((await deliver(p.body)).body).toEqual({ duplicate: true, delivery_id: p.id });
    const complete = JSON.stringify({ ...JSON.parse(p.body), id: randomUUID(), event: 'PURCHASE_COMPLETE' });
    expect((await deliver(complete)).body).toMatchObject({ accepted: [{ event_id: orderEventId(SITE, 'Purchase', p.transaction), duplicate: true }] });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('answers malformed bodies with 400 and ignores events that are not conversions', async () => {
    const notJson = await deliver('{"event":"PURCHASE_APPROVED",');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: 'invalid_json' } });
    const noTransaction = await deliver(purchase('PURCHASE_APPROVED', { transaction: null, price: { value: 'x' } }).body);
    expect(noTransaction.status).toBe(400);
    expect(noTransaction.body).toMatchObject({
      error: { code: 'invalid_payload', fields: [{ field: 'data.purchase.transaction' }, { field: 'data.purchase.price.value' }, { field: 'data.purchase.price.currency_value' }] },
    });
    const billet = await deliver(purchase('PURCHASE_BILLET_PRINTED').body);
    expect(billet.status).toBe(200);
    expect(billet.body).toHaveProperty('ignored');
    expect((await srv.events()).length).toBe(before);
  });

  it('records refunds and chargebacks as their own events', async () => {
    const p = purchase('PURCHASE_REFUNDED', { status: 'REFUNDED' });
    expect((await deliver(p.body)).status).toBe(200);
    expect((await srv.event(orderEventId(SITE, 'Refund', p.transaction)))!.event.custom).toMatchObject({ value: 297, currency: 'BRL', status: 'REFUNDED' });
    const c = purchase('PURCHASE_CHARGEBACK', { status: 'CHARGEBACK' });
    expect((await deliver(c.body)).status).toBe(200);
    expect((await srv.event(orderEventId(SITE, 'Chargeback', c.transaction)))!.event.event_name).toBe('Chargeback');
  });
});
