// WooCommerce order webhooks (reference/destinations.md §6.2; WooCommerce core
// `class-wc-webhook.php`).
//
// Authenticity: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the body as sent, keyed with
// the webhook's secret. Core passes the stored secret through `wp_specialchars_decode`
// first, so the entity-decoded form of the configured secret is accepted as well. When a
// webhook is saved WooCommerce sends an unsigned ping (`webhook_id=<id>`, form-encoded):
// it is answered 200 and nothing else happens, or activation would fail. WooCommerce does
// not retry failed deliveries, and disables a webhook after more than 5 failures in a row.
//
// Topics: order.created / order.updated / order.restored → Purchase when `status` is one of
// `purchaseStatuses` (default processing, completed), plus one Refund per entry of the
// order's `refunds[]` (each with its own refund id, so re-sent updates change nothing).
//
// Order id: the order's `id` (what `$order->get_id()` and the order-received page URL
// `/checkout/order-received/<id>/` carry; `number` can differ with sequential-number plugins).
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
  text,
  type BuildResult,
  type Json,
} from './build-event.js';
import { commonOptions, ContentIdSchema, SecretSchema } from './config-parts.js';
import { readOrderTotal } from './order-total.js';
import { hmacMatches, secretList } from './signatures.js';
import { definePlatform, header, type MapContext, type MapResult } from './types.js';

export const WooCommerceConfigSchema = z
  .object({
    /** The webhook's "Secret" field (WooCommerce › Settings › Advanced › Webhooks). */
    secret: SecretSchema,
    /** Order statuses that mean paid. */
    purchaseStatuses: z.array(z.string().min(1)).min(1).default(['processing', 'completed']),
    contentId: ContentIdSchema,
    ...commonOptions,
  })
  .strict();
export type WooCommerceConfig = z.output<typeof WooCommerceConfigSchema>;

const ORDER_TOPICS = new Set(['order.created', 'order.updated', 'order.restored']);

/** What PHP's htmlspecialchars produces, undone (`wp_specialchars_decode`, ENT_QUOTES). */
function specialcharsDecode(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;/g, "'")
    .replace(/&#x27;/gi, "'")
    .replace(/&amp;/g, '&');
}

