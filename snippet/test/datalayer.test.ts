// t.datalayer.js: GA4 and Universal Analytics e-commerce events from window.dataLayer.
import { describe, expect, test } from 'vitest';
import { orderEventId } from '../../collector/src/event/order-event-id.js';
import { expectNoPageErrors, names, only, useHarness, type Wire } from './support.js';

const h = useHarness();
const VARIANT = 't.datalayer.js';

const ga4 = () => h.open({ fixture: 'ga4-store.html', path: '/products/stripy-scarf', variant: VARIANT });
const byName = (events: Wire[], name: string) => only(events, name).p;

describe('dataLayer (t.datalayer.js)', () => {
  test('GA4: view_item pushed before t.js loaded is one ViewContent with items, value and currency', async () => {
    const { page, site } = await ga4();
    const events = await h.events(site, 2);
    expect(names(events)).toEqual(['PageView', 'ViewContent']);
    expect(events[1]!.p).toStrictEqual({
      content_ids: ['SKU_12345'],
      contents: [{ id: 'SKU_12345', quantity: 3, item_price: 10.01 }],
      content_type: 'product',
      num_items: 3,
      value: 30.03,
      currency: 'USD',
    });
    await expectNoPageErrors(page);
  });

  test('GA4 pushed after load: add_to_cart, begin_checkout, add_payment_info, purchase (order-derived id)', async () => {
    const { page, site } = await ga4();
    for (const id of ['#add', '#checkout', '#pay', '#buy']) await page.click(id);
    const events = await h.events(site, 6);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart', 'InitiateCheckout', 'AddPaymentInfo', 'Purchase']);
    const items = { content_ids: ['SKU_12345'], contents: [{ id: 'SKU_12345', quantity: 2, item_price: 10.01 }], content_type: 'product', num_items: 2 };
    expect(byName(events, 'AddToCart')).toStrictEqual({ ...items, value: 20.02, currency: 'USD' });
    expect(byName(events, 'InitiateCheckout')).toStrictEqual({ ...items, value: 20.02, currency: 'USD' });
    expect(byName(events, 'AddPaymentInfo')).toStrictEqual({ ...items, value: 20.02, currency: 'USD' });
    const purchase = only(events, 'Purchase');
    expect(purchase.p).toStrictEqual({ ...items, value: 25.42, currency: 'USD', order_id: 'T_12345' });
    expect(purchase.i).toBe(orderEventId(site, 'Purchase', 'T_12345'));
    await expectNoPageErrors(page);
  });

  test('gtag("event", "purchase", {...}) (a pushed `arguments`) is read too', async () => {
    const { page, site } = await ga4();
    await page.click('#gtag-buy');
    const events = await h.events(site, 3);
    const purchase = only(events, 'Purchase');
    expect(purchase.p).toStrictEqual({
      content_ids: ['SKU_9'],
      contents: [{ id: 'SKU_9', quantity: 2, item_price: 6 }],
      content_type: 'product',
      num_items: 2,
      value: 12,
      currency: 'EUR',
      order_id: 'T_67890',
    });
    expect(purchase.i).toBe(orderEventId(site, 'Purchase', 'T_67890'));
  });

  test('never twice for one action: a repeated view_item, a double add_to_cart push, a lead form that also pushes generate_lead', async () => {
    const { page, site } = await ga4();
    await page.evaluate(() => {
      const again = { event: 'view_item', ecommerce: { currency: 'USD', value: 1, items: [{ item_id: 'SKU_12345', price: 1 }] } };
      window.dataLayer.push(again);
    });
    await page.click('#add');
    await page.click('#add');
    // The page's own submit handler pushes generate_lead, then t.js sees the email form.
    await page.click('#newsletter button');
    const events = await h.events(site, 4);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart', 'Lead']);
    // First report wins: the dataLayer's generate_lead.
    expect(byName(events, 'Lead')).toStrictEqual({ value: 5, currency: 'USD' });
    // Another click after the same-action window is a new AddToCart.
    await new Promise((r) => setTimeout(r, 2100));
    await page.click('#add');
    expect(names(await h.events(site, 5))).toEqual(['PageView', 'ViewContent', 'AddToCart', 'Lead', 'AddToCart']);
  });

  test('Universal Analytics enhanced e-commerce: detail before load, then add, checkout and purchase', async () => {
    const { page, site } = await h.open({ fixture: 'ua-store.html', path: '/products/android-tee', variant: VARIANT });
    for (const id of ['#add', '#checkout', '#buy']) await page.click(id);
    const events = await h.events(site, 5);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart', 'InitiateCheckout', 'Purchase']);
    expect(byName(events, 'ViewContent')).toStrictEqual({
      content_ids: ['12345'],
      contents: [{ id: '12345', quantity: 1, item_price: 15.25 }],
      content_type: 'product',
      num_items: 1,
      value: 15.25,
      currency: 'EUR',
    });
    const two = { content_ids: ['12345'], contents: [{ id: '12345', quantity: 2, item_price: 15.25 }], content_type: 'product', num_items: 2 };
    expect(byName(events, 'AddToCart')).toStrictEqual({ ...two, value: 30.5, currency: 'EUR' });
    expect(byName(events, 'InitiateCheckout')).toStrictEqual({ ...two, value: 30.5 });
    const purchase = only(events, 'Purchase');
    expect(purchase.p).toStrictEqual({ ...two, value: 35.43, currency: 'EUR', order_id: 'T12345' });
    expect(purchase.i).toBe(orderEventId(site, 'Purchase', 'T12345'));
    await expectNoPageErrors(page);
  });

  test('GA4 search (dataLayer parameters, or gtag) is a Search with the term', async () => {
    const { page, site } = await ga4();
    await page.evaluate(() => window.dataLayer.push({ event: 'search', search_term: 'green scarf' }));
    const events = await h.events(site, 3);
    expect(only(events, 'Search').p).toStrictEqual({ search_string: 'green scarf' });
  });

  test('a Purchase pushed again after a reload of the confirmation page is not sent again', async () => {
    const opened = await ga4();
    await opened.page.click('#buy');
    await h.events(opened.site, 3);
    await opened.page.reload();
    await opened.page.click('#buy');
    const events = await h.events(opened.site, 5);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'Purchase', 'PageView', 'ViewContent']);
  });

  test('odd dataLayer entries (null, strings, GTM internals) are ignored without an error; no dataLayer at all is fine', async () => {
    const { page, site } = await ga4();
    await page.evaluate(() => {
      const layer = window.dataLayer as unknown[];
      layer.push(null, 'junk', { event: 'gtm.click' }, { event: 'purchase', ecommerce: { items: 'not-a-list' } });
    });
    expect(names(await h.events(site, 2))).toEqual(['PageView', 'ViewContent']);
    await expectNoPageErrors(page);

    const blog = await h.open({ fixture: 'blog.html', path: '/blogs/news/wool', variant: VARIANT });
    expect(names(await h.events(blog.site, 1))).toEqual(['PageView']);
    await expectNoPageErrors(blog.page);
  });

  test('switch: data-no-detect="dataLayer" leaves the dataLayer alone', async () => {
    const { page, site } = await h.open({ fixture: 'ga4-store.html', path: '/p', variant: VARIANT, attrs: 'data-no-detect="dataLayer"' });
    await page.click('#add');
    expect(names(await h.events(site, 1))).toEqual(['PageView']);
    expect(await page.evaluate(() => window.dataLayer.push === Array.prototype.push)).toBe(true);
  });
});

declare global {
  interface Window {
    dataLayer: unknown[];
  }
}
