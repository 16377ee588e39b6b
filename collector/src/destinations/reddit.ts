// Reddit Conversions API v3: how a canonical event becomes a Reddit conversion event, and
// what Reddit's answer means. Every Reddit field name, limit and error rule lives here.
// Sources: shared/reference/destinations.md §5.3; Reddit's v3 docs (ads-api.reddit.com/docs/v3:
// Direct Integration, v2→v3 migration, Event Testing, errors) as captured verbatim in the
// Reddit-maintained Segment destination (segmentio/action-destinations
// `reddit-conversions-api/V3-API-REFERENCE.md`, partner-owned by Reddit). Where the docs are
// silent we follow that destination and say so.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import type { CanonicalEvent } from '../event/schema.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome, Skipped } from './types.js';

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
/** Skipped this close to the limit: in flight and with clocks apart they could cross it. */
const AGE_SAFETY_SEC = 5 * 60;
/** Up to this far ahead is clock skew (sent as now); further is a wrong time (skipped). */
const MAX_FUTURE_SEC = 5 * 60;
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

function present(s: string | undefined): s is string {
  return s !== undefined && s !== '';
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function trackingType(name: string): { tracking_type: string; custom_event_name?: string } {
  const standard = TRACKING_TYPES[name];
  // A custom name must match the pixel's custom name exactly for Reddit to deduplicate.
  return standard ? { tracking_type: standard } : { tracking_type: 'CUSTOM', custom_event_name: name };
}

function whyNotSendable(event: CanonicalEvent, nowSec: number): string | undefined {
  if (!event.consent.marketing) return 'no marketing consent';
  const age = nowSec - event.event_time;
  if (age > MAX_EVENT_AGE_SEC - AGE_SAFETY_SEC) {
    return `event_time is ${(age / 86400).toFixed(2)} days old; Reddit accepts events up to 7 days old`;
  }
  if (-age > MAX_FUTURE_SEC) return `event_time is ${-age} s in the future; Reddit rejects future events`;
  if (!TRACKING_TYPES[event.event_name] && event.event_name.length > MAX_CUSTOM_NAME) {
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
  if (present(event.ip) && isIP(event.ip.trim()) !== 0) out.ip_address = sha256Hex(event.ip.trim());
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
    event_at: Math.min(event.event_time, nowSec) * 1000,
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
  const base = config.baseUrl.replace(/\/+$/, '');
  const data: Record<string, unknown> = { events: events.map((e) => conversionEvent(e, nowSec)) };
  if (config.testId !== undefined) data.test_id = config.testId;
  return {
    method: 'POST',
    url: `${base}/api/v3/pixels/${encodeURIComponent(config.pixelId)}/conversion_events`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${config.accessToken}` },
    body: JSON.stringify({ data }),
    eventIds: events.map((e) => e.event_id),
  };
}

function map(events: CanonicalEvent[], config: RedditConfig, now: Date): MapResult {
  const nowSec = Math.floor(now.getTime() / 1000);
  const skipped: Skipped[] = [];
  const sendable: CanonicalEvent[] = [];
  for (const event of events) {
    const reason = whyNotSendable(event, nowSec);
    if (reason !== undefined) skipped.push({ eventId: event.event_id, reason });
    else sendable.push(event);
  }
  const requests: DestinationRequest[] = [];
  for (let i = 0; i < sendable.length; i += MAX_BATCH) {
    requests.push(eventsRequest(sendable.slice(i, i + MAX_BATCH), config, nowSec));
  }
  return { requests, skipped };
}

// ──────────────────────────────────── classification ────────────────────────────────────
// Reddit's documented answers (v3 "Error handling"):
//   200 {"data":{"message":"Successfully processed N conversion events."}}
//   400 "There were N invalid conversion events. None were processed." / "Bad Request" (>1,000)
//   401 "No bearer token provided" / "UNAUTHORIZED"
//   403 "You're not authorized to post conversions to Pixel ID …" / "Missing adsconversions scope …"
//   429 "Your user agent was automatically ratelimited." / "Too many requests/events within timeframe."
//   500 "The service is currently unavailable. No conversion events were processed."

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

function retryAfterMs(headers: DestinationResponse['headers']): number | undefined {
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  const serverNow = Date.parse(header(headers, 'date') ?? '');
  return Math.max(0, at - (Number.isNaN(serverNow) ? Date.now() : serverNow));
}

/** Reddit's message, wherever this answer keeps it. */
function redditMessage(json: unknown, body: string): string {
  if (isObject(json)) {
    const err = json.error;
    if (isObject(err) && typeof err.message === 'string') return err.message;
    if (typeof err === 'string') return err;
    if (typeof json.message === 'string') return json.message;
    if (isObject(json.data) && typeof json.data.message === 'string') return json.data.message;
  }
  const s = body.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJson(response.body);
  const message = redditMessage(json, response.body);
  const reason = `Reddit HTTP ${status}${message ? `: ${message}` : ''}`.slice(0, 2000);
  const afterMs = retryAfterMs(response.headers);
  const retry = (): Outcome => (afterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, afterMs });

  if (status >= 200 && status < 300) {
    if (isObject(json) && isObject(json.data)) return { kind: 'delivered' };
    // Not Reddit's answer (a proxy page?): send again, Reddit deduplicates on conversion_id.
    return retry();
  }
  // Missing/invalid token, or a token without rights on this pixel / the adsconversions scope.
  if (status === 401 || status === 403) return { kind: 'auth', reason };
  if (status === 408 || status === 429 || status >= 500) return retry();
  // 400: invalid events (the whole request is refused) and anything else the client got wrong.
  return { kind: 'dead', reason };
}

export const redditDestination: Destination<RedditConfig> = {
  type: 'reddit',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: RedditConfigSchema,
  map,
  classify,
};
