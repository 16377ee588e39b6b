// The server-to-server API's request and response schemas. One source of truth: these
// validate requests, type the Node SDK (`trakvo/client` imports the types only) and
// generate the OpenAPI document served at /v1/openapi.json.
//
// Request schemas hold only static rules (types, formats, lengths); the rules that need the
// site or the clock (event_time window, destination ids) live in server-event.ts.
import { z } from 'zod';
import { IdentifiersSchema } from '../event/schema.js';
import { normalizeIp } from '../http/client-ip.js';

/** Limits of the API, stated once: the router enforces them and the docs quote them. */
export const API_LIMITS = {
  /** Most events in one POST /v1/events/batch. */
  maxBatchEvents: 100,
  /** Largest body of POST /v1/events/batch. */
  maxBatchBytes: 1024 * 1024,
  /** Largest body of POST /v1/events. */
  maxEventBytes: 64 * 1024,
  /** event_time may be at most this old. */
  maxEventAgeSec: 7 * 24 * 3600,
  /** …and at most this far ahead of the collector's clock (clock skew). */
  maxClockSkewSec: 60,
} as const;

export const EVENT_ID_RE = /^[A-Za-z0-9_.:-]+$/;
const NUMERIC_STRING = /^\s*-?\d+(?:\.\d+)?\s*$/;
const INT_STRING = /^\s*\d+\s*$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

