// TikTok Events API 2.0: how a canonical event becomes a TikTok web event, and what TikTok's
// answer means. Every TikTok field name, limit and error code lives in this file and nowhere
// else. Reference: shared/reference/destinations.md §2.
//
// Where the reference marks a point ⚠, this file follows TikTok's official server-side GTM
// template (github.com/tiktok/gtm-template-eapi, `template.tpl`) and, for error codes, TikTok's
// official business SDK (github.com/tiktok/tiktok-business-api-sdk, `tiktok_code.py`).
import { z } from 'zod';
import type { CanonicalEvent, CustomData } from '../event/schema.js';
import { mapPrepared, postJson, type Verdict } from './support/batches.js';
import { sentTime, unixSeconds, whyNotAllowed, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, isTransientStatus, outcomeOfStatus, parseJson, retry, retryAfterMs, snippet, statusReason } from './support/http-response.js';
import { isHttpUrl, isIpAddress, ownValue, present, withoutTrailingSlash } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

export const TikTokConfigSchema = z.object({
  type: z.literal('tiktok'),
  /** The pixel code from TikTok Events Manager (sent as `event_source_id`). */
  pixelCode: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be the pixel code from Events Manager, e.g. CABC123DEF456GHI789J'),
  /** Events API access token generated for that pixel in Events Manager (header `Access-Token`). */
  accessToken: z.string().min(1),
  /** Where the Business API lives; point it at a local mock in tests and staging. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://business-api.tiktok.com'),
  /** Routes events to Events Manager › Test Events (`test_event_code`). */
  testEventCode: z.string().min(1).optional(),
  /**
   * Canonical event name → TikTok event name, over the built-in map. A custom name is sent
   * as it is unless listed here; `Refund` is only sent when mapped here.
   */
  eventNames: z.record(z.string().min(1), z.string().min(1).max(100)).optional(),
});
export type TikTokConfig = z.infer<typeof TikTokConfigSchema>;

/** ⚠ [3p] TikTok's docs give no batch limit we could verify; Hightouch documents 1,000. */
const MAX_BATCH = 1000;
/**
 * ⚠ TikTok documents no maximum event age. Seven days, like Meta, is what the reference
 * recommends, and TikTok's dedup window (48 h) is well inside it.
 */
const MAX_EVENT_AGE_SEC = 7 * 24 * 60 * 60;
/**
 * Skipped 5 minutes before that limit (one rejected event fails the whole batch); up to 5
 * minutes ahead is clock skew, sent as now.
 */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  tooOld: 'TikTok events are sent up to 7 days old',
  future: 'TikTok rejects future events',
};

/**
 * Meta-style standard names → TikTok standard events (TikTok help "standard events", May 2025:
 * `Purchase` replaced `CompletePayment`, `Lead` replaced `SubmitForm`). Any other name is sent
 * as a TikTok custom event under its own name.
 */
const EVENT_NAMES = new Map<string, string>([
  // ⚠ `Pageview`, not `PageView`: the official GTM template maps GA4 page_view to `Pageview`.
  ['PageView', 'Pageview'],
  ['ViewContent', 'ViewContent'],
  ['Search', 'Search'],
  ['AddToCart', 'AddToCart'],
  ['AddToWishlist', 'AddToWishlist'],
  ['InitiateCheckout', 'InitiateCheckout'],
  ['AddPaymentInfo', 'AddPaymentInfo'],
  ['Purchase', 'Purchase'],
  ['Lead', 'Lead'],
  ['CompleteRegistration', 'CompleteRegistration'],
  ['Contact', 'Contact'],
  ['Subscribe', 'Subscribe'],
  ['StartTrial', 'StartTrial'],
]);
/** Canonical events TikTok has no counterpart for: sent only when `eventNames` maps them. */
const NOT_SENT = new Map<string, string>([
  ['Refund', 'TikTok has no refund event; as a custom event it would count as a conversion (map it in eventNames to send it)'],
]);

/**
 * properties keys that come from canonical fields; a merchant `extra` property with one of
 * these names is dropped so it cannot overwrite (or stand in for) the typed value.
 */
const MAPPED_PROPERTY_KEYS = new Set<string>([
  'value', 'currency', 'content_type', 'contents', 'order_id', 'query', 'num_items', 'description',
]);

// ──────────────────────────── TikTok's error codes (all that apply) ────────────────────────────
// From the official business SDK's `NumericErrorCodes`. TikTok answers most errors with HTTP 200
// and `code != 0` in the body, so the code, not the status, decides.

