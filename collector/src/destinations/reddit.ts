// Reddit Conversions API v3: how a canonical event becomes a Reddit conversion event, and
// what Reddit's answer means. Every Reddit field name, limit and error rule lives here.
// Sources: shared/reference/destinations.md §5.3; Reddit's v3 docs (ads-api.reddit.com/docs/v3:
// Direct Integration, v2→v3 migration, Event Testing, errors) as captured verbatim in the
// Reddit-maintained Segment destination (segmentio/action-destinations
// `reddit-conversions-api/V3-API-REFERENCE.md`, partner-owned by Reddit). Where the docs are
// silent we follow that destination and say so.
import { z } from 'zod';
import type { CanonicalEvent } from '../event/schema.js';
import { mapSendable, postJson } from './support/batches.js';
import { sentTime, unixSeconds, whyNotAllowed, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, outcomeOfStatus, parseJson, retry, retryAfterMs, snippet } from './support/http-response.js';
import { isIpAddress, present, sha256Hex, withoutTrailingSlash, ownValue } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

export const RedditConfigSchema = z.object({
  type: z.literal('reddit'),
  /** The Reddit Pixel ID (Events Manager), e.g. `a2_abc123` or `t2_abc123`. */
  pixelId: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'must be the Reddit pixel id, e.g. a2_abc123'),
  /** Conversion access token from Events Manager (or an OAuth token with `adsconversions`). */
  accessToken: z.string().min(1),
  /** Where the Ads API lives; point it at a local mock in tests and staging. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://ads-api.reddit.com'),
  /**
   * Event Testing: the test id copied from Events Manager › Event Testing. Events go to the
   * testing view. Reddit shows only single-event requests there, and says to remove it in
   * production: never leave it set.
   */
  testId: z.string().min(1).optional(),
});
export type RedditConfig = z.infer<typeof RedditConfigSchema>;

/** Reddit: 1,000 events per request. */
const MAX_BATCH = 1000;
/** Reddit: events must be sent within 7 days (168 h) of happening. */
const MAX_EVENT_AGE_SEC = 7 * 24 * 60 * 60;
/** Skipped 5 minutes before that limit; up to 5 minutes ahead is clock skew, sent as now. */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  tooOld: 'Reddit accepts events up to 7 days old',
  future: 'Reddit rejects future events',
};
/** Reddit: `custom_event_name` is at most 64 characters. */
const MAX_CUSTOM_NAME = 64;

/** Canonical (Meta) names → Reddit v3 `tracking_type` (§5.6). Anything else is CUSTOM. */
const TRACKING_TYPES: Record<string, string> = {
  PageView: 'PAGE_VISIT',
  ViewContent: 'VIEW_CONTENT',
  Search: 'SEARCH',
  AddToCart: 'ADD_TO_CART',
  AddToWishlist: 'ADD_TO_WISHLIST',
  Purchase: 'PURCHASE',
  Lead: 'LEAD',
  CompleteRegistration: 'SIGN_UP',
};
/** Types whose metadata may carry value/currency, and item_count (Reddit's Segment destination). */
const VALUE_TYPES = new Set(['ADD_TO_CART', 'ADD_TO_WISHLIST', 'PURCHASE', 'LEAD', 'SIGN_UP', 'CUSTOM']);
const ITEM_COUNT_TYPES = new Set(['ADD_TO_CART', 'ADD_TO_WISHLIST', 'PURCHASE', 'CUSTOM']);

// ─────────────────────────────────────── mapping ───────────────────────────────────────

function trackingType(name: string): { tracking_type: string; custom_event_name?: string } {
  const standard = ownValue(TRACKING_TYPES, name);
  // A custom name must match the pixel's custom name exactly for Reddit to deduplicate.
  return standard ? { tracking_type: standard } : { tracking_type: 'CUSTOM', custom_event_name: name };
}

function whyNotSendable(event: CanonicalEvent, nowSec: number): string | undefined {
  const notAllowed = whyNotAllowed(event, nowSec, EVENT_WINDOW);
  if (notAllowed !== undefined) return notAllowed;
  if (!ownValue(TRACKING_TYPES, event.event_name) && event.event_name.length > MAX_CUSTOM_NAME) {
    return `custom event name is ${event.event_name.length} characters; Reddit accepts at most ${MAX_CUSTOM_NAME}`;
  }
  return undefined;
}

function user(event: CanonicalEvent): Record<string, string> {
  const out: Record<string, string> = {};
  // Hashed at ingest with Meta's email rule (trim + lowercase). Reddit also strips dots
  // and `+tags` from the local part before hashing; that needs the cleartext, which is
  // gone, so such addresses match less often. Sent as we have it.
  if (present(event.user.em)) out.email = event.user.em;
  // Reddit: E.164 with the leading `+`, hashed: our `ph_e164`, never Meta's `ph`.
  if (present(event.user.ph_e164)) out.phone_number = event.user.ph_e164;
  // Reddit accepts external_id hashed or not; ours is hashed at ingest.
  if (present(event.user.external_id)) out.external_id = event.user.external_id;
  // Reddit wants the IP SHA-256 hashed (trimmed, as Reddit's own integration does); the UA plain.
  const ip = event.ip?.trim();
  if (isIpAddress(ip)) out.ip_address = sha256Hex(ip);
  if (present(event.user_agent)) out.user_agent = event.user_agent;
  // `_rdt_uuid` cookie: the pixel's browser id, sent raw.
  if (present(event.ids.rdt_uuid)) out.uuid = event.ids.rdt_uuid;
  return out;
}

