// Pinterest Conversions API (v5): how a canonical event becomes a Pinterest conversion event,
// and what Pinterest's answer means. Every Pinterest field name, limit and error code lives in
// this file and nowhere else. Reference: shared/reference/destinations.md §5.1, checked against
// Pinterest's official OpenAPI description (github.com/pinterest/api-description,
// `v5/openapi.json`, operation `events/create`), which is followed where the reference has ⚠.
import { isIP } from 'node:net';
import { z } from 'zod';
import type { CanonicalEvent, CustomData } from '../event/schema.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome, Skipped } from './types.js';

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
/** Events this close to the age limit are skipped. */
const AGE_SAFETY_SEC = 5 * 60;
/** Up to this far ahead is clock skew and is sent as `now`; further ahead is skipped. */
const MAX_FUTURE_SEC = 5 * 60;

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

function present(s: string | undefined): s is string {
  return s !== undefined && s !== '';
}

/** Only http(s) page URLs are sent as event_source_url. */
function httpUrl(s: string | undefined): s is string {
  return s !== undefined && /^https?:\/\/\S+$/i.test(s);
}

function eventNameFor(event: CanonicalEvent, config: PinterestConfig): { name: string } | { skip: string } {
  const own = config.eventNames;
  if (own !== undefined && Object.hasOwn(own, event.event_name)) return { name: own[event.event_name]! };
  const standard = EVENT_NAMES.get(event.event_name);
  if (standard !== undefined) return { name: standard };
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
  if (present(event.ip) && isIP(event.ip) !== 0) out.client_ip_address = event.ip;
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
    event_time: Math.min(event.event_time, nowSec),
    // Deduplicated against the tag's `pintrk('track', …, { event_id })`.
    event_id: event.event_id,
  };
  if (httpUrl(event.url)) out.event_source_url = event.url;
  out.user_data = ud;
  const cd = customData(event.custom);
  if (cd) out.custom_data = cd;
  return out;
}

/** Why Pinterest would reject this event (and with it a batch), if it would. */
function whyNotSendable(event: CanonicalEvent, nowSec: number): string | undefined {
  if (!event.consent.marketing) return 'no marketing consent';
  const age = nowSec - event.event_time;
  if (age > MAX_EVENT_AGE_SEC - AGE_SAFETY_SEC) {
    return `event_time is ${(age / 86400).toFixed(2)} days old; Pinterest events are sent up to 7 days old`;
  }
  if (-age > MAX_FUTURE_SEC) return `event_time is ${-age} s in the future; Pinterest rejects future events`;
  return undefined;
}

function eventsRequest(events: Record<string, unknown>[], ids: string[], config: PinterestConfig): DestinationRequest {
  const base = config.baseUrl.replace(/\/+$/, '');
  const test = config.test ? '?test=true' : '';
  return {
    method: 'POST',
    url: `${base}/v5/ad_accounts/${encodeURIComponent(config.adAccountId)}/events${test}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${config.accessToken}` },
    body: JSON.stringify({ data: events }),
    eventIds: ids,
  };
}

function map(events: CanonicalEvent[], config: PinterestConfig, now: Date): MapResult {
  const nowSec = Math.floor(now.getTime() / 1000);
  const skipped: Skipped[] = [];
  const sendable: { id: string; event: Record<string, unknown> }[] = [];
  for (const event of events) {
    const reason = whyNotSendable(event, nowSec);
    if (reason !== undefined) {
      skipped.push({ eventId: event.event_id, reason });
      continue;
    }
    const name = eventNameFor(event, config);
    if ('skip' in name) {
      skipped.push({ eventId: event.event_id, reason: name.skip });
      continue;
    }
    const ud = userData(event);
    if (!matchable(ud)) {
      skipped.push({ eventId: event.event_id, reason: 'Pinterest requires a hashed email, or IP address and user agent' });
      continue;
    }
    sendable.push({ id: event.event_id, event: conversionEvent(event, name.name, ud, nowSec) });
  }
  const requests: DestinationRequest[] = [];
  for (let i = 0; i < sendable.length; i += MAX_BATCH) {
    const chunk = sendable.slice(i, i + MAX_BATCH);
    requests.push(eventsRequest(chunk.map((c) => c.event), chunk.map((c) => c.id), config));
  }
  return { requests, skipped };
}

// ──────────────────────────────────── classification ────────────────────────────────────

function header(headers: DestinationResponse['headers'], name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `Retry-After` in seconds or as an HTTP date (measured from the server's `Date` if given). */
function waitMs(headers: DestinationResponse['headers']): number | undefined {
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
  const at = Date.parse(retryAfter);
  if (Number.isNaN(at)) return undefined;
  const serverNow = Date.parse(header(headers, 'date') ?? '');
  return Math.max(0, at - (Number.isNaN(serverNow) ? Date.now() : serverNow));
}

function snippet(body: string): string {
  const s = body.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

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
  const parsed = parseJson(response.body);
  const json = isObject(parsed) ? parsed : undefined;
  const afterMs = waitMs(response.headers);
  const retry = (reason: string): Outcome => (afterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, afterMs });

  if (status >= 200 && status < 300) {
    if (json && typeof json.num_events_received === 'number') {
      // A 200 should mean every event was processed; if some were not, treat it like the 422.
      if (failedEvents(json).length > 0) return { kind: 'dead', reason: describe(status, json, response.body) };
      return { kind: 'delivered' };
    }
    // Not Pinterest's answer (a proxy page?): the events may not have arrived. Sending again
    // is safe, Pinterest deduplicates on event_id.
    return retry(`HTTP ${status} without num_events_received: ${snippet(response.body)}`);
  }

  const reason = describe(status, json, response.body);
  const code = typeof json?.code === 'number' ? json.code : undefined;
  if (code !== undefined && AUTH_CODES.has(code)) return { kind: 'auth', reason };
  if (code !== undefined && RETRY_CODES.has(code)) return retry(reason);
  if (status === 401 || status === 403) return { kind: 'auth', reason };
  // 422: some events were not processed. Dead, so the dispatcher splits the batch until the
  // bad events are alone; the good ones sent again are deduplicated on event_id.
  if (status === 408 || status === 429 || status >= 500) return retry(reason);
  return { kind: 'dead', reason };
}

export const pinterestDestination: Destination<PinterestConfig> = {
  type: 'pinterest',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: PinterestConfigSchema,
  map,
  classify,
};
