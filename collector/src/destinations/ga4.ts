// Google Analytics 4 Measurement Protocol: how a canonical event becomes a GA4 event, and what
// Google's answer means. Every GA4 field name, limit and rule lives in this file and nowhere
// else. Reference: shared/reference/destinations.md §3.
//
// GA4 is not an ad platform that deduplicates on event_id: only purchases are deduplicated, on
// `transaction_id`. So this destination sends conversions and leaves `page_view` to the
// browser's gtag by default (§9.3), and it never invents a session.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CanonicalEvent, CustomData } from '../event/schema.js';
import { postJson } from './support/batches.js';
import { outsideWindow, sentTime, unixSeconds, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, outcomeOfStatus, parseJson, retry, retryAfterMs, snippet, statusReason } from './support/http-response.js';
import { isIpAddress, ownValue, present, withoutTrailingSlash } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome, Skipped } from './types.js';

/** A GA4 event name: letters, digits, underscores, starting with a letter, at most 40 characters. */
const GA4_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

export const Ga4ConfigSchema = z.object({
  type: z.literal('ga4'),
  /** The web stream's measurement id, `G-…`. */
  measurementId: z.string().regex(/^G-[A-Z0-9]+$/, 'must be the web stream measurement id, like G-ABC123XYZ'),
  /** Admin › Data streams › (stream) › Measurement Protocol API secrets. */
  apiSecret: z.string().min(1),
  /**
   * Where the Measurement Protocol lives. `https://region1.google-analytics.com` keeps data
   * collection in the EU; a local mock in tests and staging.
   */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://www.google-analytics.com'),
  /**
   * Send to `/debug/mp/collect` instead: Google validates and answers with
   * `validationMessages`, and records NOTHING. For setting up, never for production.
   */
  validate: z.boolean().default(false),
  /**
   * Also send page views as `page_view`. Off by default: the gtag on the page sends them, and
   * GA4 does not deduplicate page views, so both would count.
   */
  sendPageViews: z.boolean().default(false),
  /** Canonical event name → GA4 event name, over the built-in map. */
  eventNames: z.record(z.string().min(1), z.string().regex(GA4_NAME, 'must be a valid GA4 event name')).optional(),
});
export type Ga4Config = z.infer<typeof Ga4ConfigSchema>;

/** At most 25 events per request, and one client_id per request (the body carries it once). */
const MAX_EVENTS_PER_REQUEST = 25;
/** Post body must be under 130 kB; a little room is kept. */
const MAX_BODY_BYTES = 128_000;
/** `timestamp_micros` may backdate an event by up to 72 hours. */
const MAX_EVENT_AGE_SEC = 72 * 60 * 60;
/**
 * Skipped 5 minutes before that limit (by the time Google checks they could be over it); up
 * to 5 minutes ahead is clock skew, sent as now.
 */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  ageIn: 'hours',
  tooOld: 'GA4 accepts events up to 72 hours old',
  future: 'GA4 rejects future timestamps',
};
/** Params per event; parameter values are at most 100 characters. */
const MAX_PARAMS = 25;
const MAX_PARAM_VALUE_LENGTH = 100;
const MAX_ITEMS = 200;


/** Meta-style standard names → GA4 recommended events (reference §3.4, §5.6). */
const EVENT_NAMES = new Map<string, string>([
  ['PageView', 'page_view'],
  ['ViewContent', 'view_item'],
  ['Search', 'search'],
  ['AddToCart', 'add_to_cart'],
  ['AddToWishlist', 'add_to_wishlist'],
  ['InitiateCheckout', 'begin_checkout'],
  ['AddPaymentInfo', 'add_payment_info'],
  ['Purchase', 'purchase'],
  ['Lead', 'generate_lead'],
  ['CompleteRegistration', 'sign_up'],
  ['Refund', 'refund'],
  // No GA4 recommended event: the snake_case name GA4 conventions use.
  ['Contact', 'contact'],
  ['Subscribe', 'subscribe'],
  ['StartTrial', 'start_trial'],
]);

