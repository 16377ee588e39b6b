// Automatic event detection end to end: real Chromium on pages shaped like a Shopify Dawn
// store, a WooCommerce Storefront store, GA4 / UA dataLayer stores and a custom site
// (e2e/support/store-pages.ts), each loading its build of t.js from a REAL collector at /t,
// whose dispatcher delivers to the local Graph API stand-in that enforces Meta's contract.
// What is asserted is what reaches Meta: the events, their custom_data, and the event ids
// the page itself sent (read from its beacons).
//
// Each test's browser context has its own user agent, so the events of one visit are told
// apart at Meta by `user_data.client_user_agent` (and by the store's pixel id).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { orderEventId } from '../collector/src/event/order-event-id.js';
import { captureBeacons, type Wire } from './support/beacons.js';
import { launchBrowser } from './support/browser.js';
import { sha256 } from './support/hash.js';
import { metaEvents, type MetaServerEvent } from './support/meta-events.js';
import { STORE_HOSTS, STORES, startStorePages, type StoreName, type StorePages } from './support/store-pages.js';
import { waitFor } from './support/wait.js';

const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** How long nothing new must arrive before a visit counts as settled (a duplicate would have shown by then). */
const QUIET_MS = 800;

/** One visitor: a fresh browser context with its own user agent, and what its pages did. */
interface Visit {
  store: StoreName;
  context: BrowserContext;
  page: Page;
  userAgent: string;
  /** Every event the context's pages sent to the collector, in the order they were sent. */
  beacons: Wire[];
  /** Uncaught errors and unhandled rejections of its pages. */
  errors: string[];
}

let pages: StorePages;
let browser: Browser;
let dataDir: string;
let visitCount = 0;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'trakvo-e2e-auto-'));
  pages = await startStorePages({ dataDir, pollMs: 50 });
  browser = await launchBrowser({ hostMap: STORE_HOSTS });
});

