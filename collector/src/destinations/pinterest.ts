// Pinterest Conversions API (v5): how a canonical event becomes a Pinterest conversion event,
// and what Pinterest's answer means. Every Pinterest field name, limit and error code lives in
// this file and nowhere else. Reference: shared/reference/destinations.md §5.1, checked against
// Pinterest's official OpenAPI description (github.com/pinterest/api-description,
// `v5/openapi.json`, operation `events/create`), which is followed where the reference has ⚠.
import { z } from 'zod';
import type { CanonicalEvent, CustomData } from '../event/schema.js';
import { mapPrepared, postJson, type Verdict } from './support/batches.js';
import { sentTime, unixSeconds, whyNotAllowed, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, outcomeOfStatus, parseJsonObject, retry, retryAfterMs, snippet } from './support/http-response.js';
import { isHttpUrl, isIpAddress, ownValue, present, withoutTrailingSlash } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

/** `event_name` values the OpenAPI description lists (anything else is refused). */
export const PINTEREST_EVENT_NAMES = [
  'add_payment_info', 'add_to_cart', 'add_to_wishlist', 'app_install', 'checkout', 'custom', 'initiate_checkout',
  'lead', 'page_visit', 'search', 'signup', 'subscribe', 'view_category', 'view_content', 'watch_video',
] as const;

export const PinterestConfigSchema = z.object({
  type: z.literal('pinterest'),
  /** The ad account the conversions belong to, digits only. */
  adAccountId: z.string().regex(/^\d+$/, 'must be the numeric ad account id'),
  /** Conversion access token from Ads Manager › Conversions (sent as `Authorization: Bearer`). */
  accessToken: z.string().min(1),
  /** Where the Pinterest API lives; point it at a local mock in tests and staging. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.pinterest.com'),
  /**
   * `?test=true`: Pinterest validates and answers as usual but records nothing. For setting
   * up only: a request in test mode is not a conversion.
   */
  test: z.boolean().default(false),
  /**
   * Canonical event name → Pinterest event_name, over the built-in map. Custom events (and
   * Contact, StartTrial, Refund) are only sent when listed here, e.g. `{"QuizCompleted": "custom"}`.
   */
  eventNames: z.record(z.string().min(1), z.enum(PINTEREST_EVENT_NAMES)).optional(),
});
export type PinterestConfig = z.infer<typeof PinterestConfigSchema>;

/** `data` holds 1 to 1,000 events (OpenAPI `maxItems`). */
const MAX_BATCH = 1000;
/**
 * ⚠ Pinterest documents no age limit; events received more than an hour after they happened
 * are reported as offline [3p]. Seven days, like Meta, keeps retries bounded.
 */
const MAX_EVENT_AGE_SEC = 7 * 24 * 60 * 60;
/** Skipped 5 minutes before that limit; up to 5 minutes ahead is clock skew, sent as now. */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  tooOld: 'Pinterest events are sent up to 7 days old',
  future: 'Pinterest rejects future events',
};

/** Meta-style standard names → Pinterest event_name (reference §5.6). */
const EVENT_NAMES = new Map<string, (typeof PINTEREST_EVENT_NAMES)[number]>([
  ['PageView', 'page_visit'],
  ['ViewContent', 'view_content'],
  ['Search', 'search'],
  ['AddToCart', 'add_to_cart'],
  ['AddToWishlist', 'add_to_wishlist'],
  ['InitiateCheckout', 'initiate_checkout'],
  ['AddPaymentInfo', 'add_payment_info'],
  ['Purchase', 'checkout'],
  ['Lead', 'lead'],
  ['CompleteRegistration', 'signup'],
  ['Subscribe', 'subscribe'],
]);

/** Hashed customer-information keys; Pinterest takes each as an array of hashes. */
const HASHED_USER_KEYS = ['em', 'ph', 'fn', 'ln', 'ge', 'db', 'ct', 'st', 'zp', 'country', 'external_id'] as const;

