// The Shopify custom pixel end to end.
//
// 1. Deduplication: the pixel's Purchase (run in the Web Pixels emulation, its beacon posted
//    to a running demo collector over real HTTP with an allowed Origin) and Shopify's signed
//    orders/paid webhook for the same order reach the local Graph API stand-in as ONE event
//    with one event_id, whichever arrives first.
// 2. The sandbox, for real: the pixel in a real Chromium iframe sandboxed as Shopify's Lax
//    sandbox is (allow-scripts, no allow-same-origin), with browser.cookie answered by the
//    top frame. What reaches the network is what the emulation produces, and the request
//    carries `Origin: null`, no Referer and no cookies: why the collector needs the pixel
//    key and the cookie props (see collector/src/shopify/pixel-requests.ts).
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteConfig } from '../collector/src/config/schema.js';
import type { DemoServer } from '../collector/src/demo/demo-server.js';
import { orderEventId } from '../collector/src/event/order-event-id.js';
import { createLogger } from '../collector/src/log.js';
import type { RunningMetaGraphMock } from '../collector/src/mocks/meta-graph.js';
import { renderShopifyCustomPixel } from '../collector/src/shopify/custom-pixel.js';
import { siteWebhooks, WebhooksConfigSchema } from '../collector/src/webhooks/config.js';
import { webhookRouter } from '../collector/src/webhooks/routes.js';
import { pixelFixture, runCustomPixel, SHOP_COOKIES } from '../collector/test/shopify/harness.js';
import { launchBrowser } from './support/browser.js';
import { waitForDelivery } from './support/deliveries.js';
import { startMetaDemo, type MetaDemo } from './support/meta-demo.js';
import { metaEvents, type MetaServerEvent } from './support/meta-events.js';
import { waitFor } from './support/wait.js';

const PIXEL = '987654321';
const TOKEN = 'e2e-token';
const SITE = 'demo';
const SECRET = 'shpss_e2e_pixel_and_webhook_secret';
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

let stack: MetaDemo;
let mock: RunningMetaGraphMock;
let demo: DemoServer;

beforeAll(async () => {
  stack = await startMetaDemo({
    tmpPrefix: 'trakvo-e2e-shopify-',
    pixelId: PIXEL,
    accessToken: TOKEN,
    demo: { siteId: SITE, collector: { logger: createLogger('silent') } },
  });
  ({ mock, demo } = stack);
  // The site's Shopify webhook, attached the way SiteSchema's `webhooks` block will carry it.
  const site = demo.collector.ctx.sites.get(SITE)!;
  if (siteWebhooks(site)?.shopify === undefined) {
    (site as SiteConfig & { webhooks?: unknown }).webhooks = WebhooksConfigSchema.parse({ shopify: { secret: SECRET } });
  }
  // The webhook router, unless the collector already serves it.
  const probe = await fetch(`${demo.url}/t/webhooks/shopify/${SITE}`, { method: 'POST', body: '{}' });
  if (!(probe.headers.get('content-type') ?? '').includes('application/json')) {
    demo.collector.use(webhookRouter(demo.collector.ctx));
  }
});

afterAll(async () => {
  await stack?.close();
});