/** Names the Measurement Protocol reference reserves (automatically collected by GA4 itself). */
const RESERVED_EVENT_NAMES = new Set([
  'ad_activeview', 'ad_click', 'ad_exposure', 'ad_impression', 'ad_query', 'ad_reward', 'adunit_exposure',
  'app_background', 'app_clear_data', 'app_exception', 'app_remove', 'app_store_refund',
  'app_store_subscription_cancel', 'app_store_subscription_convert', 'app_store_subscription_renew',
  'app_update', 'app_upgrade', 'dynamic_link_app_open', 'dynamic_link_app_update', 'dynamic_link_first_open',
  'error', 'firebase_campaign', 'firebase_in_app_message_action', 'firebase_in_app_message_dismiss',
  'firebase_in_app_message_impression', 'first_open', 'first_visit', 'in_app_purchase', 'notification_dismiss',
  'notification_foreground', 'notification_open', 'notification_receive', 'os_update', 'session_start',
  'user_engagement',
]);
/** Reserved prefixes for event and parameter names. */
const RESERVED_PREFIXES = ['_', 'firebase_', 'ga_', 'google_', 'gtag.'];
/** Params this file sets itself; a merchant `extra` with one of these names is dropped. */
const MAPPED_PARAM_KEYS = new Set([
  'currency', 'value', 'transaction_id', 'items', 'search_term', 'page_location', 'page_referrer', 'page_title',
  'session_id', 'engagement_time_msec', 'event_id', 'session_number', 'gclid', 'timestamp_micros',
]);

/** `_ga` cookie `GA1.1.<random>.<seconds>` → `<random>.<seconds>`; an already-parsed id passes. */
const GA_COOKIE = /^GA\d\.\d+\.(\d+\.\d+)$/;
const CLIENT_ID = /^\d+\.\d+$/;
/** `_fbp` = `fb.<index>.<ms>.<random>`: the same shape GA gives its own client ids. */
const FBP = /^fb\.\d\.(\d{13})\.(\d+)$/;

// ─────────────────────────────────────── mapping ───────────────────────────────────────

