// What an order webhook needs before an order can become a Purchase: its id, its total as a
// decimal amount and its ISO 4217 currency. Shopify and WooCommerce both send an Order
// resource with `id` and `currency` at the top; only the total's field name differs.
import type { FieldProblem } from '../http/errors.js';
import { parseMoney, text, type Json } from './build-event.js';

const CURRENCY_RE = /^[A-Za-z]{3}$/;

/** A three-letter currency code (BRL, usd): ISO 4217 in either case. */
export function isCurrencyCode(v: string | undefined): v is string {
  return v !== undefined && CURRENCY_RE.test(v);
}

export interface OrderTotal {
  orderId: string;
  total: number;
  currency: string;
}

/**
 * Reads `order.id`, `order[totalField]` and `order.currency`; each one missing or malformed
 * is a problem named by its field.
 */
export function readOrderTotal(order: Json, totalField: string): { order: OrderTotal; errors?: undefined } | { order?: undefined; errors: FieldProblem[] } {
  const orderId = text(order.id);
  const total = parseMoney(order[totalField]);
  const currency = text(order.currency);
  if (orderId !== undefined && total !== undefined && isCurrencyCode(currency)) return { order: { orderId, total, currency } };
  return {
    errors: [
      ...(orderId === undefined ? [{ field: 'id', message: 'the order id is required' }] : []),
      ...(total === undefined ? [{ field: totalField, message: 'must be a decimal amount like "199.90"' }] : []),
      ...(!isCurrencyCode(currency) ? [{ field: 'currency', message: 'must be an ISO 4217 code like BRL' }] : []),
    ],
  };
}
