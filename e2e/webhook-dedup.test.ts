// One purchase, two reports: real Chromium on the demo store sends the thank-you page's
// Purchase (event_id derived from the order id by t.js) and Shopify's orders/paid webhook for
// the same order is posted, signed, to the collector. Whichever arrives first, the mock Meta
// Graph API receives ONE event with that event_id, and the stored event carries the union
// of identities: the browser's fbp and the webhook's hashed phone and address.
import { createHmac, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SiteConfig } from '../collector/src/config/schema.js';
import { PRODUCTS, thankYouPage } from '../collector/src/demo/pages.js';
import type { DemoServer } from '../collector/src/demo/demo-server.js';
import { orderEventId } from '../collector/src/event/order-event-id.js';
import type { RunningMetaGraphMock } from '../collector/src/mocks/meta-graph.js';
import { siteWebhooks, WebhooksConfigSchema } from '../collector/src/webhooks/config.js';
import { webhookRouter } from '../collector/src/webhooks/routes.js';
import { captureBeacons } from './support/beacons.js';
import { launchBrowser } from './support/browser.js';
import { sha256 } from './support/hash.js';
import { startMetaDemo, type MetaDemo } from './support/meta-demo.js';
import { metaEventsWithId, waitForMetaEvent } from './support/meta-events.js';
import { waitFor } from './support/wait.js';

const PIXEL = '555000111';
const TOKEN = 'e2e-webhook-token';
const HOST = 'www.shop.test';
const SITE = 'demo';
const SHOPIFY_SECRET = 'shpss_e2e_0f1e2d3c4b5a69788796a5b4';
const PRODUCT = PRODUCTS[1]!; // Moedor manual, R$ 189.00

let stack: MetaDemo;
let mock: RunningMetaGraphMock;
let demo: DemoServer;
let browser: Browser;
let base: string;

/**
 * The webhook route on the demo app. Until createCollector mounts it itself, mount it next
 * to the collector with the collector's own context (same store, ingest and dispatcher).
 */
function mountWebhooks(): void {
  const ctx = demo.collector.ctx;
  const site = ctx.sites.get(SITE)!;
  if (siteWebhooks(site) === undefined) {
    (site as SiteConfig & { webhooks?: unknown }).webhooks = WebhooksConfigSchema.parse({ shopify: { secret: SHOPIFY_SECRET } });
  }
  const app = demo.server.listeners('request')[0] as Express;
  app.use('/t', webhookRouter(ctx));
  // The store's thank-you page at Shopify's checkout path. The page knows the email; phone
  // and address reach the collector only through the webhook.
  app.get('/checkouts/cn/:order/thank-you', (req, res) => {
    res.type('html').send(thankYouPage(SITE, PRODUCT, { id: String(req.params.order), email: 'comprador.e2e@example.com' }));
  });
}

/** Shopify's orders/paid payload for `orderId`, as a store with this checkout would send it. */
function shopifyOrder(orderId: string, checkoutUrl: string): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    id: Number(orderId),
    admin_graphql_api_id: `gid://shopify/Order/${orderId}`,
    browser_ip: '203.0.113.45',
    client_details: { browser_ip: '203.0.113.45', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Shopify-Checkout-Browser/1.0' },
    contact_email: 'Comprador.E2E@Example.com',
    created_at: now,
    processed_at: now,
    currency: 'BRL',
    email: 'Comprador.E2E@Example.com',
    financial_status: 'paid',
    name: '#1042',
    note_attributes: [],
    order_status_url: checkoutUrl,
    test: false,
    total_price: PRODUCT.price.toFixed(2),
    billing_address: {
      first_name: 'Helena',
      last_name: 'Rocha',
      address1: 'Rua Oscar Freire, 900',
      city: 'São Paulo',
      province_code: 'SP',
      zip: '01426-001',
      country_code: 'BR',
      phone: '+55 11 97654-3210',
    },
    customer: { id: 880011223344, email: 'Comprador.E2E@Example.com', first_name: 'Helena', last_name: 'Rocha' },
    line_items: [{ product_id: 7001, variant_id: 9001, sku: PRODUCT.id, title: PRODUCT.name, price: PRODUCT.price.toFixed(2), quantity: 1 }],
  });
}

