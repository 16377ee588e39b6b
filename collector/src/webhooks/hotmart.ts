// Hotmart purchase webhooks, version 2.0.0 (reference/destinations.md §6.3;
// developers.hotmart.com/docs/en/2.0.0/webhook/purchase-webhook/).
//
// Authenticity: the account's static hottok in `X-HOTMART-HOTTOK`, compared as a shared
// secret (it is not an HMAC of the body, so it proves the sender knows the token, not that
// the body is unaltered; there is no timestamp, so replays are stopped by the event ids
// only). Hotmart's own test postbacks also put it in the body as `hottok`: that is accepted
// when the header is absent (⚠ followed the test payload shape; the docs name the header).
//
// Events: PURCHASE_APPROVED and PURCHASE_COMPLETE → Purchase (same transaction, one event);
// PURCHASE_REFUNDED → Refund; PURCHASE_CHARGEBACK → Chargeback; the rest are ignored.
//
// Order id: `data.purchase.transaction` (`HP…`), which Hotmart appends as `transaction` to
// the producer's thank-you page URL: that page calls trakvo('Purchase', { order_id: it }).
// Browser ids: Hotmart has no fbp/fbc fields; put the visitor id (trakvo.getVisitorId())
// in the checkout link's `sck` (or `src`/`xcod`, see `visitorIdParam`): it comes back in
// `data.purchase.origin` (⚠ path as integrators report it) and links the browser's signals.
import { z } from 'zod';
import {
  buildWebhookEvent,
  collect,
  content,
  firstText,
  isObject,
  parseMoney,
  parseTime,
  splitName,
  text,
  visitorId,
  type Json,
} from './build-event.js';
import { commonOptions, SecretSchema } from './config-parts.js';
import { secretMatches, secretList } from './signatures.js';
import { definePlatform, header, type MapContext, type MapResult } from './types.js';

export const HotmartConfigSchema = z
  .object({
    /** Hotmart › Tools › Webhook › hottok. */
    hottok: SecretSchema,
    /** Which checkout tracking parameter carries the visitor id. */
    visitorIdParam: z.enum(['sck', 'src', 'xcod']).default('sck'),
    ...commonOptions,
  })
  .strict();
export type HotmartConfig = z.output<typeof HotmartConfigSchema>;

const NAMES: Record<string, string> = {
  PURCHASE_APPROVED: 'Purchase',
  PURCHASE_COMPLETE: 'Purchase',
  PURCHASE_REFUNDED: 'Refund',
  PURCHASE_CHARGEBACK: 'Chargeback',
};
const CURRENCY_RE = /^[A-Za-z]{3}$/;

function toEvent(name: string, body: Json, data: Json, ctx: MapContext<HotmartConfig>): MapResult {
  const purchase = isObject(data.purchase) ? data.purchase : {};
  const buyer = isObject(data.buyer) ? data.buyer : {};
  const address = isObject(buyer.address) ? buyer.address : {};
  const product = isObject(data.product) ? data.product : {};
  const price = isObject(purchase.price) ? purchase.price : {};
  const origin = isObject(purchase.origin) ? purchase.origin : {};
  const transaction = text(purchase.transaction);
  const value = parseMoney(price.value);
  const currency = firstText(price.currency_value, price.currency_code);
  const errors = [
    ...(transaction === undefined ? [{ field: 'data.purchase.transaction', message: 'the transaction code is required' }] : []),
    ...(value === undefined ? [{ field: 'data.purchase.price.value', message: 'must be a number' }] : []),
    ...(currency === undefined || !CURRENCY_RE.test(currency)
      ? [{ field: 'data.purchase.price.currency_value', message: 'must be an ISO 4217 code like BRL' }]
      : []),
  ];
  if (errors.length) return { events: [], errors };
  const names = buyer.first_name || buyer.last_name ? { first_name: text(buyer.first_name), last_name: text(buyer.last_name) } : splitName(buyer.name);
  const vid = visitorId(origin[ctx.config.visitorIdParam]);
  const item = content({ id: firstText(product.id, product.ucode), quantity: 1, price: value, title: product.name });
  const time =
    name === 'Purchase' ? (parseTime(purchase.approved_date) ?? parseTime(body.creation_date)) : parseTime(body.creation_date);
  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform: 'hotmart',
      name,
      idFrom: transaction!,
      orderId: transaction!,
      time,
      now: ctx.now,
      value,
      currency,
      contents: name === 'Purchase' && item ? [item] : undefined,
      status: text(purchase.status),
      user: {
        email: text(buyer.email),
        phone: text(buyer.checkout_phone),
        ...names,
        city: text(address.city),
        state: text(address.state),
        zip: text(address.zipcode),
        country: firstText(address.country_iso, isObject(purchase.checkout_country) ? purchase.checkout_country.iso : undefined),
      },
      ids: vid ? { visitor_id: vid } : {},
      ip: text(purchase.buyer_ip),
      consent: ctx.config.consent,
    }),
  ]);
}

export const hotmart = definePlatform<HotmartConfig>({
  platform: 'hotmart',
  configSchema: HotmartConfigSchema,

  verify(req, config) {
    let sent = header(req.headers, 'x-hotmart-hottok');
    if (sent === undefined) {
      try {
        const body = JSON.parse(req.rawBody.toString('utf8')) as unknown;
        if (isObject(body) && typeof body.hottok === 'string') sent = body.hottok;
      } catch {
        // not JSON: no token to find
      }
    }
    if (sent === undefined) return { ok: false, status: 401, code: 'missing_token', message: 'X-HOTMART-HOTTOK is missing' };
    if (!secretMatches(sent, secretList(config.hottok))) {
      return { ok: false, status: 401, code: 'invalid_token', message: 'the hottok does not match' };
    }
    return { ok: true };
  },

  toEvents(payload, ctx) {
    if (!isObject(payload)) return { events: [], errors: [{ field: '(body)', message: 'must be a JSON object' }] };
    const event = text(payload.event);
    if (event === undefined) return { events: [], errors: [{ field: 'event', message: 'the event name is required' }] };
    const name = NAMES[event];
    if (name === undefined) return { events: [], ignored: `event ${event} is not converted` };
    if (!isObject(payload.data)) return { events: [], errors: [{ field: 'data', message: 'must be an object' }] };
    return toEvent(name, payload, payload.data, ctx);
  },

  deliveryId(_headers, payload) {
    return isObject(payload) ? text(payload.id) : undefined;
  },
});
