// Microsoft Advertising UET Conversions API (CAPI): how a canonical event becomes a UET
// server event, and what Microsoft's answer means. Every Microsoft field name, limit and
// error rule lives here. Sources: shared/reference/destinations.md §5.5; Microsoft's guide
// "Conversions API (CAPI) Guide" (learn.microsoft.com/advertising/guides/
// uet-conversion-api-integration). Points marked ⚠ are not confirmed in Microsoft's text we
// could read; there we follow integrations built against that guide (walkerOS's Microsoft
// UET CAPI destination and another connector that cites it, Segment's ms-bing-capi) and
// say which.
import { z } from 'zod';
import type { CanonicalEvent } from '../event/schema.js';
import { mapSendable, postJson } from './support/batches.js';
import { sentTime, unixSeconds, whyNotAllowed, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, outcomeOfStatus, parseJson, retry, retryAfterMs, statusReason } from './support/http-response.js';
import { isIpAddress, present, withoutTrailingSlash, ownValue } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

export const MicrosoftConfigSchema = z.object({
  type: z.literal('microsoft'),
  /** The UET tag id, digits only. */
  tagId: z.string().regex(/^\d+$/, 'must be the numeric UET tag id'),
  /** CAPI token: UET tag › Use Conversions API (the account must be enabled by Microsoft). */
  accessToken: z.string().min(1),
  /** Where CAPI lives; point it at a local mock in tests and staging. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://capi.uet.microsoft.com'),
  /**
   * Microsoft's `continueOnValidationError`: when true, valid events of a request are
   * ingested even if others fail validation. Default false: the whole request is refused
   * and the dispatcher splits it until the bad event is isolated, so nothing is sent twice.
   * When true, a partly refused request is still classified as failed (the dispatcher
   * isolates the bad events; the accepted ones sent again are deduplicated on eventId).
   */
  continueOnValidationError: z.boolean().default(false),
  /** Optional `dataProvider` label identifying the sending integration. */
  dataProvider: z.string().min(1).max(100).optional(),
  /**
   * Canonical name → UET event action (`eventName`), merged over the defaults below. Must
   * equal the action the browser UET tag uses for the same event, or they are not
   * deduplicated, and match the conversion goal's action.
   */
  eventNames: z.record(z.string().min(1), z.string().min(1).max(100)).default({}),
});
export type MicrosoftConfig = z.infer<typeof MicrosoftConfigSchema>;

/** 1,000 events per request ⚠ (Segment's and other integrations' limit; not stated by Microsoft). */
const MAX_BATCH = 1000;
/** eventTime must be within the last 7 days ⚠ (integrations verified against the guide). */
const MAX_EVENT_AGE_SEC = 7 * 24 * 60 * 60;
/** Skipped 5 minutes before that limit; up to 5 minutes ahead is clock skew, sent as now. */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  tooOld: 'Microsoft accepts events up to 7 days old',
  future: 'Microsoft rejects future events',
};

/**
 * Canonical names → UET event actions, Microsoft's recommended (GA4-style) names ⚠. PageView
 * is not here: it is a `pageLoad` event, which has no action.
 */
const DEFAULT_EVENT_NAMES: Record<string, string> = {
  ViewContent: 'view_item',
  Search: 'search',
  AddToCart: 'add_to_cart',
  AddToWishlist: 'add_to_wishlist',
  InitiateCheckout: 'begin_checkout',
  AddPaymentInfo: 'add_payment_info',
  Purchase: 'purchase',
  Lead: 'generate_lead',
  CompleteRegistration: 'sign_up',
  Contact: 'contact',
  Subscribe: 'subscribe',
  StartTrial: 'start_trial',
  Refund: 'refund',
};
/** `customData.pageType`, UET's classic `ecomm_pagetype` values, for remarketing. */
const PAGE_TYPES: Record<string, string> = {
  ViewContent: 'product',
  Search: 'searchresults',
  AddToCart: 'cart',
  InitiateCheckout: 'cart',
  Purchase: 'purchase',
};