// ───────────────────────────── Pinterest's error codes (documented) ─────────────────────────────
// The OpenAPI description of events/create: 400 code 4196 invalid request; 401 code 2
// authentication failed; 403 code 29 not permitted; 422 not all events processed (details per
// event); 429 code 8 rate limit (5,000 calls/min per ad account); 503 code 4197 ramped down.

const AUTH_CODES = new Set([
  2, // authentication failed
  29, // not permitted to access that resource
]);
const RETRY_CODES = new Set([
  8, // rate limit exceeded
  4197, // endpoint ramped down, not accepting traffic
]);

// ─────────────────────────────────────── mapping ───────────────────────────────────────

function eventNameFor(event: CanonicalEvent, config: PinterestConfig): { name: string } | { skip: string } {
  const name = ownValue(config.eventNames, event.event_name) ?? EVENT_NAMES.get(event.event_name);
  if (name !== undefined) return { name };
  return {
    skip: `Pinterest has no "${event.event_name}" event; map it in eventNames (e.g. to "custom") to send it`,
  };
}

function userData(event: CanonicalEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Hashed at ingest with Meta's normalization, which matches Pinterest's for every key: email
  // lowercase; phone digits with country code and no `+` (`ph`, not `ph_e164`); names
  // lowercase; gender f/m; birth date YYYYMMDD; city without spaces/punctuation; 2-letter
  // state and country lowercase. Zip: Pinterest says "only digits"; a postcode with letters
  // (UK, Canada) keeps them, as Meta's rules do — it may not match.
  for (const key of HASHED_USER_KEYS) {
    const v = event.user[key];
    if (present(v)) out[key] = [v];
  }
  if (isIpAddress(event.ip)) out.client_ip_address = event.ip;
  if (present(event.user_agent)) out.client_user_agent = event.user_agent;
  // The `epik` click id (URL parameter on ad clicks, `_epik` cookie), unhashed.
  if (present(event.ids.epik)) out.click_id = event.ids.epik;
  return out;
}

/** Pinterest needs em, hashed_maids, or client_ip_address with client_user_agent. */
function matchable(ud: Record<string, unknown>): boolean {
  return ud.em !== undefined || (ud.client_ip_address !== undefined && ud.client_user_agent !== undefined);
}

function customData(custom: CustomData): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (custom.currency !== undefined) out.currency = custom.currency;
  // Money is a STRING in Pinterest's schema ("72.39"), parsed into a double on their side.
  if (custom.value !== undefined) out.value = String(custom.value);
  if (custom.content_ids !== undefined) out.content_ids = custom.content_ids;
  if (custom.contents !== undefined) {
    out.contents = custom.contents.map((c) => {
      const item: Record<string, unknown> = { id: c.id };
      if (c.item_price !== undefined) item.item_price = String(c.item_price);
      if (c.quantity !== undefined) item.quantity = c.quantity;
      if (c.title !== undefined) item.item_name = c.title;
      if (c.category !== undefined) item.item_category = c.category;
      if (c.brand !== undefined) item.item_brand = c.brand;
      return item;
    });
  }
  if (custom.num_items !== undefined) out.num_items = custom.num_items;
  // Pinterest also uses order_id to deduplicate.
  if (custom.order_id !== undefined) out.order_id = custom.order_id;
  if (custom.search_string !== undefined) out.search_string = custom.search_string;
  if (custom.content_name !== undefined) out.content_name = custom.content_name;
  if (custom.content_category !== undefined) out.content_category = custom.content_category;
  if (custom.predicted_ltv !== undefined) out.predicted_ltv = String(custom.predicted_ltv);
  // custom_data is a closed schema (additionalProperties: false): merchant `extra` properties
  // and `status` have no place and are not sent.
  return Object.keys(out).length > 0 ? out : undefined;
}