describe('custom-pixel Purchase + order webhook → one event at Meta', () => {
  const pixel = () => renderShopifyCustomPixel(demo.collector.ctx.sites.get(SITE)!, { endpoint: `${demo.url}/t` });
  const newOrderId = () => String(6_000_000_000_000 + Math.floor(Math.random() * 1e9));

  /** The thank-you page's beacon, produced by the pixel in the Web Pixels emulation. */
  async function pixelPurchase(orderId: string): Promise<string> {
    const runtime = runCustomPixel(pixel());
    const event = pixelFixture('checkout_completed');
    event.data.checkout.order.id = `gid://shopify/OrderIdentity/${orderId}`;
    event.timestamp = new Date().toISOString();
    await runtime.publish(event);
    expect(runtime.sent).toHaveLength(1);
    expect(runtime.sent[0]!.url).toBe(`${demo.url}/t/e`);
    return runtime.sent[0]!.body;
  }

  function postBeacon(body: string) {
    return fetch(`${demo.url}/t/e`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: `http://localhost:${demo.port}`, 'user-agent': UA },
    });
  }

  function postWebhook(orderId: string) {
    const order = JSON.parse(readFileSync(new URL('../collector/test/webhooks/fixtures/shopify/order-paid.json', import.meta.url), 'utf8'));
    const now = new Date().toISOString();
    const body = JSON.stringify({ ...order, id: Number(orderId), created_at: now, processed_at: now });
    return fetch(`${demo.url}/t/webhooks/shopify/${SITE}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/paid',
        'x-shopify-shop-domain': 'loja-demo.myshopify.com',
        'x-shopify-webhook-id': `wh-${orderId}`,
        'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body, 'utf8').digest('base64'),
      },
    });
  }

  async function expectOneMetaEvent(orderId: string): Promise<MetaServerEvent> {
    const eventId = orderEventId(SITE, 'Purchase', orderId);
    const delivered = await waitForDelivery(demo.collector.store, SITE, eventId, 'delivered', 'the Purchase delivered to Meta');
    expect(delivered.attempts).toBe(1);
    // Several dispatcher polls later, still one.
    await new Promise((r) => setTimeout(r, 600));
    const forOrder = metaEvents(mock).filter((e) => e.custom_data?.order_id === orderId || e.event_id === eventId);
    expect(forOrder).toHaveLength(1);
    expect(forOrder[0]).toMatchObject({ event_name: 'Purchase', event_id: eventId, custom_data: { value: 229.4, currency: 'BRL', order_id: orderId } });
    return forOrder[0]!;
  }

  it('the thank-you page first, then the webhook', async () => {
    const orderId = newOrderId();
    const eventId = orderEventId(SITE, 'Purchase', orderId);
    const beacon = await postBeacon(await pixelPurchase(orderId));
    expect(beacon.status).toBe(200);
    expect(await beacon.json()).toEqual({ accepted: [{ event_id: eventId, duplicate: false }] });

    const hook = await postWebhook(orderId);
    expect(hook.status).toBe(200);
    expect(await hook.json()).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: true }] });

    const meta = await expectOneMetaEvent(orderId);
    expect(meta.user_data.client_user_agent).toBe(UA);
    expect(JSON.stringify(mock.received)).not.toMatch(/Maria|Souza@|98765-4321|Paulista/);
  });

  it('the webhook first, then the thank-you page', async () => {
    const orderId = newOrderId();
    const eventId = orderEventId(SITE, 'Purchase', orderId);
    const hook = await postWebhook(orderId);
    expect(await hook.json()).toEqual({ accepted: [{ event_id: eventId, event_name: 'Purchase', duplicate: false }] });
    const beacon = await postBeacon(await pixelPurchase(orderId));
    expect(await beacon.json()).toEqual({ accepted: [{ event_id: eventId, duplicate: true }] });
    await expectOneMetaEvent(orderId);
  });
});

describe('the pixel in a real Lax-sandbox iframe (Chromium)', () => {
  let browser: Browser;
  let shop: Server;
  let port: number;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const COOKIES = { _fbp: SHOP_COOKIES._fbp!, _tk_vid: SHOP_COOKIES._tk_vid! };
  const HOST = 'www.shop.test';

  /** A JSON literal safe inside an inline <script>. */
  const inline = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

  // The Web Pixels globals inside the frame: browser.cookie asks the top frame, as Shopify's does.
  const RUNTIME = `
    var pending = {}, asked = 0, subscribers = {};
    addEventListener('message', function (e) {
      var d = e.data || {};
      if (d.cookieReply && pending[d.id]) { pending[d.id](d.value); delete pending[d.id]; }
    });
    window.analytics = { subscribe: function (name, cb) { (subscribers[name] = subscribers[name] || []).push(cb); return Promise.resolve(); } };
    window.browser = {
      cookie: { get: function (name) { return new Promise(function (resolve) { var id = ++asked; pending[id] = resolve; parent.postMessage({ cookieGet: name, id: id }, '*'); }); } },
      sendBeacon: function (url, body) { return Promise.resolve(navigator.sendBeacon(url, body)); }
    };
    window.api = { analytics: analytics, init: init, browser: browser, customerPrivacy: { subscribe: function () {} } };
    window.publish = function (event) { (subscribers[event.name] || []).forEach(function (cb) { cb(event); }); };`;

  const TOP_FRAME = `<!doctype html><title>shop</title>
    <iframe sandbox="allow-scripts allow-forms" src="/web-pixels/sandbox"></iframe>
    <script>
      addEventListener('message', function (e) {
        var d = e.data || {};
        if (d.cookieGet === undefined) return;
        var found = document.cookie.split('; ').filter(function (c) { return c.indexOf(d.cookieGet + '=') === 0; })[0];
        e.source.postMessage({ cookieReply: true, id: d.id, value: found ? found.slice(d.cookieGet.length + 1) : '' }, '*');
      });
    </script>`;

  beforeAll(async () => {
    const init = pixelFixture('init');
    shop = createServer((req, res) => {
      const script = renderShopifyCustomPixel({ id: SITE } as SiteConfig, { endpoint: `http://${HOST}:${port}/t` });
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString('utf8')));
        req.on('end', () => {
          received.push({ headers: req.headers, body });
          res.writeHead(204).end();
        });
        return;
      }
      if (req.url === '/') {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'set-cookie': Object.entries(COOKIES).map(([k, v]) => `${k}=${v}; Path=/; SameSite=Lax`),
        });
        res.end(TOP_FRAME);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><script>window.init = ${inline(init)};${RUNTIME}</script>
        <script>${script}</script>
        <script>publish(${inline(pixelFixture('checkout_completed'))});</script>`);
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    port = (shop.address() as AddressInfo).port;
    browser = await launchBrowser({ hostMap: [HOST] });
  });

  afterAll(async () => {
    await browser?.close();
    shop?.closeAllConnections();
    await new Promise((r) => shop?.close(r));
  });

  it('posts the emulation’s exact body, with Origin: null, no Referer and no cookies', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`http://${HOST}:${port}/`);
      const beacon = await waitFor(() => received[0], 'the pixel’s beacon');

      expect(beacon.headers.origin).toBe('null');
      expect(beacon.headers.referer).toBeUndefined();
      expect(beacon.headers.cookie).toBeUndefined();
      expect(beacon.headers['content-type']).toBe('text/plain;charset=UTF-8');

      const emulated = runCustomPixel(renderShopifyCustomPixel({ id: SITE } as SiteConfig, { endpoint: `http://${HOST}:${port}/t` }), { cookies: COOKIES });
      await emulated.publish(pixelFixture('checkout_completed'));
      expect(JSON.parse(beacon.body)).toEqual(emulated.wires()[0]);
      // The cookies came through browser.cookie, from the top frame.
      expect(JSON.parse(beacon.body).p).toMatchObject(COOKIES);
    } finally {
      await page.close();
    }
  });
});
