// Cakto webhooks, authenticated as Cakto does it: the webhook's secret inside the JSON body.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderEventId } from '../../src/event/order-event-id.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const SECRET = '8402b43f-c839-4090-bbd1-186725d185c7';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let srv: WebhookTestServer;
beforeAll(async () => {
  srv = await startWebhookServer({ cakto: { secret: SECRET } });
});
afterAll(() => srv.close());

const deliver = (body: string) => srv.post(`/webhooks/cakto/${SITE}`, body, { 'user-agent': 'CaktoBot/1.0' });

function sale(over: { event?: string; secret?: string; data?: Record<string, unknown> } = {}) {
  const { json } = fixture('cakto', 'purchase-approved');
  const id = randomUUID();
  const body = { ...json, ...(over.event ? { event: over.event } : {}), ...(over.secret !== undefined ? { secret: over.secret } : {}), data: { ...(json.data as object), id, ...over.data } };
  return { id, body: JSON.stringify(body) };
}

describe('POST /webhooks/cakto/:site', () => {
  let before: number;
  beforeEach(async () => {
    before = (await srv.events()).length;
  });

  it('turns purchase_approved into a Purchase with Cakto’s own fbp/fbc and the visitor id from sck', async () => {
    const res = await deliver(fixture('cakto', 'purchase-approved').raw);
    expect(res.status).toBe(200);
    const eventId = orderEventId(SITE, 'Purchase', '81b408ee-2a91-427d-80bd-226cbeae1fa0');
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const e = (await srv.event(eventId))!.event;
    expect(e).toMatchObject({
      source: 'webhook:cakto',
      event_time: Math.floor(Date.parse('2026-03-10T11:39:57.113-03:00') / 1000),
      ids: { fbp: 'fb.1.1773150000000.864209753', fbc: 'fb.1.1773150000000.IwAR_cakto_click', visitor_id: 'e7f8a9b0-c1d2-4e3f-8a4b-5c6d7e8f9a0b' },
      custom: { value: 147, currency: 'BRL', order_id: '81b408ee-2a91-427d-80bd-226cbeae1fa0', content_ids: ['cd287b31-d4b7-4e94-858a-96e05ce2f4a2'], extra: { ref_id: 'AUAe5xK' } },
    });
    expect(e.user).toMatchObject({ em: sha256('beatriz.almeida@example.com'), ph: sha256('5534999887766'), fn: sha256('beatriz'), ln: sha256('almeida'), db: sha256('19910723') });
    expect(JSON.stringify(e)).not.toContain(SECRET);
  });

  it('refuses a wrong or missing secret with 401 and leaves no trace', async () => {
    const wrong = await deliver(sale({ secret: 'not-the-secret' }).body);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'invalid_secret' } });
    const { secret: _s, ...noSecret } = JSON.parse(sale().body) as Record<string, unknown>;
    const missing = await deliver(JSON.stringify(noSecret));
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'missing_secret' } });
    expect((await srv.events()).length).toBe(before);
  });

  it('is idempotent on event + order id', async () => {
    const s = sale();
    expect((await deliver(s.body)).status).toBe(200);
    expect((await deliver(s.body)).body).toEqual({ duplicate: true, delivery_id: `purchase_approved:${s.id}` });
    expect((await srv.events()).length).toBe(before + 1);
  });

  it('answers malformed bodies with 400 and ignores non-conversions', async () => {
    const notJson = await deliver('{"secret": "8402b43f-c839-4090-bbd1-186725d185c7", "event": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: 'invalid_json' } });
    const noAmount = await deliver(sale({ data: { amount: 'cento e quarenta' } }).body);
    expect(noAmount.status).toBe(400);
    expect(noAmount.body).toMatchObject({ error: { code: 'invalid_payload', fields: [{ field: 'data.amount' }] } });
    const abandoned = await deliver(sale({ event: 'checkout_abandonment' }).body);
    expect(abandoned.status).toBe(200);
    expect(abandoned.body).toHaveProperty('ignored');
    expect((await srv.events()).length).toBe(before);
  });

  it('converts each element of a Webhook V2 list, and refunds as Refund', async () => {
    const { json } = fixture('cakto', 'purchase-approved');
    const a = randomUUID();
    const b = randomUUID();
    const v2 = JSON.stringify({ ...json, data: [{ ...(json.data as object), id: a }, { ...(json.data as object), id: b, amount: 50 }] });
    const res = await deliver(v2);
    expect(res.status).toBe(200);
    expect((res.body.accepted as unknown[]).length).toBe(2);
    expect((await srv.event(orderEventId(SITE, 'Purchase', b)))!.event.custom.value).toBe(50);
    const refund = sale({ event: 'refund', data: { status: 'refunded' } });
    expect((await deliver(refund.body)).status).toBe(200);
    expect(await srv.event(orderEventId(SITE, 'Refund', refund.id))).not.toBeNull();
  });
});
