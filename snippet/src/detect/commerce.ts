// Turns what a platform reports about products (GA4 items, UA products, Shopify line items,
// the one product of a page) into the standard props: content_ids, contents, content_type,
// num_items, value, currency, order_id. Every value is one the collector accepts, since one
// invalid prop would make it refuse the whole request.
import { defaultCurrency } from '../config.js';
import type { Bag, Props } from '../types.js';

/**
 * An amount as shops print it: "$1,234.56", "1.234,56 €", "R$ 18,00". A separator followed by
 * exactly three digits groups thousands; the other one is the decimal point.
 */
export const money = (text: string): number =>
  +text.replace(/[^\d.,]/g, '').replace(/[.,](?=\d{3}\b)/g, '').replace(',', '.');

/**
 * `items` entries carry item_id (GA4), variant_id (Shopify) or id (UA, others), price and
 * quantity. Without a `value`, the value is the sum of price × quantity, when known.
 */
export function commerce(items: Bag[] | 0 | undefined, value?: unknown, currency?: unknown, order_id?: unknown): Props {
  let num_items = 0;
  let sum = 0;
  const contents = (items || []).map((item: Bag) => {
    const quantity = item.quantity | 0 || 1;
    const item_price = +item.price || undefined;
    num_items += quantity;
    sum += quantity * item_price! || 0;
    return { id: '' + ((F_DATALAYER && item.item_id) || (F_SHOPIFY_THANKYOU && item.variant_id) || item.id), quantity, item_price };
  });
  return Object.assign(
    { value: +value! || sum || undefined, currency: currency || defaultCurrency, order_id },
    items && { content_ids: contents.map((c) => c.id), contents, content_type: 'product', num_items },
  ) as Props;
}
