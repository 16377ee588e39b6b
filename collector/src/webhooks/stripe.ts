// Stripe events (reference/destinations.md §6.5; docs.stripe.com/webhooks "verify signatures
// manually").
//
// Authenticity: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=…]`; expected = hex HMAC-SHA256 of
// `<t>.<raw body>` keyed with the endpoint's signing secret (`whsec_…`). Any v1 may match
// (several appear while a secret rolls); other schemes (v0) are ignored. A signed request
// whose `t` is more than `toleranceSec` (default 300, as Stripe's SDKs) away from now is
// refused as stale: that is what stops a captured request being replayed later.
//
// Events: checkout.session.completed with payment_status `paid` → Purchase; with `unpaid`
// (boleto, OXXO, SEPA…) nothing until checkout.session.async_payment_succeeded → Purchase.
// charge.refunded / refund.created → Refund (one per refund id `re_…`); charge.dispute.created
// → Chargeback (id `dp_…`). Amounts are in Stripe's minor units → major units (JPY and the
// other zero-decimal currencies are already whole; BHD/KWD… are thousandths).
//
// Order id: `metadata.order_id` when the merchant's server put its own order id there (what
// its thank-you page knows), else the Checkout Session id `cs_…` (what a success_url with
// `{CHECKOUT_SESSION_ID}` receives). Line items are not part of the event and are not
// fetched (no outbound calls on the request path), so Stripe purchases carry no contents.
import { z } from 'zod';
import {
  attributeRecord,
  buildWebhookEvent,
  collect,
  consentFrom,
  firstText,
  httpUrl,
  identifiersFromAttributes,
  isObject,
  minorToMajor,
  mergeIdentifiers,
  splitName,
  text,
  visitorId,
  type BuildResult,
  type Json,
} from './build-event.js';
import { commonOptions, SecretSchema } from './config-parts.js';
import { hmacMatches, secretList } from './signatures.js';
import { definePlatform, header, type MapContext, type MapResult } from './types.js';

export const StripeConfigSchema = z
  .object({
    /** The endpoint's signing secret (`whsec_…`); a list while rolling it. */
    secret: SecretSchema,
    /** Largest accepted distance between the signature's timestamp and now, seconds. */
    toleranceSec: z.number().int().positive().max(3600).default(300),
    ...commonOptions,
  })
  .strict();
export type StripeConfig = z.output<typeof StripeConfigSchema>;

const CURRENCY_RE = /^[A-Za-z]{3}$/;

/** `t=…,v1=…,v1=…` → timestamp and v1 signatures. */
export function parseStripeSignature(value: string): { t?: number; v1: string[] } {
  const out: { t?: number; v1: string[] } = { v1: [] };
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(val)) out.t = Number(val);
    else if (key === 'v1') out.v1.push(val);
  }
  return out;
}

function money(amount: unknown, currency: unknown): { value?: number; currency?: string } {
  const c = text(currency);
  if (typeof amount !== 'number' || !Number.isInteger(amount) || c === undefined || !CURRENCY_RE.test(c)) return {};
  return { value: minorToMajor(amount, c), currency: c.toUpperCase() };
}

function sessionToPurchase(event: Json, session: Json, ctx: MapContext<StripeConfig>): MapResult {
  const sessionId = text(session.id);
  const { value, currency } = money(session.amount_total, session.currency);
  const errors = [
    ...(sessionId === undefined ? [{ field: 'data.object.id', message: 'the Checkout Session id is required' }] : []),
    ...(value === undefined ? [{ field: 'data.object.amount_total', message: 'must be an integer amount in minor units with a currency' }] : []),
  ];
  if (errors.length) return { events: [], errors };
  const metadata = attributeRecord(session.metadata);
  const details = isObject(session.customer_details) ? session.customer_details : {};
  const address = isObject(details.address) ? details.address : {};
  const ids = mergeIdentifiers(identifiersFromAttributes(metadata), { visitor_id: visitorId(session.client_reference_id) });
  const orderId = firstText(metadata.order_id) ?? sessionId!;
  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform: 'stripe',
      name: 'Purchase',
      idFrom: orderId,
      orderId,
      time: typeof event.created === 'number' ? event.created : undefined,
      now: ctx.now,
      value,
      currency,
      status: text(session.payment_status),
      user: {
        email: firstText(details.email, session.customer_email),
        phone: firstText(details.phone),
        ...splitName(details.name),
        city: text(address.city),
        state: text(address.state),
        zip: text(address.postal_code),
        country: text(address.country),
        external_id: typeof session.customer === 'string' ? session.customer : undefined,
      },
      ids,
      ip: firstText(metadata.client_ip, metadata.ip),
      userAgent: firstText(metadata.user_agent, metadata.client_user_agent),
      url: httpUrl(firstText(metadata.event_source_url, metadata.url, metadata.page_url)),
      consent: consentFrom(metadata, ctx.config.consent),
      extra: { checkout_session: sessionId! },
    }),
  ]);
}

