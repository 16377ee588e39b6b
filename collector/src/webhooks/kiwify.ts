// Kiwify sales webhooks (reference/destinations.md §6.4; docs.kiwify.com.br/api-reference/
// webhooks, "Receber e validar webhooks").
//
// Authenticity: Kiwify appends `signature` to the registered URL's query string: lowercase
// hex HMAC-SHA1 of the raw body keyed with the webhook's token (never sent itself). ⚠ Some
// integrators report bodies wrapped as `{"order": {…}}` signed over the inner object only;
// the docs say raw body, which is tried first, then the inner object as Kiwify serializes
// it. (Not Kiwify's banking webhooks: those are Ed25519-signed and a different system.)
//
// Events (`webhook_event_type`, else `order_status`): order_approved / paid → Purchase;
// order_refunded / refunded → Refund; chargeback / chargedback → Chargeback; the rest
// (boleto/pix generated, abandoned cart, subscriptions…) are ignored.
//
// Order id: `order_id` (a UUID). Value: `Commissions.charge_amount`, an integer in cents
// (sometimes a string). Event time is the time of receipt: Kiwify's dates carry no time
// zone. Browser ids: put the visitor id in the checkout link's `sck` (or src, s1–s3, see
// `visitorIdParam`); it returns in `TrackingParameters` and links the browser's signals.
import { z } from 'zod';
import {
  attributeRecord,
  buildWebhookEvent,
  collect,
  content,
  firstText,
  identifiersFromAttributes,
  isObject,
  mergeIdentifiers,
  minorToMajor,
  parseMoney,
  splitName,
  text,
  visitorId,
  type Json,
} from './build-event.js';
import { commonOptions, CurrencyCodeSchema, SecretSchema } from './config-parts.js';
import { hmacMatches, secretList } from './signatures.js';
import { definePlatform, type MapContext, type MapResult } from './types.js';

export const KiwifyConfigSchema = z
  .object({
    /** The webhook's token (Kiwify › Apps › Webhooks, or the API's `token` field). */
    token: SecretSchema,
    visitorIdParam: z.enum(['sck', 'src', 's1', 's2', 's3']).default('sck'),
    /** Currency when `Commissions.currency` is absent. */
    defaultCurrency: CurrencyCodeSchema.default('BRL'),
    ...commonOptions,
  })
  .strict();
export type KiwifyConfig = z.output<typeof KiwifyConfigSchema>;

const BY_EVENT_TYPE: Record<string, string> = { order_approved: 'Purchase', order_refunded: 'Refund', chargeback: 'Chargeback' };
const BY_STATUS: Record<string, string> = { paid: 'Purchase', refunded: 'Refund', chargedback: 'Chargeback' };
const CURRENCY_RE = /^[A-Za-z]{3}$/;

/** The order object: the body itself, or `body.order` for wrapped deliveries. */
function unwrap(payload: Json): Json {
  return payload.order_id === undefined && isObject(payload.order) ? payload.order : payload;
}

function toEvent(name: string, order: Json, ctx: MapContext<KiwifyConfig>): MapResult {
  const orderId = text(order.order_id);
  const commissions = isObject(order.Commissions) ? order.Commissions : {};
  const cents = parseMoney(commissions.charge_amount);
  const currency = firstText(commissions.currency) ?? ctx.config.defaultCurrency;
  const errors = [
    ...(orderId === undefined ? [{ field: 'order_id', message: 'the order id is required' }] : []),
    ...(cents === undefined || !Number.isInteger(cents) ? [{ field: 'Commissions.charge_amount', message: 'must be an integer amount in cents' }] : []),
    ...(!CURRENCY_RE.test(currency) ? [{ field: 'Commissions.currency', message: 'must be an ISO 4217 code like BRL' }] : []),
  ];
  if (errors.length) return { events: [], errors };
  const value = minorToMajor(cents!, currency);
  const customer = isObject(order.Customer) ? order.Customer : {};
  const product = isObject(order.Product) ? order.Product : {};
  const tracking = attributeRecord(order.TrackingParameters);
  const names = customer.first_name ? { first_name: text(customer.first_name), last_name: splitName(customer.full_name).last_name } : splitName(customer.full_name);
  const item = content({ id: product.product_id, quantity: 1, price: value, title: product.product_name });
  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform: 'kiwify',
      name,
      idFrom: orderId!,
      orderId: orderId!,
      now: ctx.now,
      value,
      currency,
      contents: name === 'Purchase' && item ? [item] : undefined,
      status: text(order.order_status),
      user: {
        email: text(customer.email),
        phone: firstText(customer.mobile, customer.phone),
        ...names,
        city: text(customer.city),
        state: text(customer.state),
        zip: firstText(customer.zipcode, customer.zip_code),
      },
      ids: mergeIdentifiers({ visitor_id: visitorId(tracking[ctx.config.visitorIdParam]) }, identifiersFromAttributes(tracking)),
      ip: text(customer.ip),
      consent: ctx.config.consent,
    }),
  ]);
}

export const kiwify = definePlatform<KiwifyConfig>({
  platform: 'kiwify',
  configSchema: KiwifyConfigSchema,

  verify(req, config) {
    const sent = req.query.signature;
    if (!sent) return { ok: false, status: 401, code: 'missing_signature', message: 'the signature query parameter is missing' };
    const keys = secretList(config.token);
    if (hmacMatches(sent, req.rawBody, keys, 'sha1', 'hex')) return { ok: true };
    // ⚠ The wrapped form: the HMAC of the inner `order` object as JSON.
    try {
      const body = JSON.parse(req.rawBody.toString('utf8')) as unknown;
      if (isObject(body) && isObject(body.order) && body.order_id === undefined) {
        const inner = JSON.stringify(body.order);
        if (hmacMatches(sent, inner, keys, 'sha1', 'hex')) return { ok: true };
      }
    } catch {
      // not JSON: the raw-body check above was the only one possible
    }
    return { ok: false, status: 401, code: 'invalid_signature', message: 'the signature does not match the body' };
  },

  toEvents(payload, ctx) {
    if (!isObject(payload)) return { events: [], errors: [{ field: '(body)', message: 'must be a JSON object' }] };
    const order = unwrap(payload);
    const type = text(order.webhook_event_type);
    const status = text(order.order_status);
    const name = type !== undefined ? BY_EVENT_TYPE[type] : status !== undefined ? BY_STATUS[status] : undefined;
    if (type === undefined && status === undefined) {
      return { events: [], errors: [{ field: 'webhook_event_type', message: 'the event type (or order_status) is required' }] };
    }
    if (name === undefined) return { events: [], ignored: `event ${type ?? status} is not converted` };
    return toEvent(name, order, ctx);
  },

  deliveryId(_headers, payload) {
    if (!isObject(payload)) return undefined;
    const order = unwrap(payload);
    const id = text(order.order_id);
    const kind = firstText(order.webhook_event_type, order.order_status);
    return id && kind ? `${id}:${kind}` : undefined;
  },
});