// ─────────────────────────────────────── mapping ───────────────────────────────────────

/**
 * The click id as Microsoft wants it: a GUID, 32 hex digits (with or without dashes). The
 * `_uetmsclkid` cookie stores it as `_uet<id>` ⚠, so that prefix is removed. Anything else
 * would fail validation (and with it the request), so it is left out.
 */
function msclkid(raw: string | undefined): string | undefined {
  if (!present(raw)) return undefined;
  const id = raw.trim().replace(/^_uet/, '');
  return /^[0-9a-f-]{32,36}$/i.test(id) ? id : undefined;
}

function userData(event: CanonicalEvent): Record<string, string> {
  const out: Record<string, string> = {};
  // em: trim + lowercase → SHA-256, exactly our `em`.
  if (present(event.user.em)) out.em = event.user.em;
  // ph: digits only (with country code, no `+`) → SHA-256, exactly Meta's `ph` ⚠ (Segment).
  if (present(event.user.ph)) out.ph = event.user.ph;
  const clickId = msclkid(event.ids.msclkid);
  if (clickId) out.msclkid = clickId;
  // Advertiser ids Microsoft links through the UET ID sync ⚠: our hashed customer id and
  // Trakvo's first-party visitor id.
  if (present(event.user.external_id)) out.externalId = event.user.external_id;
  if (present(event.ids.visitor_id)) out.anonymousId = event.ids.visitor_id;
  if (isIpAddress(event.ip)) out.clientIpAddress = event.ip;
  if (present(event.user_agent)) out.clientUserAgent = event.user_agent;
  return out;
}

/** Identifiers Microsoft can match on; IP and user agent alone are not enough ⚠. */
const MATCH_KEYS = ['em', 'ph', 'msclkid', 'externalId', 'anonymousId'];

function customData(event: CanonicalEvent): Record<string, unknown> | undefined {
  const c = event.custom;
  const out: Record<string, unknown> = {};
  if (c.value !== undefined && c.currency !== undefined) {
    out.value = c.value;
    out.currency = c.currency;
  }
  // Required for purchases; the order id when there is one (the shared event id otherwise).
  if (event.event_name === 'Purchase') out.transactionId = c.order_id ?? event.event_id;
  else if (c.order_id !== undefined) out.transactionId = c.order_id;
  const ids = c.content_ids ?? c.contents?.map((p) => p.id);
  if (ids?.length) out.itemIds = ids;
  if (c.contents?.length) {
    out.items = c.contents.map((p) => {
      const item: Record<string, unknown> = { id: p.id };
      if (p.title !== undefined) item.name = p.title;
      if (p.item_price !== undefined) item.price = p.item_price;
      if (p.quantity !== undefined) item.quantity = p.quantity;
      return item;
    });
  }
  if (c.search_string !== undefined) out.searchTerm = c.search_string;
  const pageType = ownValue(PAGE_TYPES, event.event_name);
  if (pageType) out.pageType = pageType;
  return Object.keys(out).length > 0 ? out : undefined;
}

function whyNotSendable(event: CanonicalEvent, nowSec: number): string | undefined {
  const notAllowed = whyNotAllowed(event, nowSec, EVENT_WINDOW);
  if (notAllowed !== undefined) return notAllowed;
  if (event.event_name === 'PageView' && !present(event.url)) return 'PageView without url; a UET pageLoad event requires eventSourceUrl';
  const ud = userData(event);
  if (!MATCH_KEYS.some((k) => ud[k] !== undefined)) {
    return 'no email, phone, msclkid, external id or visitor id; Microsoft needs at least one user identifier';
  }
  return undefined;
}

