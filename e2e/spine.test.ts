// The spine end to end: real Chromium on the demo store (real HTTP, real SQLite) → collector
// → dispatcher → a local Graph API stand-in that enforces Meta's contract.
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DemoServer } from '../collector/src/demo/demo-server.js';
import type { RunningMetaGraphMock } from '../collector/src/mocks/meta-graph.js';
import { captureBeacons, waitForBeacon } from './support/beacons.js';
import { launchBrowser } from './support/browser.js';
import { waitForDelivery } from './support/deliveries.js';
import { sha256 } from './support/hash.js';
import { startMetaDemo, type MetaDemo } from './support/meta-demo.js';
import { metaEvents, metaEventsWithId, waitForMetaEvent } from './support/meta-events.js';

const PIXEL = '987654321';
const TOKEN = 'e2e-token';
const HOST = 'www.shop.test';

let stack: MetaDemo;
let mock: RunningMetaGraphMock;
let demo: DemoServer;
let browser: Browser;

beforeAll(async () => {
  stack = await startMetaDemo({ tmpPrefix: 'trakvo-e2e-', pixelId: PIXEL, accessToken: TOKEN, demo: { extraHosts: [HOST] } });
  ({ mock, demo } = stack);
  browser = await launchBrowser({ hostMap: [HOST] });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('browser → collector → Meta CAPI', () => {
  let context: BrowserContext;
  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
    mock.reset();
  });

  it('delivers PageView and a checkout Purchase with the page’s event_id, fbp, IP, UA and hashed email', async () => {
    const page = await context.newPage();
    const beacons = captureBeacons(page);
    const base = `http://${HOST}:${demo.port}`;
    await page.goto(`${base}/product/SKU-2`);
    const pageView = await waitForBeacon(beacons, 'PageView');

    await page.click('#checkout');
    await page.fill('input[name=email]', '  Buyer.One@Example.COM ');
    await page.fill('input[name=phone]', '(11) 98765-4321');
    await page.click('#pay');
    await page.waitForSelector('#order');
    const orderId = await page.textContent('#order');
    const purchase = await waitForBeacon(beacons, 'Purchase');

    const metaPurchase = await waitForMetaEvent(mock, purchase.i, 'Purchase at Meta');
    const metaPageView = await waitForMetaEvent(mock, pageView.i, 'PageView at Meta');

    const cookies = await context.cookies(base);
    const fbp = cookies.find((c) => c.name === '_fbp');
    expect(fbp?.value).toMatch(/^fb\.1\.\d{13}\.\d+$/);
    const userAgent = await page.evaluate(() => navigator.userAgent);

    for (const e of [metaPageView, metaPurchase]) {
      expect(e.action_source).toBe('website');
      expect(e.user_data.fbp).toBe(fbp!.value);
      expect(e.user_data.client_ip_address).toBe('127.0.0.1');
      expect(e.user_data.client_user_agent).toBe(userAgent);
      expect(e.event_time).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(e.event_time).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    }
    expect(metaPageView.event_name).toBe('PageView');
    expect(metaPageView.event_source_url).toBe(`${base}/product/SKU-2`);
    expect(metaPurchase.event_name).toBe('Purchase');
    expect(metaPurchase.user_data.em).toBe(sha256('buyer.one@example.com'));
    expect(metaPurchase.user_data.ph).toBe(sha256('5511987654321'));
    expect(JSON.stringify(mock.received)).not.toContain('Buyer.One');
    expect(metaPurchase.custom_data).toMatchObject({ value: 189, currency: 'BRL', order_id: orderId, content_ids: ['SKU-2'] });
    // Each event reached Meta exactly once.
    expect(metaEventsWithId(mock, purchase.i)).toHaveLength(1);

    // Nothing identifying was stored in clear text, and the delivery is recorded.
    const stored = await demo.collector.store.getEvent('demo', purchase.i);
    expect(stored).not.toBeNull();
    expect(JSON.stringify(stored)).not.toMatch(/buyer|98765/i);
  });

  it('window.trakvo() returns the event_id that Meta receives, also when called before t.js loaded', async () => {
    const page = await context.newPage();
    await page.goto(`http://${HOST}:${demo.port}/`);
    await page.waitForFunction(() => typeof (window as unknown as { trakvo: { q?: unknown } }).trakvo === 'function' && !(window as unknown as { trakvo: { q?: unknown[] } }).trakvo.q?.length);
    const id = await page.evaluate(() =>
      (window as unknown as { trakvo: (n: string, p: object) => string }).trakvo('Lead', { email: 'lead@example.com', form: 'newsletter' }),
    );
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const lead = await waitForMetaEvent(mock, id, 'Lead at Meta');
    expect(lead.event_name).toBe('Lead');
    expect(lead.user_data.em).toBe(sha256('lead@example.com'));
    expect(lead.custom_data).toMatchObject({ form: 'newsletter' });
  });

  it('sets long-lived first-party _fbp/_fbc/click-id cookies on the registrable domain', async () => {
    const page = await context.newPage();
    const beacons = captureBeacons(page);
    await page.goto(`http://${HOST}:${demo.port}/?fbclid=IwAR0aBcD_Ef-123&gclid=Cj0KCQ-test`);
    const pv = await waitForBeacon(beacons, 'PageView');
    const metaPv = await waitForMetaEvent(mock, pv.i, 'PageView at Meta');
    const cookies = await context.cookies(`http://${HOST}:${demo.port}`);
    const byName = new Map(cookies.map((c) => [c.name, c]));
    const fbc = byName.get('_fbc')!;
    expect(fbc.value).toMatch(/^fb\.1\.\d{13}\.IwAR0aBcD_Ef-123$/);
    expect(metaPv.user_data.fbc).toBe(fbc.value);
    for (const name of ['_fbp', '_fbc', '_tk_gclid']) {
      const c = byName.get(name)!;
      expect(c, name).toBeDefined();
      expect(c.domain).toBe('.shop.test');
      expect(c.path).toBe('/');
      expect(c.httpOnly).toBe(false);
      expect(c.secure).toBe(false); // plain http here; Secure is set on https (unit-tested)
      expect(c.sameSite).toBe('Lax');
      const days = (c.expires - Date.now() / 1000) / 86400;
      expect(days).toBeGreaterThan(399);
      expect(days).toBeLessThanOrEqual(400);
    }
    expect(byName.get('_tk_gclid')!.value).toBe('Cj0KCQ-test');

    // A later page without click ids keeps the same _fbp and _fbc.
    const before = { fbp: byName.get('_fbp')!.value, fbc: fbc.value };
    await page.goto(`http://${HOST}:${demo.port}/product/SKU-1`);
    const vc = await waitForBeacon(beacons, 'ViewContent');
    const metaVc = await waitForMetaEvent(mock, vc.i, 'ViewContent at Meta');
    expect(metaVc.user_data.fbp).toBe(before.fbp);
    expect(metaVc.user_data.fbc).toBe(before.fbc);
  });

  it('a Meta outage (500, then 200) still delivers the event exactly once', async () => {
    mock.script([{ status: 500, body: { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true } } }]);
    const page = await context.newPage();
    const beacons = captureBeacons(page);
    await page.goto(`http://${HOST}:${demo.port}/`);
    const pv = await waitForBeacon(beacons, 'PageView');
    await waitForMetaEvent(mock, pv.i, 'PageView at Meta after retry');
    const delivery = await waitForDelivery(demo.collector.store, 'demo', pv.i, 'delivered', 'delivery marked delivered');
    expect(delivery.last_status).toBe(200);
    expect(delivery.attempts).toBe(2);
    expect(metaEventsWithId(mock, pv.i)).toHaveLength(1);
  });

  it('without marketing consent (GPC) sets no ad cookies and sends nothing to Meta', async () => {
    const ctx = await browser.newContext({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
    try {
      const page = await ctx.newPage();
      const beacons = captureBeacons(page);
      const resp = page.waitForResponse((r) => new URL(r.url()).pathname === '/t/e');
      await page.goto(`http://${HOST}:${demo.port}/?fbclid=abc`);
      expect((await resp).status()).toBe(200);
      const pv = await waitForBeacon(beacons, 'PageView');
      const stored = await demo.collector.store.getEvent('demo', pv.i);
      expect(stored?.deliveries).toEqual([expect.objectContaining({ destination: 'meta', status: 'skipped', last_error: 'no marketing consent' })]);
      expect(stored?.event.ids).toEqual({});
      expect((await ctx.cookies()).map((c) => c.name)).not.toContain('_fbp');
      expect(metaEvents(mock).find((e) => e.event_id === pv.i)).toBeUndefined();
    } finally {
      await ctx.close();
    }
  });
});