const OK_CODE = 0;
/** Some events of the batch were rejected. */
const PARTIAL_OK_CODE = 20001;
/** Throttling, frequency control, write conflicts, maintenance, server-side failures. */
const RETRY_CODES = new Set([
  40016, // business frequency control
  40100, // request too frequent
  40132, // request frequency limited
  40202, // write conflict
  50000, // system error
  50002, // system timeout
  60001, // maintenance
  61000, // too many requests
]);
/** Internal service (51xxx) and storage (52xxx) errors on TikTok's side. */
const RETRY_CODE_RANGES: [number, number][] = [
  [51000, 51099],
  [52000, 52299],
];
/** Token missing/expired/invalid, or the token may not act for this pixel: an operator must fix it. */
const AUTH_CODES = new Set([
  40001, // no permission
  40003, // forbidden
  40102, // access token expired
  40104, // empty access token
  40105, // invalid access token
  40106, // invalid core user
  40113, // app forbidden
  40118, // not in whitelist
  40125, // developer has no permission
  40130, // scope not authorized
  41000, // blocked
]);
/**
 * Every other 4xxxx code (40000 invalid params, 40002 parameter error, 40061 invalid batch size,
 * 40062 PII not hashed, …) is a problem with the events themselves: never retried.
 */
const REQUEST_ERROR_RANGE = { from: 40000, to: 49999 };

type CodeClass = 'retry' | 'auth' | 'dead';

function classOfCode(code: number): CodeClass | undefined {
  if (AUTH_CODES.has(code)) return 'auth';
  if (RETRY_CODES.has(code)) return 'retry';
  if (RETRY_CODE_RANGES.some(([from, to]) => code >= from && code <= to)) return 'retry';
  if (code >= REQUEST_ERROR_RANGE.from && code <= REQUEST_ERROR_RANGE.to) return 'dead';
  return undefined;
}

// ─────────────────────────────────────── mapping ───────────────────────────────────────

function eventNameFor(event: CanonicalEvent, config: TikTokConfig): { name: string } | { skip: string } {
  const own = ownValue(config.eventNames, event.event_name);
  if (own !== undefined) return { name: own };
  const notSent = NOT_SENT.get(event.event_name);
  if (notSent !== undefined) return { skip: notSent };
  return { name: EVENT_NAMES.get(event.event_name) ?? event.event_name };
}

function user(event: CanonicalEvent): Record<string, string> {
  const out: Record<string, string> = {};
  // Hashed at ingest (lowercase hex SHA-256). Email and external_id use Meta's normalization
  // (trim + lowercase), which is what the GTM template does for email; for external_id the
  // template only trims, so a page calling `ttq.identify` must lowercase it the same way or
  // browser and server hashes will differ.
  if (present(event.user.em)) out.email = event.user.em;
  // ⚠ Phone: E.164 with the leading `+` (`ph_e164`). The official template hashes the phone
  // it is given without reformatting, and what it is given is GA4's `phone_number`, which
  // Google defines as E.164 with `+`; TikTok's field help says the same.
  if (present(event.user.ph_e164)) out.phone = event.user.ph_e164;
  if (present(event.user.external_id)) out.external_id = event.user.external_id;
  // The template sends only these identity fields; hashed names/address fields that newer
  // docs mention [3p] ⚠ are not sent.
  if (present(event.ids.ttclid)) out.ttclid = event.ids.ttclid;
  if (present(event.ids.ttp)) out.ttp = event.ids.ttp;
  if (isIpAddress(event.ip)) out.ip = event.ip;
  if (present(event.user_agent)) out.user_agent = event.user_agent;
  return out;
}

function page(event: CanonicalEvent): Record<string, string> {
  const out: Record<string, string> = {};
  // Only http(s) page URLs are sent: anything else is refused and fails the whole batch.
  if (isHttpUrl(event.url)) out.url = event.url;
  if (isHttpUrl(event.referrer)) out.referrer = event.referrer;
  return out;
}

