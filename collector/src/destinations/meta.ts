// Meta Conversions API: how a canonical event becomes a Meta server event, and what Meta's
// answer means. Every Meta field name, limit and error code lives in this file and nowhere
// else. Reference: shared/reference/destinations.md §1.
import { z } from 'zod';
import type { CanonicalEvent, CustomData } from '../event/schema.js';
import { mapSendable, postJson } from './support/batches.js';
import { sentTime, unixSeconds, whyNotAllowed, type EventWindow } from './support/event-window.js';
import { header, isObject, isSuccess, isTransientStatus, outcomeOfStatus, parseJson, retry, retryAfterMs, snippet, statusReason } from './support/http-response.js';
import { isIpAddress, present, withoutTrailingSlash } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

export const MetaConfigSchema = z.object({
  type: z.literal('meta'),
  /** The pixel (dataset) id, digits only. */
  pixelId: z.string().regex(/^\d+$/, 'must be the numeric pixel id'),
  /** Conversions API access token (system user or Events Manager). */
  accessToken: z.string().min(1),
  /** Graph API version; Meta supports each one for about two years. */
  apiVersion: z.string().regex(/^v\d+\.\d+$/, 'must look like v26.0').default('v26.0'),
  /** Where the Graph API lives; point it at a local mock in tests and staging. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://graph.facebook.com'),
  /** Routes events to Events Manager › Test Events (they are still processed: not a dry run). */
  testEventCode: z.string().min(1).optional(),
  /** Identifies the integration to Meta, e.g. `trakvo-0.1.0`. */
  partnerAgent: z.string().min(1).optional(),
});
export type MetaConfig = z.infer<typeof MetaConfigSchema>;

const MAX_BATCH = 1000;
const MAX_EVENT_AGE_SEC = 7 * 24 * 60 * 60;
/**
 * Events 5 minutes from the 7-day limit are skipped too: by the time Meta checks (request in
 * flight, clocks a little apart) they could be over it, and one such event makes Meta
 * reject the whole batch of up to 1,000. Meta rejects future event times: up to 5 minutes
 * ahead is clock skew (a browser clock, another machine) and the time is sent as `now`;
 * further ahead the time is wrong: skipped.
 */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  tooOld: 'Meta accepts events up to 7 days old',
  future: 'Meta rejects future events',
};

/** Hashed customer-information keys we send, in the canonical event under the same names. */
const HASHED_USER_KEYS = ['em', 'ph', 'fn', 'ln', 'ct', 'st', 'zp', 'country', 'db', 'ge', 'external_id'] as const;

/** `_fbp` / `_fbc`: `fb.{subdomainIndex}.{creationTime ms}.{random or fbclid}`. */
const FB_COOKIE = /^fb\.\d\.\d{13}\..+$/;

/**
 * custom_data keys that come from canonical fields. A merchant's `extra` property with one
 * of these names is dropped: it must not overwrite (or stand in for) the typed value, since
 * one malformed event makes Meta reject the whole batch.
 */
const MAPPED_CUSTOM_KEYS = new Set<string>([
  'value', 'currency', 'order_id', 'content_ids', 'contents', 'content_type', 'content_name',
  'content_category', 'num_items', 'search_string', 'status', 'predicted_ltv',
]);

// ───────────────────────────── Meta's error codes (all of them) ─────────────────────────────
// Graph API error handling + Conversions API troubleshooting + Marketing API rate limiting.

/** Temporary trouble: unknown/service errors, throttling, temporary blocks. */
const RETRY_CODES = new Set([
  1, // unknown error, possibly temporary
  2, // service temporarily unavailable
  4, // application request limit reached
  17, // user request limit reached
  32, // page request limit reached
  341, // application limit reached
  368, // temporarily blocked for policy violations
  613, // calls to this api have exceeded the rate limit
]);
/** Business Use Case rate limits (per ad account / business, Marketing API). */
const BUC_RATE_LIMIT_CODES = { from: 80000, to: 80014 };
/** The token is missing, invalid or expired: an operator must replace it. */
const TOKEN_CODES = new Set([
  102, // session key invalid or no longer valid
  104, // access token required / incorrect signature
  190, // access token invalid or expired
]);
/** The token lacks a permission (10, 200–299): also fixed only by an operator. */
const PERMISSION_CODES = { single: 10, from: 200, to: 299 };
/** Invalid parameter (bad event_time, missing field, malformed user_data): never retry. */
const INVALID_PARAMETER_CODE = 100;

type CodeClass = 'retry' | 'auth' | 'dead';