/** WooCommerce's `*_gmt` dates carry no zone: read them as UTC. */
function gmtTime(v: unknown): number | undefined {
  const t = text(v);
  if (t === undefined) return undefined;
  return parseTime(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`);
}

function lineContents(items: unknown, idKind: WooCommerceConfig['contentId']): Content[] {
  if (!Array.isArray(items)) return [];
  const out: Content[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    const variation = Number(item.variation_id) > 0 ? item.variation_id : undefined;
    const id =
      idKind === 'variant'
        ? firstText(variation, item.product_id)
        : idKind === 'sku'
          ? firstText(item.sku, variation, item.product_id)
          : firstText(item.product_id);
    const c = content({ id, quantity: item.quantity, price: item.price, title: item.name });
    if (c) out.push(c);
  }
  return out;
}

function orderToEvents(order: Json, ctx: MapContext<WooCommerceConfig>): MapResult {
  const { config } = ctx;
  const read = readOrderTotal(order, 'total');
  if (read.errors) return { events: [], errors: read.errors };
  const { orderId, total, currency } = read.order;

  const status = text(order.status) ?? '';
  const billing = isObject(order.billing) ? order.billing : {};
  const shipping = isObject(order.shipping) ? order.shipping : {};
  const meta = attributeRecord(order.meta_data, 'key', 'value');
  // WooCommerce's built-in order attribution keeps the session's landing page and user
  // agent in order meta (`_wc_order_attribution_*`, ⚠ names as WooCommerce 8.5+ writes them).
  const entry = httpUrl(meta['_wc_order_attribution_session_entry']);
  const store = httpUrl(header(ctx.headers, 'x-wc-webhook-source'));
  const paidAt = gmtTime(order.date_paid_gmt) ?? gmtTime(order.date_created_gmt);
  const consent = consentFrom(meta, config.consent);
  const results: BuildResult[] = [];

  if (config.purchaseStatuses.includes(status)) {
    const customerId = Number(order.customer_id) > 0 ? text(order.customer_id) : undefined;
    results.push(
      buildWebhookEvent({
        site: ctx.site,
        platform: 'woocommerce',
        name: 'Purchase',
        idFrom: orderId,
        orderId: orderId,
        time: paidAt,
        now: ctx.now,
        value: total,
        currency,
        contents: lineContents(order.line_items, config.contentId),
        status,
        user: {
          email: firstText(billing.email),
          phone: firstText(billing.phone, shipping.phone),
          first_name: firstText(billing.first_name, shipping.first_name),
          last_name: firstText(billing.last_name, shipping.last_name),
          city: firstText(billing.city, shipping.city),
          state: firstText(billing.state, shipping.state),
          zip: firstText(billing.postcode, shipping.postcode),
          country: firstText(billing.country, shipping.country),
          external_id: customerId,
        },
        ids: mergeIdentifiers(identifiersFromAttributes(meta), identifiersFromUrl(entry, (paidAt ?? ctx.now / 1000) * 1000)),
        ip: text(order.customer_ip_address),
        userAgent: firstText(order.customer_user_agent, meta['_wc_order_attribution_user_agent']),
        url: entry ?? store,
        consent,
        extra: { order_number: text(order.number) ?? orderId },
      }),
    );
  }

  for (const refund of Array.isArray(order.refunds) ? order.refunds : []) {
    if (!isObject(refund)) continue;
    const refundId = text(refund.id);
    const amount = parseMoney(refund.total);
    if (refundId === undefined || amount === undefined || amount === 0) continue;
    results.push(
      buildWebhookEvent({
        site: ctx.site,
        platform: 'woocommerce',
        name: 'Refund',
        idFrom: refundId,
        orderId: orderId,
        now: ctx.now,
        value: Math.abs(amount), // WooCommerce lists refunds with negative totals
        currency,
        user: {},
        consent,
        extra: { refund_id: refundId },
      }),
    );
  }

  const out = collect(results);
  if (out.errors) return out;
  if (out.events.length === 0) return { events: [], ignored: `order status "${status}" is not a purchase and has no refunds` };
  return out;
}

export const woocommerce = definePlatform<WooCommerceConfig>({
  platform: 'woocommerce',
  configSchema: WooCommerceConfigSchema,

  verify(req, config) {
    const sent = header(req.headers, 'x-wc-webhook-signature');
    if (sent === undefined) {
      // The activation ping: form-encoded `webhook_id=<id>`, never signed.
      if (/^webhook_id=\d+$/.test(req.rawBody.toString('utf8').trim())) return { ok: true, ping: true };
      return { ok: false, status: 401, code: 'missing_signature', message: 'X-WC-Webhook-Signature is missing' };
    }
    const keys = secretList(config.secret).flatMap((s) => {
      const decoded = specialcharsDecode(s);
      return decoded === s ? [s] : [s, decoded];
    });
    if (!hmacMatches(sent, req.rawBody, keys, 'sha256', 'base64')) {
      return { ok: false, status: 401, code: 'invalid_signature', message: 'the HMAC does not match the body' };
    }
    return { ok: true };
  },

  toEvents(payload, ctx) {
    if (!isObject(payload)) return { events: [], errors: [{ field: '(body)', message: 'must be a JSON object' }] };
    const topic = header(ctx.headers, 'x-wc-webhook-topic') ?? (payload.status !== undefined ? 'order.updated' : '');
    if (!ORDER_TOPICS.has(topic)) return { events: [], ignored: `topic ${topic || '(none)'} is not converted` };
    return orderToEvents(payload, ctx);
  },

  deliveryId(headers) {
    return header(headers, 'x-wc-webhook-delivery-id');
  },
});
