// t.schema.js on product pages of other platforms (schema.org JSON-LD, Open Graph), and a
// build with every detector on pages where several signals report one action: one event each.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { orderEventId } from '../../collector/src/event/order-event-id.js';
import { ROOT, buildCustom, expectNoPageErrors, names, only, useHarness } from './support.js';

const h = useHarness();
const VARIANT = 't.schema.js';
const fixture = (name: string) => readFileSync(join(ROOT, 'snippet/test/fixtures', name), 'utf8');

describe('schema.org and Open Graph (t.schema.js)', () => {
  test('a broken JSON-LD block is skipped; a ProductGroup’s first variant is the ViewContent', async () => {
    const { page, site } = await h.open({ fixture: 'schema-product.html', path: '/products/wool-runner', variant: VARIANT });
    const events = await h.events(site, 2);
    expect(names(events)).toEqual(['PageView', 'ViewContent']);
    expect(events[1]!.p).toStrictEqual({
      content_ids: ['WR-10'],
      contents: [{ id: 'WR-10', quantity: 1, item_price: 98 }],
      content_type: 'product',
      num_items: 1,
      value: 98,
      currency: 'GBP',
    });
    await expectNoPageErrors(page);
  });

  test('Open Graph product tags alone: ViewContent with the printed price', async () => {
    const { site } = await h.open({ fixture: 'og-product.html', path: '/products/linen-shirt', variant: VARIANT });
    const events = await h.events(site, 2);
    expect(events[1]!.n).toBe('ViewContent');
    expect(events[1]!.p).toStrictEqual({ value: 1299, currency: 'USD' });
  });

  test('WooCommerce’s structured data and a Dawn page read as plain schema.org', async () => {
    const woo = await h.open({ fixture: 'woo-product.html', path: '/product/beanie/', variant: VARIANT });
    expect(only(await h.events(woo.site, 2), 'ViewContent').p).toMatchObject({ content_ids: ['woo-beanie'], value: 18, currency: 'EUR' });
    const dawn = await h.open({ fixture: 'shopify-product.html', path: '/products/trail-runner', variant: VARIANT });
    expect(only(await h.events(dawn.site, 2), 'ViewContent').p).toMatchObject({ content_ids: ['TR-42'], value: 49.9, currency: 'EUR' });
  });

  test('an article (BlogPosting JSON-LD, og:type=article) gives only a PageView', async () => {
    const { page, site } = await h.open({ fixture: 'blog.html', path: '/blogs/news/wool', variant: VARIANT });
    expect(names(await h.events(site, 1))).toEqual(['PageView']);
    await expectNoPageErrors(page);
  });
});

describe('every detector in one build: several signals, one event', () => {
  const everything = buildCustom(['shopify', 'shopify_thankyou', 'woo', 'jsonld', 'datalayer', 'forms', 'search_page', 'declared', 'pixels', 'mirror']);
  const ga4 = (event: string, ecommerce: object) =>
    `<script>window.dataLayer = window.dataLayer || []; dataLayer.push({ ecommerce: null }); dataLayer.push(${JSON.stringify({ event, ecommerce })});</script>`;

  test('Dawn product page with JSON-LD, og tags and a GA4 view_item: one ViewContent, Shopify’s', async () => {
    const html = fixture('shopify-product.html').replace(
      '<!--TRAKVO-->',
      ga4('view_item', { currency: 'EUR', value: 54.9, items: [{ item_id: 'TR-42', price: 54.9 }] }) + '<!--TRAKVO-->',
    );
    const { page, site } = await h.open({ fixture: html, path: '/products/trail-runner', variant: everything });
    const events = await h.events(site, 2);
    expect(names(events)).toEqual(['PageView', 'ViewContent']);
    expect(events[1]!.p!.content_ids).toEqual(['44000000000042']);
    await expectNoPageErrors(page);
  });

  test('Dawn AJAX add followed by the theme’s own add_to_cart push: one AddToCart', async () => {
    const html = fixture('shopify-product.html').replace(
      "document.body.dataset.added = String(Number(document.body.dataset.added || 0) + 1);",
      "window.dataLayer = window.dataLayer || []; dataLayer.push({ event: 'add_to_cart', ecommerce: { currency: 'EUR', value: 54.9, items: [{ item_id: 'TR-42', price: 54.9, quantity: 1 }] } }); document.body.dataset.added = '1';",
    );
    const { page, site } = await h.open({ fixture: html, path: '/products/trail-runner', variant: everything });
    await page.waitForFunction(() => customElements.get('product-form'));
    await page.click('#ProductSubmitButton-template--main');
    await page.waitForFunction(() => document.body.dataset.added === '1');
    const events = await h.events(site, 3);
    expect(names(events)).toEqual(['PageView', 'ViewContent', 'AddToCart']);
    expect(events[2]!.p!.content_ids).toEqual(['44000000000042']);
  });

  test('WooCommerce order received with a GA4 purchase push (as GTM plugins add): one Purchase, the order-derived id', async () => {
    const html = fixture('woo-order-received.html').replace(
      '<!--TRAKVO-->',
      ga4('purchase', { transaction_id: '4321', value: 1234.5, currency: 'EUR', items: [{ item_id: '15', price: 18, quantity: 2 }] }) + '<!--TRAKVO-->',
    );
    const { site } = await h.open({ fixture: html, path: '/checkout/order-received/4321/?key=wc_order_Q', variant: everything });
    const events = await h.events(site, 2);
    const purchase = only(events, 'Purchase');
    expect(purchase.i).toBe(orderEventId(site, 'Purchase', '4321'));
    expect(purchase.p).toMatchObject({ order_id: '4321', value: 1234.5 });
  });
});