function classOfCode(code: number): CodeClass | undefined {
  if (TOKEN_CODES.has(code)) return 'auth';
  if (code === PERMISSION_CODES.single || (code >= PERMISSION_CODES.from && code <= PERMISSION_CODES.to)) return 'auth';
  if (RETRY_CODES.has(code)) return 'retry';
  if (code >= BUC_RATE_LIMIT_CODES.from && code <= BUC_RATE_LIMIT_CODES.to) return 'retry';
  if (code === INVALID_PARAMETER_CODE) return 'dead';
  return undefined;
}

// ─────────────────────────────────────── mapping ───────────────────────────────────────

type ServerEvent = Record<string, unknown>;

/** Why Meta would reject this event on its own (and with it the whole batch), if it would. */
function whyNotSendable(event: CanonicalEvent, nowSec: number): string | undefined {
  const notAllowed = whyNotAllowed(event, nowSec, EVENT_WINDOW);
  if (notAllowed !== undefined) return notAllowed;
  if (event.event_name === 'Purchase' && (event.custom.value === undefined || event.custom.currency === undefined)) {
    return 'Purchase without custom.value and custom.currency; Meta requires both';
  }
  return undefined;
}

function userData(event: CanonicalEvent): Record<string, string> {
  const out: Record<string, string> = {};
  // Already normalized and SHA-256 hashed at ingest with Meta's rules. `ph_e164` (the
  // phone with its `+`) is for other platforms and is deliberately not copied.
  for (const key of HASHED_USER_KEYS) {
    const v = event.user[key];
    if (present(v)) out[key] = v;
  }
  // Sent as they are. A malformed value would make Meta reject the whole batch, so it is
  // left out instead (the event still counts, just with a weaker match).
  if (isIpAddress(event.ip)) out.client_ip_address = event.ip;
  if (present(event.user_agent)) out.client_user_agent = event.user_agent;
  if (present(event.ids.fbp) && FB_COOKIE.test(event.ids.fbp)) out.fbp = event.ids.fbp;
  if (present(event.ids.fbc) && FB_COOKIE.test(event.ids.fbc)) out.fbc = event.ids.fbc;
  return out;
}

