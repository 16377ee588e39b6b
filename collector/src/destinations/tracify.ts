// Tracify server-side events API: how a canonical event becomes a Tracify event, and what
// Tracify's answer means. Every Tracify field name, format and rule lives here.
//
// What we could read, and from where:
// - Tracify's docs, tracify.dev/events ("Server-side events API"), the opening part only:
//   event types Pageview, Product view, Add to cart, Purchase, Conversion, sent one by one
//   or in batches; fields `url`, `customer_site_id`, `identity_data` (hashed key → 1, 2, 3
//   or 4 by kind of identifier).
// - Tracify's OpenAPI spec ("Spec 1.0.0"), as generated into the be-lenka/tracify-php-sdk
//   client: `POST https://api.tracify.ai/api/v1/events`, API key in the `tracify-token`
//   header, body `{"events":[…]}`; per event `url`, `customer_site_id` (UUID v4),
//   `identity_data`, `datetime` ("%Y-%m-%d %H:%M:%S", UTC), `type`, `data` (`origin` = the
//   site's origin; purchase: `order_id`, `currency`, `amount` as a string "with 2 decimals
//   after the comma", re-sent order ids are ignored); the anonymization: SHA-256 hex, drop
//   the last 5 hex digits, SHA-256 hex again; identity kinds 1 email / personal data,
//   2 session-related, 3 IP address / geo, 4 user agent; answer `{"status": bool, "error"?}`.
// - A server-side GTM tag for Tracify (sesamy, third-party): staging host
//   devapi.tracify.ai; types `pageview`, `productview`, `addtocart`, `purchase`,
//   `conversion` (data: `conversion_id`, `currency`, `value`); `utm_*`/`trc_*` URL
//   parameters copied into `data` for page and product views; items as `ITEMn` (name),
//   `AMTn` (price), `QTYn` (quantity); amounts with a decimal comma.
// Not confirmed (⚠ below): how Tracify wants the session identity derived (we hash
// "<ip>|<user agent>"), the amount format beyond "2 decimals after the comma", a batch
// limit, an event age limit, and error codes beyond the `{status, error}` answer.
import { z } from 'zod';
import type { CanonicalEvent } from '../event/schema.js';
import { mapSendable, postJson } from './support/batches.js';
import { outsideWindow, sentTime, unixSeconds, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, outcomeOfStatus, parseJson, retryAfterMs, snippet } from './support/http-response.js';
import { present, sha256Hex, withoutTrailingSlash } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

const PRODUCTION_URL = 'https://api.tracify.ai';
const STAGING_URL = 'https://devapi.tracify.ai';

export const TracifyConfigSchema = z.object({
  type: z.literal('tracify'),
  /** Customer site id (CSID) from your Tracify account representative, a UUID. */
  customerSiteId: z.uuid('must be the Tracify customer site id (a UUID)'),
  /** API key, sent in the `tracify-token` header. */
  apiToken: z.string().min(1),
  /** Send to Tracify's staging API (devapi.tracify.ai) instead of production. */
  staging: z.boolean().default(false),
  /** Overrides the API host (a local mock in tests); wins over `staging`. */
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** The shop's URL, used as `url`/`origin` for events that carry no page URL (e.g. webhook purchases). */
  siteUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Canonical names sent as Tracify `conversion` events. */
  conversionEvents: z.array(z.string().min(1)).default(['Lead', 'CompleteRegistration', 'Subscribe', 'StartTrial', 'Contact']),
  /** Which consent an event needs to reach Tracify (attribution across visits: marketing by default). */
  consent: z.enum(['marketing', 'analytics']).default('marketing'),
});
export type TracifyConfig = z.infer<typeof TracifyConfigSchema>;

/** ⚠ Tracify documents batches but no limit; 100 keeps a request small. */
const MAX_BATCH = 100;
/** ⚠ Not documented; attribution of a month-old event is still useful. */
const MAX_EVENT_AGE_SEC = 30 * 24 * 60 * 60;
/** No safety margin before that limit; up to 5 minutes ahead is clock skew, sent as now. */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  safetySec: 0,
  tooOld: 'Tracify events are sent up to 30 days old',
};

/** Identity kinds in `identity_data`. */
const IDENTITY = { email: 1, session: 2, ip: 3, userAgent: 4 } as const;

/** Canonical names with a Tracify type of their own; `conversionEvents` become `conversion`. */
const TYPES: Record<string, string> = {
  PageView: 'pageview',
  ViewContent: 'productview',
  AddToCart: 'addtocart',
  Purchase: 'purchase',
};

/** URL parameters Tracify reads for attribution (campaign and Tracify's own). */
const TRACKING_PARAM = /^(utm|trc)_[_a-z]/;

// ─────────────────────────────────────── mapping ───────────────────────────────────────

/** Tracify's anonymization of an already SHA-256-hex value: drop the last 5 digits, hash again. */
function anonymizeDigest(digest: string): string {
  return sha256Hex(digest.slice(0, digest.length - 5));
}

/** Tracify's anonymization of a cleartext value. */
function anonymize(value: string): string {
  return anonymizeDigest(sha256Hex(value));
}

function identityData(event: CanonicalEvent): Record<string, number> {
  const out: Record<string, number> = {};
  // Our `em` is SHA-256 hex of the normalized (trimmed, lowercased) email: the first step
  // of Tracify's scheme is already done, so the cleartext is not needed.
  if (present(event.user.em)) out[anonymizeDigest(event.user.em)] = IDENTITY.email;
  const ip = present(event.ip) ? event.ip.trim() : undefined;
  const ua = present(event.user_agent) ? event.user_agent : undefined;
  // ⚠ The session identity derived from IP and user agent together, "<ip>|<ua>".
  if (ip && ua) out[anonymize(`${ip}|${ua}`)] = IDENTITY.session;
  if (ip) out[anonymize(ip)] = IDENTITY.ip;
  if (ua) out[anonymize(ua)] = IDENTITY.userAgent;
  return out;
}

