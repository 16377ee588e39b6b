// Cakto webhooks (reference/destinations.md §6.6; docs.cakto.com.br/conceitos/webhooks and the
// older Notion "Webhooks-pt-br" page with the purchase_approved example).
//
// Authenticity: the body is always `{ "secret", "event", "data" }`; the `secret` must equal
// the webhook's secret (timing-safe). There is no signature header, so the body has to be
// parsed to find it: a body that is not JSON is answered 400 before anything else happens.
//
// Events: purchase_approved → Purchase; refund → Refund; chargeback → Chargeback (⚠ the last
// two spelled as integrators report them; the docs confirm purchase_approved). "Webhook V2"
// sends `data` as a list: each element is converted.
//
// Order id: `data.id` (the order's UUID) by default, or `data.refId` (the short code shown
// to the buyer) with `orderIdField: "refId"`: use whichever your thank-you page passes to
// trakvo('Purchase', { order_id }). Value: `data.amount`, already in major units; Cakto
// sends no currency (BRL unless `defaultCurrency`). Browser ids: Cakto reports the
// checkout's `fbp`/`fbc` itself, and `sck` can carry the visitor id.
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
  parseMoney,
  parseTime,
  splitName,
  text,
  visitorId,
  type BuildResult,
  type Json,
} from './build-event.js';
import { commonOptions, CurrencyCodeSchema, SecretSchema } from './config-parts.js';
import { secretMatches, secretList } from './signatures.js';
import { definePlatform, type MapContext } from './types.js';

export const CaktoConfigSchema = z
  .object({
    /** The webhook's secret (Cakto › Integrações › Webhooks). */
    secret: SecretSchema,
    orderIdField: z.enum(['id', 'refId']).default('id'),
    defaultCurrency: CurrencyCodeSchema.default('BRL'),
    ...commonOptions,
  })
  .strict();
export type CaktoConfig = z.output<typeof CaktoConfigSchema>;

const NAMES: Record<string, string> = { purchase_approved: 'Purchase', refund: 'Refund', chargeback: 'Chargeback' };

function toEvent(name: string, data: Json, index: string, ctx: MapContext<CaktoConfig>): BuildResult {
  const orderId = text(data[ctx.config.orderIdField]);
  const value = parseMoney(data.amount);
  const errors = [
    ...(orderId === undefined ? [{ field: `data${index}.${ctx.config.orderIdField}`, message: 'the order id is required' }] : []),
    ...(value === undefined ? [{ field: `data${index}.amount`, message: 'must be a number' }] : []),
  ];
  if (errors.length) return { errors };
  const customer = isObject(data.customer) ? data.customer : {};
  const product = isObject(data.product) ? data.product : {};
  const address = isObject(data.address) ? data.address : {};
  const item = content({ id: firstText(product.id, product.short_id), quantity: 1, price: value, title: product.name });
  return buildWebhookEvent({
    site: ctx.site,
    platform: 'cakto',
    name,
    idFrom: orderId!,
    orderId: orderId!,
    time: name === 'Purchase' ? (parseTime(data.paidAt) ?? parseTime(data.createdAt)) : undefined,
    now: ctx.now,
    value,
    currency: ctx.config.defaultCurrency,
    contents: name === 'Purchase' && item ? [item] : undefined,
    status: text(data.status),
    user: {
      email: text(customer.email),
      phone: text(customer.phone),
      ...splitName(customer.name),
      date_of_birth: text(customer.birthDate),
      city: text(address.city),
      state: text(address.state),
      zip: firstText(address.zipcode, address.zipCode, address.zip),
    },
    ids: mergeIdentifiers(identifiersFromAttributes(attributeRecord({ fbp: data.fbp, fbc: data.fbc })), { visitor_id: visitorId(data.sck) }),
    consent: ctx.config.consent,
    extra: text(data.refId) ? { ref_id: text(data.refId)! } : undefined,
  });
}

export const cakto = definePlatform<CaktoConfig>({
  platform: 'cakto',
  configSchema: CaktoConfigSchema,

  verify(req, config) {
    let body: unknown;
    try {
      body = JSON.parse(req.rawBody.toString('utf8'));
    } catch {
      return { ok: false, status: 400, code: 'invalid_json', message: 'the body is not valid JSON' };
    }
    const sent = isObject(body) && typeof body.secret === 'string' ? body.secret : undefined;
    if (sent === undefined) return { ok: false, status: 401, code: 'missing_secret', message: 'the body has no secret' };
    if (!secretMatches(sent, secretList(config.secret))) return { ok: false, status: 401, code: 'invalid_secret', message: 'the secret does not match' };
    return { ok: true };
  },

  toEvents(payload, ctx) {
    if (!isObject(payload)) return { events: [], errors: [{ field: '(body)', message: 'must be a JSON object' }] };
    const event = text(payload.event);
    if (event === undefined) return { events: [], errors: [{ field: 'event', message: 'the event name is required' }] };
    const name = NAMES[event];
    if (name === undefined) return { events: [], ignored: `event ${event} is not converted` };
    const list = Array.isArray(payload.data) ? payload.data : [payload.data];
    if (list.length === 0 || !list.every(isObject)) return { events: [], errors: [{ field: 'data', message: 'must be an object or a list of objects' }] };
    const many = Array.isArray(payload.data);
    return collect(list.map((d, i) => toEvent(name, d as Json, many ? `[${i}]` : '', ctx)));
  },

  deliveryId(_headers, payload) {
    if (!isObject(payload)) return undefined;
    const first = Array.isArray(payload.data) ? payload.data[0] : payload.data;
    const id = isObject(first) ? text(first.id) : undefined;
    const event = text(payload.event);
    return id && event ? `${event}:${id}` : undefined;
  },
});