async function postShopifyWebhook(body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${demo.url}/t/webhooks/shopify/${SITE}`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/paid',
      'x-shopify-shop-domain': 'demo-store.myshopify.com',
      'x-shopify-webhook-id': randomUUID(),
      'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(body, 'utf8').digest('base64'),
    },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Shopify's checkout thank-you page path for an order, on the demo store. */
const thankYouUrl = (orderId: string) => `${base}/checkouts/cn/${orderId}/thank-you`;

beforeAll(async () => {
  stack = await startMetaDemo({
    tmpPrefix: 'trakvo-e2e-webhooks-',
    pixelId: PIXEL,
    accessToken: TOKEN,
    demo: { extraHosts: [HOST], webhooks: { shopify: { secret: SHOPIFY_SECRET } } },
  });
  ({ mock, demo } = stack);
  base = `http://${HOST}:${demo.port}`;
  mountWebhooks();
  browser = await launchBrowser({ hostMap: [HOST] });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('browser Purchase + Shopify order webhook → one conversion at Meta', () => {
  let context: BrowserContext;
  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
  });

  async function expectOneConversionWithUnion(eventId: string, fbp: string): Promise<void> {
    // Let the dispatcher finish anything the second report could have queued.
    await demo.collector.dispatcher.drain();
    const atMeta = metaEventsWithId(mock, eventId);
    expect(atMeta).toHaveLength(1);
    expect(atMeta[0]).toMatchObject({ event_name: 'Purchase', action_source: 'website', custom_data: { value: PRODUCT.price, currency: 'BRL' } });

    const stored = (await demo.collector.store.getEvent(SITE, eventId))!;
    expect(stored.deliveries).toHaveLength(1);
    expect(stored.deliveries[0]!.status).toBe('delivered');
    const e = stored.event;
    expect(e.ids.fbp).toBe(fbp); // from the browser
    expect(e.user.em).toBe(sha256('comprador.e2e@example.com')); // both
    expect(e.user.ph).toBe(sha256('5511976543210')); // from the webhook
    expect(e.user.ct).toBeDefined(); // address, from the webhook
    expect(e.user.zp).toBeDefined();
    expect(e.user.ln).toBe(sha256('rocha'));
    expect(JSON.stringify(stored)).not.toMatch(/helena|rocha|97654|oscar/i);
  }

  it('browser first: the webhook enriches the delivered event and Meta sees the event_id once', async () => {
    const orderId = String(5_900_000_000_000 + Math.floor(Math.random() * 1e9));
    const eventId = orderEventId(SITE, 'Purchase', orderId);
    const page = await context.newPage();
    const beacons = captureBeacons(page);
    await page.goto(`${base}/product/${PRODUCT.id}`);
    const thankYou = thankYouUrl(orderId);
    await page.goto(thankYou);
    await waitFor(() => beacons.find((b) => b.n === 'Purchase' && b.i === eventId), 'the thank-you page Purchase with the order-derived id');
    const browserAtMeta = await waitForMetaEvent(mock, eventId, 'the browser Purchase at Meta');
    const fbp = (await context.cookies(base)).find((c) => c.name === '_fbp')!.value;
    expect(browserAtMeta.user_data.fbp).toBe(fbp);

    const res = await postShopifyWebhook(shopifyOrder(orderId, thankYou));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: true }] });

    await expectOneConversionWithUnion(eventId, fbp);
    expect(metaEventsWithId(mock, eventId)[0]!.event_source_url).toBe(thankYou);
  });

  it('webhook first: the browser’s later Purchase enriches the stored event and Meta sees the event_id once', async () => {
    const orderId = String(5_900_000_000_000 + Math.floor(Math.random() * 1e9));
    const eventId = orderEventId(SITE, 'Purchase', orderId);
    const page = await context.newPage();
    const beacons = captureBeacons(page);
    await page.goto(`${base}/product/${PRODUCT.id}`);
    const fbp = await waitFor(async () => (await context.cookies(base)).find((c) => c.name === '_fbp')?.value, '_fbp cookie');
    const thankYou = thankYouUrl(orderId);

    const res = await postShopifyWebhook(shopifyOrder(orderId, thankYou));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const webhookAtMeta = await waitForMetaEvent(mock, eventId, 'the webhook Purchase at Meta');
    // A valid `website` event: the order's status page and the checkout browser's UA.
    expect(webhookAtMeta).toMatchObject({ action_source: 'website', event_source_url: thankYou });
    expect(webhookAtMeta.user_data).toMatchObject({ ph: sha256('5511976543210'), client_ip_address: '203.0.113.45' });

    await page.goto(thankYou);
    await waitFor(() => beacons.find((b) => b.n === 'Purchase' && b.i === eventId), 'the thank-you page Purchase with the order-derived id');
    await waitFor(async () => ((await demo.collector.store.getEvent(SITE, eventId))?.event.ids.fbp ? true : undefined), 'the browser fbp merged');

    await expectOneConversionWithUnion(eventId, fbp);
  });
});