function conversionEvent(event: CanonicalEvent, name: string, ud: Record<string, unknown>, nowSec: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    event_name: name,
    // Always `web`: these are website conversions, also when a webhook reports the purchase.
    // Pinterest cannot deduplicate `offline` events against the tag, so `web` is also what
    // keeps a webhook purchase from counting twice.
    action_source: 'web',
    event_time: sentTime(event, nowSec),
    // Deduplicated against the tag's `pintrk('track', …, { event_id })`.
    event_id: event.event_id,
  };
  if (isHttpUrl(event.url)) out.event_source_url = event.url;
  out.user_data = ud;
  const cd = customData(event.custom);
  if (cd) out.custom_data = cd;
  return out;
}

/** The conversion event Pinterest is sent, or why it would reject it (and with it a batch). */
function judge(event: CanonicalEvent, config: PinterestConfig, nowSec: number): Verdict<Record<string, unknown>> {
  const notAllowed = whyNotAllowed(event, nowSec, EVENT_WINDOW);
  if (notAllowed !== undefined) return { skip: notAllowed };
  const name = eventNameFor(event, config);
  if ('skip' in name) return name;
  const ud = userData(event);
  if (!matchable(ud)) return { skip: 'Pinterest requires a hashed email, or IP address and user agent' };
  return { send: conversionEvent(event, name.name, ud, nowSec) };
}

function eventsRequest(events: Record<string, unknown>[], ids: string[], config: PinterestConfig): DestinationRequest {
  const test = config.test ? '?test=true' : '';
  const url = `${withoutTrailingSlash(config.baseUrl)}/v5/ad_accounts/${encodeURIComponent(config.adAccountId)}/events${test}`;
  return postJson(url, { data: events }, ids, { authorization: `Bearer ${config.accessToken}` });
}

function map(events: CanonicalEvent[], config: PinterestConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapPrepared(events, MAX_BATCH, (e) => judge(e, config, nowSec), (batch, ids) => eventsRequest(batch, ids, config));
}

// ──────────────────────────────────── classification ────────────────────────────────────

/** The per-event messages of a response (`events` at the top, or under `details` on a 422). */
function failedEvents(json: Record<string, unknown>): string[] {
  const holder = isObject(json.details) ? json.details : json;
  const events = Array.isArray(holder.events) ? holder.events : [];
  const out: string[] = [];
  events.forEach((e, i) => {
    if (isObject(e) && e.status === 'failed') {
      out.push(`event ${i}: ${typeof e.error_message === 'string' ? e.error_message : 'failed'}`);
    }
  });
  return out;
}

function describe(status: number, json: Record<string, unknown> | undefined, body: string): string {
  const parts = [json && typeof json.code === 'number' ? `Pinterest code ${json.code} (HTTP ${status})` : `Pinterest HTTP ${status}`];
  if (json && typeof json.message === 'string') parts.push(json.message);
  if (json) parts.push(...failedEvents(json));
  else if (body) parts.push(snippet(body));
  return parts.join(' — ').slice(0, 2000);
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJsonObject(response.body);
  const afterMs = retryAfterMs(response.headers);

  if (isSuccess(status)) {
    if (json && typeof json.num_events_received === 'number') {
      // A 200 should mean every event was processed; if some were not, treat it like the 422.
      if (failedEvents(json).length > 0) return { kind: 'dead', reason: describe(status, json, response.body) };
      return { kind: 'delivered' };
    }
    // Not Pinterest's answer (a proxy page?): the events may not have arrived. Sending again
    // is safe, Pinterest deduplicates on event_id.
    return retry(`HTTP ${status} without num_events_received: ${snippet(response.body)}`, afterMs);
  }

  const reason = describe(status, json, response.body);
  const code = typeof json?.code === 'number' ? json.code : undefined;
  if (code !== undefined && AUTH_CODES.has(code)) return { kind: 'auth', reason };
  if (code !== undefined && RETRY_CODES.has(code)) return retry(reason, afterMs);
  // 422: some events were not processed. Dead, so the dispatcher splits the batch until the
  // bad events are alone; the good ones sent again are deduplicated on event_id.
  return outcomeOfStatus(status, reason, afterMs);
}

export const pinterestDestination: Destination<PinterestConfig> = {
  type: 'pinterest',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: PinterestConfigSchema,
  map,
  classify,
};
