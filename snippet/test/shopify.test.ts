// t.shopify.js on pages shaped like a Shopify store running the Dawn theme.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { orderEventId } from '../../collector/src/event/order-event-id.js';
import { ROOT, buildCustom, expectNoCookieOrStorageRead, expectNoPageErrors, expectOnlyPageViewsWithoutCommerce, names, only, useHarness, type Opened } from './support.js';

const h = useHarness();
const VARIANT = 't.shopify.js';

/** The visitor's cookies as the collector and the pixels leave them, plus Shopify's cart and an unrelated one. */
const COOKIES = {
  _tk_vid: '4b9c1f5e-0000-4000-8000-00000000abcd',
  _tk_sid: '1772445600',
  _fbp: 'fb.1.1772445600000.1234567890',
  _fbc: 'fb.1.1772445600000.IwAR0abc',
  _tk_gclid: 'Cj0KCQ-demo',
  _tk_ttclid: 'E.C.P.demo',
  _ttp: 'ttp-demo',
  _ga: 'GA1.1.111.222',
  cart: 'c1-7a2b9e',
  theme: 'dark',
};


async function dawnProduct(attrs = '', cookies?: Record<string, string>): Promise<Opened> {
  const opened = await h.open({ fixture: 'shopify-product.html', path: '/products/trail-runner', variant: VARIANT, attrs, cookies });
  await opened.page.waitForFunction(() => customElements.get('product-form'));
  return opened;
}

async function addWithDawn(page: Opened['page'], quantity: number): Promise<void> {
  const before = await page.evaluate(() => Number(document.body.dataset.added || 0));
  await page.fill('#Quantity-template--main', String(quantity));
  await page.click('#ProductSubmitButton-template--main');
  await page.waitForFunction((n) => Number(document.body.dataset.added || 0) > n, before);
}