afterEach(async () => {
  pages?.delayEvents(0);
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Opens `path` of `store` in a new browser context; `init` runs in every page before any page script. */
async function visit(store: StoreName, path: string, init?: string): Promise<Visit> {
  const userAgent = `${CHROME_UA} trakvo-e2e/${++visitCount}`;
  const context = await browser.newContext({ userAgent });
  contexts.push(context);
  if (init) await context.addInitScript({ content: init });
  const v: Visit = { store, context, page: undefined as unknown as Page, userAgent, beacons: captureBeacons(context), errors: [] };
  v.page = await context.newPage();
  v.page.on('pageerror', (err) => v.errors.push(err.message));
  await v.page.goto(pages.url(store, path));
  return v;
}

/** What Meta received from this visit: its store's pixel, its user agent. */
function atMeta(v: Visit): MetaServerEvent[] {
  return metaEvents(pages.meta, STORES[v.store].pixelId).filter((e) => e.user_data.client_user_agent === v.userAgent);
}

const names = (events: { n?: string; event_name?: string }[]) => events.map((e) => e.n ?? e.event_name ?? '?');
const sorted = (list: string[]) => [...list].sort();

/** True when `have` holds every name of `want`, as many times as `want` does. */
function holds(have: string[], want: string[]): boolean {
  const left = [...have];
  return want.every((n) => {
    const k = left.indexOf(n);
    if (k < 0) return false;
    left.splice(k, 1);
    return true;
  });
}

/** Waits until every event the visit's pages sent has reached Meta and nothing new has come for QUIET_MS. */
async function drained(v: Visit): Promise<MetaServerEvent[]> {
  let last = '';
  let since = Date.now();
  await waitFor(
    () => {
      const meta = atMeta(v);
      const allArrived = v.beacons.every((b) => meta.some((e) => e.event_id === b.i));
      const now = `${v.beacons.length}/${meta.length}`;
      if (now !== last || !allArrived) {
        last = now;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= QUIET_MS ? true : undefined;
    },
    `every beacon of the visit at Meta (${names(v.beacons).join(', ')} sent; ${names(atMeta(v)).join(', ')} at Meta)`,
  );
  return atMeta(v);
}

/**
 * Waits until the visit's pages have sent at least `expected` (names, repeats count) and all
 * of it has reached Meta (see `drained`); then checks that the pages sent and Meta got exactly
 * `expected`, each event under the id the page sent it with, and returns Meta's events.
 */
async function settled(v: Visit, expected: string[]): Promise<MetaServerEvent[]> {
  await waitFor(() => (holds(names(v.beacons), expected) ? true : undefined), `beacons ${expected.join(', ')} (got ${names(v.beacons).join(', ')})`);
  const meta = await drained(v);
  expect(sorted(names(meta)), 'the events at Meta').toEqual(sorted(expected));
  expect(sorted(names(v.beacons)), 'the events the page sent').toEqual(sorted(expected));
  for (const e of meta) {
    const beacon = v.beacons.find((b) => b.i === e.event_id);
    expect(beacon?.n, `Meta's ${e.event_name} carries the id the page sent`).toBe(e.event_name);
    expect(e.action_source).toBe('website');
  }
  return meta;
}

/** The one event named `name` at Meta, after checking there is exactly one. */
function one(meta: MetaServerEvent[], name: string): MetaServerEvent {
  const found = meta.filter((e) => e.event_name === name);
  expect(found, `exactly one ${name} at Meta`).toHaveLength(1);
  return found[0]!;
}

/** The page's own beacon for the one `name` event it sent. */
function beaconOf(v: Visit, name: string): Wire {
  const found = v.beacons.filter((b) => b.n === name);
  expect(found, `exactly one ${name} sent by the page`).toHaveLength(1);
  return found[0]!;
}

async function cookie(v: Visit, name: string): Promise<string | undefined> {
  return (await v.context.cookies(pages.origin(v.store))).find((c) => c.name === name)?.value;
}

const platformRequests = (v: Visit) => pages.platformRequests.filter((r) => r.userAgent === v.userAgent);

describe('Shopify, Dawn theme (t.shopify.js)', () => {
  const PRODUCT = '/products/trail-runner';
  const ITEM = '44000000000042';

  async function addWithDawn(page: Page, quantity: number): Promise<void> {
    const before = await page.evaluate(() => Number(document.body.dataset.added || 0));
    await page.fill('#Quantity-template--main', String(quantity));
    await page.click('#ProductSubmitButton-template--main');
    await page.waitForFunction((n) => Number(document.body.dataset.added || 0) > n, before);
  }

  it('product page: ViewContent with the selected variant; one AJAX add (no page load) is exactly one AddToCart at Meta; the cart gets the ids', async () => {
    const v = await visit('dawn', PRODUCT);
    await v.page.waitForFunction(() => customElements.get('product-form'));
    let meta = await settled(v, ['PageView', 'ViewContent']);
    const url = pages.url('dawn', PRODUCT);
    expect(one(meta, 'PageView').event_source_url).toBe(url);
    const view = one(meta, 'ViewContent');
    expect(view.event_id).toMatch(UUID_V4);
    expect(view.event_source_url).toBe(url);
    expect(view.custom_data).toStrictEqual({
      value: 54.9,
      currency: 'EUR',
      content_ids: [ITEM],
      contents: [{ id: ITEM, quantity: 1, item_price: 54.9 }],
      content_type: 'product',
      num_items: 1,
    });

    await addWithDawn(v.page, 2);
    meta = await settled(v, ['PageView', 'ViewContent', 'AddToCart']);
    const add = one(meta, 'AddToCart');
    expect(add.event_id).toBe(beaconOf(v, 'AddToCart').i);
    expect(add.custom_data).toStrictEqual({
      value: 109.8,
      currency: 'EUR',
      content_ids: [ITEM],
      contents: [{ id: ITEM, quantity: 2, item_price: 54.9 }],
      content_type: 'product',
      num_items: 2,
    });
    // The theme's request went through once, and no page load happened.
    expect(platformRequests(v).filter((r) => r.path === '/cart/add')).toHaveLength(1);
    expect(names(v.beacons).filter((n) => n === 'PageView')).toHaveLength(1);

    // After the add, the visitor's ids went into the cart attributes once, for the order
    // webhook: the same _fbp that Meta received with the browser events.
    const fbp = await cookie(v, '_fbp');
    expect(fbp).toMatch(/^fb\.1\.\d{13}\.\d+$/);
    expect(add.user_data.fbp).toBe(fbp);
    const updates = platformRequests(v).filter((r) => r.path === '/cart/update.js');
    expect(updates).toHaveLength(1);
    const attributes = new URLSearchParams(updates[0]!.body);
    expect(attributes.get('attributes[_fbp]')).toBe(fbp);
    expect(attributes.get('attributes[_tk_vid]')).toBe(await cookie(v, '_tk_vid'));
    expect(v.errors).toEqual([]);
  });

  it('a quick add by JSON to /cart/add.js is one AddToCart; one the store refuses (422 sold out) is none', async () => {
    const v = await visit('dawn', PRODUCT);
    await settled(v, ['PageView', 'ViewContent']);
    await v.page.click('#quick-add-sold-out');
    await v.page.waitForFunction(() => document.body.dataset.quick === '422');
    await v.page.click('#quick-add-socks');
    await v.page.waitForFunction(() => document.body.dataset.quick === '200');
    const meta = await settled(v, ['PageView', 'ViewContent', 'AddToCart']);
    expect(one(meta, 'AddToCart').custom_data).toStrictEqual({
      currency: 'EUR',
      content_ids: ['44000000000077'],
      contents: [{ id: '44000000000077', quantity: 2 }],
      content_type: 'product',
      num_items: 2,
    });
    expect(v.errors).toEqual([]);
  });

  it('cart page: "Check out" is one InitiateCheckout at Meta, and the buyer lands in the checkout', async () => {
    const v = await visit('dawn', '/cart');
    await settled(v, ['PageView']);
    await Promise.all([v.page.waitForURL('**/checkouts/cn/e2e'), v.page.click('#checkout')]);
    const meta = await settled(v, ['PageView', 'InitiateCheckout']);
    const checkout = one(meta, 'InitiateCheckout');
    expect(checkout.event_id).toBe(beaconOf(v, 'InitiateCheckout').i);
    expect(checkout.event_source_url).toBe(pages.url('dawn', '/cart'));
    expect(checkout.custom_data).toBeUndefined();
    // The cart form reached the store once.
    expect(platformRequests(v).filter((r) => r.method === 'POST' && r.path === '/cart')).toHaveLength(1);
    expect(v.errors).toEqual([]);
  });

  it('thank-you page (legacy order status, Shopify.checkout): one Purchase with the order-derived event_id, still one after a reload', async () => {
    const v = await visit('dawn', '/checkouts/c/a1b2c3/thank-you');
    let meta = await settled(v, ['PageView', 'Purchase']);
    const purchase = one(meta, 'Purchase');
    // The id Shopify's order webhook gets for order 5912345678901, so the two deduplicate.
    expect(purchase.event_id).toBe(orderEventId('dawn', 'Purchase', 5912345678901));
    expect(purchase.event_id).toBe(beaconOf(v, 'Purchase').i);
    expect(purchase.custom_data).toStrictEqual({
      value: 124.7,
      currency: 'EUR',
      order_id: '5912345678901',
      content_ids: ['44000000000042'],
      contents: [{ id: '44000000000042', quantity: 2, item_price: 54.9 }],
      content_type: 'product',
      num_items: 2,
    });

    await v.page.reload();
    meta = await settled(v, ['PageView', 'Purchase', 'PageView']);
    expect(meta.filter((e) => e.event_id === purchase.event_id)).toHaveLength(1);
    expect(v.errors).toEqual([]);
  });
});

describe('WooCommerce, Storefront theme (t.woo.js)', () => {
  it('single product page: ViewContent; the form.cart add (the page posts and reloads) is exactly one AddToCart at Meta', async () => {
    const v = await visit('woo', '/product/beanie/');
    let meta = await settled(v, ['PageView', 'ViewContent']);
    expect(one(meta, 'ViewContent').custom_data).toStrictEqual({
      value: 18,
      currency: 'EUR',
      content_ids: ['15'],
      contents: [{ id: '15', quantity: 1, item_price: 18 }],
      content_type: 'product',
      num_items: 1,
    });

    await v.page.fill('input.qty', '2');
    await Promise.all([v.page.waitForEvent('load'), v.page.click('button.single_add_to_cart_button')]);
    // The product page again, after the add: a new page, so a new PageView and ViewContent.
    meta = await settled(v, ['PageView', 'ViewContent', 'AddToCart', 'PageView', 'ViewContent']);
    const add = one(meta, 'AddToCart');
    expect(add.event_id).toBe(beaconOf(v, 'AddToCart').i);
    expect(add.custom_data).toStrictEqual({
      value: 36,
      currency: 'EUR',
      content_ids: ['15'],
      contents: [{ id: '15', quantity: 2, item_price: 18 }],
      content_type: 'product',
      num_items: 2,
    });
    expect(platformRequests(v).map((r) => [r.method, r.path])).toEqual([['POST', '/product/beanie/']]);
    expect(v.errors).toEqual([]);
  });

  it('shop archive: each AJAX "Add to cart" (?wc-ajax=add_to_cart) click is exactly one AddToCart at Meta', async () => {
    const v = await visit('woo', '/shop/');
    await settled(v, ['PageView']);
    await v.page.click('a[data-product_id="15"]');
    await v.page.waitForSelector('a[data-product_id="15"].added');
    let meta = await settled(v, ['PageView', 'AddToCart']);
    const first = one(meta, 'AddToCart');
    // An archive card prints no machine-readable price: no value; the currency is the store's (data-currency).
    expect(first.custom_data).toStrictEqual({ currency: 'EUR', content_ids: ['15'], contents: [{ id: '15', quantity: 1 }], content_type: 'product', num_items: 1 });

    await v.page.click('a[data-product_id="22"]');
    await v.page.waitForSelector('a[data-product_id="22"].added');
    meta = await settled(v, ['PageView', 'AddToCart', 'AddToCart']);
    const second = meta.find((e) => e.event_name === 'AddToCart' && e.event_id !== first.event_id)!;
    expect(second.custom_data).toStrictEqual({ currency: 'EUR', content_ids: ['22'], contents: [{ id: '22', quantity: 1 }], content_type: 'product', num_items: 1 });
    expect(platformRequests(v).map((r) => r.query)).toEqual(['?wc-ajax=add_to_cart', '?wc-ajax=add_to_cart']);
    expect(v.errors).toEqual([]);
  });

  it('cart, then "Proceed to checkout": one InitiateCheckout at Meta, from the checkout page; placing the order adds nothing', async () => {
    const v = await visit('woo', '/cart/');
    await settled(v, ['PageView']);
    await Promise.all([v.page.waitForURL('**/checkout/'), v.page.click('a.checkout-button')]);
    let meta = await settled(v, ['PageView', 'PageView', 'InitiateCheckout']);
    const checkout = one(meta, 'InitiateCheckout');
    expect(checkout.event_source_url).toBe(pages.url('woo', '/checkout/'));
    expect(checkout.event_id).toBe(beaconOf(v, 'InitiateCheckout').i);
    await v.page.click('#place_order');
    meta = await settled(v, ['PageView', 'PageView', 'InitiateCheckout']);
    expect(v.errors).toEqual([]);
  });

  it('order received page: one Purchase with the order-derived event_id, the printed total and the store currency; still one after a reload', async () => {
    const v = await visit('woo', '/checkout/order-received/4321/?key=wc_order_Xy12AbCd');
    let meta = await settled(v, ['PageView', 'Purchase']);
    const purchase = one(meta, 'Purchase');
    // The id WooCommerce's order webhook gets for order 4321.
    expect(purchase.event_id).toBe(orderEventId('woo', 'Purchase', 4321));
    expect(purchase.event_id).toBe(beaconOf(v, 'Purchase').i);
    expect(purchase.custom_data).toStrictEqual({ value: 1234.5, currency: 'EUR', order_id: '4321' });

    await v.page.reload();
    meta = await settled(v, ['PageView', 'Purchase', 'PageView']);
    expect(meta.filter((e) => e.event_id === purchase.event_id)).toHaveLength(1);

    // Another tab has its own sessionStorage, so its page sends the Purchase again, under the
    // same order-derived id: the collector keeps the first report, and Meta still gets one.
    const tab = await v.context.newPage();
    tab.on('pageerror', (err) => v.errors.push(err.message));
    await tab.goto(pages.url('woo', '/checkout/order-received/4321/?key=wc_order_Xy12AbCd'));
    await waitFor(() => (v.beacons.filter((b) => b.n === 'Purchase').length === 2 ? true : undefined), 'the second tab’s Purchase');
    expect(v.beacons.filter((b) => b.n === 'Purchase').map((b) => b.i)).toEqual([purchase.event_id, purchase.event_id]);
    meta = await drained(v);
    expect(meta.filter((e) => e.event_id === purchase.event_id)).toHaveLength(1);
    expect(sorted(names(meta))).toEqual(['PageView', 'PageView', 'PageView', 'Purchase']);
    expect(v.errors).toEqual([]);
  });
});

describe('dataLayer stores (t.datalayer.js)', () => {
  it('GA4: view_item before load, then one click each: AddToCart, InitiateCheckout, AddPaymentInfo, Purchase (order-derived id), Lead', async () => {
    const v = await visit('ga4', '/products/stripy-scarf');
    let meta = await settled(v, ['PageView', 'ViewContent']);
    expect(one(meta, 'ViewContent').custom_data).toStrictEqual({
      value: 30.03,
      currency: 'USD',
      content_ids: ['SKU_12345'],
      contents: [{ id: 'SKU_12345', quantity: 3, item_price: 10.01 }],
      content_type: 'product',
      num_items: 3,
    });

    for (const button of ['#add', '#checkout', '#pay', '#buy', '#newsletter button']) await v.page.click(button);
    meta = await settled(v, ['PageView', 'ViewContent', 'AddToCart', 'InitiateCheckout', 'AddPaymentInfo', 'Purchase', 'Lead']);
    const items = {
      content_ids: ['SKU_12345'],
      contents: [{ id: 'SKU_12345', quantity: 2, item_price: 10.01 }],
      content_type: 'product',
      num_items: 2,
    };
    for (const name of ['AddToCart', 'InitiateCheckout', 'AddPaymentInfo']) {
      const e = one(meta, name);
      expect(e.event_id, name).toBe(beaconOf(v, name).i);
      expect(e.custom_data, name).toStrictEqual({ value: 20.02, currency: 'USD', ...items });
    }
    const purchase = one(meta, 'Purchase');
    expect(purchase.event_id).toBe(orderEventId('ga4', 'Purchase', 'T_12345'));
    expect(purchase.custom_data).toStrictEqual({ value: 25.42, currency: 'USD', order_id: 'T_12345', ...items });
    // The page's generate_lead push wins over its e-mail form: one Lead, the dataLayer's.
    expect(one(meta, 'Lead').custom_data).toStrictEqual({ value: 5, currency: 'USD' });
    expect(v.errors).toEqual([]);
  });

  it('Universal Analytics enhanced e-commerce: detail, add, checkout and purchase', async () => {
    const v = await visit('ga4', '/products/android-tee');
    await settled(v, ['PageView', 'ViewContent']);
    for (const button of ['#add', '#checkout', '#buy']) await v.page.click(button);
    const meta = await settled(v, ['PageView', 'ViewContent', 'AddToCart', 'InitiateCheckout', 'Purchase']);
    expect(one(meta, 'ViewContent').custom_data).toStrictEqual({
      value: 15.25,
      currency: 'EUR',
      content_ids: ['12345'],
      contents: [{ id: '12345', quantity: 1, item_price: 15.25 }],
      content_type: 'product',
      num_items: 1,
    });
    const two = { content_ids: ['12345'], contents: [{ id: '12345', quantity: 2, item_price: 15.25 }], content_type: 'product', num_items: 2 };
    expect(one(meta, 'AddToCart').custom_data).toStrictEqual({ value: 30.5, currency: 'EUR', ...two });
    expect(one(meta, 'InitiateCheckout').custom_data).toStrictEqual({ value: 30.5, ...two });
    const purchase = one(meta, 'Purchase');
    expect(purchase.event_id).toBe(orderEventId('ga4', 'Purchase', 'T12345'));
    expect(purchase.custom_data).toStrictEqual({ value: 35.43, currency: 'EUR', order_id: 'T12345', ...two });
    expect(v.errors).toEqual([]);
  });
});

describe('a custom site (t.js)', () => {
  it('landing page, newsletter form: one Lead whose e-mail reaches Meta hashed (normalized), never in clear', async () => {
    const v = await visit('acme', '/get-a-quote');
    await settled(v, ['PageView']);
    await v.page.fill('#newsletter input[type=email]', '  Lead.Person@Example.COM ');
    await v.page.click('#subscribe');
    const meta = await settled(v, ['PageView', 'Lead']);
    const lead = one(meta, 'Lead');
    expect(lead.event_id).toBe(beaconOf(v, 'Lead').i);
    expect(lead.user_data.em).toBe(sha256('lead.person@example.com'));
    // The page handed the address (as the e-mail field holds it: trimmed) to the collector,
    // on its own origin, and only there.
    expect(beaconOf(v, 'Lead').p).toStrictEqual({ email: 'Lead.Person@Example.COM' });
    const sentToMeta = JSON.stringify(pages.meta.received);
    expect(sentToMeta).not.toMatch(/lead\.person/i);
    const stored = await pages.collector.store.getEvent('acme', lead.event_id);
    expect(stored).not.toBeNull();
    expect(JSON.stringify(stored)).not.toMatch(/lead\.person/i);
    expect(v.errors).toEqual([]);
  });

  it('landing page, quote request: one Lead with the work e-mail hashed', async () => {
    const v = await visit('acme', '/get-a-quote');
    await settled(v, ['PageView']);
    await v.page.click('#send-quote');
    const meta = await settled(v, ['PageView', 'Lead']);
    expect(one(meta, 'Lead').user_data.em).toBe(sha256('ana@acme.test'));
    expect(JSON.stringify(pages.meta.received)).not.toContain('ana@acme.test');
  });

  it('landing page, search form: one Search with the term; the login form on the same page is no Lead', async () => {
    const v = await visit('acme', '/get-a-quote');
    await settled(v, ['PageView']);
    await v.page.click('#go');
    await v.page.click('#sign-in');
    const meta = await settled(v, ['PageView', 'Search']);
    expect(one(meta, 'Search').custom_data).toStrictEqual({ search_string: 'solar panels' });
    expect(one(meta, 'Search').user_data.em).toBeUndefined();
  });

  it('pages without e-commerce (blog post, login form, a contact page without a newsletter) give only a PageView at Meta', async () => {
    const cases: [StoreName, string, (page: Page) => Promise<void>][] = [
      ['acme', '/blog/how-we-source-our-wool', async (page) => void (await page.click('article h1'))],
      ['acme', '/account/login', (page) => page.click('#sign-in')],
      ['dawn', '/account/login', (page) => page.click('#sign-in')],
      [
        'acme',
        '/contact',
        async (page) => {
          await page.click('#faq-1 summary');
          await page.click('#map');
          await page.click('#find');
          await page.waitForSelector('#installers li');
        },
      ],
    ];
    for (const [store, path, act] of cases) {
      const v = await visit(store, path);
      await settled(v, ['PageView']);
      await act(v.page);
      const meta = await settled(v, ['PageView']);
      expect(meta[0]!.event_source_url.split('#')[0], `${store} ${path}`).toBe(pages.url(store, path));
      expect(meta[0]!.custom_data, `${store} ${path}`).toBeUndefined();
      expect(v.errors, `${store} ${path}`).toEqual([]);
    }
  });
});

describe('t.js never throws into the page, and never delays navigation', () => {
  it('broken JSON-LD: a broken block before the product is skipped; a page whose only block is broken gives a PageView, no error', async () => {
    const broken = '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "Beanie",, </script>';
    pages.page('woo', '/product/broken-first/', {
      fixture: 'woo-product.html',
      attrs: 'data-currency="EUR"',
      edit: (html) => html.replace('<script type="application/ld+json">', `${broken}\n<script type="application/ld+json">`),
    });
    pages.page('woo', '/product/broken-only/', {
      fixture: 'woo-product.html',
      attrs: 'data-currency="EUR"',
      edit: (html) => html.replace(/<script type="application\/ld\+json">[\s\S]*?<\/script>/, broken),
    });
    // Another platform's product page, where JSON-LD is the only signal (t.schema.js): its
    // first block is broken too.
    pages.page('acme', '/products/wool-runner', { fixture: 'schema-product.html', build: 't.schema.js' });

    const first = await visit('woo', '/product/broken-first/');
    let meta = await settled(first, ['PageView', 'ViewContent']);
    expect(one(meta, 'ViewContent').custom_data).toStrictEqual({
      value: 18,
      currency: 'EUR',
      content_ids: ['15'],
      contents: [{ id: '15', quantity: 1, item_price: 18 }],
      content_type: 'product',
      num_items: 1,
    });
    expect(first.errors).toEqual([]);

    const only = await visit('woo', '/product/broken-only/');
    await settled(only, ['PageView']);
    expect(only.errors).toEqual([]);

    const schema = await visit('acme', '/products/wool-runner');
    meta = await settled(schema, ['PageView', 'ViewContent']);
    expect(one(meta, 'ViewContent').custom_data).toStrictEqual({
      value: 98,
      currency: 'GBP',
      content_ids: ['WR-10'],
      contents: [{ id: 'WR-10', quantity: 1, item_price: 98 }],
      content_type: 'product',
      num_items: 1,
    });
    expect(schema.errors).toEqual([]);
  });

  it('no window.crypto: t.js stays out of the way (it cannot mint event ids) with no error, and the store works as before', async () => {
    // t.js checks for crypto before it does anything: without it no event can get an id, so
    // it installs nothing and sends nothing, rather than throw into the page.
    const v = await visit('dawn', '/products/trail-runner', 'delete window.crypto;');
    expect(await v.page.evaluate(() => typeof (window as { crypto?: unknown }).crypto)).toBe('undefined');
    // The tag was loaded and ran (async scripts hold the load event, which goto waits for).
    const scripts = await v.page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));
    expect(scripts).toContain('/t/t.shopify.js');
    expect(await v.page.evaluate(() => typeof (window as { trakvo?: unknown }).trakvo)).toBe('undefined');
    // The theme's AJAX add works as without t.js.
    await v.page.waitForFunction(() => customElements.get('product-form'));
    await v.page.click('#ProductSubmitButton-template--main');
    await v.page.waitForFunction(() => document.body.dataset.added === '1');
    expect(platformRequests(v).filter((r) => r.path === '/cart/add')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(v.beacons).toEqual([]);
    expect(atMeta(v)).toEqual([]);
    expect(v.errors).toEqual([]);

    // The landing page with the queue stub: the page's own trakvo() calls queue, no error.
    pages.page('acme', '/get-a-quote-stub', {
      fixture: 'landing.html',
      edit: (html) => html.replace('<script src="/t/', '<script>window.trakvo=window.trakvo||function(){(trakvo.q=trakvo.q||[]).push(arguments)}</script><script src="/t/'),
    });
    const landing = await visit('acme', '/get-a-quote-stub', 'delete window.crypto;');
    await landing.page.click('#subscribe');
    await landing.page.evaluate(() => (window as unknown as { trakvo: (n: string) => void }).trakvo('Lead'));
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(landing.beacons).toEqual([]);
    expect(landing.errors).toEqual([]);
  });

  it('a frozen history (Object.freeze before t.js loads): no error, PageView at Meta, the page’s own navigation still works', async () => {
    const v = await visit('acme', '/get-a-quote', 'Object.freeze(history);');
    await settled(v, ['PageView']);
    await v.page.evaluate(() => history.pushState({ step: 2 }, '', '/get-a-quote?step=2'));
    expect(new URL(v.page.url()).search).toBe('?step=2');
    await v.page.click('#subscribe');
    // A frozen history cannot be wrapped: that single-page-app move is not counted (no second
    // PageView), the page's own pushState is untouched, and nothing throws.
    expect(await v.page.evaluate(() => history.pushState === History.prototype.pushState)).toBe(true);
    const meta = await settled(v, ['PageView', 'Lead']);
    expect(one(meta, 'Lead').event_id).toBe(beaconOf(v, 'Lead').i);
    expect(v.errors).toEqual([]);
  });

  it('a checkout link navigates at once, even while the collector takes seconds to answer; the InitiateCheckout still reaches Meta', async () => {
    // Records, across the navigation, whether anything held the click back.
    const v = await visit(
      'acme',
      '/get-a-quote',
      "addEventListener('click', (e) => sessionStorage.setItem('e2e-prevented', String(e.defaultPrevented)));",
    );
    await settled(v, ['PageView']);
    pages.delayEvents(3000);
    const clicked = Date.now();
    await Promise.all([v.page.waitForURL('**/checkout', { waitUntil: 'commit' }), v.page.click('#to-checkout')]);
    await v.page.waitForSelector('#arrived');
    const tookMs = Date.now() - clicked;
    expect(tookMs).toBeLessThan(1500);
    expect(await v.page.evaluate(() => sessionStorage.getItem('e2e-prevented'))).toBe('false');
    const meta = await settled(v, ['PageView', 'InitiateCheckout', 'PageView']);
    const checkout = one(meta, 'InitiateCheckout');
    expect(checkout.event_id).toBe(beaconOf(v, 'InitiateCheckout').i);
    expect(checkout.event_source_url).toBe(pages.url('acme', '/get-a-quote'));
    expect(v.errors).toEqual([]);
  });
});
