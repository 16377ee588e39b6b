// Shopify order webhooks (reference/destinations.md §6.1).
//
// Authenticity: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body keyed with the
// app's client secret, or for webhooks created in the admin (Settings › Notifications ›
// Webhooks) with the signing secret shown there. A list of secrets is accepted while one is
// being rotated (Shopify keeps signing with the old one for a while). The un-prefixed header
// names of Shopify's newer event subscriptions (`Shopify-Hmac-Sha256`, …) are read too.
//
// Topics: orders/paid, orders/create and orders/updated → Purchase when `financial_status` is
// one of `purchaseStatuses` (default paid, authorized, partially_refunded; so a boleto/COD
// order created unpaid becomes a Purchase on the update that pays it); refunds/create →
// Refund (one per refund id, value = its successful refund transactions); disputes/create
// and disputes/update of type `chargeback` → Chargeback. Test orders are skipped unless
// `includeTest`, cancelled orders always.
//
// Order id: the order's numeric `id`, the value the thank-you page exposes as
// `Shopify.checkout.order_id` (and Web Pixels as `checkout.order.id`): the page calls
// `trakvo('Purchase', { order_id: <that id>, … })` and both reports share one event_id.
import { z } from 'zod';
import type { Content } from '../event/schema.js';
import {
  attributeRecord,
  buildWebhookEvent,
  collect,
  consentFrom,
  content,
  firstText,
  httpUrl,
  identifiersFromAttributes,
  identifiersFromUrl,
  isObject,
  mergeIdentifiers,
  parseMoney,
  parseTime,
  roundMoney,
  text,
  type Json,
} from './build-event.js';
import { commonOptions, ContentIdSchema, SecretSchema } from './config-parts.js';
import { isCurrencyCode, readOrderTotal } from './order-total.js';
import { hmacMatches, secretList } from './signatures.js';
import { definePlatform, header, type MapContext, type MapResult } from './types.js';

export const ShopifyConfigSchema = z
  .object({
    /** App client secret or the store's webhook signing secret; a list while rotating. */
    secret: SecretSchema,
    /** Orders whose financial_status is one of these become a Purchase. */
    purchaseStatuses: z.array(z.string().min(1)).min(1).default(['paid', 'authorized', 'partially_refunded']),
    /** Also convert orders marked `test: true` (bogus gateway, test mode). */
    includeTest: z.boolean().default(false),
    contentId: ContentIdSchema,
    ...commonOptions,
  })
  .strict();
export type ShopifyConfig = z.output<typeof ShopifyConfigSchema>;

const h = (headers: MapContext<ShopifyConfig>['headers'], name: string) =>
  header(headers, `x-shopify-${name}`) ?? header(headers, `shopify-${name}`);

/** Topics whose payload is a whole Order resource. */
const ORDER_TOPICS = new Set(['orders/create', 'orders/updated', 'orders/paid', 'orders/fulfilled', 'orders/partially_fulfilled']);

function lineContents(items: unknown, idKind: ShopifyConfig['contentId']): Content[] {
  if (!Array.isArray(items)) return [];
  const out: Content[] = [];
  for (const raw of items) {
    const item = isObject(raw) && isObject(raw.line_item) ? { ...raw.line_item, quantity: raw.quantity } : raw;
    if (!isObject(item)) continue;
    const id =
      idKind === 'variant'
        ? firstText(item.variant_id, item.product_id)
        : idKind === 'sku'
          ? firstText(item.sku, item.variant_id, item.product_id)
          : firstText(item.product_id, item.variant_id);
    const c = content({ id, quantity: item.quantity, price: item.price, title: item.title ?? item.name, brand: item.vendor });
    if (c) out.push(c);
  }
  return out;
}

function orderToPurchase(order: Json, ctx: MapContext<ShopifyConfig>): MapResult {
  const { config } = ctx;
  const read = readOrderTotal(order, 'total_price');
  if (read.errors) return { events: [], errors: read.errors };
  const { orderId, total: value, currency } = read.order;
  if (order.test === true && !config.includeTest) return { events: [], ignored: 'test order' };
  if (text(order.cancelled_at) !== undefined) return { events: [], ignored: 'cancelled order' };
  const status = text(order.financial_status) ?? '';
  if (!config.purchaseStatuses.includes(status)) return { events: [], ignored: `financial_status "${status}" is not a purchase` };

  const billing = isObject(order.billing_address) ? order.billing_address : {};
  const shipping = isObject(order.shipping_address) ? order.shipping_address : {};
  const customer = isObject(order.customer) ? order.customer : {};
  const client = isObject(order.client_details) ? order.client_details : {};
  const attrs = attributeRecord(order.note_attributes);
  const time = parseTime(order.processed_at) ?? parseTime(order.created_at);
  const shop = h(ctx.headers, 'shop-domain');
  const landing = httpUrl(order.landing_site, shop ? `https://${shop}` : undefined);

  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform: 'shopify',
      name: 'Purchase',
      idFrom: orderId,
      orderId: orderId,
      time,
      now: ctx.now,
      value,
      currency,
      contents: lineContents(order.line_items, config.contentId),
      status,
      user: {
        email: firstText(order.email, order.contact_email, customer.email),
        phone: firstText(order.phone, customer.phone, billing.phone, shipping.phone),
        first_name: firstText(billing.first_name, customer.first_name, shipping.first_name),
        last_name: firstText(billing.last_name, customer.last_name, shipping.last_name),
        city: firstText(billing.city, shipping.city),
        state: firstText(billing.province_code, shipping.province_code, billing.province),
        zip: firstText(billing.zip, shipping.zip),
        country: firstText(billing.country_code, shipping.country_code),
        external_id: text(customer.id),
      },
      ids: mergeIdentifiers(identifiersFromAttributes(attrs), identifiersFromUrl(landing, (time ?? ctx.now / 1000) * 1000)),
      ip: firstText(order.browser_ip, client.browser_ip),
      userAgent: text(client.user_agent),
      // The order status (thank-you) page is where the purchase happened; the landing
      // page is the next best absolute URL Shopify gives.
      url: httpUrl(order.order_status_url) ?? landing,
      referrer: httpUrl(order.referring_site),
      consent: consentFrom(attrs, config.consent),
      extra: { order_name: text(order.name) ?? orderId },
    }),
  ]);
}