function refundEvent(refund: Json, orderId: string, fallbackCurrency: unknown, ctx: MapContext<StripeConfig>): BuildResult | undefined {
  const id = text(refund.id);
  const status = text(refund.status);
  if (id === undefined || status === 'failed' || status === 'canceled') return undefined;
  const { value, currency } = money(refund.amount, refund.currency ?? fallbackCurrency);
  if (value === undefined) return undefined;
  return buildWebhookEvent({
    site: ctx.site,
    platform: 'stripe',
    name: 'Refund',
    idFrom: id,
    orderId,
    time: typeof refund.created === 'number' ? refund.created : undefined,
    now: ctx.now,
    value,
    currency,
    status,
    user: {},
    consent: ctx.config.consent,
    extra: { refund_id: id },
  });
}

function refundsOf(type: string, object: Json, ctx: MapContext<StripeConfig>): MapResult {
  const metadata = attributeRecord(object.metadata);
  if (type === 'refund.created') {
    const orderId = firstText(metadata.order_id, object.payment_intent, object.charge, object.id) ?? 'unknown';
    const r = refundEvent(object, orderId, undefined, ctx);
    return r ? collect([r]) : { events: [], ignored: 'refund failed, canceled or without an amount' };
  }
  // charge.refunded: the charge, with its refunds when the API version still embeds them.
  const chargeId = text(object.id);
  if (chargeId === undefined) return { events: [], errors: [{ field: 'data.object.id', message: 'the charge id is required' }] };
  const orderId = firstText(metadata.order_id, object.payment_intent) ?? chargeId;
  const list = isObject(object.refunds) && Array.isArray(object.refunds.data) ? object.refunds.data.filter(isObject) : [];
  const results = list.map((r) => refundEvent(r, orderId, object.currency, ctx)).filter((r): r is BuildResult => r !== undefined);
  if (results.length === 0) {
    // Newer API versions leave `refunds` out: one Refund for the charge's refunded total.
    const r = refundEvent({ id: chargeId, amount: object.amount_refunded, currency: object.currency, created: object.created }, orderId, undefined, ctx);
    if (r) results.push(r);
  }
  return results.length ? collect(results) : { events: [], ignored: 'charge without a refunded amount' };
}

function disputeToChargeback(dispute: Json, ctx: MapContext<StripeConfig>): MapResult {
  const id = text(dispute.id);
  if (id === undefined) return { events: [], errors: [{ field: 'data.object.id', message: 'the dispute id is required' }] };
  const { value, currency } = money(dispute.amount, dispute.currency);
  const metadata = attributeRecord(dispute.metadata);
  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform: 'stripe',
      name: 'Chargeback',
      idFrom: id,
      orderId: firstText(metadata.order_id, dispute.payment_intent, dispute.charge) ?? id,
      time: typeof dispute.created === 'number' ? dispute.created : undefined,
      now: ctx.now,
      value,
      currency,
      status: text(dispute.status),
      user: {},
      consent: ctx.config.consent,
      extra: { dispute_id: id, ...(text(dispute.reason) ? { reason: text(dispute.reason)! } : {}) },
    }),
  ]);
}

export const stripe = definePlatform<StripeConfig>({
  platform: 'stripe',
  configSchema: StripeConfigSchema,

  verify(req, config, now) {
    const sent = header(req.headers, 'stripe-signature');
    if (sent === undefined) return { ok: false, status: 401, code: 'missing_signature', message: 'Stripe-Signature is missing' };
    const { t, v1 } = parseStripeSignature(sent);
    if (t === undefined || v1.length === 0) {
      return { ok: false, status: 401, code: 'invalid_signature', message: 'Stripe-Signature has no t= timestamp or no v1= signature' };
    }
    const signed = Buffer.concat([Buffer.from(`${t}.`, 'utf8'), req.rawBody]);
    const keys = secretList(config.secret);
    let matched = false;
    for (const sig of v1) if (hmacMatches(sig, signed, keys, 'sha256', 'hex')) matched = true;
    if (!matched) return { ok: false, status: 401, code: 'invalid_signature', message: 'no v1 signature matches the body' };
    if (Math.abs(now / 1000 - t) > config.toleranceSec) {
      return { ok: false, status: 401, code: 'stale_timestamp', message: `the signature's timestamp is more than ${config.toleranceSec} s from now` };
    }
    return { ok: true };
  },

  toEvents(payload, ctx) {
    if (!isObject(payload)) return { events: [], errors: [{ field: '(body)', message: 'must be a JSON object' }] };
    const type = text(payload.type);
    const object = isObject(payload.data) && isObject(payload.data.object) ? payload.data.object : undefined;
    if (type === undefined) return { events: [], errors: [{ field: 'type', message: 'the event type is required' }] };
    if (object === undefined) return { events: [], errors: [{ field: 'data.object', message: 'must be an object' }] };
    switch (type) {
      case 'checkout.session.completed':
        if (object.payment_status !== 'paid') {
          return { events: [], ignored: `payment_status "${text(object.payment_status) ?? ''}": the Purchase waits for async_payment_succeeded` };
        }
        return sessionToPurchase(payload, object, ctx);
      case 'checkout.session.async_payment_succeeded':
        return sessionToPurchase(payload, object, ctx);
      case 'charge.refunded':
      case 'refund.created':
        return refundsOf(type, object, ctx);
      case 'charge.dispute.created':
        return disputeToChargeback(object, ctx);
      default:
        return { events: [], ignored: `event type ${type} is not converted` };
    }
  },

  deliveryId(_headers, payload) {
    return isObject(payload) ? text(payload.id) : undefined;
  },
});