function customData(custom: CustomData): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (custom.value !== undefined) out.value = custom.value;
  if (custom.currency !== undefined) out.currency = custom.currency;
  if (custom.order_id !== undefined) out.order_id = custom.order_id;
  if (custom.content_ids !== undefined) out.content_ids = custom.content_ids;
  if (custom.contents !== undefined) {
    out.contents = custom.contents.map((c) => {
      const item: Record<string, unknown> = { id: c.id };
      if (c.quantity !== undefined) item.quantity = c.quantity;
      if (c.item_price !== undefined) item.item_price = c.item_price;
      if (c.title !== undefined) item.title = c.title;
      if (c.category !== undefined) item.category = c.category;
      if (c.brand !== undefined) item.brand = c.brand;
      return item;
    });
  }
  if (custom.content_type !== undefined) out.content_type = custom.content_type;
  if (custom.content_name !== undefined) out.content_name = custom.content_name;
  if (custom.content_category !== undefined) out.content_category = custom.content_category;
  if (custom.num_items !== undefined) out.num_items = custom.num_items;
  if (custom.search_string !== undefined) out.search_string = custom.search_string;
  if (custom.status !== undefined) out.status = custom.status;
  if (custom.predicted_ltv !== undefined) out.predicted_ltv = custom.predicted_ltv;
  // Merchant-defined properties are custom properties at the same level (Meta allows any).
  for (const [key, v] of Object.entries(custom.extra ?? {})) {
    if (!MAPPED_CUSTOM_KEYS.has(key)) out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function serverEvent(event: CanonicalEvent, nowSec: number): ServerEvent {
  const user_data = userData(event);
  // Meta requires event_source_url and client_user_agent on every `website` event and
  // rejects the whole batch otherwise. So an event is `website` when it has both: browser
  // events, and webhook purchases that carried the checkout page and user agent. Without
  // them (a subscription renewal, a CRM status change, a webhook that knows nothing of the
  // browser) it cannot be a valid `website` event; `system_generated` is Meta's value for
  // conversions that happen without a person on a page. It still counts, and Meta's
  // dedup key (event_name + event_id) does not involve action_source.
  const website = present(event.url) && user_data.client_user_agent !== undefined;
  const out: ServerEvent = {
    event_name: event.event_name,
    event_time: sentTime(event, nowSec),
    event_id: event.event_id,
    action_source: website ? 'website' : 'system_generated',
  };
  if (present(event.url)) out.event_source_url = event.url;
  if (present(event.referrer)) out.referrer_url = event.referrer;
  out.user_data = user_data;
  const custom_data = customData(event.custom);
  if (custom_data) out.custom_data = custom_data;
  return out;
}

function eventsRequest(events: CanonicalEvent[], config: MetaConfig, nowSec: number): DestinationRequest {
  const body: Record<string, unknown> = {
    data: events.map((e) => serverEvent(e, nowSec)),
    // In the body, not the query string, so the token stays out of proxy and access logs.
    access_token: config.accessToken,
  };
  if (config.testEventCode !== undefined) body.test_event_code = config.testEventCode;
  if (config.partnerAgent !== undefined) body.partner_agent = config.partnerAgent;
  const url = `${withoutTrailingSlash(config.baseUrl)}/${config.apiVersion}/${encodeURIComponent(config.pixelId)}/events`;
  return postJson(url, body, events.map((e) => e.event_id));
}

function map(events: CanonicalEvent[], config: MetaConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapSendable(events, MAX_BATCH, (e) => whyNotSendable(e, nowSec), (batch) => eventsRequest(batch, config, nowSec));
}

// ──────────────────────────────────── classification ────────────────────────────────────

interface MetaError {
  message?: unknown;
  type?: unknown;
  code?: unknown;
  error_subcode?: unknown;
  error_user_title?: unknown;
  error_user_msg?: unknown;
  is_transient?: unknown;
  fbtrace_id?: unknown;
}

/** How long Meta asked us to wait: `Retry-After` (seconds or HTTP date), else the BUC header. */
function waitMs(headers: DestinationResponse['headers']): number | undefined {
  return retryAfterMs(headers) ?? businessUseCaseWaitMs(headers);
}

function businessUseCaseWaitMs(headers: DestinationResponse['headers']): number | undefined {
  // X-Business-Use-Case-Usage: {"<id>":[{"type":…,"estimated_time_to_regain_access":<minutes>}]}
  const usage = parseJson(header(headers, 'x-business-use-case-usage') ?? '');
  if (isObject(usage)) {
    let minutes = 0;
    for (const entries of Object.values(usage)) {
      if (!Array.isArray(entries)) continue;
      for (const e of entries) {
        const m = isObject(e) ? e.estimated_time_to_regain_access : undefined;
        if (typeof m === 'number' && m > minutes) minutes = m;
      }
    }
    if (minutes > 0) return minutes * 60_000;
  }
  return undefined;
}

function describe(status: number, err: MetaError): string {
  const code = typeof err.code === 'number' ? err.code : undefined;
  const sub = typeof err.error_subcode === 'number' ? `/${err.error_subcode}` : '';
  const parts = [code !== undefined ? `Meta error ${code}${sub} (HTTP ${status})` : `Meta HTTP ${status}`];
  if (typeof err.message === 'string') parts.push(err.message);
  const userMsg = [err.error_user_title, err.error_user_msg].filter((s): s is string => typeof s === 'string');
  if (userMsg.length > 0) parts.push(userMsg.join(': '));
  if (typeof err.fbtrace_id === 'string') parts.push(`fbtrace_id ${err.fbtrace_id}`);
  return parts.join(' — ').slice(0, 2000);
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJson(response.body);
  const err = isObject(json) && isObject(json.error) ? (json.error as MetaError) : undefined;
  const afterMs = waitMs(response.headers);

  if (isSuccess(status) && !err) {
    if (isObject(json) && typeof json.events_received === 'number') return { kind: 'delivered' };
    // Not Meta's answer (a proxy page?): the events may not have arrived. Sending again is
    // safe, Meta deduplicates on event_name + event_id.
    return retry(`HTTP ${status} without events_received: ${snippet(response.body)}`, afterMs);
  }

  if (err) {
    const reason = describe(status, err);
    const cls = typeof err.code === 'number' ? classOfCode(err.code) : undefined;
    if (cls === 'auth') return { kind: 'auth', reason };
    if (cls === 'retry' || err.is_transient === true) return retry(reason, afterMs);
    if (cls === 'dead') return { kind: 'dead', reason };
    // An unknown code: the HTTP status decides.
    return isTransientStatus(status) ? retry(reason, afterMs) : { kind: 'dead', reason };
  }

  // No Meta error JSON (a load balancer or proxy answered).
  return outcomeOfStatus(status, statusReason(status, response.body), afterMs, { otherwise: 'retry' });
}

export const metaDestination: Destination<MetaConfig> = {
  type: 'meta',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: MetaConfigSchema,
  map,
  classify,
};