describe('Shopify (t.shopify.js)', () => {
  test('product page: one ViewContent for the selected variant, with its price and the shop currency; nothing read at load', async () => {
    const { page, site } = await dawnProduct();
    const events = await h.events(site, 2);
    expect(names(events)).toEqual(['PageView', 'ViewContent']);
    expect(events[1]!.p).toStrictEqual({
      content_ids: ['44000000000042'],
      contents: [{ id: '44000000000042', quantity: 1, item_price: 54.9 }],
      content_type: 'product',
      num_items: 1,
      value: 54.9,
      currency: 'EUR',
    });
    await expectNoCookieOrStorageRead(page);
    await expectNoPageErrors(page);
  });

  test('Dawn AJAX add (fetch with FormData, no page load): exactly one AddToCart per click, with quantity, price and value', async () => {
    const { page, site } = await dawnProduct();
    await addWithDawn(page, 2);
    let events = await h.events(site, 3);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart']);
    expect(events[2]!.p).toStrictEqual({
      content_ids: ['44000000000042'],
      contents: [{ id: '44000000000042', quantity: 2, item_price: 54.9 }],
      content_type: 'product',
      num_items: 2,
      value: 109.8,
      currency: 'EUR',
    });
    await addWithDawn(page, 1);
    events = await h.events(site, 4);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart', 'AddToCart']);
    expect(events[3]!.p!.num_items).toBe(1);
    // The theme's own requests went through, each once.
    expect(h.storeRequests(site).map((r) => r.path)).toEqual(['/cart/add', '/cart/add']);
    await expectNoPageErrors(page);
  });

  test('a JSON add to /cart/add.js counts; one the store refuses (422 sold out) does not', async () => {
    const { page, site } = await dawnProduct();
    await page.click('#quick-add-sold-out');
    await page.waitForFunction(() => document.body.dataset.quick === '422');
    await page.click('#quick-add-socks');
    await page.waitForFunction(() => document.body.dataset.quick === '200');
    const events = await h.events(site, 3);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart']);
    expect(events[2]!.p).toStrictEqual({
      content_ids: ['44000000000077'],
      contents: [{ id: '44000000000077', quantity: 2 }],
      content_type: 'product',
      num_items: 2,
      currency: 'EUR',
    });
    await expectNoPageErrors(page);
  });

  test('a theme without AJAX cart: the form post to /cart/add is one AddToCart, then the cart page', async () => {
    const opened = await h.open({ fixture: 'shopify-classic-product.html', path: '/products/canvas-tote', variant: VARIANT });
    h.serveFixture(opened.site, { fixture: 'shopify-cart.html', path: '/cart', variant: VARIANT });
    await Promise.all([opened.page.waitForURL('**/cart'), opened.page.click('#AddToCart')]);
    const events = await h.events(opened.site, 4);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart', 'PageView']);
    expect(events[2]!.p).toStrictEqual({
      content_ids: ['41000000000001'],
      contents: [{ id: '41000000000001', quantity: 3, item_price: 15 }],
      content_type: 'product',
      num_items: 3,
      value: 45,
      currency: 'EUR',
    });
    expect(events[3]!.u).toBe(`${h.origin}/cart`);
  });

  test('cart page: "Check out" is one InitiateCheckout; the ids go into the cart attributes once', async () => {
    const opened = await h.open({ fixture: 'shopify-cart.html', path: '/cart', variant: VARIANT, cookies: COOKIES });
    const writes = await waitForCartUpdates(opened.site, 1);
    const attributes = Object.fromEntries(new URLSearchParams(writes[0]!.body));
    // The exact names the order webhook reads from note_attributes.
    expect(attributes).toStrictEqual({
      'attributes[_tk_vid]': COOKIES._tk_vid,
      'attributes[_tk_sid]': COOKIES._tk_sid,
      'attributes[_fbp]': COOKIES._fbp,
      'attributes[_fbc]': COOKIES._fbc,
      'attributes[_tk_gclid]': COOKIES._tk_gclid,
      'attributes[_tk_ttclid]': COOKIES._tk_ttclid,
      'attributes[_ttp]': COOKIES._ttp,
      'attributes[_ga]': COOKIES._ga,
    });
    expect(writes[0]!.contentType).toMatch(/^application\/x-www-form-urlencoded/);

    await Promise.all([opened.page.waitForURL('**/checkouts/**'), opened.page.click('#checkout')]);
    const events = await h.events(opened.site, 2);
    expect(names(events)).toEqual(['PageView', 'InitiateCheckout']);
    expect(events[1]!.p).toBeUndefined();
    await expectNoPageErrors(opened.page);
  });

  test('cart attributes: written after an AJAX add, once per page, and again only when the ids or the cart change', async () => {
    const opened = await dawnProduct('', COOKIES);
    await addWithDawn(opened.page, 1);
    await addWithDawn(opened.page, 1);
    await h.events(opened.site, 4);
    expect(await waitForCartUpdates(opened.site, 1)).toHaveLength(1);

    // Same cart, same ids: the cart page does not write them again.
    await h.navigate(opened, { fixture: 'shopify-cart.html', path: '/cart', variant: VARIANT });
    await h.events(opened.site, 5);
    expect(await waitForCartUpdates(opened.site, 1)).toHaveLength(1);

    // A new click id: written again.
    await opened.context.addCookies([{ name: '_tk_gclid', value: 'Cj0-new', url: h.origin }]);
    await opened.page.reload();
    const writes = await waitForCartUpdates(opened.site, 2);
    expect(new URLSearchParams(writes[1]!.body).get('attributes[_tk_gclid]')).toBe('Cj0-new');

    // A new cart (the last one became an order): written again.
    await opened.context.addCookies([{ name: 'cart', value: 'c1-new-cart', url: h.origin }]);
    await opened.page.reload();
    expect(await waitForCartUpdates(opened.site, 3)).toHaveLength(3);
  });

  test('cart attributes carry the consent the page declared (_tk_consent "0" / "1"), which the order webhook honours', async () => {
    const stub = "<script>window.trakvo=window.trakvo||function(){(trakvo.q=trakvo.q||[]).push(arguments)}; trakvo('consent', { marketing: false, analytics: true });</script>";
    const html = readFileSync(join(ROOT, 'snippet/test/fixtures/shopify-cart.html'), 'utf8').replace('<!--TRAKVO-->', stub + '<!--TRAKVO-->');
    const { site } = await h.open({ fixture: html, path: '/cart', variant: VARIANT, cookies: { _tk_vid: COOKIES._tk_vid, cart: 'c1-x' } });
    const [write] = await waitForCartUpdates(site, 1);
    expect(Object.fromEntries(new URLSearchParams(write!.body))).toStrictEqual({
      'attributes[_tk_vid]': COOKIES._tk_vid,
      'attributes[_tk_consent]': '0',
    });
  });

  test('switches: data-no-detect="AddToCart attributes" keeps the store working and sends neither', async () => {
    const { page, site } = await dawnProduct('data-no-detect="AddToCart attributes"', COOKIES);
    await addWithDawn(page, 1);
    const events = await h.events(site, 2);
    expect(names(events)).toEqual(['PageView', 'ViewContent']);
    expect(await waitForCartUpdates(site, 0)).toHaveLength(0);
  });

  test('pages without e-commerce (blog post, login form) give only a PageView', async () => {
    await expectOnlyPageViewsWithoutCommerce(h, VARIANT);
  });

  test('legacy order status page (Shopify.checkout, build with shopify_thankyou): one Purchase with the order-derived id, not again on reload', async () => {
    const legacy = buildCustom(['shopify', 'shopify_thankyou']);
    const opened = await h.open({ fixture: 'shopify-thankyou.html', path: '/checkouts/c/a1b2c3/thank-you', variant: legacy });
    let events = await h.events(opened.site, 2);
    const purchase = only(events, 'Purchase');
    expect(purchase.i).toBe(orderEventId(opened.site, 'Purchase', 5912345678901));
    expect(purchase.p).toStrictEqual({
      value: 124.7,
      currency: 'EUR',
      order_id: 5912345678901,
      content_ids: ['44000000000042'],
      contents: [{ id: '44000000000042', quantity: 2, item_price: 54.9 }],
      content_type: 'product',
      num_items: 2,
    });
    await opened.page.reload();
    events = await h.events(opened.site, 3);
    expect(names(events)).toEqual(['PageView', 'Purchase', 'PageView']);
  });
});

/** The /cart/update.js requests of `site`'s pages once `count` arrived (and a moment more, to see an extra one). */
async function waitForCartUpdates(site: string, count: number) {
  const mine = () => h.storeRequests(site).filter((r) => r.path === '/cart/update.js');
  const deadline = Date.now() + 5000;
  while (mine().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 300));
  return mine();
}