function reservedName(name: string): boolean {
  return RESERVED_EVENT_NAMES.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The client_id GA4 joins the event to. The gtag's own id from the `_ga` cookie when we have
 * it (only then do server events join the browser's user and session). Otherwise a STABLE id
 * derived from what identifies the same browser to us, so one visitor stays one GA user:
 *  - from our visitor id: `<first 31 bits of sha256("trakvo:" + visitor_id)>.<next 31 bits>`;
 *  - from `_fbp` (`fb.1.<ms>.<random>`): `<random>.<ms / 1000>`, the `_ga` shape with the
 *    browser's first-seen time.
 * Such ids never match a gtag user; GA counts them as their own users.
 */
export function ga4ClientId(event: CanonicalEvent): string | undefined {
  const ga = event.ids.ga_client_id?.trim();
  if (present(ga)) {
    const fromCookie = GA_COOKIE.exec(ga);
    if (fromCookie) return fromCookie[1];
    if (CLIENT_ID.test(ga)) return ga;
  }
  const visitor = event.ids.visitor_id?.trim();
  if (present(visitor)) {
    const digest = createHash('sha256').update(`trakvo:${visitor}`, 'utf8').digest();
    return `${digest.readUInt32BE(0) >>> 1}.${digest.readUInt32BE(4) >>> 1}`;
  }
  const fbp = FBP.exec(event.ids.fbp ?? '');
  if (fbp) return `${fbp[2]}.${Math.floor(Number(fbp[1]) / 1000)}`;
  return undefined;
}

function eventNameFor(event: CanonicalEvent, config: Ga4Config): { name: string } | { skip: string } {
  const name = ownValue(config.eventNames, event.event_name);
  if (name !== undefined) {
    if (reservedName(name)) return { skip: `eventNames maps ${event.event_name} to "${name}", a name GA4 reserves` };
    return { name };
  }
  const standard = EVENT_NAMES.get(event.event_name);
  if (standard === 'page_view' && !config.sendPageViews) {
    return { skip: 'page views are left to the gtag on the page (GA4 does not deduplicate them); set sendPageViews to send them' };
  }
  if (standard !== undefined) return { name: standard };
  // A custom event keeps its name when GA4 can take it (names are case-sensitive).
  if (!GA4_NAME.test(event.event_name)) {
    return { skip: `"${event.event_name}" is not a valid GA4 event name (letters, digits, _; starts with a letter; max 40); map it in eventNames` };
  }
  if (reservedName(event.event_name)) return { skip: `"${event.event_name}" is a name GA4 reserves; map it in eventNames` };
  return { name: event.event_name };
}

/** Why this event cannot go to GA4, if it cannot. */
function whyNotSendable(event: CanonicalEvent, nowSec: number): string | undefined {
  if (!event.consent.marketing) return 'no marketing consent';
  // GA4 is also an analytics tool: without analytics consent nothing goes there either.
  if (!event.consent.analytics) return 'no analytics consent';
  return outsideWindow(event, nowSec, EVENT_WINDOW);
}

function items(custom: CustomData): Record<string, unknown>[] | undefined {
  if (custom.contents !== undefined) {
    return custom.contents.slice(0, MAX_ITEMS).map((c) => {
      const item: Record<string, unknown> = { item_id: c.id };
      if (c.title !== undefined) item.item_name = c.title;
      if (c.brand !== undefined) item.item_brand = c.brand;
      if (c.category !== undefined) item.item_category = c.category;
      if (c.item_price !== undefined) item.price = c.item_price;
      if (c.quantity !== undefined) item.quantity = c.quantity;
      return item;
    });
  }
  if (custom.content_ids !== undefined) return custom.content_ids.slice(0, MAX_ITEMS).map((id) => ({ item_id: id }));
  return undefined;
}

function validParamName(key: string): boolean {
  return GA4_NAME.test(key) && !RESERVED_PREFIXES.some((p) => key.startsWith(p)) && !MAPPED_PARAM_KEYS.has(key);
}

function params(event: CanonicalEvent, name: string): Record<string, unknown> {
  const { custom } = event;
  const out: Record<string, unknown> = {};
  // ⚠ Only a GA4 session id from the `_ga_<stream>` cookie. Without one no session is made up:
  // it would split the visitor's browser session in two and inflate session counts. The event
  // still counts (key events, Google Ads export need no session).
  const session = event.ids.ga_session_id?.trim();
  if (present(session) && /^\d{1,20}$/.test(session)) out.session_id = session;
  // Needed (> 0) for the event to show in Realtime and session reports.
  out.engagement_time_msec = 1;
  // Lets merchants join GA4 (BigQuery export) to Trakvo's log, and tests find the event.
  if (event.event_id.length <= MAX_PARAM_VALUE_LENGTH) out.event_id = event.event_id;
  if (present(event.url)) out.page_location = event.url.slice(0, 1000);
  if (present(event.referrer)) out.page_referrer = event.referrer.slice(0, 420);
  if (name === 'page_view' && present(event.title)) out.page_title = event.title.slice(0, 300);
  // `value` needs `currency` for GA4 to compute revenue: without currency it is left out.
  if (custom.currency !== undefined) {
    out.currency = custom.currency;
    if (custom.value !== undefined) out.value = custom.value;
  }
  if (name === 'purchase' || name === 'refund') {
    // GA4 deduplicates purchases on transaction_id: the order id, so a gtag purchase of the
    // same order counts once. Without one, the event id (stable across retries).
    out.transaction_id = (custom.order_id ?? event.event_id).slice(0, MAX_PARAM_VALUE_LENGTH);
  } else if (custom.order_id !== undefined) {
    out.transaction_id = custom.order_id.slice(0, MAX_PARAM_VALUE_LENGTH);
  }
  const list = items(custom);
  if (list !== undefined) out.items = list;
  if (custom.search_string !== undefined) out.search_term = custom.search_string.slice(0, MAX_PARAM_VALUE_LENGTH);
  // Merchant-defined properties, as long as GA4 takes them and the 25-param limit allows.
  for (const [key, v] of Object.entries(custom.extra ?? {})) {
    if (Object.keys(out).length >= MAX_PARAMS) break;
    if (!validParamName(key)) continue;
    out[key] = typeof v === 'string' ? v.slice(0, MAX_PARAM_VALUE_LENGTH) : v;
  }
  return out;
}

/**
 * User-provided data (sha256 email/phone, hashed names). Normalization differs from Meta's and
 * cannot be redone on hashes, so what ingest hashed is sent as it is:
 *  - email: Google also strips dots in gmail.com/googlemail.com local parts — not done here,
 *    such addresses may not match;
 *  - phone: E.164 with `+`, i.e. `ph_e164`;
 *  - names: Meta's normalization (lowercase, no punctuation) is close to Google's;
 *  - city, region, postal code, country: Google wants them in CLEARTEXT, and we only keep
 *    hashes, so they are not sent. (No street either: ingest does not take one.)
 */
function userData(event: CanonicalEvent): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (present(event.user.em)) out.sha256_email_address = [event.user.em];
  if (present(event.user.ph_e164)) out.sha256_phone_number = [event.user.ph_e164];
  const address: Record<string, string> = {};
  if (present(event.user.fn)) address.sha256_first_name = event.user.fn;
  if (present(event.user.ln)) address.sha256_last_name = event.user.ln;
  if (Object.keys(address).length > 0) out.address = [address];
  return Object.keys(out).length > 0 ? out : undefined;
}

interface Prepared {
  id: string;
  clientId: string;
  event: Record<string, unknown>;
  userData: Record<string, unknown> | undefined;
  ip: string | undefined;
}

function prepare(event: CanonicalEvent, name: string, clientId: string, nowSec: number): Prepared {
  const t = sentTime(event, nowSec);
  return {
    id: event.event_id,
    clientId,
    // Event-level timestamp_micros overrides the request's (events of one request differ in time).
    event: { name, params: params(event, name), timestamp_micros: t * 1_000_000 },
    userData: userData(event),
    ip: isIpAddress(event.ip) ? event.ip : undefined,
  };
}

function collectUrl(config: Ga4Config): string {
  const path = config.validate ? '/debug/mp/collect' : '/mp/collect';
  const query = new URLSearchParams({ measurement_id: config.measurementId, api_secret: config.apiSecret });
  return `${withoutTrailingSlash(config.baseUrl)}${path}?${query.toString()}`;
}

function requestBody(group: Prepared[]): Record<string, unknown> {
  const first = group[0]!;
  const body: Record<string, unknown> = { client_id: first.clientId };
  // Only consented events reach here: the visitor agreed to ads use of this data.
  body.consent = { ad_user_data: 'GRANTED', ad_personalization: 'GRANTED' };
  // user_data and ip_override are per request: taken from the group's first event that has
  // them (one client_id is one browser, so they agree in practice).
  const withIp = group.find((p) => p.ip !== undefined);
  if (withIp) body.ip_override = withIp.ip;
  const withUser = group.find((p) => p.userData !== undefined);
  if (withUser) body.user_data = withUser.userData;
  body.events = group.map((p) => p.event);
  return body;
}

function map(events: CanonicalEvent[], config: Ga4Config, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  const skipped: Skipped[] = [];
  // One request per client_id; Map keeps first-seen order.
  const byClient = new Map<string, Prepared[]>();
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
    const clientId = ga4ClientId(event);
    if (clientId === undefined) {
      skipped.push({ eventId: event.event_id, reason: 'no GA client id (_ga), visitor id or _fbp to take a client_id from' });
      continue;
    }
    const prepared = prepare(event, name.name, clientId, nowSec);
    const group = byClient.get(clientId);
    if (group) group.push(prepared);
    else byClient.set(clientId, [prepared]);
  }

  const url = collectUrl(config);
  const requests: DestinationRequest[] = [];
  const emit = (group: Prepared[]): void => {
    requests.push(postJson(url, requestBody(group), group.map((p) => p.id)));
  };
  for (const group of byClient.values()) {
    let chunk: Prepared[] = [];
    for (const p of group) {
      const next = [...chunk, p];
      const tooBig = Buffer.byteLength(JSON.stringify(requestBody(next))) > MAX_BODY_BYTES;
      if (chunk.length > 0 && (next.length > MAX_EVENTS_PER_REQUEST || tooBig)) {
        emit(chunk);
        chunk = [p];
      } else {
        chunk = next;
      }
    }
    if (chunk.length > 0) emit(chunk);
  }
  return { requests, skipped };
}