function refundToEvent(refund: Json, ctx: MapContext<ShopifyConfig>): MapResult {
  const refundId = text(refund.id);
  const orderId = text(refund.order_id);
  const errors = [
    ...(refundId === undefined ? [{ field: 'id', message: 'the refund id is required' }] : []),
    ...(orderId === undefined ? [{ field: 'order_id', message: 'the order id is required' }] : []),
  ];
  if (errors.length) return { events: [], errors };
  const transactions = (Array.isArray(refund.transactions) ? refund.transactions : []).filter(
    (t): t is Json => isObject(t) && t.kind === 'refund' && (t.status === undefined || t.status === 'success'),
  );
  let value = 0;
  let currency: string | undefined;
  for (const t of transactions) {
    const amount = parseMoney(t.amount);
    if (amount === undefined) return { events: [], errors: [{ field: 'transactions.amount', message: 'must be a decimal amount' }] };
    value += amount;
    currency ??= text(t.currency);
  }
  if (transactions.length === 0 || value === 0) return { events: [], ignored: 'refund without a refunded amount' };
  if (!isCurrencyCode(currency)) {
    return { events: [], errors: [{ field: 'transactions.currency', message: 'must be an ISO 4217 code like BRL' }] };
  }
  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform: 'shopify',
      name: 'Refund',
      idFrom: refundId!,
      orderId: orderId!,
      time: parseTime(refund.processed_at) ?? parseTime(refund.created_at),
      now: ctx.now,
      value: roundMoney(value),
      currency,
      contents: lineContents(refund.refund_line_items, ctx.config.contentId),
      user: {},
      consent: ctx.config.consent,
      extra: { refund_id: refundId! },
    }),
  ]);
}

function disputeToEvent(dispute: Json, ctx: MapContext<ShopifyConfig>): MapResult {
  const disputeId = text(dispute.id);
  const orderId = text(dispute.order_id);
  if (disputeId === undefined) return { events: [], errors: [{ field: 'id', message: 'the dispute id is required' }] };
  if (text(dispute.type) !== 'chargeback') return { events: [], ignored: 'dispute is an inquiry, not a chargeback' };
  const value = parseMoney(dispute.amount);
  const currency = text(dispute.currency);
  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform: 'shopify',
      name: 'Chargeback',
      idFrom: disputeId,
      orderId: orderId ?? disputeId,
      time: parseTime(dispute.initiated_at),
      now: ctx.now,
      value,
      currency: isCurrencyCode(currency) ? currency : undefined,
      status: text(dispute.status),
      user: {},
      consent: ctx.config.consent,
      extra: { dispute_id: disputeId, ...(text(dispute.reason) ? { reason: text(dispute.reason)! } : {}) },
    }),
  ]);
}

export const shopify = definePlatform<ShopifyConfig>({
  platform: 'shopify',
  configSchema: ShopifyConfigSchema,

  verify(req, config) {
    const sent = header(req.headers, 'x-shopify-hmac-sha256') ?? header(req.headers, 'shopify-hmac-sha256');
    if (sent === undefined) return { ok: false, status: 401, code: 'missing_signature', message: 'X-Shopify-Hmac-Sha256 is missing' };
    if (!hmacMatches(sent, req.rawBody, secretList(config.secret), 'sha256', 'base64')) {
      return { ok: false, status: 401, code: 'invalid_signature', message: 'the HMAC does not match the body' };
    }
    return { ok: true };
  },

  toEvents(payload, ctx) {
    if (!isObject(payload)) return { events: [], errors: [{ field: '(body)', message: 'must be a JSON object' }] };
    const topic = h(ctx.headers, 'topic') ?? (payload.financial_status !== undefined ? 'orders/paid' : '');
    if (ORDER_TOPICS.has(topic)) return orderToPurchase(payload, ctx);
    if (topic === 'refunds/create') return refundToEvent(payload, ctx);
    if (topic === 'disputes/create' || topic === 'disputes/update') return disputeToEvent(payload, ctx);
    return { events: [], ignored: `topic ${topic || '(none)'} is not converted` };
  },

  deliveryId(headers) {
    return h(headers, 'webhook-id') ?? h(headers, 'event-id');
  },
});