function properties(custom: CustomData): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (custom.currency !== undefined) out.currency = custom.currency;
  if (custom.value !== undefined) out.value = custom.value;
  const hasProducts = custom.contents !== undefined || custom.content_ids !== undefined;
  // Like the official template, products are `product` unless told otherwise.
  const contentType = custom.content_type ?? (hasProducts ? 'product' : undefined);
  if (contentType !== undefined) out.content_type = contentType;
  if (custom.contents !== undefined) {
    out.contents = custom.contents.map((c) => {
      const item: Record<string, unknown> = { content_id: c.id, content_type: contentType };
      if (c.title !== undefined) item.content_name = c.title;
      if (c.quantity !== undefined) item.quantity = c.quantity;
      if (c.item_price !== undefined) item.price = c.item_price;
      if (c.category !== undefined) item.content_category = c.category;
      if (c.brand !== undefined) item.brand = c.brand;
      return item;
    });
  } else if (custom.content_ids !== undefined) {
    out.contents = custom.content_ids.map((id) => ({ content_id: id, content_type: contentType }));
  }
  if (custom.num_items !== undefined) out.num_items = custom.num_items;
  if (custom.order_id !== undefined) out.order_id = custom.order_id;
  if (custom.search_string !== undefined) out.query = custom.search_string;
  // Merchant-defined properties go alongside (TikTok keeps custom properties).
  for (const [key, v] of Object.entries(custom.extra ?? {})) {
    if (!MAPPED_PROPERTY_KEYS.has(key)) out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function webEvent(event: CanonicalEvent, name: string, nowSec: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    event: name,
    event_time: sentTime(event, nowSec),
    // TikTok deduplicates on pixel code + event + event_id (browser `ttq.track(…, {event_id})`).
    event_id: event.event_id,
    // The template always sends `user` and `page`, empty or not.
    user: user(event),
    page: page(event),
  };
  const props = properties(event.custom);
  if (props) out.properties = props;
  return out;
}

/** The web event TikTok is sent, or why it would reject it (and with it the whole batch). */
function judge(event: CanonicalEvent, config: TikTokConfig, nowSec: number): Verdict<Record<string, unknown>> {
  const notAllowed = whyNotAllowed(event, nowSec, EVENT_WINDOW);
  if (notAllowed !== undefined) return { skip: notAllowed };
  const name = eventNameFor(event, config);
  return 'skip' in name ? name : { send: webEvent(event, name.name, nowSec) };
}

function trackRequest(events: Record<string, unknown>[], ids: string[], config: TikTokConfig): DestinationRequest {
  const body: Record<string, unknown> = {
    event_source: 'web',
    event_source_id: config.pixelCode,
  };
  if (config.testEventCode !== undefined) body.test_event_code = config.testEventCode;
  // No `partner_name`: TikTok rejects names that are not registered partners (code 40063).
  body.data = events;
  const url = `${withoutTrailingSlash(config.baseUrl)}/open_api/v1.3/event/track/`;
  return postJson(url, body, ids, { 'access-token': config.accessToken });
}

function map(events: CanonicalEvent[], config: TikTokConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapPrepared(events, MAX_BATCH, (e) => judge(e, config, nowSec), (batch, ids) => trackRequest(batch, ids, config));
}

// ──────────────────────────────────── classification ────────────────────────────────────

function describe(status: number, json: Record<string, unknown>): string {
  const parts = [`TikTok code ${String(json.code)} (HTTP ${status})`];
  if (typeof json.message === 'string' && json.message !== '') parts.push(json.message);
  // Partial failures list the rejected events under data; keep a readable piece of it.
  if (json.data !== undefined && JSON.stringify(json.data) !== '{}') parts.push(snippet(JSON.stringify(json.data)));
  if (typeof json.request_id === 'string') parts.push(`request_id ${json.request_id}`);
  return parts.join(' — ').slice(0, 2000);
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJson(response.body);
  const afterMs = retryAfterMs(response.headers);

  if (isObject(json) && typeof json.code === 'number') {
    const code = json.code;
    if (code === OK_CODE && isSuccess(status)) return { kind: 'delivered' };
    const reason = describe(status, json);
    // Some events were rejected: dead, so the dispatcher splits the batch and finds them.
    // Re-sending the accepted ones is safe: TikTok drops API↔API duplicates (same event_id) for 48 h.
    if (code === PARTIAL_OK_CODE) return { kind: 'dead', reason };
    if (code === OK_CODE) return retry(reason, afterMs); // code 0 on a non-2xx: not trustworthy
    const cls = classOfCode(code);
    if (cls === 'auth') return { kind: 'auth', reason };
    if (cls === 'retry') return retry(reason, afterMs);
    if (cls === 'dead') return { kind: 'dead', reason };
    // An unknown code: the HTTP status decides.
    return isTransientStatus(status) ? retry(reason, afterMs) : { kind: 'dead', reason };
  }

  // No TikTok envelope: a proxy or load balancer answered.
  // A 2xx that is not TikTok's answer: the events may not have arrived; resending is safe.
  if (isSuccess(status)) return retry(`HTTP ${status} without a TikTok code: ${snippet(response.body)}`, afterMs);
  return outcomeOfStatus(status, statusReason(status, response.body), afterMs, { otherwise: 'retry' });
}

export const tiktokDestination: Destination<TikTokConfig> = {
  type: 'tiktok',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: TikTokConfigSchema,
  map,
  classify,
};
