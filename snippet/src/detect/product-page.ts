// ViewContent on product pages, read once when the DOM is ready, first signal wins:
// Shopify's own product object (ShopifyAnalytics.meta: variant ids, prices in cents), then a
// schema.org Product in JSON-LD (WooCommerce core prints one; @graph and ProductGroup
// variants included), then og:type=product meta tags. It also remembers the page's unit
// prices, so an AddToCart of one of its products gets its price.
import { doc, win } from '../globals.js';
import type { Bag } from '../types.js';
import { commerce, money } from './commerce.js';
import { detected, guarded } from './gate.js';

/** The page's product prices by catalog id, and its currency (key ""). */
export const pagePrices: Record<string, Bag> = {};

/** The first node typed Product in the page's JSON-LD (the reviver sees nested nodes first). */
function jsonLdProduct(): Bag {
  let product: Bag;
  doc.querySelectorAll<HTMLScriptElement>('script[type="application/ld+json"]').forEach((script) =>
    // A broken block is skipped; the next one may be fine.
    guarded(() => JSON.parse(script.text, (_, node) => (node && /Product/.test(node['@type']) && (product = product || node), node))),
  );
  return product;
}

const metaContent = (selector: string): Bag => (doc.querySelector<HTMLMetaElement>('meta[property' + selector + ']') || {}).content;

function viewed(id: Bag, price: Bag, currency: Bag): void {
  pagePrices[id] = price;
  pagePrices[''] = currency;
  detected('ViewContent', commerce(id && [{ id, price }], price, currency));
}

export function detectProductPage(): void {
  let meta: Bag;
  let product: Bag;
  let ld: Bag;
  if (F_SHOPIFY && (meta = win.ShopifyAnalytics) && (meta = meta.meta) && (product = meta.product)) {
    // Variant ids, as /cart/add and the order's line items name them.
    product.variants.forEach((v: Bag) => (pagePrices[v.id] = v.price / 100));
    // The variant the product form holds (selected, or first available), else the first.
    const id = (doc.querySelector<HTMLInputElement>('[action*="/cart/add"] [name=id]') || product.variants[0]).value || product.variants[0].id;
    viewed(id, pagePrices[id!], meta.currency);
  } else if ((F_JSONLD || F_WOO) && (ld = jsonLdProduct())) {
    const offers = ld.offers || {};
    const offer = offers[0] || offers;
    // WooCommerce: the product id its add-to-cart form posts, so both events name one id.
    const woo = F_WOO && doc.querySelector<HTMLInputElement>('form.cart [name=add-to-cart]');
    viewed((woo && woo.value) || ld.sku || ld.productID, +(offer.price || offer.lowPrice), offer.priceCurrency);
  } else if (F_JSONLD && metaContent('="og:type"][content=product')) {
    viewed(0, money(metaContent('$="price:amount"') || ''), metaContent('$="price:currency"'));
  }
}
