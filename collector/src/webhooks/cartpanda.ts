// Cartpanda (reference/destinations.md §6.7). ⚠ Cartpanda publishes no webhook reference:
// integrators' guides (e.g. docs.nemu.com.br › Cartpanda) only say the merchant copies the
// "API Token" from the profile menu and that requests carry it; third-party code shows two
// payload shapes — Shopify-like `{ event: "order.paid", order: { id, total_price, currency,
// customer, line_items, note_attributes, … } }` and `{ status, order: { hash, paid_amount },
// customer: { name, email, phone: { ddi, ddd, number } }, token }`. So Cartpanda is the
// generic field mapping with defaults that read both shapes; every field can be remapped.
//
// Authenticity: the token is looked for in the `token` query parameter (register the URL as
// `…/webhooks/cartpanda/<site>?token=<token>`), then in the `X-Cartpanda-Token` header or
// `Authorization: Bearer`, then in the body's `token` field; compared timing-safe.
//
// Order id: `order.id`, else `order.hash` (override `mapping.orderId` with what your
// thank-you page passes as order_id).
import { z } from 'zod';
import { isObject } from './build-event.js';
import { commonOptions, SecretSchema } from './config-parts.js';
import { FieldMappingSchema, getPath, mapFields, mappedDeliveryId, type FieldMapping } from './field-mapping.js';
import { secretMatches, secretList } from './signatures.js';
import { definePlatform, header } from './types.js';

export const CARTPANDA_DEFAULT_MAPPING: z.input<typeof FieldMappingSchema> = {
  event: {
    path: ['event', 'status'],
    map: {
      'order.paid': 'Purchase',
      paid: 'Purchase',
      approved: 'Purchase',
      'order.refunded': 'Refund',
      refunded: 'Refund',
      'order.chargeback': 'Chargeback',
      chargeback: 'Chargeback',
    },
  },
  orderId: ['order.id', 'order.hash'],
  value: ['order.total_price', 'order.paid_amount'],
  currency: ['order.currency', 'order.presentment_currency'],
  eventTime: ['order.processed_at', 'order.updated_at', 'order.created_at'],
  email: ['order.email', 'order.customer.email', 'customer.email'],
  phone: ['order.phone', 'order.customer.phone', 'order.billing_address.phone', 'customer.phone'],
  firstName: ['order.customer.first_name', 'order.billing_address.first_name'],
  lastName: ['order.customer.last_name', 'order.billing_address.last_name'],
  fullName: ['customer.name', 'order.customer.name'],
  city: ['order.billing_address.city', 'order.shipping_address.city'],
  state: ['order.billing_address.province_code', 'order.shipping_address.province_code'],
  zip: ['order.billing_address.zip', 'order.shipping_address.zip'],
  country: ['order.billing_address.country_code', 'order.shipping_address.country_code'],
  ip: ['order.browser_ip', 'order.client_details.browser_ip'],
  userAgent: ['order.client_details.user_agent'],
  url: ['order.order_status_url', 'order.landing_site'],
  attributes: ['order.note_attributes'],
  contents: { path: 'order.line_items', id: 'product_id', quantity: 'quantity', price: 'price', title: 'title' },
};

export const CartpandaConfigSchema = z
  .object({
    /** Cartpanda › profile menu › API Token. */
    token: SecretSchema,
    /** Replaces individual entries of the default mapping (the rest keep their defaults). */
    mapping: FieldMappingSchema.partial().optional(),
    ...commonOptions,
  })
  .strict()
  .transform((c, ctx) => {
    const merged = FieldMappingSchema.safeParse({ ...CARTPANDA_DEFAULT_MAPPING, ...(c.mapping ?? {}) });
    if (!merged.success) {
      for (const issue of merged.error.issues) ctx.addIssue({ code: 'custom', path: ['mapping', ...issue.path], message: issue.message });
      return z.NEVER;
    }
    return { ...c, mapping: merged.data as FieldMapping };
  });
export type CartpandaConfig = z.output<typeof CartpandaConfigSchema>;

function tokenFrom(headers: Parameters<typeof header>[0], query: Record<string, string | undefined>, rawBody: Buffer): string | undefined {
  const fromQuery = query.token;
  if (fromQuery) return fromQuery;
  const fromHeader = header(headers, 'x-cartpanda-token');
  if (fromHeader) return fromHeader;
  const auth = header(headers, 'authorization');
  const bearer = auth && /^Bearer\s+(.+)$/i.exec(auth)?.[1];
  if (bearer) return bearer.trim();
  try {
    const body = JSON.parse(rawBody.toString('utf8')) as unknown;
    const t = isObject(body) ? getPath(body, 'token') : undefined;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

export const cartpanda = definePlatform<CartpandaConfig>({
  platform: 'cartpanda',
  configSchema: CartpandaConfigSchema,

  verify(req, config) {
    const sent = tokenFrom(req.headers, req.query, req.rawBody);
    if (sent === undefined) return { ok: false, status: 401, code: 'missing_token', message: 'no token in the query, headers or body' };
    if (!secretMatches(sent, secretList(config.token))) return { ok: false, status: 401, code: 'invalid_token', message: 'the token does not match' };
    return { ok: true };
  },

  toEvents(payload, ctx) {
    return mapFields(payload, ctx.config.mapping, ctx, 'cartpanda');
  },

  deliveryId(_headers, payload, config) {
    return mappedDeliveryId(payload, config.mapping);
  },
});
