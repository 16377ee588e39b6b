// The canonical event: the one shape every entry point (browser, REST API, platform
// webhook) produces and every destination consumes. This file is the single source of
// truth: the zod schema validates, the TypeScript type is inferred from it, and the
// OpenAPI document is generated from it.
import { z } from 'zod';

/** Meta-style standard event names; any other name is a custom event. */
export const STANDARD_EVENT_NAMES = [
  'PageView',
  'ViewContent',
  'Search',
  'AddToCart',
  'AddToWishlist',
  'InitiateCheckout',
  'AddPaymentInfo',
  'Purchase',
  'Lead',
  'CompleteRegistration',
  'Contact',
  'Subscribe',
  'StartTrial',
  'Refund',
] as const;

const HEX64 = /^[0-9a-f]{64}$/;
const sha256Hex = z.string().regex(HEX64, 'must be a lowercase hex SHA-256');

/**
 * Hashed personal data, keyed by Meta's customer-information parameter names. Every
 * value is a lowercase hex SHA-256 of the value normalized as Meta documents; cleartext
 * never appears here. `ph_e164` is the phone hashed with its leading `+` (E.164), the
 * form TikTok/GA4/Reddit expect; it is computed at ingest because cleartext is gone later.
 */
export const HashedUserSchema = z
  .object({
    em: sha256Hex,
    ph: sha256Hex,
    ph_e164: sha256Hex,
    fn: sha256Hex,
    ln: sha256Hex,
    ct: sha256Hex,
    st: sha256Hex,
    zp: sha256Hex,
    country: sha256Hex,
    db: sha256Hex,
    ge: sha256Hex,
    external_id: sha256Hex,
  })
  .partial()
  .strict();
export type HashedUser = z.infer<typeof HashedUserSchema>;
export const HASHED_USER_KEYS = Object.keys(HashedUserSchema.shape) as (keyof HashedUser)[];

/** First-party identifiers and click ids; sent unhashed to the platforms that use them. */
export const IdentifiersSchema = z
  .object({
    fbp: z.string().max(500),
    fbc: z.string().max(500),
    ttp: z.string().max(500),
    ttclid: z.string().max(500),
    gclid: z.string().max(500),
    ga_client_id: z.string().max(200),
    /** GA4 session id from the `_ga_<container>` cookie, so server hits join the session. */
    ga_session_id: z.string().max(100),
    epik: z.string().max(500),
    sccid: z.string().max(500),
    scid: z.string().max(500),
    rdt_cid: z.string().max(500),
    rdt_uuid: z.string().max(500),
    msclkid: z.string().max(500),
    li_fat_id: z.string().max(500),
    visitor_id: z.string().max(200),
    session_id: z.string().max(200),
  })
  .partial()
  .strict();
export type Identifiers = z.infer<typeof IdentifiersSchema>;

export const ContentSchema = z.object({
  id: z.string().min(1).max(200),
  quantity: z.number().int().positive().optional(),
  item_price: z.number().finite().optional(),
  title: z.string().max(500).optional(),
  category: z.string().max(500).optional(),
  brand: z.string().max(200).optional(),
});
export type Content = z.infer<typeof ContentSchema>;

export const CustomDataSchema = z
  .object({
    value: z.number().finite(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like BRL'),
    order_id: z.string().min(1).max(200),
    content_ids: z.array(z.string().max(200)).max(1000),
    contents: z.array(ContentSchema).max(1000),
    content_type: z.enum(['product', 'product_group']),
    content_name: z.string().max(500),
    content_category: z.string().max(500),
    num_items: z.number().int().nonnegative(),
    search_string: z.string().max(500),
    status: z.string().max(200),
    predicted_ltv: z.number().finite(),
    /** Merchant-defined properties that are not standard fields, passed through. */
    extra: z.record(z.string(), z.union([z.string().max(1000), z.number(), z.boolean()])),
  })
  .partial()
  .strict();
export type CustomData = z.infer<typeof CustomDataSchema>;

export const ConsentSchema = z.object({
  /** Ad platforms, ad cookies. Without it an event reaches no ad platform. */
  marketing: z.boolean(),
  analytics: z.boolean(),
});
export type Consent = z.infer<typeof ConsentSchema>;

export const SourceSchema = z.union([
  z.literal('browser'),
  z.literal('api'),
  z.string().regex(/^webhook:[a-z0-9_-]+$/),
]);

export const CanonicalEventSchema = z
  .object({
    event_id: z.string().min(1).max(128),
    event_name: z.string().min(1).max(100),
    /** Unix seconds (UTC) when the event happened. */
    event_time: z.number().int().positive(),
    site_id: z.string().min(1).max(100),
    source: SourceSchema,
    url: z.string().max(4096).optional(),
    referrer: z.string().max(4096).optional(),
    title: z.string().max(1000).optional(),
    /** Kept only until every delivery of the event has finished, then scrubbed. */
    ip: z.string().max(100).optional(),
    user_agent: z.string().max(1000).optional(),
    user: HashedUserSchema,
    ids: IdentifiersSchema,
    custom: CustomDataSchema,
    consent: ConsentSchema,
  })
  .strict();
export type CanonicalEvent = z.infer<typeof CanonicalEventSchema>;