const httpUrl = z
  .string()
  .max(4096)
  .refine((s) => {
    try {
      return /^https?:$/.test(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

/** A number, or a string holding one ("99.90"), as many backends serialize decimals. */
const NUMBER_MESSAGE = 'must be a number (or a numeric string)';
const numberLike = z.union([z.number().finite(), z.string().regex(NUMERIC_STRING, NUMBER_MESSAGE)], { error: NUMBER_MESSAGE });
const countLike = (positive: boolean) => {
  const message = positive ? 'must be a positive integer' : 'must be a non-negative integer';
  const int = z.number().int(message);
  return z.union([positive ? int.positive(message) : int.nonnegative(message), z.string().regex(INT_STRING, message)], { error: message });
};
const idLike = z.union([z.string().min(1).max(200), z.number().finite()], { error: 'must be a non-empty string (max 200) or a number' });
const text = (max: number) => z.string({ error: 'must be a string' }).max(max);

// ── request: one event ────────────────────────────────────────────────────────────────

const cleartext = (description: string) =>
  z.union([z.string().max(1000), z.number().finite()], { error: 'must be a string or a number' }).optional().meta({ description });
const prehashed = (of: string) =>
  z
    .string()
    .regex(HEX64, 'must be a 64-character hex SHA-256')
    .optional()
    .meta({ description: `SHA-256 (hex) of the normalized ${of}, when you hash it yourself` });

/** Identifiers the merchant's backend may already hold (fbp, fbc, click ids…), unhashed. */
const { visitor_id: _visitorId, session_id: _sessionId, ...identifierFields } = IdentifiersSchema.shape;

export const ServerUserSchema = z
  .object({
    email: cleartext('Cleartext; normalized and SHA-256 hashed on arrival, never stored'),
    phone: cleartext('With country code, or in the site\'s defaultCountry'),
    first_name: cleartext('Cleartext first name'),
    last_name: cleartext('Cleartext last name'),
    city: cleartext('Cleartext city'),
    state: cleartext('State or province (code or name)'),
    zip: cleartext('Postal code'),
    country: cleartext('ISO 3166-1 alpha-2 country code'),
    date_of_birth: cleartext('YYYY-MM-DD (or YYYYMMDD)'),
    gender: cleartext('f or m'),
    external_id: cleartext('Your customer id'),
    email_sha256: prehashed('email'),
    phone_sha256: prehashed('phone (digits with country code, no +)'),
    first_name_sha256: prehashed('first name'),
    last_name_sha256: prehashed('last name'),
    city_sha256: prehashed('city'),
    state_sha256: prehashed('state'),
    zip_sha256: prehashed('zip'),
    country_sha256: prehashed('country'),
    date_of_birth_sha256: prehashed('date of birth'),
    gender_sha256: prehashed('gender'),
    external_id_sha256: prehashed('external id'),
    ip: z
      .string()
      .max(100)
      .refine((s) => normalizeIp(s) !== undefined, 'must be an IPv4 or IPv6 address')
      .optional()
      .meta({ description: "The shopper's IP address (not your server's)" }),
    user_agent: z.string().max(1000).optional().meta({ description: "The shopper's browser User-Agent" }),
    ...identifierFields,
  })
  .strict()
  .meta({ description: 'Who the event is about. Cleartext fields are hashed at once; nothing identifying is kept without marketing consent.' });

export const ServerContentSchema = z
  .object({
    id: idLike,
    quantity: countLike(true).optional(),
    item_price: numberLike.optional(),
    title: text(500).optional(),
    category: text(500).optional(),
    brand: text(200).optional(),
  })
  .strict();

/** Cookie values forwarded from the shopper's request, read like the collector reads its own. */
export const COOKIE_MIRROR_FIELDS = [
  '_fbp',
  '_fbc',
  '_ga',
  '_gcl_aw',
  '_ttp',
  '_scid',
  '_epik',
  '_rdt_cid',
  '_rdt_uuid',
  '_uetmsclkid',
  '_tk_vid',
  '_tk_sid',
  '_tk_gclid',
  '_tk_ttclid',
  '_tk_msclkid',
  '_tk_epik',
  '_tk_sccid',
  '_tk_rdt_cid',
  '_tk_li_fat_id',
] as const;
/** GA4's per-container session cookie, `_ga_<container id>`; accepted besides the list above. */
export const GA4_SESSION_COOKIE_RE = /^_ga_[A-Za-z0-9]{1,40}$/;

const cookieMirror = z.string().max(1000).optional();
const cookieMirrorFields = Object.fromEntries(COOKIE_MIRROR_FIELDS.map((k) => [k, cookieMirror])) as Record<
  (typeof COOKIE_MIRROR_FIELDS)[number],
  typeof cookieMirror
>;

const eventTime = z
  .union(
    [
      z.number().int().positive().lt(1e11, 'must be unix seconds, not milliseconds'),
      z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' }),
    ],
    { error: 'must be unix seconds (integer) or an ISO 8601 date-time like 2025-01-31T12:00:00Z' },
  )
  .meta({ description: 'When it happened; default now. At most 7 days old, never in the future.' });

export const ConsentInputSchema = z
  .object({ marketing: z.boolean(), analytics: z.boolean() })
  .strict()
  .meta({ description: "The shopper's consent; default: the site's consentDefault. Without marketing, no ad platform gets the event." });

export const ServerEventSchema = z
  .object({
    event: z.string({ error: 'the event name is required' }).min(1).max(100).meta({
      description: 'Standard name (PageView, ViewContent, AddToCart, InitiateCheckout, AddPaymentInfo, Purchase, Lead, CompleteRegistration, Search, Subscribe, Refund, …) or a custom one',
    }),
    event_id: z
      .string()
      .min(1)
      .max(128)
      .regex(EVENT_ID_RE, 'letters, digits and _ . : - only')
      .optional()
      .meta({
        description:
          'Deduplication key, same as the browser pixel used. Default: for Purchase/Refund with order_id, the id the browser derives from the order; otherwise a new UUID.',
      }),
    event_time: eventTime.optional(),
    url: httpUrl.optional().meta({ description: 'Page where it happened (event_source_url)' }),
    referrer: httpUrl.optional(),
    value: numberLike.optional(),
    currency: z
      .string()
      .regex(/^\s*[A-Za-z]{3}\s*$/, 'must be an ISO 4217 code like BRL')
      .optional()
      .meta({ description: 'ISO 4217; required for Purchase' }),
    order_id: idLike.optional(),
    contents: z.array(ServerContentSchema).max(1000).optional(),
    content_ids: z.array(idLike).max(1000).optional(),
    content_type: z.enum(['product', 'product_group']).optional(),
    content_name: text(500).optional(),
    content_category: text(500).optional(),
    num_items: countLike(false).optional(),
    search_string: text(500).optional(),
    status: text(200).optional(),
    predicted_ltv: numberLike.optional(),
    properties: z
      .record(z.string().max(100), z.union([z.string().max(1000), z.number().finite(), z.boolean()], { error: 'must be a string (max 1000), number or boolean' }))
      .optional()
      .meta({ description: 'Your own properties, passed through to destinations that take custom data' }),
    user: ServerUserSchema.optional(),
    visitor_id: z.string().min(1).max(200).optional().meta({
      description: "trakvo.getVisitorId() from the shopper's browser: the event gets that visitor's latest fbp, fbc, click ids, IP and user agent",
    }),
    session_id: z.string().min(1).max(200).optional().meta({ description: 'trakvo.getSessionId()' }),
    ...cookieMirrorFields,
    destinations: z
      .array(z.string().min(1).max(64))
      .min(1)
      .max(50)
      .optional()
      .meta({ description: "Ids of the site's destinations to send to; default: every enabled one" }),
    consent: ConsentInputSchema.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.event === 'Purchase' && e.currency === undefined) {
      ctx.addIssue({ code: 'custom', path: ['currency'], message: 'is required for Purchase' });
    }
  })
  .meta({ description: 'One server event. Unknown fields are rejected; put your own data in `properties`.' });

/** What callers send (the SDK's `track()` argument). `_ga_<container>` cookie values are accepted too. */
export type ServerEvent = z.input<typeof ServerEventSchema> & { [gaSessionCookie: `_ga_${string}`]: string | undefined };
export type ParsedServerEvent = z.output<typeof ServerEventSchema>;

export const BatchRequestSchema = z
  .object({ events: z.array(ServerEventSchema).min(1).max(API_LIMITS.maxBatchEvents) })
  .strict()
  .meta({ description: `Up to ${API_LIMITS.maxBatchEvents} events (1 MB); each is validated and stored on its own.` });
export type BatchRequest = { events: ServerEvent[] };

/** The batch's envelope alone; each event is then validated on its own. */
export const BatchEnvelopeSchema = z
  .object({
    events: z
      .array(z.unknown(), { error: 'must be an array of events' })
      .min(1, 'send at least one event')
      .max(API_LIMITS.maxBatchEvents, `send at most ${API_LIMITS.maxBatchEvents} events per batch`),
  })
  .strict();

// ── responses ─────────────────────────────────────────────────────────────────────────

export const FieldErrorSchema = z.object({ field: z.string(), message: z.string() });
export type FieldError = z.infer<typeof FieldErrorSchema>;

export const ErrorBodySchema = z.object({
  code: z.string().meta({ description: 'Stable machine-readable code, e.g. invalid_event, unauthorized, rate_limited' }),
  message: z.string(),
  fields: z.array(FieldErrorSchema).optional().meta({ description: 'Every invalid field, by its path in the request' }),
});
export const ErrorResponseSchema = z.object({ error: ErrorBodySchema }).meta({ description: 'The one error shape of every 4xx/5xx' });
export type ApiErrorBody = z.infer<typeof ErrorResponseSchema>;

export const DeliveryStateSchema = z.enum(['pending', 'delivered', 'dead', 'skipped']);

export const DestinationResultSchema = z.object({
  id: z.string(),
  status: DeliveryStateSchema,
  reason: z.string().optional().meta({ description: 'Why it was skipped' }),
});

export const MatchQualitySchema = z
  .object({
    score: z.number().min(0).max(10).meta({ description: '0–10, one decimal' }),
    signals: z.array(z.string()).meta({ description: 'Identity signals that counted (em, ph, fbc, fbp, ip, …)' }),
  })
  .meta({
    description:
      "Trakvo's estimate from the identifiers sent (0–10), not Meta's Event Match Quality or any platform's own score: use it to spot events that carry too little",
  });

export const TrackResponseSchema = z.object({
  event_id: z.string(),
  status: z.literal('queued').meta({ description: 'Stored durably; delivery happens in the background' }),
  duplicate: z.boolean().meta({ description: 'true when this event_id was already stored: nothing new was queued' }),
  destinations: z.array(DestinationResultSchema),
  match_quality: MatchQualitySchema,
  visitor_linked: z.boolean().meta({ description: "true when the visitor's stored browser signals were added" }),
  warnings: z.array(FieldErrorSchema).optional().meta({ description: 'Fields that were dropped (for example an email that is not one)' }),
});
export type TrackResponse = z.infer<typeof TrackResponseSchema>;

export const BatchAcceptedSchema = TrackResponseSchema.extend({ index: z.number().int().nonnegative() });
export const BatchRejectedSchema = z.object({
  index: z.number().int().nonnegative(),
  status: z.literal('rejected'),
  error: ErrorBodySchema,
});
export const BatchResponseSchema = z.object({
  accepted: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  results: z.array(z.union([BatchAcceptedSchema, BatchRejectedSchema])).meta({ description: 'One per event, in request order' }),
});
export type BatchResponse = z.infer<typeof BatchResponseSchema>;
export type BatchResult = BatchResponse['results'][number];

export const AttemptSchema = z.object({
  at: z.iso.datetime(),
  outcome: z.enum(['delivered', 'retry', 'dead', 'auth']),
  http_status: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
});

export const DeliveryStatusSchema = z.object({
  id: z.string(),
  status: DeliveryStateSchema,
  attempts: z.number().int().nonnegative(),
  last_http_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.iso.datetime().nullable(),
  next_attempt_at: z.iso.datetime().nullable(),
  history: z.array(AttemptSchema).meta({ description: 'Every attempt, oldest first' }),
});

export const EventStatusResponseSchema = z.object({
  event_id: z.string(),
  event_name: z.string(),
  source: z.string(),
  event_time: z.number().int().meta({ description: 'Unix seconds' }),
  received_at: z.iso.datetime(),
  destinations: z.array(DeliveryStatusSchema),
});
export type EventStatusResponse = z.infer<typeof EventStatusResponseSchema>;

// ── the GET form (e-mail pixel) ───────────────────────────────────────────────────────

/** Query parameters of GET /v1/pixel.gif besides `api_key` and `p.<name>` properties. */
export const PIXEL_SCALAR_PARAMS = [
  'event',
  'event_id',
  'event_time',
  'url',
  'referrer',
  'value',
  'currency',
  'order_id',
  'content_name',
  'content_category',
  'content_type',
  'num_items',
  'search_string',
  'status',
  'visitor_id',
  'session_id',
] as const;
/** Comma-separated lists. */
export const PIXEL_LIST_PARAMS = ['content_ids', 'destinations'] as const;
/** `0/1/true/false`. */
export const PIXEL_CONSENT_PARAMS = ['consent_marketing', 'consent_analytics'] as const;
/** User fields allowed in a URL: the customer's own ids, ideally hashed, never a cookie. */
export const PIXEL_USER_PARAMS = [
  'email',
  'phone',
  'external_id',
  'first_name',
  'last_name',
  'email_sha256',
  'phone_sha256',
  'external_id_sha256',
  'first_name_sha256',
  'last_name_sha256',
] as const;
