// t.woo.js on pages shaped like a WooCommerce store running the Storefront theme.
import { describe, expect, test } from 'vitest';
import { orderEventId } from '../../collector/src/event/order-event-id.js';
import { expectNoCookieOrStorageRead, expectNoPageErrors, expectOnlyPageViewsWithoutCommerce, names, only, useHarness } from './support.js';

const h = useHarness();
const VARIANT = 't.woo.js';

describe('WooCommerce (t.woo.js)', () => {
  test('single product page: one ViewContent from the structured data, named by the id its form posts', async () => {
    const { page, site } = await h.open({ fixture: 'woo-product.html', path: '/product/beanie/', variant: VARIANT });
    const events = await h.events(site, 2);
    expect(names(events)).toEqual(['PageView', 'ViewContent']);
    expect(events[1]!.p).toStrictEqual({
      content_ids: ['15'],
      contents: [{ id: '15', quantity: 1, item_price: 18 }],
      content_type: 'product',
      num_items: 1,
      value: 18,
      currency: 'EUR',
    });
    await expectNoCookieOrStorageRead(page);
    await expectNoPageErrors(page);
  });

  test('form.cart submit (simple product, the page reloads): one AddToCart with the button’s product id', async () => {
    const { page, site } = await h.open({ fixture: 'woo-product.html', path: '/product/beanie/', variant: VARIANT });
    await h.events(site, 2);
    await page.fill('input.qty', '2');
    await Promise.all([page.waitForEvent('load'), page.click('button.single_add_to_cart_button')]);
    const events = await h.events(site, 5);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart', 'PageView', 'ViewContent']);
    expect(events[2]!.p).toStrictEqual({
      content_ids: ['15'],
      contents: [{ id: '15', quantity: 2, item_price: 18 }],
      content_type: 'product',
      num_items: 2,
      value: 36,
      currency: 'EUR',
    });
    // The store got its post, once.
    expect(h.storeRequests(site).map((r) => [r.method, r.path])).toEqual([['POST', '/product/beanie/']]);
  });

  test('shop archive: each AJAX "Add to cart" (?wc-ajax=add_to_cart by XMLHttpRequest) is one AddToCart', async () => {
    const { page, site } = await h.open({ fixture: 'woo-shop.html', path: '/shop/', variant: VARIANT });
    await page.click('a[data-product_id="15"]');
    await page.waitForSelector('a[data-product_id="15"].added');
    await page.click('a[data-product_id="22"]');
    await page.waitForSelector('a[data-product_id="22"].added');
    const events = await h.events(site, 3);
    expect(names(events)).toEqual(['PageView', 'AddToCart', 'AddToCart']);
    expect(events.slice(1).map((e) => e.p)).toStrictEqual([
      { content_ids: ['15'], contents: [{ id: '15', quantity: 1 }], content_type: 'product', num_items: 1 },
      { content_ids: ['22'], contents: [{ id: '22', quantity: 1 }], content_type: 'product', num_items: 1 },
    ]);
    expect(h.storeRequests(site).map((r) => r.query)).toEqual(['?wc-ajax=add_to_cart', '?wc-ajax=add_to_cart']);
    await expectNoPageErrors(page);
  });

  test('related products on a product page: the AJAX add carries the page currency, not the page product’s price', async () => {
    const { page, site } = await h.open({ fixture: 'woo-product.html', path: '/product/beanie/', variant: VARIANT });
    await page.click('a[data-product_id="22"]');
    await page.waitForSelector('a[data-product_id="22"].added');
    const events = await h.events(site, 3);
    expect(only(events, 'AddToCart').p).toStrictEqual({
      content_ids: ['22'],
      contents: [{ id: '22', quantity: 1 }],
      content_type: 'product',
      num_items: 1,
      currency: 'EUR',
    });
  });

  test('"Proceed to checkout" then the checkout page: one InitiateCheckout, from the page', async () => {
    const opened = await h.open({ fixture: 'woo-cart.html', path: '/cart/', variant: VARIANT });
    h.serveFixture(opened.site, { fixture: 'woo-checkout.html', path: '/checkout/', variant: VARIANT });
    await Promise.all([opened.page.waitForURL('**/checkout/'), opened.page.click('a.checkout-button')]);
    const events = await h.events(opened.site, 3);
    expect(names(events)).toEqual(['PageView', 'PageView', 'InitiateCheckout']);
    expect(events[2]!.u).toBe(`${h.origin}/checkout/`);
    // Placing the order (an AJAX submit of the checkout form) is no new event here.
    await opened.page.click('#place_order');
    expect(names(await h.events(opened.site, 3))).toEqual(['PageView', 'PageView', 'InitiateCheckout']);
    await expectNoPageErrors(opened.page);
  });

  test('order received: one Purchase with the order id from the URL, the printed total and the site currency; not again on reload', async () => {
    const opened = await h.open({
      fixture: 'woo-order-received.html',
      path: '/checkout/order-received/4321/?key=wc_order_Xy12AbCd',
      variant: VARIANT,
      attrs: 'data-currency="EUR"',
    });
    let events = await h.events(opened.site, 2);
    const purchase = only(events, 'Purchase');
    expect(purchase.p).toStrictEqual({ order_id: '4321', value: 1234.5, currency: 'EUR' });
    // The id the WooCommerce order webhook gets for order 4321.
    expect(purchase.i).toBe(orderEventId(opened.site, 'Purchase', 4321));
    // sessionStorage is read for the Purchase only.
    expect(await opened.page.evaluate(() => window.__touched.sessionStorage)).toBeGreaterThan(0);
    expect(await opened.page.evaluate(() => window.__touched.cookie)).toBe(0);

    await opened.page.reload();
    events = await h.events(opened.site, 3);
    expect(names(events)).toEqual(['PageView', 'Purchase', 'PageView']);
    await expectNoPageErrors(opened.page);
  });

  test('switch: data-no-detect="Purchase" sends no Purchase', async () => {
    const { site } = await h.open({
      fixture: 'woo-order-received.html',
      path: '/checkout/order-received/4322/?key=wc_order_Zz',
      variant: VARIANT,
      attrs: 'data-no-detect="Purchase"',
    });
    expect(names(await h.events(site, 1))).toEqual(['PageView']);
  });

  test('pages without e-commerce (blog post, login form) give only a PageView', async () => {
    await expectOnlyPageViewsWithoutCommerce(h, VARIANT);
  });
});