// ──────────────────────────────────── classification ────────────────────────────────────
// The collect endpoint answers 2xx with an empty body to everything, valid or not: there is
// nothing to read. The validation endpoint answers 200 with `validationMessages`, and any
// message there is an error.

function describeMessages(messages: unknown[]): string {
  const parts = messages.map((m) => {
    if (!isObject(m)) return String(m);
    const code = typeof m.validationCode === 'string' ? m.validationCode : 'INVALID';
    const path = typeof m.fieldPath === 'string' ? ` at ${m.fieldPath}` : '';
    const text = typeof m.description === 'string' ? `: ${m.description}` : '';
    return `${code}${path}${text}`;
  });
  return `GA4 validation: ${parts.join('; ')}`.slice(0, 2000);
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const afterMs = retryAfterMs(response.headers);

  if (isSuccess(status)) {
    if (response.body.trim() === '') return { kind: 'delivered' };
    const json = parseJson(response.body);
    if (isObject(json) && Array.isArray(json.validationMessages)) {
      return json.validationMessages.length === 0
        ? { kind: 'delivered' }
        : { kind: 'dead', reason: describeMessages(json.validationMessages) };
    }
    // Google's collect answers with no body; this is someone else (a proxy page?).
    return retry(`HTTP ${status} that is not Google's answer: ${snippet(response.body)}`, afterMs);
  }
  return outcomeOfStatus(status, statusReason(status, response.body, 'GA4'), afterMs, { otherwise: 'retry' });
}

export const ga4Destination: Destination<Ga4Config> = {
  type: 'ga4',
  // A request carries at most 25 events of ONE client_id, so a leased batch of 25 may become
  // several requests (one per visitor).
  maxBatch: MAX_EVENTS_PER_REQUEST,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: Ga4ConfigSchema,
  map,
  classify,
};