function serverEvent(event: CanonicalEvent, config: MicrosoftConfig, nowSec: number): Record<string, unknown> {
  const pageLoad = event.event_name === 'PageView';
  const out: Record<string, unknown> = {
    eventType: pageLoad ? 'pageLoad' : 'custom',
    // Deduplicated against the UET tag's event with the same eventId (and eventName).
    eventId: event.event_id,
  };
  if (!pageLoad) out.eventName = ownValue(config.eventNames, event.event_name) ?? ownValue(DEFAULT_EVENT_NAMES, event.event_name) ?? event.event_name;
  // Unix seconds.
  out.eventTime = sentTime(event, nowSec);
  if (present(event.url)) out.eventSourceUrl = event.url;
  if (present(event.referrer)) out.referrerUrl = event.referrer;
  if (present(event.title)) out.pageTitle = event.title;
  // Only events with marketing consent are sent: ad storage is granted.
  out.adStorageConsent = 'G';
  out.userData = userData(event);
  const cd = customData(event);
  if (cd) out.customData = cd;
  return out;
}

function eventsRequest(events: CanonicalEvent[], config: MicrosoftConfig, nowSec: number): DestinationRequest {
  const body: Record<string, unknown> = { data: events.map((e) => serverEvent(e, config, nowSec)) };
  // Request-level, as the guide's integrations send it ⚠ (Segment puts it in each event).
  body.continueOnValidationError = config.continueOnValidationError;
  if (config.dataProvider !== undefined) body.dataProvider = config.dataProvider;
  const url = `${withoutTrailingSlash(config.baseUrl)}/v1/${encodeURIComponent(config.tagId)}/events`;
  return postJson(url, body, events.map((e) => e.event_id), { authorization: `Bearer ${config.accessToken}` });
}

function map(events: CanonicalEvent[], config: MicrosoftConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapSendable(events, MAX_BATCH, (e) => whyNotSendable(e, nowSec), (batch) => eventsRequest(batch, config, nowSec));
}

// ──────────────────────────────────── classification ────────────────────────────────────
// Microsoft answers `{"eventsReceived":N,"error":{"code","message","details":[{"index",
// "propertyName","errorMessage","errorCode","isWarning"}]},"traceId"}`; warnings do not
// reject an event. 401/403: token rejected (or the tag not enabled for CAPI) → auth.
// 400 with details: invalid events → dead. 429, 5xx → retry.

/** Microsoft's message with its per-event errors (warnings left out), or undefined. */
function describe(status: number, json: unknown): { text: string; eventErrors: number } | undefined {
  if (!isObject(json) || !isObject(json.error)) return undefined;
  const err = json.error;
  const details = Array.isArray(err.details) ? err.details.filter(isObject) : [];
  const errors = details.filter((d) => d.isWarning !== true);
  const parts = [`Microsoft HTTP ${status}`];
  if (typeof err.code === 'string') parts.push(err.code);
  if (typeof err.message === 'string') parts.push(err.message);
  for (const d of errors.slice(0, 5)) {
    const at = typeof d.index === 'number' ? `event ${d.index}` : 'event';
    const prop = typeof d.propertyName === 'string' ? ` ${d.propertyName}` : '';
    const msg = typeof d.errorMessage === 'string' ? `: ${d.errorMessage}` : '';
    parts.push(`${at}${prop}${msg}`);
  }
  if (typeof json.traceId === 'string') parts.push(`traceId ${json.traceId}`);
  return { text: parts.join(' — ').slice(0, 2000), eventErrors: errors.length };
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJson(response.body);
  const described = describe(status, json);
  const reason = described?.text ?? statusReason(status, response.body, 'Microsoft');
  const afterMs = retryAfterMs(response.headers);

  if (isSuccess(status)) {
    // Some events refused (continueOnValidationError: true): dead, so the dispatcher
    // isolates them; the accepted ones sent again are deduplicated on eventId.
    if (described && described.eventErrors > 0) return { kind: 'dead', reason };
    if (isObject(json) && typeof json.eventsReceived === 'number') return { kind: 'delivered' };
    // Not Microsoft's answer (a proxy page?): send again, deduplicated on eventId.
    return retry(reason, afterMs);
  }
  return outcomeOfStatus(status, reason, afterMs);
}

export const microsoftDestination: Destination<MicrosoftConfig> = {
  type: 'microsoft',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: MicrosoftConfigSchema,
  map,
  classify,
};
