// The webhook route itself, through Shopify deliveries: routing errors, body limit, and the
// identity union with the browser (visitor signals, browser-first merge), consent.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../../src/event/schema.js';
import { orderEventId } from '../../src/event/order-event-id.js';
import { fixture, SITE, startWebhookServer, type WebhookTestServer } from './harness.js';

const SECRET = 'route-test-secret-0123456789';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sign = (body: string) => createHmac('sha256', SECRET).update(body, 'utf8').digest('base64');

let srv: WebhookTestServer;
beforeAll(async () => {
  srv = await startWebhookServer({ shopify: { secret: SECRET } });
});
afterAll(() => srv.close());

function deliver(body: string, site = SITE, platform = 'shopify') {
  return srv.post(`/webhooks/${platform}/${site}`, body, {
    'x-shopify-topic': 'orders/paid',
    'x-shopify-webhook-id': randomUUID(),
    'x-shopify-hmac-sha256': sign(body),
  });
}

/** A paid order with a fresh id; `strip` removes the browser context Shopify may lack. */
function order(over: Record<string, unknown> = {}, strip = false) {
  const { json } = fixture('shopify', 'order-paid');
  const id = String(7_000_000_000_000 + Math.floor(Math.random() * 1e9));
  const base: Record<string, unknown> = { ...json, id: Number(id) };
  if (strip) {
    for (const k of ['browser_ip', 'client_details', 'order_status_url', 'landing_site', 'referring_site']) delete base[k];
  }
  return { id, body: JSON.stringify({ ...base, ...over }) };
}

describe('webhook routing', () => {
  it('404s unknown platforms, unknown sites and platforms the site has not configured, before reading the body', async () => {
    const a = order();
    const unknownPlatform = await deliver(a.body, SITE, 'magento');
    expect(unknownPlatform.status).toBe(404);
    expect(unknownPlatform.body).toMatchObject({ error: { code: 'unknown_platform' } });
    const unknownSite = await deliver(a.body, 'nope');
    expect(unknownSite.status).toBe(404);
    expect(unknownSite.body).toMatchObject({ error: { code: 'unknown_site' } });
    const notConfigured = await deliver(a.body, SITE, 'stripe');
    expect(notConfigured.status).toBe(404);
    expect(notConfigured.body).toMatchObject({ error: { code: 'webhook_not_configured' } });
    // Prototype keys are not platforms.
    expect((await deliver(a.body, SITE, 'constructor')).status).toBe(404);
    expect((await srv.events()).length).toBe(0);
  });

  it('refuses bodies over the limit with 413', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(2.5 * 1024 * 1024) });
    const res = await deliver(big);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: 'payload_too_large' } });
  });
});

describe('identity union with the browser', () => {
  it('fills what the order lacks from the visitor’s latest browser signals (visitor id in cart attributes)', async () => {
    const vid = randomUUID();
    await srv.store.upsertVisitorSignals(
      SITE,
      vid,
      {
        ids: { fbp: 'fb.1.1741000000000.987654321', fbc: 'fb.1.1741000000000.IwAR_from_ad', gclid: 'Cj0KCQ_from_google', visitor_id: vid },
        ip: '198.51.100.23',
        user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148',
        url: 'https://www.shop.com/products/cafe',
      },
      Date.now(),
    );
    const a = order({ note_attributes: [{ name: '_tk_vid', value: vid }] }, true);
    const res = await deliver(a.body);
    expect(res.status).toBe(200);
    const stored = (await srv.event(orderEventId(SITE, 'Purchase', a.id)))!.event;
    expect(stored.ids).toEqual({
      visitor_id: vid,
      fbp: 'fb.1.1741000000000.987654321',
      fbc: 'fb.1.1741000000000.IwAR_from_ad',
      gclid: 'Cj0KCQ_from_google',
    });
    expect(stored).toMatchObject({
      ip: '198.51.100.23',
      user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148',
      url: 'https://www.shop.com/products/cafe',
    });
    expect(stored.user.em).toBe(sha256('maria.souza@example.com'));
  });

  it('keeps the order’s own values over the signals', async () => {
    const vid = randomUUID();
    await srv.store.upsertVisitorSignals(SITE, vid, { ids: { fbp: 'fb.1.1741000000000.111' }, ip: '198.51.100.99' }, Date.now());
    const a = order({ note_attributes: [{ name: '_tk_vid', value: vid }, { name: '_fbp', value: 'fb.1.1741620000000.222' }] });
    expect((await deliver(a.body)).status).toBe(200);
    const stored = (await srv.event(orderEventId(SITE, 'Purchase', a.id)))!.event;
    expect(stored.ids.fbp).toBe('fb.1.1741620000000.222');
    expect(stored.ip).toBe('203.0.113.45');
  });

  it('merges the webhook’s identity into the browser’s Purchase of the same order (browser first)', async () => {
    const a = order({}, true);
    const eventId = orderEventId(SITE, 'Purchase', a.id);
    const browser: CanonicalEvent = {
      event_id: eventId,
      event_name: 'Purchase',
      event_time: Math.floor(Date.now() / 1000) - 5,
      site_id: SITE,
      source: 'browser',
      url: 'https://www.shop.com/thank-you',
      ip: '192.0.2.10',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0',
      user: { em: sha256('maria.souza@example.com') },
      ids: { fbp: 'fb.1.1741620000000.555', visitor_id: randomUUID() },
      custom: { value: 229.4, currency: 'BRL', order_id: a.id },
      consent: { marketing: true, analytics: true },
    };
    await srv.store.insertEvents([{ event: browser, destinations: ['meta'] }]);

    const res = await deliver(a.body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: true }] });

    const stored = await srv.event(eventId);
    expect(stored!.deliveries).toHaveLength(1);
    const e = stored!.event;
    // The browser's fields stay; the webhook's fill the gaps.
    expect(e.source).toBe('browser');
    expect(e.ip).toBe('192.0.2.10');
    expect(e.url).toBe('https://www.shop.com/thank-you');
    expect(e.ids.fbp).toBe('fb.1.1741620000000.555');
    expect(e.user).toMatchObject({ em: sha256('maria.souza@example.com'), ph: sha256('5511987654321'), fn: sha256('maria') });
    expect(e.user.ct).toBeDefined();
    expect(e.user.zp).toBeDefined();
  });

  it('keeps nothing identifying when the order carries the page’s marketing opt-out', async () => {
    const a = order({ note_attributes: [{ name: '_fbp', value: 'fb.1.1741620000000.1' }, { name: '_tk_consent', value: 'denied' }] });
    expect((await deliver(a.body)).status).toBe(200);
    const stored = await srv.event(orderEventId(SITE, 'Purchase', a.id));
    expect(stored!.event).toMatchObject({ user: {}, ids: {}, consent: { marketing: false } });
    expect(stored!.event.ip).toBeUndefined();
    expect(stored!.deliveries.map((d) => d.status)).toEqual(['skipped']);
  });
});