/** "2026-08-01 11:50:00": UTC, as Tracify's spec formats `datetime`. */
function datetime(unixSec: number): string {
  return new Date(unixSec * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** ⚠ "2 decimals after the comma": 129.9 → "129,90". */
function amount(value: number): string {
  return value.toFixed(2).replace('.', ',');
}

function typeOf(event: CanonicalEvent, config: TracifyConfig): string | undefined {
  return TYPES[event.event_name] ?? (config.conversionEvents.includes(event.event_name) ? 'conversion' : undefined);
}

/** The page URL to send, and the site's origin, or undefined when neither is known. */
function location(event: CanonicalEvent, config: TracifyConfig): { url: string; parsed: URL } | undefined {
  for (const candidate of [event.url, config.siteUrl]) {
    if (!present(candidate)) continue;
    try {
      return { url: candidate, parsed: new URL(candidate) };
    } catch {
      // Not a URL: try the next one.
    }
  }
  return undefined;
}

function items(event: CanonicalEvent, data: Record<string, string>): void {
  (event.custom.contents ?? []).forEach((p, i) => {
    const n = i + 1;
    data[`ITEM${n}`] = p.title ?? p.id;
    if (p.item_price !== undefined) data[`AMT${n}`] = amount(p.item_price);
    data[`QTY${n}`] = String(p.quantity ?? 1);
  });
}

function whyNotSendable(event: CanonicalEvent, config: TracifyConfig, nowSec: number): string | undefined {
  if (!event.consent[config.consent]) return `no ${config.consent} consent`;
  const type = typeOf(event, config);
  if (type === undefined) {
    return `"${event.event_name}" has no Tracify event type (pageview, productview, addtocart, purchase, or conversion via config.conversionEvents)`;
  }
  const outside = outsideWindow(event, nowSec, EVENT_WINDOW);
  if (outside !== undefined) return outside;
  if (!location(event, config)) return 'no page url (and no config.siteUrl); Tracify requires url and origin';
  if (type === 'purchase' && (event.custom.value === undefined || event.custom.currency === undefined)) {
    return 'Purchase without custom.value and custom.currency; Tracify requires amount and currency';
  }
  if (Object.keys(identityData(event)).length === 0) return 'no email, IP or user agent; Tracify has no identity to attribute the event to';
  return undefined;
}

function tracifyEvent(event: CanonicalEvent, config: TracifyConfig, nowSec: number): Record<string, unknown> {
  const type = typeOf(event, config)!;
  const where = location(event, config)!;
  const c = event.custom;
  const data: Record<string, string> = { origin: where.parsed.origin };
  if (type === 'pageview' || type === 'productview') {
    for (const [key, value] of where.parsed.searchParams) if (TRACKING_PARAM.test(key) && !(key in data)) data[key] = value;
  } else if (type === 'addtocart') {
    items(event, data);
  } else if (type === 'purchase') {
    // Tracify ignores an order id it has seen: the dedup key. The shared event id when the
    // event has no order id.
    data.order_id = c.order_id ?? event.event_id;
    data.currency = c.currency!;
    data.amount = amount(c.value!);
    items(event, data);
  } else {
    data.conversion_id = c.order_id ?? event.event_id;
    if (c.value !== undefined && c.currency !== undefined) {
      data.currency = c.currency;
      data.value = amount(c.value);
    }
  }
  return {
    url: where.url,
    customer_site_id: config.customerSiteId,
    identity_data: identityData(event),
    datetime: datetime(sentTime(event, nowSec)),
    type,
    data,
  };
}

function eventsRequest(events: CanonicalEvent[], config: TracifyConfig, nowSec: number): DestinationRequest {
  const base = withoutTrailingSlash(config.baseUrl ?? (config.staging ? STAGING_URL : PRODUCTION_URL));
  const body = { events: events.map((e) => tracifyEvent(e, config, nowSec)) };
  return postJson(`${base}/api/v1/events`, body, events.map((e) => e.event_id), {
    accept: 'application/json',
    'tracify-token': config.apiToken,
  });
}

function map(events: CanonicalEvent[], config: TracifyConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapSendable(events, MAX_BATCH, (e) => whyNotSendable(e, config, nowSec), (batch) => eventsRequest(batch, config, nowSec));
}

// ──────────────────────────────────── classification ────────────────────────────────────
// Tracify answers `{"status": true}`, or `{"status": false, "error": "…"}` for a refused
// request. ⚠ Its HTTP error codes are not documented: the usual meanings apply (401/403 the
// token, 429/5xx transient, other 4xx the payload).

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJson(response.body);
  const error = isObject(json) && typeof json.error === 'string' ? json.error : undefined;
  const reason = `Tracify HTTP ${status}${error ? `: ${error}` : response.body ? `: ${snippet(response.body)}` : ''}`.slice(0, 2000);

  if (isSuccess(status)) {
    // A 2xx that says it failed refused the events; anything else is success. (Page views
    // are not deduplicated by Tracify, so an unclear 2xx is not sent again.)
    return isObject(json) && json.status === false ? { kind: 'dead', reason } : { kind: 'delivered' };
  }
  return outcomeOfStatus(status, reason, retryAfterMs(response.headers));
}

export const tracifyDestination: Destination<TracifyConfig> = {
  type: 'tracify',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: TracifyConfigSchema,
  map,
  classify,
};