function metadata(event: CanonicalEvent, tracking: string): Record<string, unknown> {
  const c = event.custom;
  // The dedup key with the pixel's `conversionId`: the shared event id, sent as is (Reddit
  // accepts it hashed or not, so it matches what the browser passed).
  const out: Record<string, unknown> = { conversion_id: event.event_id };
  if (VALUE_TYPES.has(tracking) && c.value !== undefined && c.currency !== undefined) {
    out.value = c.value;
    out.currency = c.currency;
  }
  if (ITEM_COUNT_TYPES.has(tracking) && c.num_items !== undefined) out.item_count = c.num_items;
  const products = c.contents?.length
    ? c.contents.map((p) => {
        const item: Record<string, unknown> = { id: p.id };
        if (p.title !== undefined) item.name = p.title;
        if (p.category !== undefined) item.category = p.category;
        if (p.quantity !== undefined) item.quantity = p.quantity;
        if (p.item_price !== undefined) item.item_price = p.item_price;
        return item;
      })
    : c.content_ids?.length
      ? c.content_ids.map((id) => ({ id }))
      : undefined;
  if (products) out.products = products;
  return out;
}

function conversionEvent(event: CanonicalEvent, nowSec: number): Record<string, unknown> {
  const type = trackingType(event.event_name);
  const out: Record<string, unknown> = {
    // v3: Unix epoch milliseconds (v2 took seconds or ISO strings).
    event_at: sentTime(event, nowSec) * 1000,
    // Required in v3. Every Trakvo event is a web store's conversion; the pixel
    // deduplicates only against WEBSITE events.
    action_source: 'WEBSITE',
    type,
  };
  if (present(event.url)) out.event_source_url = event.url;
  if (present(event.ids.rdt_cid)) out.click_id = event.ids.rdt_cid;
  out.user = user(event);
  out.metadata = metadata(event, type.tracking_type);
  return out;
}

function eventsRequest(events: CanonicalEvent[], config: RedditConfig, nowSec: number): DestinationRequest {
  const data: Record<string, unknown> = { events: events.map((e) => conversionEvent(e, nowSec)) };
  if (config.testId !== undefined) data.test_id = config.testId;
  const url = `${withoutTrailingSlash(config.baseUrl)}/api/v3/pixels/${encodeURIComponent(config.pixelId)}/conversion_events`;
  return postJson(url, { data }, events.map((e) => e.event_id), { authorization: `Bearer ${config.accessToken}` });
}

function map(events: CanonicalEvent[], config: RedditConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapSendable(events, MAX_BATCH, (e) => whyNotSendable(e, nowSec), (batch) => eventsRequest(batch, config, nowSec));
}

// ──────────────────────────────────── classification ────────────────────────────────────
// Reddit's documented answers (v3 "Error handling"):
//   200 {"data":{"message":"Successfully processed N conversion events."}}
//   400 "There were N invalid conversion events. None were processed." / "Bad Request" (>1,000)
//   401 "No bearer token provided" / "UNAUTHORIZED"
//   403 "You're not authorized to post conversions to Pixel ID …" / "Missing adsconversions scope …"
//   429 "Your user agent was automatically ratelimited." / "Too many requests/events within timeframe."
//   500 "The service is currently unavailable. No conversion events were processed."

/** Reddit's message, wherever this answer keeps it. */
function redditMessage(json: unknown, body: string): string {
  if (isObject(json)) {
    const err = json.error;
    if (isObject(err) && typeof err.message === 'string') return err.message;
    if (typeof err === 'string') return err;
    if (typeof json.message === 'string') return json.message;
    if (isObject(json.data) && typeof json.data.message === 'string') return json.data.message;
  }
  return snippet(body);
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJson(response.body);
  const message = redditMessage(json, response.body);
  const reason = `Reddit HTTP ${status}${message ? `: ${message}` : ''}`.slice(0, 2000);
  const afterMs = retryAfterMs(response.headers);

  if (isSuccess(status)) {
    if (isObject(json) && isObject(json.data)) return { kind: 'delivered' };
    // Not Reddit's answer (a proxy page?): send again, Reddit deduplicates on conversion_id.
    return retry(reason, afterMs);
  }
  // 401/403: a missing/invalid token, or a token without rights on this pixel / the
  // adsconversions scope. 400: invalid events (the whole request is refused) and anything
  // else the client got wrong.
  return outcomeOfStatus(status, reason, afterMs);
}

export const redditDestination: Destination<RedditConfig> = {
  type: 'reddit',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: RedditConfigSchema,
  map,
  classify,
};
